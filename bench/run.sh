#!/bin/bash
# bench/run.sh MIRRORD — compare mirrord against aptly (sync) and xz (index parsing).
#
# Every figure is measured against a peer in the same run and printed as a ratio; the only
# verdict is the summary line saying whether each target is met.  See bench/README.md.
#
# Environment:
#   BENCH_SHAPE=generated|bookworm   upstream shape (default generated)
#   BENCH_PACKAGES=N                 pool files of the generated shape (default 20000)
#   BENCH_CONNECTIONS=N              parallel downloads for both tools (default 8)
#   BENCH_DIR=DIR                    work and result directory (default build/bench)
#   BENCH_REBUILD=1                  regenerate the cached upstream archive
#   BENCH_KEEP=1                     keep the aptly root and mirrord store after the run
set -u -o pipefail

# here, top, MIRRORD, BDIR, LISTS_GLOB; measure, calc
. "$(dirname "$0")/lib.sh"
SHAPE=${BENCH_SHAPE:-generated}
NPKG=${BENCH_PACKAGES:-20000}
CONN=${BENCH_CONNECTIONS:-8}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

case $SHAPE in generated|bookworm) ;; *) die "BENCH_SHAPE must be generated or bookworm" ;; esac
for t in aptly nginx hyperfine xz python3 gpg curl; do
	command -v "$t" >/dev/null || die "'$t' is not installed (make deps-bench)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' is not installed (apt-get install time)"
HAVE_MIRRORD=1
if [ ! -x "$MIRRORD" ]; then
	say "'$MIRRORD' does not exist: measuring the peers only"
	HAVE_MIRRORD=0
fi
lists=
for f in $LISTS_GLOB; do
	[ -f "$f" ] && { lists=$f; break; }
done
if [ -n "$lists" ] || [ "$SHAPE" = bookworm ]; then
	if ! command -v lz4 >/dev/null; then
		say "installing lz4"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq lz4 >/dev/null ||
		    die "cannot install lz4"
	fi
fi
[ "$SHAPE" = bookworm ] && [ -z "$lists" ] &&
    die "BENCH_SHAPE=bookworm needs $LISTS_GLOB (run apt-get update)"

mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
RUN=$BDIR/run
RES=$BDIR/results.txt
rm -rf "$RUN"
mkdir -p "$RUN/nginx/client_body" "$RUN/nginx/proxy"
# Measure a private copy: the binary may be rebuilt while the bench runs.
if [ "$HAVE_MIRRORD" = 1 ]; then
	MIRRORD_DESC="'$MIRRORD' built $(stat -c '%y' "$MIRRORD" | cut -c1-19)"
	say "measuring $MIRRORD_DESC, copied to '$RUN/mirrord'"
	cp "$MIRRORD" "$RUN/mirrord" || die "cannot copy '$MIRRORD'"
	MIRRORD=$RUN/mirrord
fi

# ---------------------------------------------------------------- upstream (cached)
if [ "$SHAPE" = generated ]; then UP=$BDIR/upstream-generated-$NPKG; else UP=$BDIR/upstream-bookworm; fi
stamp=$( (cat "$here/mkupstream.py"; echo "$SHAPE $NPKG") | sha256sum | cut -c1-16)
if [ "${BENCH_REBUILD:-0}" = 1 ] || [ "$(cat "$UP/.stamp" 2>/dev/null)" != "$stamp" ]; then
	say "building the $SHAPE upstream in '$UP'"
	if [ "$SHAPE" = generated ]; then
		python3 "$here/mkupstream.py" "$UP" --shape generated --packages "$NPKG" ||
		    die "mkupstream.py failed"
	else
		python3 "$here/mkupstream.py" "$UP" --shape bookworm --lists "$lists" ||
		    die "mkupstream.py failed"
	fi
	echo "$stamp" > "$UP/.stamp"
fi
# shellcheck disable=SC1091
. "$UP/shape.env"
KEY=$UP/archive-key.gpg

