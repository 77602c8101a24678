#!/bin/bash
# bench/index-size.sh MIRRORD [PACKAGES [SYNCS [CHURN]]]: the scale test of
# the LMDB index. Syncs a generated upstream of PACKAGES pool files
# (default 20,000), then SYNCS updates (default 10), each giving a new
# version to a fraction CHURN of the packages (default 0.3), keeping every
# snapshot; after each sync it reads the index's size with mdb_stat and
# prints the bytes per package version and per snapshot, and what they
# come to for a 300,000-package mirror keeping 1,000 snapshots (the sizing
# in mirrord.conf(5)). Exits 1 if a package version costs more than
# INDEX_BUDGET bytes (default 600; measured 425), so that a change of
# the index's layout that makes it much larger is seen.
#
# Needs python3, gpg, curl, mdb_stat (lmdb-utils). Work directory:
# $BENCH_DIR/index-size (default build/bench/index-size), removed at the
# end unless BENCH_KEEP=1. 20,000 packages and 10 syncs: ~20 minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 MIRRORD [PACKAGES [SYNCS [CHURN]]]" >&2; exit 2; }
MIRRORD=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
N=${2:-20000}
SYNCS=${3:-10}
CHURN=${4:-0.3}
BUDGET=${INDEX_BUDGET:-600}
DIR=${BENCH_DIR:-build/bench}/index-size
for t in python3 gpg curl mdb_stat; do
	command -v "$t" >/dev/null || { echo "index-size: no $t" >&2; exit 2; }
done

rm -rf "$DIR"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
UP=$DIR/up
STORE=$DIR/store
HTTP_PID=
cleanup() {
	[ -z "$HTTP_PID" ] || kill "$HTTP_PID" 2>/dev/null || true
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$DIR"
}
trap cleanup EXIT

gen() {
	python3 "$here/mkupstream.py" "$UP" --packages "$N" --generation "$1" \
	    --churn "$CHURN" >"$DIR/mkupstream.log" 2>&1
}

# used: bytes of the index in use (pages used minus the free list).
used() {
	mdb_stat -ef "$STORE/index" | awk '
	    /Page size:/ { ps = $3 }
	    /Number of pages used:/ { used = $5 }
	    /Free pages:/ { free = $3 }
	    END { printf "%d\n", (used - free) * ps }'
}

gen 0
. "$UP/shape.env"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$UP/www"
python3 -m http.server --bind 127.0.0.1 --directory "$UP/www" "$PORT" \
    >"$DIR/http.log" 2>&1 &
HTTP_PID=$!
for i in $(seq 50); do
	curl -sf -o /dev/null "http://127.0.0.1:$PORT/debian/dists/$CODENAME/Release" && break
	sleep 0.1
done
cat >"$DIR/mirrord.conf" <<EOF
Store: $STORE
Connections: 8

Name: scale
Types: deb
URIs: http://127.0.0.1:$PORT/debian
Suites: $CODENAME
Components: $COMPONENTS
Architectures: $ARCHS
Signed-By: $UP/archive-key.gpg
EOF

versions=0
prev=0
first=0
printf '%-5s %10s %12s %14s %16s\n' sync versions "index bytes" "B/version" "B/snapshot"
for g in $(seq 0 "$SYNCS"); do
	if [ "$g" -gt 0 ]; then
		gen "$g"
	fi
	# New pool files this sync: the snapshot's new_files.
	"$MIRRORD" -q -c "$DIR/mirrord.conf" sync >"$DIR/sync.out" 2>"$DIR/sync.err" || {
		echo "index-size: sync $g failed: $(tail -n 3 "$DIR/sync.err")" >&2
		exit 1
	}
	new=$("$MIRRORD" -c "$DIR/mirrord.conf" snapshot show scale latest --json |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["new_files"])')
	versions=$((versions + new))
	u=$(used)
	if [ "$g" -eq 0 ]; then
		first=$u
		first_versions=$versions
		snap=-
	else
		snap=$((u - prev))
	fi
	printf '%-5s %10d %12d %14d %16s\n' "$g" "$versions" "$u" \
	    $((u / versions)) "$snap"
	prev=$u
done

per_version=$((first / first_versions))
if [ "$SYNCS" -gt 0 ]; then
	per_snap=$(( (prev - first) / SYNCS ))
	grown=$(( (prev - first) / (versions - first_versions) ))
else
	per_snap=0
	grown=$per_version
fi
echo "first sync: $per_version bytes per package version ($first_versions files)"
echo "each sync at churn $CHURN: $per_snap bytes (~$grown bytes per new version)"
python3 - "$per_version" "$grown" "$CHURN" <<'EOF'
import sys
b0, b1, churn = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
n, snaps = 300000, 1000
total = n * b0 + snaps * churn * n * b1
print("300,000 packages, 1,000 snapshots at churn %.2f: %.1f GB of index"
      % (churn, total / 1e9))
EOF
if [ "$per_version" -gt "$BUDGET" ]; then
	echo "index-size: $per_version bytes per package version, over the budget of $BUDGET" >&2
	exit 1
fi
