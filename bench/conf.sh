#!/bin/bash
# bench/conf.sh MIRRORD — how configuration loading scales (issue 12).
#
# Every command and every reload loads the configuration, so its cost must grow
# linearly with its size.  There is no peer that parses the same file, so the
# figure is a scaling ratio measured in one run: the time to load a config ten
# times larger (50,000 suites and as many components in one stanza, plus 20,000
# mirrors in mirrors.d) over the time to load the small one (5,000 and 2,000).
# Linear is 10x; quadratic would be 100x.  Nothing asserts: the last line says
# whether the target (at most 20x) is met.
#
# Each size is loaded by `mirrord -c FILE status` on an empty store, CONF_RUNS
# times (default 5); the median wall time counts (date +%s%N: /usr/bin/time
# resolves 10 ms, less than the small config takes).  Peak RSS from
# /usr/bin/time is shown too.
#
# Environment: BENCH_DIR (default build/bench), CONF_RUNS (default 5).
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
MIRRORD=${1:-$top/build/mirrord}
case $MIRRORD in /*) ;; *) MIRRORD=$PWD/$MIRRORD ;; esac
BDIR=${BENCH_DIR:-$top/build/bench}
RUNS=${CONF_RUNS:-5}

die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[ -x "$MIRRORD" ] || die "'$MIRRORD' is not executable"
[ -x /usr/bin/time ] || die "'/usr/bin/time' is not installed (apt-get install time)"
command -v python3 >/dev/null || die "'python3' is not installed"
mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
RUN=$BDIR/conf
rm -rf "$RUN"

# mkconf DIR WORDS MIRRORS: one stanza of WORDS suites and WORDS components,
# MIRRORS small mirrors in mirrors.d (5,000 a file: a file is capped at 1 MiB).
mkconf() {
	python3 - "$@" <<'PY' || die "cannot write '$1'"
import os, sys
d, words, mirrors = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(d + "/mirrors.d")
open(d + "/k.gpg", "w").write("key")
def wrap(prefix, n):
    return "".join(("\n " if i % 16 == 15 else " ") + "%s%d" % (prefix, i)
                   for i in range(n))
with open(d + "/mirrord.conf", "w") as f:
    f.write("Store: store\n\nName: big\nTypes: deb\n"
            "URIs: http://example.org/debian\nArchitectures: amd64\n"
            "Signed-By: k.gpg\nSuites:%s\nComponents:%s\n"
            % (wrap("s", words), wrap("c", words)))
for start in range(0, mirrors, 5000):
    with open(d + "/mirrors.d/m%06d.sources" % start, "w") as f:
        for i in range(start, min(start + 5000, mirrors)):
            f.write("Name: m%d\nTypes: deb\nURIs: http://example.org/d\n"
                    "Suites: stable\nComponents: main\nArchitectures: amd64\n"
                    "Signed-By: ../k.gpg\n\n" % i)
PY
	"$MIRRORD" -q -c "$1/mirrord.conf" gc >/dev/null ||
	    die "cannot create the store of '$1'"
}

# measure DIR: prints "MEDIAN_SECONDS PEAK_KB".
measure() {
	local i t0 t1 kb ts=()
	for ((i = 0; i < RUNS; i++)); do
		t0=$(date +%s%N)
		/usr/bin/time -o "$RUN/time" -f '%M' \
		    "$MIRRORD" -c "$1/mirrord.conf" status >/dev/null 2>"$RUN/err" ||
		    die "status failed: $(cat "$RUN/err")"
		t1=$(date +%s%N)
		ts+=($(( (t1 - t0) / 1000 )))
		kb=$(tail -1 "$RUN/time")
	done
	printf '%s\n' "${ts[@]}" | sort -n |
	    awk -v kb="$kb" '{ v[NR] = $1 } END { printf "%.4f %s\n", v[int((NR + 1) / 2)] / 1e6, kb }'
}

mkconf "$RUN/small" 5000 2000
mkconf "$RUN/large" 50000 20000
read -r s_s s_kb < <(measure "$RUN/small")
read -r l_s l_kb < <(measure "$RUN/large")
ratio=$(awk -v a="$l_s" -v b="$s_s" 'BEGIN { printf "%.1f", a / b }')
{
	printf '%-44s|%10s|%10s\n' "config load (mirrord status)" "seconds" "peak KB"
	printf '%-44s|%10s|%10s\n' "5,000 suites+components, 2,000 mirrors" "$s_s" "$s_kb"
	printf '%-44s|%10s|%10s\n' "50,000 suites+components, 20,000 mirrors" "$l_s" "$l_kb"
	printf 'scaling for 10x the size: %sx (linear 10x, quadratic 100x); target <= 20x: %s\n' \
	    "$ratio" "$(awk -v r="$ratio" 'BEGIN { print (r <= 20 ? "met" : "NOT met") }')"
} | tee "$BDIR/conf-results.txt"