# The real bookworm index, recompressed once as a single-block xz like Debian's, is the
# large input for index-parse whatever the shape.
REALXZ=
if [ -n "$lists" ]; then
	REALXZ=$BDIR/bookworm-main-amd64-Packages.xz
	if [ ! -s "$REALXZ" ]; then
		say "recompressing '$lists' as '$REALXZ'"
		if ! { lz4 -dc "$lists" | xz -T1 -6 > "$REALXZ.tmp"; }; then
			rm -f "$REALXZ.tmp"
			die "cannot build '$REALXZ'"
		fi
		mv "$REALXZ.tmp" "$REALXZ"
	fi
fi

# Read the whole upstream once so that neither tool pays for a cold nginx.
find "$UP/www" -type f -print0 | xargs -0 cat > /dev/null

# ---------------------------------------------------------------- nginx
start_nginx "$UP/www" "/debian/dists/$CODENAME/InRelease"
URL=http://127.0.0.1:$PORT/debian
say "upstream: $SHAPE, $POOL_FILES pool files, $PARAGRAPHS paragraphs, served at $URL"

# ---------------------------------------------------------------- helpers
mb() { calc '%.1f' "$1 / 1024"; }

ROWS=()
SUMMARY=()
FAILURES=()
# row METRIC PEER MIRRORD RATIO TARGET MET
row() { ROWS+=("$(printf '%-34s|%14s|%14s|%14s|%12s|%4s' "$@")"); }
verdict() { # verdict NAME MET
	SUMMARY+=("$1: $2")
}

# ---------------------------------------------------------------- aptly
fresh_fs "$RUN/aptly"
cat > "$RUN/aptly.conf" <<EOF
{
  "rootDir": "$RUN/aptly",
  "downloadConcurrency": $CONN,
  "architectures": [],
  "gpgDisableSign": true,
  "gpgDisableVerify": false,
  "gpgProvider": "gpg",
  "downloadSourcePackages": false,
  "skipLegacyPool": true
}
EOF
aptly_archs=$(echo "$ARCHS" | tr ' ' ',')
say "aptly: first sync (mirror create + mirror update)"
# shellcheck disable=SC2086
measure aptly-create aptly -config="$RUN/aptly.conf" mirror create -keyring="$KEY" \
    -architectures="$aptly_archs" bench "$URL" "$CODENAME" $COMPONENTS
[ "$RC" = 0 ] || die "aptly mirror create failed: $(tail -n5 "$RUN/aptly-create.err")"
a_create_s=$SECS a_create_kb=$KB a_create_cpu=$CPU
measure aptly-first aptly -config="$RUN/aptly.conf" mirror update -keyring="$KEY" bench
[ "$RC" = 0 ] || die "aptly mirror update failed: $(tail -n5 "$RUN/aptly-first.err")"
grep -q 'Good signature' "$RUN/aptly-create.out" "$RUN/aptly-create.err" ||
    die "aptly did not verify the upstream signature"
a_first_s=$(calc '%.2f' "$a_create_s + $SECS")
a_first_cpu=$(calc '%.2f' "$a_create_cpu + $CPU")
a_first_kb=$(( KB > a_create_kb ? KB : a_create_kb ))
a_pool=$(find "$RUN/aptly/pool" -type f | wc -l)
say "aptly: first sync ${a_first_s}s, peak RSS $(mb "$a_first_kb") MB, $a_pool pool files"
a_nc=()
a_nc_kbs=()
for i in 1 2 3; do
	measure "aptly-nochange-$i" aptly -config="$RUN/aptly.conf" mirror update -keyring="$KEY" bench
	[ "$RC" = 0 ] || die "aptly no-change update failed: $(tail -n5 "$RUN/aptly-nochange-$i.err")"
	a_nc+=("$SECS")
	a_nc_kbs+=("$KB")
done
a_nc_s=$(printf '%s\n' "${a_nc[@]}" | median)
a_nc_kb=$(printf '%s\n' "${a_nc_kbs[@]}" | median)
say "aptly: no-change sync ${a_nc[*]} s (median $a_nc_s s)"

