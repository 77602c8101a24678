#!/bin/sh
# Retention and garbage collection. Eight syncs of eight upstream
# generations (each changes hello/libhello1/their source in stable-updates;
# tzdata-stub changes from generation 3 on, generations 1 and 2 share it;
# newtool appears in 3 and stays), then:
#   channel 'production' goes S2 -> S7 -> S4 (S4 its current target, S2
#   kept by its history, S7 also among the last 3), S5 is pinned, and
#   Keep-Snapshots: last 3 keeps S6 S7 S8.
# A: Gc-Grace: 1h. `gc --dry-run` changes nothing at all; `gc` drops
#    exactly S1 and S3 and removes no blob (grace) but queues the right
#    number. Upstream then goes back to generation 3's content: S9 uses
#    some queued blobs again.
# B: Gc-Grace: 0 is refused (at least 1h, mirrord.conf(5)), so this test
#    lowers the floor with MIRRORD_TEST_GC_GRACE_MIN=0. `gc` drops S6 (no longer among the last 3) and removes
#    exactly the blobs that only S1, S3, S6 and the channel's superseded
#    Release files used, none that S9 uses again: computed here from what
#    each snapshot serves (its `snapshot show --json` files and the pool
#    files its Packages/Sources list), before any gc; fsck passes; every
#    kept snapshot still serves every one of its files with the right
#    sha256.
# C: unpin S5 and Channel-History: 1: `gc` drops S2 and S5 and their
#    blobs; checked the same way.
. "$(dirname "$0")/lib.sh"

mkarchive --generation 1
start_upstream
write_conf

step "eight syncs, generations 1 to 8"
S=""
for g in 1 2 3 4 5 6 7 8; do
	[ "$g" = 1 ] || mkarchive --generation "$g"
	sync_ok
	eval "S$g=\$SNAP"
	S="$S $SNAP"
