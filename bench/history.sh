#!/bin/bash
# bench/history.sh MIRRORD [PEER_MIRRORD] — what a sync and `status` cost as
# history grows (issue 12).
#
# An upstream (tests/fixtures/mkarchive.py, HISTORY_PACKAGES filler packages)
# moves to a new generation before each sync (new hello and libhello1 in
# stable-updates, so each sync makes a snapshot: a small change), over a
# file:// URI so that the network costs nothing.  After HISTORY_FIRST (20)
# and HISTORY_SNAPS (200) snapshots, the peak RSS (/usr/bin/time %M) of the
# next sync, of the `gc` that follows it (as the daemon runs one after each
# sync; every snapshot is kept) and of `status`, and status's wall time, are
# recorded.  Growth bounded by the change means equal figures at both points.
#
# PEER_MIRRORD (e.g. a build of main) syncs its own store from the same
# upstream in the same run, so both are measured on equal terms.
# Nothing asserts; the table goes to $BENCH_DIR/history-results.txt.
#
# Environment: BENCH_DIR (default build/bench), HISTORY_SNAPS (200),
# HISTORY_FIRST (20), HISTORY_PACKAGES (200).
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
BINS=("$(abs "${1:-$top/build/mirrord}")")
[ $# -ge 2 ] && BINS+=("$(abs "$2")")
BDIR=${BENCH_DIR:-$top/build/bench}
NSNAP=${HISTORY_SNAPS:-200}
FIRST=${HISTORY_FIRST:-20}
NPKG=${HISTORY_PACKAGES:-200}

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
for b in "${BINS[@]}"; do [ -x "$b" ] || die "'$b' is not executable"; done
[ -x /usr/bin/time ] || die "'/usr/bin/time' is not installed (apt-get install time)"
mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
RUN=$BDIR/history
rm -rf "$RUN"
mkdir -p "$RUN" || die "cannot create '$RUN'"
export MKARCHIVE_CACHE=${MKARCHIVE_CACHE:-$BDIR/mkarchive-cache}
export GNUPGHOME=$RUN/gnupg
WWW=$RUN/www
base=$(( $(date +%s) - 2 * 86400 ))

gen() {	# gen N: upstream generation N, dated base + N minutes
	python3 "$top/tests/fixtures/mkarchive.py" "$WWW" --packages "$NPKG" \
	    --generation "$1" --gnupghome "$RUN/gnupg" \
	    --date "$(date -u -R -d "@$((base + 60 * $1))")" >/dev/null ||
	    die "mkarchive generation $1 failed"
}

gen 1
for i in "${!BINS[@]}"; do
	mkdir -p "$RUN/$i"
	cat >"$RUN/$i/mirrord.conf" <<CONF || die "cannot write the config"
Store: $RUN/$i/store

Name: h
Types: deb deb-src
URIs: file://$WWW
Suites: stable stable-updates
Components: main contrib
Architectures: amd64 arm64
Signed-By: $WWW/archive-key.gpg
CONF
done

# measure I LABEL: sync (then status) with binary I, recording both.
measure() {
	local b=${BINS[$1]} c=$RUN/$1/mirrord.conf t0 t1
	/usr/bin/time -o "$RUN/$1/t" -f '%M' "$b" -q -c "$c" sync \
	    >/dev/null 2>"$RUN/$1/err" || die "sync failed: $(cat "$RUN/$1/err")"
	sync_kb=$(tail -1 "$RUN/$1/t")
	/usr/bin/time -o "$RUN/$1/t" -f '%M' "$b" -q -c "$c" gc \
	    >/dev/null 2>"$RUN/$1/err" || die "gc failed: $(cat "$RUN/$1/err")"
	gc_kb=$(tail -1 "$RUN/$1/t")
	t0=$(date +%s%N)
	/usr/bin/time -o "$RUN/$1/t" -f '%M' "$b" -c "$c" status \
	    >/dev/null 2>"$RUN/$1/err" || die "status failed: $(cat "$RUN/$1/err")"
	t1=$(date +%s%N)
	printf '%s|%s|%s|%s|%s|%s\n' "$1" "$2" "$sync_kb" "$gc_kb" \
	    "$(tail -1 "$RUN/$1/t")" "$(( (t1 - t0) / 1000000 ))" >>"$RUN/points"
}

for ((g = 1; g <= NSNAP + 1; g++)); do
	[ "$g" -gt 1 ] && gen "$g"
	for i in "${!BINS[@]}"; do
		if [ "$g" = $((FIRST + 1)) ] || [ "$g" = $((NSNAP + 1)) ]; then
			measure "$i" "$((g - 1))"
		else
			"${BINS[$i]}" -q -c "$RUN/$i/mirrord.conf" sync >/dev/null \
			    2>"$RUN/$i/err" || die "sync $g failed: $(cat "$RUN/$i/err")"
		fi
	done
done

{
	printf '%-40s|%9s|%13s|%11s|%15s|%10s\n' binary snapshots \
	    "sync peak KB" "gc peak KB" "status peak KB" "status ms"
	while IFS='|' read -r i n skb gkb stkb ms; do
		b=${BINS[$i]}
		[ ${#b} -gt 40 ] && b=...${b: -37}
		printf '%-40s|%9s|%13s|%11s|%15s|%10s\n' "$b" "$n" \
		    "$skb" "$gkb" "$stkb" "$ms"
	done <"$RUN/points"
} | tee "$BDIR/history-results.txt"