# ---------------------------------------------------------------- mirrord sync
m_first_s=; m_first_kb=; m_nc_s=; m_nc_kb=; m_blobs=; m_files=
if [ "$HAVE_MIRRORD" = 1 ]; then
	fresh_fs "$RUN/store"
	cat > "$RUN/mirrord.conf" <<EOF
Store: $RUN/store
Connections: $CONN
Retries: 3

Name: bench
Types: deb
URIs: $URL
Suites: $CODENAME
Components: $COMPONENTS
Architectures: $ARCHS
Signed-By: $KEY
EOF
	say "mirrord: first sync"
	measure mirrord-first "$MIRRORD" -q -c "$RUN/mirrord.conf" sync
	if [ "$RC" != 0 ]; then
		FAILURES+=("first sync: exit $RC: $(tail -n3 "$RUN/mirrord-first.err" | tr '\n' ' ')")
	elif ! grep -q '^bench [0-9]\{8\}T[0-9]\{6\}Z$' "$RUN/mirrord-first.out"; then
		FAILURES+=("first sync: no 'bench SNAPSHOTID' line on stdout: $(head -c 200 "$RUN/mirrord-first.out")")
	else
		m_first_s=$SECS m_first_kb=$KB m_first_cpu=$CPU
		m_blobs=$(find "$RUN/store/blobs" -type f | wc -l)
		m_files=$("$MIRRORD" -c "$RUN/mirrord.conf" snapshot show bench latest 2>/dev/null |
		    awk '$1 == "files:" { print $2; exit }')
		say "mirrord: first sync ${m_first_s}s, peak RSS $(mb "$m_first_kb") MB, $m_blobs blobs, snapshot files: ${m_files:-?}"
		if [ "$m_blobs" -lt "$POOL_FILES" ]; then
			FAILURES+=("first sync: store holds $m_blobs blobs, fewer than the $POOL_FILES upstream pool files")
		fi
		m_nc=()
		m_nc_kbs=()
		for i in 1 2 3; do
			measure "mirrord-nochange-$i" "$MIRRORD" -q -c "$RUN/mirrord.conf" sync
			if [ "$RC" != 0 ]; then
				FAILURES+=("no-change sync $i: exit $RC: $(tail -n3 "$RUN/mirrord-nochange-$i.err" | tr '\n' ' ')")
				break
			fi
			if [ -s "$RUN/mirrord-nochange-$i.out" ]; then
				FAILURES+=("no-change sync $i made a new snapshot: $(head -c 200 "$RUN/mirrord-nochange-$i.out")")
			fi
			m_nc+=("$SECS")
			m_nc_kbs+=("$KB")
		done
		if [ "${#m_nc[@]}" = 3 ]; then
			m_nc_s=$(printf '%s\n' "${m_nc[@]}" | median)
			m_nc_kb=$(printf '%s\n' "${m_nc_kbs[@]}" | median)
			say "mirrord: no-change sync ${m_nc[*]} s (median $m_nc_s s)"
		fi
	fi
fi

# /usr/bin/time has 10 ms resolution: floor the mirrord times there for the ratios.
floor() { calc '%.2f' "($1 < 0.01) ? 0.01 : $1"; }
if [ -n "$m_first_s" ]; then
	r=$(calc '%.1f' "$a_first_s / $(floor "$m_first_s")")
	met=$(calc '%s' "($r >= 5) ? \"yes\" : \"no\"")
	row "first sync time (s)" "$a_first_s" "$m_first_s" "${r}x faster" ">= 5x" "$met"
	verdict "first sync >= 5x faster" "$met"
	row "  CPU user+sys (s)" "$a_first_cpu" "$m_first_cpu" \
	    "$(calc '%.1f' "$a_first_cpu / ($m_first_cpu < 0.01 ? 0.01 : $m_first_cpu)")x less" "-" "-"
	r=$(calc '%.3f' "$m_first_kb / $a_first_kb")
	met=$(calc '%s' "($r <= 0.1) ? \"yes\" : \"no\"")
	row "first sync peak RSS (MB)" "$(mb "$a_first_kb")" "$(mb "$m_first_kb")" "$r" "<= 0.10" "$met"
	verdict "first sync RSS <= 1/10" "$met"
