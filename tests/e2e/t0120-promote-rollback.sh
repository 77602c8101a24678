#!/bin/sh
# Promotion and rollback as an apt client sees them: a client on channel
# 'production' gets generation 1, then generation 2 after a promotion, and
# generation 1 again after a rollback, although it already had the newer
# Release (apt ignores an older Date: channel Release dates must increase).
. "$(dirname "$0")/lib.sh"

# channel_date: the Date of production's stable-updates InRelease.
channel_date() {
	_s=$(http_status "$SERVE_URL/demo/production/dists/stable-updates/InRelease")
	[ "$_s" = 200 ] || fail "GET production's InRelease: status $_s"
	"$PYTHON" -c 'import email.utils, sys
for l in open(sys.argv[1], errors="replace"):
    if l.startswith("Date:"):
        print(int(email.utils.parsedate_to_datetime(l[5:].strip()).timestamp()))
        break' "$T/b"
}

test_expect_success 'a synced mirror, served' - <<'EOT'
setup_synced
cp -a "$ARCHIVE" "$T/gen1"
v1=$(fixture_packages "$T/gen1" |
    awk '$1 == "stable-updates" && $2 == "hello" && $3 == "amd64" { print $4 }')
start_serve
EOT

test_expect_success 'promote generation 1 to production' - <<'EOT'
run mirrord promote demo latest production
assert_rc 0
assert_out_match "^production -> $SNAP1\$"
run mirrord sources demo production
assert_rc 0
BOX=$T/box
apt_box "$BOX"
cp "$T/out" "$BOX/etc/apt/sources.list.d/x.sources"
apt_update_ok "$BOX"
assert_eq "$v1" "$(apt_candidate "$BOX" hello)" "candidate after promoting gen 1"
d1=$(channel_date)
EOT

test_expect_success 'promote the same snapshot again: an error' - <<'EOT'
run mirrord promote demo "$SNAP1" production
assert_rc 1
assert_err_match 'already'
EOT

test_expect_success 'other clients keep reading production' - <<'EOT'
# A busy server: other clients keep reading the channel during the moves
# below, so a move must be visible to the next request at once (no stale
# resolution from before the move may be served after it returned).
: >"$T/warm"
(
	while [ -f "$T/warm" ]; do
		curl -s --max-time 5 -o /dev/null \
		    "$SERVE_URL/demo/production/dists/stable-updates/InRelease" || true
		sleep 0.05
	done
) &
WARM=$!
_pids="$_pids $WARM"
EOT

test_expect_success 'generation 2, promoted with latest' - <<'EOT'
mkarchive --generation 2
v2=$(fixture_packages "$ARCHIVE" |
    awk '$1 == "stable-updates" && $2 == "hello" && $3 == "amd64" { print $4 }')
[ "$v1" != "$v2" ] || fail "the fixture's generation 2 did not change hello"
sync_ok
SNAP2=$SNAP
run mirrord promote demo latest production
assert_rc 0
assert_out_match "^production -> $SNAP2\$"
d2=$(channel_date)	# the first request after the move
[ "$d2" -gt "$d1" ] || fail "the first GET of production's InRelease after" \
    "the promotion has an old Date ($d1, then $d2)"
apt_update_ok "$BOX"
assert_eq "$v2" "$(apt_candidate "$BOX" hello)" "candidate after promoting gen 2"
EOT

test_expect_success 'rollback: the same client sees generation 1 again' - <<'EOT'
run mirrord rollback demo production
assert_rc 0
assert_out_match "^production -> $SNAP1\$"
d3=$(channel_date)	# the first request after the move
[ "$d3" -gt "$d2" ] || fail "the first GET of production's InRelease after" \
    "the rollback has an old Date ($d2, then $d3)"
apt_update_ok "$BOX"
assert_eq "$v1" "$(apt_candidate "$BOX" hello)" "candidate after the rollback"
rm -f "$T/warm"
wait "$WARM" || true
forget_pid "$WARM"
# The rolled-back channel serves generation 1's indices.
s=$(http_status "$SERVE_URL/demo/production/dists/stable-updates/main/binary-amd64/Packages.xz")
assert_eq 200 "$s" "status of production's Packages.xz"
cmp -s "$T/b" "$T/gen1/dists/stable-updates/main/binary-amd64/Packages.xz" ||
	fail "production's Packages.xz after the rollback is not generation 1's"
EOT

test_expect_success 'channel list and log record every move' - <<'EOT'
run mirrord channel list demo
assert_rc 0
assert_out_match "^production $SNAP1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"
run mirrord channel log demo production
assert_rc 0
assert_lines 3
sed -n 1p "$T/out" | grep -Eq -- "- -> $SNAP1( |\$)" ||
	fail "first log line: $(sed -n 1p "$T/out")"
