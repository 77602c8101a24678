#!/bin/sh
# Store format 2 (blobs/ab/SHA256). A store made in format 1 (ab/cd/SHA256,
# with MIRRORD_TEST_STORE_FORMAT=1, the tests' switch) is served and
# checked as it is; `mirrord serve` answers every file while another
# process upgrades it; `fsck --upgrade` killed with SIGKILL at random
# points (and, with the faults build, before an exact rename) then run
# again leaves a clean format 2 store serving every file byte-exact.
. "$(dirname "$0")/lib.sh"

# layout: "NEW OLD SUBDIRS": blob files at ab/, at ab/cd/, ab/cd/ dirs.
layout() {
	echo "$(find "$STORE/blobs" -mindepth 2 -maxdepth 2 -type f | wc -l)" \
	    "$(find "$STORE/blobs" -mindepth 3 -maxdepth 3 -type f | wc -l)" \
	    "$(find "$STORE/blobs" -mindepth 2 -maxdepth 2 -type d | wc -l)"
}

# serves_check OUT: snapshot_serves.py for SNAP1 through serve, into OUT.
serves_check() {
	"$PYTHON" "$E2E_DIR/snapshot_serves.py" "$SERVE_URL" demo "$SNAP1" \
	    "$T/show.json" "$1.files" >"$1" 2>&1
}

# serves_all WHAT: every dists and pool file of SNAP1 served, the same set.
serves_all() {
	serves_check "$T/verify.out" ||
		fail "$1: snapshot $SNAP1 does not serve every file:
$(head -20 "$T/verify.out")"
	cmp -s "$T/files" "$T/verify.out.files" ||
		fail "$1: another set of files is served than before"
}

# upgrade_killed DELAY: fsck --upgrade, SIGKILLed after DELAY seconds
# (if it still runs) while snapshot_serves.py reads every file through
# serve; then both layouts hold every blob and serve answered them all.
upgrade_killed() {
	serves_check "$T/during.out" &
	_chk=$!
	timeout 120 "$MIRRORD" -c "$CONF" fsck --upgrade >"$T/up.out" 2>&1 &
	_up=$!
	_pids="$_pids $_up $_chk"
	sleep "$1"
	# the mirrord under timeout(1), by its PID
	for _c in $(ps -o pid= --ppid "$_up"); do
		kill -KILL "$_c" 2>/dev/null && kills=$((kills + 1))
	done
	wait "$_up" 2>/dev/null || true
	forget_pid "$_up"
	_crc=0
	wait "$_chk" || _crc=$?
	forget_pid "$_chk"
	[ "$_crc" = 0 ] || fail "serve failed a file during the upgrade:
$(head -20 "$T/during.out")"
	read -r new old subs <<EOF
$(layout)
EOF
	[ "$new" -gt 0 ] && [ "$old" -gt 0 ] && mid=$((mid + 1))
	[ $((new + old)) -ge "$N" ] || fail "$new + $old blob files, not $N"
}

mkarchive --generation 1 --packages 600
start_upstream
write_conf

test_expect_success 'a first sync into a format 1 store (the test switch)' '
	MIRRORD_TEST_STORE_FORMAT=1
	export MIRRORD_TEST_STORE_FORMAT
	sync_ok
	unset MIRRORD_TEST_STORE_FORMAT
	SNAP1=$SNAP
	blob_list >"$T/blobs1"
	N=$(wc -l <"$T/blobs1")
	[ "$N" -ge 2000 ] || fail "only $N blobs: too few to interrupt"
	assert_eq "0 $N" "$(layout | cut -d " " -f 1-2)" \
	    "blob files at ab/ and at ab/cd/"
	check_pool_blobs "$ARCHIVE"
'

test_expect_success 'format 1: a read-only fsck is clean and moves nothing' '
	run mirrord fsck
	assert_rc 0
	assert_out_match " 0 problems$"
	assert_eq "0 $N" "$(layout | cut -d " " -f 1-2)" "layout after fsck"
'