else
	row "first sync time (s)" "$a_first_s" "n/a" "-" ">= 5x" "n/a"
	row "first sync peak RSS (MB)" "$(mb "$a_first_kb")" "n/a" "-" "<= 0.10" "n/a"
	verdict "first sync >= 5x faster" "n/a"
	verdict "first sync RSS <= 1/10" "n/a"
fi
if [ -n "$m_nc_s" ]; then
	r=$(calc '%.1f' "$a_nc_s / $(floor "$m_nc_s")")
	met=$(calc '%s' "($r >= 30) ? \"yes\" : \"no\"")
	row "no-change sync time (s, med 3)" "$a_nc_s" "$m_nc_s" "${r}x faster" ">= 30x" "$met"
	row "no-change sync peak RSS (MB)" "$(mb "$a_nc_kb")" "$(mb "$m_nc_kb")" \
	    "$(calc '%.3f' "$m_nc_kb / $a_nc_kb")" "-" "-"
	verdict "no-change sync >= 30x faster" "$met"
else
	row "no-change sync time (s, med 3)" "$a_nc_s" "n/a" "-" ">= 30x" "n/a"
	verdict "no-change sync >= 30x faster" "n/a"
fi

# ---------------------------------------------------------------- index-parse vs xz -dc
# "Memory flat" is judged on growth: the peak RSS on an index minus the peak RSS on a
# one-package index (the process's fixed cost: shared libraries, buffers).  xz grows too, as
# its LZMA dictionary fills up to the text size (8 MiB at most); mirrord is flat if it grows
# at most 4 MiB more than xz does, which holding the decompressed text (50 MB for bookworm)
# or a per-package table in memory cannot pass.
rss_median() { # rss_median NAME CMD...: median peak RSS (KB) of 5 runs
	local name=$1 i kbs=()
	shift
	for i in 1 2 3 4 5; do
		measure "$name-$i" "$@"
		[ "$RC" = 0 ] || { echo fail; return; }
		kbs+=("$KB")
	done
	printf '%s\n' "${kbs[@]}" | median
}
BASEXZ=$RUN/one-package-Packages.xz
xz -dc "$BIGGEST_XZ" | awk 'NF == 0 { exit } { print }' | xz -6 > "$BASEXZ"
base_x_kb=$(rss_median xz-base xz -dc "$BASEXZ")
base_m_kb=fail
if [ "$HAVE_MIRRORD" = 1 ]; then
	base_m_kb=$(rss_median index-parse-base "$MIRRORD" index-parse "$BASEXZ")
	[ "$base_m_kb" = fail ] &&
	    FAILURES+=("index-parse of a one-package index: $(tail -n3 "$RUN/index-parse-base-1.err" | tr '\n' ' ')")
fi