done
S=${S# }
run mirrord snapshot list demo
assert_rc 0
assert_eq "$S" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" "snapshot list after 8 syncs"

start_serve

# snap_files ID: checks that ID serves every file (snapshot_serves.py) and
# leaves its sha256 set in $T/files.ID.
snap_files() {
	mirrord snapshot show demo "$1" --json >"$T/show.$1.json" 2>"$T/show.err" ||
		fail "snapshot show demo $1 --json: $(cat "$T/show.err")"
	"$PYTHON" "$E2E_DIR/snapshot_serves.py" "$SERVE_URL" demo "$1" "$T/show.$1.json" \
	    "$T/files.$1.new" >"$T/verify.out" 2>&1 ||
		fail "snapshot $1 does not serve every file:
$(cat "$T/verify.out")"
	cat "$T/verify.out"
	if [ -f "$T/files.$1" ]; then
		cmp -s "$T/files.$1" "$T/files.$1.new" ||
			fail "snapshot $1 now serves another set of files than" \
			    "before gc: $(diff "$T/files.$1" "$T/files.$1.new" | head -5)"
	else
		mv "$T/files.$1.new" "$T/files.$1"
	fi
}

# chan_files OUT: the sha256 of production's own Release files.
chan_files() {
	for _s in stable stable-updates; do
		for _f in InRelease Release Release.gpg; do
			_st=$(http_status "$SERVE_URL/demo/production/dists/$_s/$_f")
			[ "$_st" = 200 ] || fail "GET production's $_s/$_f: status $_st"
			file_sha256 "$T/b"
		done
	done | sort -u >"$1"
}

# union OUT FILE...: the sorted union of sha256 lists.
union() {
	_o=$1; shift
	cat "$@" | sort -u >"$_o"
}

# same_set WHAT EXPECTED GOT: two sorted lists are equal, else both
# differences are shown.
same_set() {
	if ! cmp -s "$2" "$3"; then
		comm -23 "$2" "$3" >"$T/only.exp"
		comm -13 "$2" "$3" >"$T/only.got"
		fail "$1: $(wc -l <"$T/only.exp" | tr -d ' ') expected but" \
		    "missing: $(head -n 5 "$T/only.exp" | tr '\n' ' ');" \
		    "$(wc -l <"$T/only.got" | tr -d ' ') present but not" \
		    "expected: $(head -n 5 "$T/only.got" | tr '\n' ' ')"
	fi
}

snap_list() {
	run mirrord snapshot list demo
	assert_rc 0
	# The ID first; a pinned one's line goes on with its mark.
	awk '{ print $1 }' "$T/out" | tr '\n' ' ' | sed 's/ $//'
}

step "what each snapshot serves, before any gc"
for id in $S; do
	snap_files "$id"
done

step "production: S2, then S7, then S4; S5 pinned"
run mirrord promote demo "$S2" production
assert_rc 0
assert_out_match "^production -> $S2\$"
chan_files "$T/chan.a"
run mirrord promote demo "$S7" production
assert_rc 0
chan_files "$T/chan.b"
run mirrord promote demo "$S4" production
assert_rc 0
assert_out_match "^production -> $S4\$"
chan_files "$T/chan.c"
run mirrord snapshot pin demo "$S5" "the release we shipped"
assert_rc 0
run mirrord snapshot list demo
assert_out_match "^$S5 pinned: the release we shipped\$"
run mirrord snapshot pin demo 20000101T000000Z "no such snapshot"
assert_rc 1

KEPT="$S2 $S4 $S5 $S6 $S7 $S8"
# Expected: what kept snapshots and production's current Release files
# use stays, everything else goes (blobs of S1 and S3 only, production's
# superseded Release files).
union "$T/keep.b" "$T/chan.c" $(for id in $KEPT; do echo "$T/files.$id"; done)
union "$T/dropped.b" "$T/files.$S1" "$T/files.$S3" "$T/chan.a" "$T/chan.b"
comm -23 "$T/dropped.b" "$T/keep.b" >"$T/gone.b"
ngone=$(wc -l <"$T/gone.b" | tr -d ' ')
# the fixture: hello of generations 1 and 3 and tzdata-stub of 3 at least
[ "$ngone" -ge 10 ] || fail "expected many blobs to go, computed $ngone"

step "A: Keep-Snapshots: last 3, Gc-Grace: 1h; gc --dry-run changes nothing"
set_global Keep-Snapshots "last 3"
set_global Gc-Grace 1h
blob_list >"$T/blobs.0"
# every blob is a file of some snapshot or channel state, and vice versa
union "$T/all.b" "$T/keep.b" "$T/dropped.b"
same_set "blobs before gc vs. every file of every snapshot and channel" \
    "$T/all.b" "$T/blobs.0"
run mirrord gc --dry-run
assert_rc 0
assert_out_match "^would be: 2 snapshots dropped, 0 blobs .* removed, $ngone blobs .* grace"
assert_eq "$S" "$(snap_list)" "snapshot list after gc --dry-run"
blob_list >"$T/blobs.dry"
same_set "blobs after gc --dry-run" "$T/blobs.0" "$T/blobs.dry"

step "A: gc drops S1 and S3, removes no blob yet"
run mirrord gc
assert_rc 0
assert_out_match "^2 snapshots dropped, 0 blobs .* removed, $ngone blobs .* grace"
step "gc: $(cat "$T/out")"
assert_eq "$S2 $S4 $S5 $S6 $S7 $S8" "$(snap_list)" \
    "snapshot list after gc (S2 history, S4 channel, S5 pinned, S6-S8 last 3)"
blob_list >"$T/blobs.a"
same_set "blobs after gc within the grace period" "$T/blobs.0" "$T/blobs.a"
run mirrord channel list demo
assert_rc 0
assert_out_match "^production $S4 "
run mirrord fsck
assert_rc 0
# S1 is gone: nothing is at or before its ID any more.
assert_eq 404 "$(http_status "$SERVE_URL/demo/$S1/dists/stable/InRelease")" \
    "GET a dropped snapshot's InRelease"
run mirrord snapshot show demo "$S1"
assert_rc 1

step "upstream goes back to generation 3 (new Date): S9 uses S3's queued blobs again"
mkarchive --generation 3 --date-offset 0
sync_ok
S9=$SNAP
snap_files "$S9"
comm -12 "$T/files.$S3" "$T/files.$S9" >"$T/back"
comm -12 "$T/back" "$T/gone.b" >"$T/back.gone"
[ -s "$T/back.gone" ] ||
	fail "S9 reuses none of the blobs that only S1 and S3 used"
step "S9 references again $(wc -l <"$T/back.gone" | tr -d ' ') blobs queued by the first gc"
# Now S6 falls out of the last 3 (S7 S8 S9).
KEPT="$S2 $S4 $S5 $S7 $S8 $S9"
union "$T/keep.b" "$T/chan.c" $(for id in $KEPT; do echo "$T/files.$id"; done)
union "$T/dropped.b" "$T/files.$S1" "$T/files.$S3" "$T/files.$S6" \
    "$T/chan.a" "$T/chan.b"
comm -23 "$T/dropped.b" "$T/keep.b" >"$T/gone.b"
ngone=$(wc -l <"$T/gone.b" | tr -d ' ')
blob_list >"$T/blobs.a"

step "B: Gc-Grace: 0 is refused, naming the file, the line and 1h"
set_global Gc-Grace 0
run mirrord gc --dry-run
assert_rc 1
assert_err_match "'$CONF' line [0-9]+: 'Gc-Grace' must be at least 1h, not '0'"

step "B: Gc-Grace: 0 (MIRRORD_TEST_GC_GRACE_MIN=0); gc --dry-run still changes nothing"
export MIRRORD_TEST_GC_GRACE_MIN=0
run mirrord gc --dry-run
assert_rc 0
assert_out_match "^would be: 1 snapshots dropped, $ngone blobs "
assert_eq "$S2 $S4 $S5 $S6 $S7 $S8 $S9" "$(snap_list)" \
    "snapshot list after gc --dry-run"
blob_list >"$T/blobs.dry"
same_set "blobs after gc --dry-run (Gc-Grace: 0)" "$T/blobs.a" "$T/blobs.dry"

step "B: gc drops S6, removes exactly the $ngone blobs only dropped snapshots used"
run mirrord gc
assert_rc 0
assert_out_match "^1 snapshots dropped, $ngone blobs .* removed, 0 blobs "
step "gc: $(cat "$T/out")"
blob_list >"$T/blobs.b"
comm -23 "$T/blobs.a" "$T/blobs.b" >"$T/removed.b"
comm -12 "$T/back.gone" "$T/removed.b" >"$T/back.removed"
[ ! -s "$T/back.removed" ] || fail "gc removed $(wc -l <"$T/back.removed" |
    tr -d ' ') blobs that were queued but that S9 references again:" \
    "$(head -n 3 "$T/back.removed" | tr '\n' ' ')"
