#!/bin/bash
# bench/replica.sh MIRRORD — a read replica following its primary (issue 18 §2), on the real
# bookworm shape (bench/mkupstream.py, 63,440 pool files; BENCH_DIR/upstream-bookworm, shared
# with run.sh).
#
# A primary (`mirrord serve` on its store, syncs run by hand) and a replica (`mirrord daemon`
# with Replica-Of: the primary, Replica-Interval: 1s, its own empty store), both on 127.0.0.1.
# For each change on the primary, the time from the change's end (the command's exit) until
# the replica's /api/v1/state gives the primary's generation (polled every 50 ms), and what
# the replica fetched (its log's "N blobs (B bytes) fetched"):
#   1. the primary's first sync: a new 63k-package snapshot, the replica empty;
#   2. a channel promotion (only the signed Release files move);
#   3. a second sync, of the upstream BENCH_DIR/upstream-bookworm-ondemand (bench/ondemand.sh's:
#      the same archive re-signed, 32 pool files rewritten at their real size), if it exists.
# Nothing asserts and there is no peer: no other tool replicates a snapshot mirror.  The
# replica's lag is at most Replica-Interval plus the time it takes, which this reports.
#
# Environment: BENCH_DIR (default build/bench), BENCH_CONNECTIONS (8), BENCH_KEEP=1.
set -u -o pipefail

# here, top, MIRRORD, BDIR, LISTS_GLOB; measure, calc, free_port, start_nginx,
# bookworm_upstream
. "$(dirname "$0")/lib.sh"
CONN=${BENCH_CONNECTIONS:-8}

say() { printf 'bench-replica: %s\n' "$*" >&2; }
die() { printf 'bench-replica: error: %s\n' "$*" >&2; exit 1; }

for t in nginx python3 curl lz4; do
	command -v "$t" >/dev/null || die "'$t' is not installed (make deps-bench)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' is not installed (apt-get install time)"
[ -x "$MIRRORD" ] || die "'$MIRRORD' is not executable"
lists=
for f in $LISTS_GLOB; do [ -f "$f" ] && lists=$f; done
mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
if [ -z "$lists" ] && [ ! -f "$BDIR/upstream-bookworm/shape.env" ]; then
	say "skipped: no $LISTS_GLOB (apt-get update on a bookworm system)"
	exit 0
fi
RUN=$BDIR/replica-run
RES=$BDIR/replica-results.txt
rm -rf "$RUN"
mkdir -p "$RUN"
if [ -n "$lists" ]; then
	bookworm_upstream "$lists"
else
	UP=$BDIR/upstream-bookworm
fi
UP2=$BDIR/upstream-bookworm-ondemand
# shellcheck disable=SC1091
. "$UP/shape.env"

# nginx serves BDIR: each upstream under its own directory.
start_nginx "$BDIR" "/upstream-bookworm/www/debian/dists/$CODENAME/InRelease"
URL1=http://127.0.0.1:$PORT/upstream-bookworm/www/debian
URL2=http://127.0.0.1:$PORT/upstream-bookworm-ondemand/www/debian
PPORT=$(free_port)
RPORT=$(free_port)
while [ "$RPORT" = "$PPORT" ]; do RPORT=$(free_port); done

# conf FILE STORE LISTEN URI [EXTRA]
conf() {
	cat > "$1" <<EOF
Store: $2
Connections: $CONN
Listen: $3
$5

Name: bookworm
Types: deb
URIs: $4
Suites: $CODENAME
Components: $COMPONENTS
Architectures: $ARCHS
Signed-By: $UP/archive-key.gpg
EOF
}
conf "$RUN/primary.conf" "$RUN/primary" "127.0.0.1:$PPORT" "$URL1" ""
conf "$RUN/replica.conf" "$RUN/replica" "127.0.0.1:$RPORT" "$URL1" \
    "Replica-Of: http://127.0.0.1:$PPORT
Replica-Interval: 1s"

PIDS=
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	nginx_stop
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$RUN/primary" "$RUN/replica"
}
trap cleanup EXIT