# index_bench LABEL FILE PARAGRAPHS: hyperfine medians of 5 runs, median peak RSS of 5.
index_bench() {
	local label=$1 file=$2 expect=$3 unz x_s m_s x_cpu m_cpu x_kb m_kb r met ok=0 txt
	unz=$(xz -dc "$file" | wc -c)
	txt="text $(calc '%.0f' "$unz / 1e6") MB"
	x_kb=$(rss_median "xz-$label" xz -dc "$file")
	if [ "$HAVE_MIRRORD" = 1 ]; then
		measure "index-parse-$label" "$MIRRORD" index-parse "$file"
		if [ "$RC" != 0 ]; then
			FAILURES+=("index-parse $label: exit $RC: $(tail -n3 "$RUN/index-parse-$label.err" | tr '\n' ' ')")
		elif ! grep -q "^paragraphs $expect " "$RUN/index-parse-$label.out"; then
			FAILURES+=("index-parse $label: expected 'paragraphs $expect ...', got '$(head -c 200 "$RUN/index-parse-$label.out")'")
		else
			ok=1
		fi
	fi
	if [ "$ok" = 1 ]; then
		if ! hyperfine -N --runs 5 --warmup 1 --export-json "$RUN/hyperfine-$label.json" \
		    "xz -dc $file" "$MIRRORD index-parse $file" > "$RUN/hyperfine-$label.out" 2>&1; then
			FAILURES+=("index-parse $label under hyperfine: $(tail -n2 "$RUN/hyperfine-$label.out" | tr '\n' ' ')")
			verdict "index-parse $label <= 1.3x xz" "n/a"
			verdict "index-parse $label memory flat" "n/a"
			return
		fi
		read -r x_s m_s x_cpu m_cpu < <(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"]
print("%.4f %.4f %.4f %.4f" % (r[0]["median"], r[1]["median"],
      r[0]["user"] + r[0]["system"], r[1]["user"] + r[1]["system"]))' "$RUN/hyperfine-$label.json")
		m_kb=$(rss_median "index-parse-$label" "$MIRRORD" index-parse "$file")
		if [ "$m_kb" = fail ]; then
			FAILURES+=("index-parse $label failed on a repeat run")
			verdict "index-parse $label <= 1.3x xz" "n/a"
			verdict "index-parse $label memory flat" "n/a"
			return
		fi
		r=$(calc '%.2f' "$m_s / $x_s")
		met=$(calc '%s' "($r <= 1.3) ? \"yes\" : \"no\"")
		row "index-parse $label (s, med 5)" "$x_s" "$m_s" "${r}x" "<= 1.3x" "$met"
		verdict "index-parse $label <= 1.3x xz" "$met"
		# CPU time is much less sensitive than wall time to other load on the machine.
		row "  CPU user+sys (s, mean 5)" "$x_cpu" "$m_cpu" "$(calc '%.2f' "$m_cpu / $x_cpu")x" \
		    "-" "-"
		row "  peak RSS (MB; $txt)" "$(mb "$x_kb")" "$(mb "$m_kb")" \
		    "$(calc '%.2f' "$m_kb / $x_kb")x" "-" "-"
		if [ "$base_m_kb" != fail ]; then
			met=$(calc '%s' "(($m_kb - $base_m_kb) - ($x_kb - $base_x_kb) <= 4096) ? \"yes\" : \"no\"")
			row "  RSS growth vs 1-pkg index (MB)" "+$(mb $((x_kb - base_x_kb)))" \
			    "+$(mb $((m_kb - base_m_kb)))" \
			    "$(calc '%+.1f MB' "(($m_kb - $base_m_kb) - ($x_kb - $base_x_kb)) / 1024")" \
			    "<= +4 MB" "$met"
			verdict "index-parse $label memory flat" "$met"
		else
			verdict "index-parse $label memory flat" "n/a"
		fi
	else
		hyperfine -N --runs 5 --warmup 1 --export-json "$RUN/hyperfine-$label.json" \
		    "xz -dc $file" > "$RUN/hyperfine-$label.out" 2>&1 ||
		    die "hyperfine failed: $(tail -n5 "$RUN/hyperfine-$label.out")"
		x_s=$(python3 -c 'import json,sys
print("%.4f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$RUN/hyperfine-$label.json")
		row "index-parse $label (s, med 5)" "$x_s" "n/a" "-" "<= 1.3x" "n/a"
		row "  peak RSS (MB; $txt)" "$(mb "$x_kb")" "n/a" "-" "-" "-"
		row "  RSS growth vs 1-pkg index (MB)" "+$(mb $((x_kb - base_x_kb)))" "n/a" "-" \
		    "<= +4 MB" "n/a"
		verdict "index-parse $label <= 1.3x xz" "n/a"
		verdict "index-parse $label memory flat" "n/a"
	fi
}
say "index-parse vs xz -dc on '$BIGGEST_XZ'"
index_bench "upstream" "$BIGGEST_XZ" "$BIGGEST_PARAGRAPHS"
if [ -n "$REALXZ" ] && [ "$SHAPE" = generated ]; then
	say "index-parse vs xz -dc on '$REALXZ'"
	real_paras=$(xz -dc "$REALXZ" | grep -c '^Package: ')
	index_bench "bookworm" "$REALXZ" "$real_paras"
fi

# ---------------------------------------------------------------- report
{
	echo "mirrord benchmark, $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(nproc) CPUs"
	echo "upstream: $SHAPE shape, $POOL_FILES pool files ($(calc '%.1f' "$POOL_BYTES / 1e6") MB)," \
	    "$PARAGRAPHS paragraphs, $INDEX_FILES index files, components '$COMPONENTS'," \
	    "architectures '$ARCHS', nginx on 127.0.0.1"
	echo "peers: $(aptly version 2>/dev/null | head -n1) (downloadConcurrency $CONN," \
	    "signature verified with -keyring), $(xz --version | head -n1); mirrord Connections $CONN"
	echo "mirrord: ${MIRRORD_DESC:-not built}"
	fresh_fs_note
	echo "pool files fetched: aptly $a_pool, mirrord store blobs ${m_blobs:-n/a}" \
	    "(pool + index + Release files), snapshot files ${m_files:-n/a}"
	echo "aptly no-change runs (s): ${a_nc[*]}; mirrord: ${m_nc[*]:-n/a}"
	echo
	printf '%-34s|%14s|%14s|%14s|%12s|%4s\n' metric "aptly / xz" mirrord ratio target met
	printf '%s\n' "----------------------------------+--------------+--------------+--------------+------------+----"
	printf '%s\n' "${ROWS[@]}"
	echo
	if [ "$HAVE_MIRRORD" = 0 ]; then
		echo "mirrord: not measured ('$MIRRORD' does not exist)"
	fi
	for f in "${FAILURES[@]}"; do
		echo "MIRRORD FAILURE: $f"
	done
	nyes=0 nall=0
	for s in "${SUMMARY[@]}"; do
		nall=$((nall + 1))
		case $s in *": yes") nyes=$((nyes + 1)) ;; esac
	done
	line=$(printf '%s; ' "${SUMMARY[@]}")
	echo "summary: $nyes/$nall targets met: ${line%; }"
	echo "logs: $RUN"
} > "$RES.tmp"
mv "$RES.tmp" "$RES"
cat "$RES"
# The first sync over file:// against bench/refwriter.c (issue 18): bench/firstsync.sh, its
# own table in build/bench/firstsync-results.txt.  BENCH_FIRSTSYNC=0 skips it.  Before the
# deletion below: a burst of deleted inodes would slow its first rounds.
if [ -n "$lists" ] && [ "$HAVE_MIRRORD" = 1 ] && [ "${BENCH_FIRSTSYNC:-1}" != 0 ]; then
	fresh_fs_release	# its image is firstsync.sh's now
	"$here/firstsync.sh" "$MIRRORD" || say "bench/firstsync.sh failed"
fi

# Delete the big trees now rather than at the start of the next run: on ext4 a burst of
# freshly deleted inodes slows the next inode allocations, which would tax whichever tool
# runs first.  BENCH_KEEP=1 keeps them for inspection.
# (With fresh file systems, unmounting them is the deletion.)
if [ "${BENCH_KEEP:-0}" != 1 ]; then
	bench_cleanup
	rm -rf "$RUN/aptly" "$RUN/store"
fi

# Composed snapshots (issue 15) on the real bookworm index: bench/compose.sh, its own table in
# build/bench/compose-results.txt.  BENCH_COMPOSE=0 skips it.
if [ -n "$lists" ] && [ "${BENCH_COMPOSE:-1}" != 0 ]; then
	"$here/compose.sh" "$MIRRORD" || say "bench/compose.sh failed"
fi