same_set "blobs removed by gc" "$T/gone.b" "$T/removed.b"
same_set "blobs left by gc" "$T/keep.b" "$T/blobs.b"
assert_eq "$KEPT" "$(snap_list)" "snapshot list after the second gc"
run mirrord fsck
assert_rc 0
assert_tmp_empty

step "B: every kept snapshot still serves every file"
for id in $KEPT; do
	snap_files "$id"
done
chan_files "$T/chan.now"
same_set "production's Release files" "$T/chan.c" "$T/chan.now"

step "C: unpin S5, Channel-History: 1: gc drops S2 and S5"
run mirrord snapshot unpin demo "$S5"
assert_rc 0
run mirrord snapshot unpin demo "$S5"
assert_rc 1
assert_err_match 'not pinned'
set_global Channel-History 1
KEPT="$S4 $S7 $S8 $S9"
union "$T/keep.c" "$T/chan.c" $(for id in $KEPT; do echo "$T/files.$id"; done)
union "$T/dropped.c" "$T/files.$S2" "$T/files.$S5"
comm -23 "$T/dropped.c" "$T/keep.c" >"$T/gone.c"
ngone=$(wc -l <"$T/gone.c" | tr -d ' ')
run mirrord gc
assert_rc 0
assert_out_match "^2 snapshots dropped, $ngone blobs .* removed, 0 blobs "
step "gc: $(cat "$T/out")"
assert_eq "$KEPT" "$(snap_list)" \
    "snapshot list after unpinning S5 and Channel-History: 1"
blob_list >"$T/blobs.c"
comm -23 "$T/blobs.b" "$T/blobs.c" >"$T/removed.c"
same_set "blobs removed by the third gc" "$T/gone.c" "$T/removed.c"
same_set "blobs left by the third gc" "$T/keep.c" "$T/blobs.c"
run mirrord fsck
assert_rc 0
for id in $KEPT; do
	snap_files "$id"
done

step "a gc with nothing to do changes nothing"
run mirrord gc
assert_rc 0
assert_out_match '^0 snapshots dropped, 0 blobs '
blob_list >"$T/blobs.d"
same_set "blobs after an idle gc" "$T/blobs.c" "$T/blobs.d"

stop_serve
step "ok"