# up NAME CONF CMD: a long-running mirrord, waited for until its /healthz answers.
up() {
	"$MIRRORD" -c "$2" "$3" > "$RUN/$1.out" 2> "$RUN/$1.log" &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$4/healthz" && return
		sleep 0.1
	done
	die "$1 does not answer: $(tail -n 3 "$RUN/$1.log")"
}
gen() {
	curl -s --max-time 5 "http://127.0.0.1:$1/api/v1/state" | python3 -c \
	    'import json, sys
try: print(json.load(sys.stdin)["generation"])
except Exception: print("")'
}
ms() { date +%s%3N; }

# follow WHAT: after a change on the primary, the time until the replica has it.
ROWS=()
follow() {
	local t0 want n fetched
	t0=$(ms)
	want=$(gen "$PPORT")
	n=$(grep -c 'applied' "$RUN/replica.log")
	while [ "$(gen "$RPORT")" != "$want" ]; do
		[ $(($(ms) - t0)) -lt 600000 ] || die "the replica did not follow in 10 minutes"
		sleep 0.05
	done
	FOLLOW=$(calc '%.2f' "($(ms) - $t0) / 1000")
	fetched=$(grep 'applied' "$RUN/replica.log" | tail -n +$((n + 1)) |
	    sed -n 's/.*, \([0-9]*\) blobs (\([0-9]*\) bytes) fetched.*/\1 \2/p' | tail -n 1)
	ROWS+=("$(printf '| %s | %s s | %s | %s |' "$1" "$FOLLOW" "${fetched% *}" \
	    "$(calc '%.1f' "${fetched#* } / 1048576") MiB")")
	say "$1: followed in $FOLLOW s, fetched ${fetched:-?}"
}

up primary "$RUN/primary.conf" serve "$PPORT"
up replica "$RUN/replica.conf" daemon "$RPORT"

say "primary: first sync of $POOL_FILES pool files"
measure sync1 "$MIRRORD" -c "$RUN/primary.conf" sync
[ "$RC" = 0 ] || die "the primary's sync failed: $(tail -n 3 "$RUN/sync1.err")"
SYNC1=$SECS
follow "a new 63k-package snapshot (first sync, empty replica)"
measure promote "$MIRRORD" -c "$RUN/primary.conf" promote bookworm latest production
[ "$RC" = 0 ] || die "promote failed: $(cat "$RUN/promote.err")"
follow "a channel promotion"
if [ -f "$UP2/www/debian/dists/$CODENAME/InRelease" ]; then
	sed -i "s|^URIs: .*|URIs: $URL2|" "$RUN/primary.conf"
	measure sync2 "$MIRRORD" -c "$RUN/primary.conf" sync
	[ "$RC" = 0 ] || die "the second sync failed: $(tail -n 3 "$RUN/sync2.err")"
	follow "a second snapshot (32 pool files and the index changed)"
else
	say "no '$UP2' (bench/ondemand.sh builds it): the second snapshot is not measured"
fi
# The replica serves what the primary serves.
same=yes
for p in "dists/$CODENAME/InRelease" "dists/$CODENAME/main/binary-$ARCHS/Packages.xz"; do
	for ref in latest production; do
		a=$(curl -s "http://127.0.0.1:$PPORT/bookworm/$ref/$p" | sha256sum)
		b=$(curl -s "http://127.0.0.1:$RPORT/bookworm/$ref/$p" | sha256sum)
		[ "$a" = "$b" ] || same="no ($ref/$p differs)"
	done
done

{
	echo "replica following a primary, bookworm shape ($POOL_FILES pool files," \
	    "$(calc '%.1f' "$POOL_BYTES / 1048576") MiB); primary first sync ${SYNC1} s;" \
	    "Replica-Interval 1 s, Connections $CONN; load before: $(uptime | sed 's/.*load average: //')"
	echo
	echo "| change on the primary | until the replica serves it | blobs fetched | bytes fetched |"
	echo "|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
	echo
	echo "same bytes on both nodes (InRelease, Packages.xz of latest and production): $same"
} | tee "$RES"