sed -n 2p "$T/out" | grep -Eq -- "$SNAP1 -> $SNAP2( |\$)" ||
	fail "second log line: $(sed -n 2p "$T/out")"
sed -n 3p "$T/out" | grep -Eiq -- "rollback.*$SNAP2 -> $SNAP1( |\$)" ||
	fail "third log line: $(sed -n 3p "$T/out")"
EOT

test_expect_success 'a second rollback refuses: the only promotion left had no earlier target' - <<'EOT'
# mirrord(8): rollbacks stack, and "it is an error if there is nothing to
# roll back to": the log is "- -> S1", "S1 -> S2", "rollback S2 -> S1".
run mirrord rollback demo production
assert_rc 1
assert_err_match "no earlier target to roll back to"
assert_out_empty
run mirrord channel list demo
assert_out_match "^production $SNAP1 "
EOT

test_expect_success 'a signer home left by a killed process is removed by the next signer' - <<'EOT'
sh -c 'exit 0' &
dead=$!
wait "$dead"
stale=/tmp/mirrord-sign.$dead.e2eXXX
live=/tmp/mirrord-sign.$$.e2eXXX
mkdir -p "$stale" "$live"
echo secret >"$stale/private-keys"
run mirrord promote demo "$SNAP2" staging
assert_rc 0
[ ! -e "$stale" ] || fail "the stale signer home '$stale' (pid $dead is dead) was kept"
[ -d "$live" ] || fail "the signer home '$live' of a live process was removed"
rm -rf "$live"
EOT

test_expect_success 'moves within one second: Dates increase and are never ahead of the clock' - <<'EOT'
# apt refuses a Release dated in the future ("not valid yet"), so a
# rollback right after a promotion must not date its files ahead.
prev=0
for i in 1 2 3; do
	run mirrord promote demo "$SNAP1" quick
	assert_rc 0
	run mirrord promote demo "$SNAP2" quick
	assert_rc 0
	now=$(date +%s)
	curl -s --max-time 5 -o "$T/qr" "$SERVE_URL/demo/quick/dists/stable/Release" ||
		fail "cannot fetch quick's Release"
	d=$(sed -n 's/^Date: //p' "$T/qr")
	ds=$(date -d "$d" +%s) || fail "bad Date '$d'"
	[ "$ds" -le "$now" ] ||
		fail "move $i: Date '$d' is $((ds - now)) s ahead of the clock"
	[ "$ds" -gt "$prev" ] || fail "move $i: Date '$d' did not increase"
	prev=$ds
done
EOT

test_expect_success 'moves under busy readers: the first GET after each sees it' - <<'EOT'
# Six clients read the channel without pause while it moves 24 times; the
# first GET after each move returned must see the new Release. (A reader
# that began in the window where a commit's meta page is written but not
# yet given to new readers once kept the old state under the new commit's
# ID: about one move in ten served the old Release here.)
run mirrord promote demo "$SNAP1" busy
assert_rc 0
url=$SERVE_URL/demo/busy/dists/stable-updates/InRelease
: >"$T/busy"
busy=""
for k in 1 2 3 4 5 6; do
	( while [ -f "$T/busy" ]; do
		curl -s --max-time 5 -o /dev/null "$url" || true
	done ) &
	busy="$busy $!"
	_pids="$_pids $!"
done
prev=0
stale=""
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	for S in "$SNAP2" "$SNAP1"; do
		run mirrord promote demo "$S" busy
		assert_rc 0
		curl -s --max-time 5 -o "$T/br" "$url" || fail "cannot fetch busy's InRelease"
		d=$(sed -n 's/^Date: //p' "$T/br")
		ds=$(date -d "$d" +%s) || fail "bad Date '$d'"
		[ "$ds" -gt "$prev" ] || stale="$stale $i:$S"
		prev=$ds
	done
done
rm -f "$T/busy"
for p in $busy; do wait "$p" || true; forget_pid "$p"; done
[ -z "$stale" ] || fail "the first GET after these moves served the old Release:$stale"
EOT

test_expect_success 'a Release blob damaged on disk is never signed' - <<'EOT'
run mirrord snapshot show demo "$SNAP2" --json
assert_rc 0
rel=$("$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print([f["sha256"] for s in j["suites"] if s["name"] == "stable"
       for f in s["files"] if f["path"] == "Release"][0])' "$T/out")
flip_byte "$(blob_path "$rel")"
run mirrord promote demo "$SNAP2" damaged
assert_rc 1
assert_err_match "does not match its hash"
run mirrord channel list demo
assert_rc 0
! grep -q '^damaged ' "$T/out" || fail "a channel was made from a damaged Release"
stop_serve
EOT
