#!/bin/sh
# Store format 2 (blobs/ab/SHA256). A store made in format 1 (ab/cd/SHA256,
# with MIRRORD_TEST_STORE_FORMAT=1, the tests' switch) is served and
# checked as it is; `mirrord serve` answers every file while another
# process upgrades it; `fsck --upgrade` killed with SIGKILL at random
# points (and, with the faults build, after exact renames) then run again
# leaves a clean format 2 store serving every file byte-exact.
. "$(dirname "$0")/lib.sh"

# layout: "NEW OLD SUBDIRS": blob files at ab/, at ab/cd/, ab/cd/ dirs.
layout() {
	echo "$(find "$STORE/blobs" -mindepth 2 -maxdepth 2 -type f | wc -l)" \
	    "$(find "$STORE/blobs" -mindepth 3 -maxdepth 3 -type f | wc -l)" \
	    "$(find "$STORE/blobs" -mindepth 2 -maxdepth 2 -type d | wc -l)"
}

# serves_all: the snapshot's every dists and pool file, through serve.
serves_all() {
	"$PYTHON" "$E2E_DIR/snapshot_serves.py" "$SERVE_URL" demo "$SNAP1" \
	    "$T/show.json" "$T/files.new" >"$T/verify.out" 2>&1 ||
		fail "$1: snapshot $SNAP1 does not serve every file:
$(head -20 "$T/verify.out")"
	cmp -s "$T/files" "$T/files.new" ||
		fail "$1: another set of files is served than before"
}

mkarchive --generation 1 --packages 1500
start_upstream
write_conf
step "a first sync into a format 1 store"
MIRRORD_TEST_STORE_FORMAT=1
export MIRRORD_TEST_STORE_FORMAT
sync_ok
unset MIRRORD_TEST_STORE_FORMAT
SNAP1=$SNAP
blob_list >"$T/blobs1"
N=$(wc -l <"$T/blobs1")
[ "$N" -ge 2000 ] || fail "only $N blobs: too few to interrupt an upgrade"
read -r new old subs <<EOF
$(layout)
EOF
assert_eq "0 $N" "$new $old" "blob files at ab/ and at ab/cd/ in format 1"
check_pool_blobs "$ARCHIVE"

step "format 1: a read-only fsck is clean and moves nothing"
run mirrord fsck
assert_rc 0
assert_out_match ' 0 problems$'
assert_eq "0 $N" "$(layout | cut -d ' ' -f 1-2)" "layout after fsck"

# serve makes the signing key, a write: the switch keeps it from upgrading,
# so that the upgrades below are another process's.
MIRRORD_TEST_STORE_FORMAT=1
export MIRRORD_TEST_STORE_FORMAT
start_serve
unset MIRRORD_TEST_STORE_FORMAT
assert_eq "0 $N" "$(layout | cut -d ' ' -f 1-2)" "layout after serve's start"
mirrord snapshot show demo "$SNAP1" --json >"$T/show.json" ||
	fail "snapshot show --json failed"
"$PYTHON" "$E2E_DIR/snapshot_serves.py" "$SERVE_URL" demo "$SNAP1" \
    "$T/show.json" "$T/files" >"$T/verify.out" 2>&1 ||
	fail "format 1: not every file served: $(head -20 "$T/verify.out")"
step "format 1: serve answers every file ($(wc -l <"$T/files") hashes)"

step "an upgrade interrupted by hand: half the files moved, no record"
find "$STORE/blobs" -mindepth 3 -maxdepth 3 -type f | awk 'NR % 2' |
    while read -r f; do
	d=${f%/*}
	mv "$f" "${d%/*}/"
done
read -r new old subs <<EOF
$(layout)
EOF
[ "$new" -gt 0 ] && [ "$old" -gt 0 ] ||
	fail "the hand-made interruption moved $new of $N"
serves_all "half moved"
run mirrord fsck
assert_rc 0
assert_out_match ' 0 problems$'
assert_out_match ' 0 unreferenced blob files'

step "fsck --upgrade killed at random points (serve answering meanwhile)"
kills=0 mid=0 i=0
while [ "$i" -lt 12 ]; do
	i=$((i + 1))
	timeout 120 "$MIRRORD" -c "$CONF" fsck --upgrade >"$T/up.out" 2>&1 &
	up=$!
	_pids="$_pids $up"
	sleep "0.0$(rand_ms 10)"
	# the mirrord under timeout(1), by its PID
	for c in $(ps -o pid= --ppid "$up"); do
		kill -KILL "$c" 2>/dev/null && kills=$((kills + 1))
	done
	wait "$up" 2>/dev/null || true
	forget_pid "$up"
	read -r new old subs <<EOF
$(layout)
EOF
	[ "$new" -gt 0 ] && [ "$old" -gt 0 ] && mid=$((mid + 1))
	[ $((new + old)) -ge "$N" ] ||
		fail "kill $i: $new + $old blob files, not $N"
	serves_all "after kill $i ($new at ab/, $old at ab/cd/)"
	[ "$old" -gt 0 ] || break
done
step "$kills kills, $mid of them left both layouts; serve answered every file"

if [ -n "${MIRRORD_FAULTS_BIN:-}" ] && [ "$(layout | cut -d ' ' -f 2)" -gt 0 ]
then
	step "faults build: SIGKILL before the 25th rename of the upgrade"
	MIRRORD_FAULT=rename:25:KILL timeout 120 "$MIRRORD_FAULTS_BIN" \
	    -c "$CONF" fsck --upgrade >"$T/up.out" 2>&1 && fail "not killed"
	grep -q 'killing at rename #25' "$T/up.out" ||
		fail "the fault did not fire: $(cat "$T/up.out")"
	serves_all "after the fault kill"
fi

step "fsck --upgrade again: done, clean"
run mirrord fsck --upgrade
assert_rc 0
assert_out_match '^store format 2$'
assert_out_match ' 0 problems$'
assert_out_match ' 0 unreferenced blob files'
assert_eq "$N 0 0" "$(layout)" "blob files at ab/, at ab/cd/, ab/cd/ dirs"
blob_list >"$T/blobs2"
cmp -s "$T/blobs1" "$T/blobs2" || fail "the upgrade changed the blob set"
check_pool_blobs "$ARCHIVE"
serves_all "upgraded"
stop_serve

step "a writer (gc) opens the format 2 store; a new sync writes ab/ only"
run mirrord gc
assert_rc 0
mkarchive --generation 2 --packages 1500
sync_ok
assert_eq "0 0" "$(layout | cut -d ' ' -f 2-3)" "files and dirs at ab/cd/"
run mirrord fsck
assert_rc 0
assert_out_match ' 0 problems$'