test_expect_success 'format 1: serve answers every file' '
	# serve makes the signing key, a write: the switch keeps it from
	# upgrading, so that the upgrades below are another process'"'"'s.
	MIRRORD_TEST_STORE_FORMAT=1
	export MIRRORD_TEST_STORE_FORMAT
	start_serve
	unset MIRRORD_TEST_STORE_FORMAT
	assert_eq "0 $N" "$(layout | cut -d " " -f 1-2)" "layout after serve"
	mirrord snapshot show demo "$SNAP1" --json >"$T/show.json"
	serves_check "$T/verify.out" ||
		fail "not every file served: $(head -20 "$T/verify.out")"
	mv "$T/verify.out.files" "$T/files"
	echo "$(wc -l <"$T/files") hashes served"
'

test_expect_success 'an upgrade interrupted by hand: served, fsck clean' '
	find "$STORE/blobs" -mindepth 3 -maxdepth 3 -type f |
	    awk "NR % 2" | while read -r f; do
		d=${f%/*}
		mv "$f" "${d%/*}/"
	done
	read -r new old subs <<EOF
$(layout)
EOF
	[ "$new" -gt 0 ] && [ "$old" -gt 0 ] ||
		fail "the hand-made interruption: $new at ab/, $old at ab/cd/"
	serves_all "half moved"
	run mirrord fsck
	assert_rc 0
	assert_out_match " 0 problems$"
	assert_out_match " 0 unreferenced blob files"
'

kills=0 mid=0
test_expect_success FAULTS_BUILD 'SIGKILL before the 25th rename of an upgrade' '
	old0=$(layout | cut -d " " -f 2)
	MIRRORD_FAULT=rename:25:KILL timeout 120 "$MIRRORD_FAULTS_BIN" \
	    -c "$CONF" fsck --upgrade >"$T/up.out" 2>&1 && fail "not killed"
	grep -q "killing at rename #25" "$T/up.out" ||
		fail "the fault did not fire: $(cat "$T/up.out")"
	assert_eq "$((old0 - 24))" "$(layout | cut -d " " -f 2)" \
	    "files left at ab/cd/ after 24 renames"
	serves_all "after the fault kill"
'

test_expect_success 'fsck --upgrade killed at random points, serve reading' '
	i=0
	while [ "$i" -lt 12 ] && [ "$(layout | cut -d " " -f 2)" -gt 0 ]; do
		i=$((i + 1))
		upgrade_killed "0.0$(rand_ms 10)"
		echo "kill $i: $new at ab/, $old at ab/cd/, $subs ab/cd/ dirs"
	done
	echo "$kills kills, $mid of them left both layouts"
'

test_expect_success 'fsck --upgrade again: format 2, clean, same blobs' '
	left=$(layout | cut -d " " -f 2)
	echo "$left blob files left at ab/cd/ by the killed runs"
	run mirrord fsck --upgrade
	assert_rc 0
	# a killed run may have moved the last file before its kill
	if [ "$left" -gt 0 ]; then
		assert_out_match "^upgraded: [1-9][0-9]* blob files moved"
	fi
	assert_out_match "^store format 2$"
	assert_out_match " 0 problems$"
	assert_out_match " 0 unreferenced blob files"
	assert_eq "$N 0 0" "$(layout)" "files at ab/, at ab/cd/; ab/cd/ dirs"
	blob_list >"$T/blobs2"
	cmp -s "$T/blobs1" "$T/blobs2" || fail "the upgrade changed the blobs"
	check_pool_blobs "$ARCHIVE"
	serves_all "upgraded"
	stop_serve
'

test_expect_success 'then writers (gc, a sync) leave nothing at ab/cd/' '
	run mirrord gc
	assert_rc 0
	mkarchive --generation 2 --packages 600
	sync_ok
	assert_eq "0 0" "$(layout | cut -d " " -f 2-3)" "files, dirs at ab/cd/"
	run mirrord fsck
	assert_rc 0
	assert_out_match " 0 problems$"
'
