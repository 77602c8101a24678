#!/bin/sh
# Operations a team expects (issue 13): a typo'd channel deleted or
# renamed (its URL then says 404, its history follows a rename, its
# Release files are queued for gc), promote --dry-run (the diff, nothing
# written), promote/rollback -m recorded in the channel log, and snapshot
# drop for a known-bad snapshot, refused while a pin, a channel or its
# recent history holds it, naming which. Pins shown by list, show, status.
. "$(dirname "$0")/lib.sh"

setup_synced
mkarchive --generation 2
sync_ok
SNAP2=$SNAP
mkarchive --generation 3
sync_ok
SNAP3=$SNAP
start_serve

# log_json EXPR: EXPR (Python, j = `channel log demo $LOGCH --json`).
log_json() {
	mirrord channel log demo "$LOGCH" --json >"$T/lj" ||
		fail "channel log demo $LOGCH --json failed"
	"$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$T/lj" "$1"
}

step "a pin is shown by snapshot list, show, their --json and status"
run mirrord snapshot pin demo "$SNAP1" "known good"
assert_rc 0
run mirrord snapshot list demo
assert_out_match "^$SNAP1 pinned: known good\$"
assert_out_match "^$SNAP2\$"
assert_eq "known good" "$(snapshot_json demo 'j[0]["pinned"]')" "list --json pinned"
assert_eq "None" "$(snapshot_json demo 'j[1]["pinned"]')" "list --json unpinned"
run mirrord snapshot show demo "$SNAP1"
assert_out_match "^pinned: known good\$"
run mirrord snapshot show demo "$SNAP1" --json
assert_out_match '"pinned":"known good"'
run mirrord status
assert_out_match "$SNAP1.*known good"
run mirrord status --json
assert_out_match '"pins":\[\{"id":"'"$SNAP1"'","note":"known good"\}\]'

step "snapshot drop: refused while a pin, a channel or its history holds it"
run mirrord snapshot drop demo "$SNAP1"
assert_rc 1
assert_err_match "snapshot '$SNAP1' is held: pinned \('known good'\)"
run mirrord promote demo "$SNAP2" edge
assert_rc 0
run mirrord snapshot drop demo "$SNAP2"
assert_rc 1
assert_err_match "channel 'edge' points at it"
run mirrord promote demo "$SNAP3" edge
assert_rc 0
run mirrord snapshot drop demo "$SNAP2"
assert_rc 1
assert_err_match "channel 'edge' can roll back to it within Channel-History"
run mirrord snapshot drop demo "$SNAP3"
assert_rc 1
assert_err_match "newest"
run mirrord snapshot drop demo 20000101T000000Z
assert_rc 1
assert_err_match "no snapshot '20000101T000000Z'"
assert_eq 3 "$(snapshot_count demo)" "snapshots after refused drops"

step "snapshot drop of an unpinned, unheld snapshot: gone, its blobs queued"
run mirrord snapshot unpin demo "$SNAP1"
assert_rc 0
_s=$(http_status "$SERVE_URL/demo/$SNAP1/dists/stable/InRelease")
assert_eq 200 "$_s" "GET the snapshot's InRelease before the drop"
run mirrord snapshot drop demo "$SNAP1"
assert_rc 0
assert_out_match "^dropped $SNAP1; [1-9][0-9]* blobs queued"
assert_eq 2 "$(snapshot_count demo)" "snapshots after the drop"
_s=$(http_status "$SERVE_URL/demo/$SNAP1/dists/stable/InRelease")
[ "$_s" != 200 ] || fail "the dropped snapshot still answers 200"
run mirrord gc --dry-run
assert_rc 0
assert_out_match "[1-9][0-9]* blobs \([0-9.]+ MiB\) waiting out the grace period"
run mirrord fsck
assert_rc 0

step "channel delete: its URL says 404, its log says who and why"
run mirrord promote demo "$SNAP2" prodution
assert_rc 0
_s=$(http_status "$SERVE_URL/demo/prodution/dists/stable/InRelease")
assert_eq 200 "$_s" "GET prodution's InRelease"
run mirrord gc --dry-run
pending_before=$(sed -n 's/.* \([0-9][0-9]*\) blobs ([0-9.]* MiB) waiting.*/\1/p' "$T/out")
run mirrord channel delete -m "typo" demo prodution
assert_rc 0
assert_out_match "^deleted prodution \(was at $SNAP2\)\$"
run mirrord channel list demo
grep -q '^prodution ' "$T/out" && fail "channel list still shows prodution"
_s=$(http_status "$SERVE_URL/demo/prodution/dists/stable/InRelease")
assert_eq 404 "$_s" "GET the deleted channel's InRelease"
LOGCH=prodution
assert_eq delete "$(log_json 'j[-1]["action"]')" "last log action"
assert_eq typo "$(log_json 'j[-1]["message"]')" "delete message"
assert_eq "$SNAP2" "$(log_json 'j[-1]["from"]')" "delete from"
run mirrord channel log demo prodution
assert_out_match " delete $SNAP2 -> - [^ ]+@[^ ]+ typo\$"
run mirrord gc --dry-run
pending_after=$(sed -n 's/.* \([0-9][0-9]*\) blobs ([0-9.]* MiB) waiting.*/\1/p' "$T/out")
[ "$pending_after" -gt "$pending_before" ] ||
	fail "the deleted channel's Release files were not queued ($pending_before -> $pending_after)"
run mirrord channel delete demo prodution
assert_rc 1
assert_err_match "has no channel 'prodution'"

step "promote --dry-run prints the diff and writes nothing"
run mirrord promote demo "$SNAP2" production
assert_rc 0
run mirrord snapshot diff demo production "$SNAP3"
cp "$T/out" "$T/diff.expected"
[ -s "$T/diff.expected" ] || fail "generations 2 and 3 do not differ"
LOGCH=production
nlog=$(log_json 'len(j)')
run mirrord promote --dry-run demo "$SNAP3" production
assert_rc 0
cmp -s "$T/out" "$T/diff.expected" || fail "promote --dry-run printed other than snapshot diff"
assert_err_match "from $SNAP2 to $SNAP3"
run mirrord promote demo "$SNAP3" production --dry-run --json
assert_rc 0
"$PYTHON" -c 'import json, sys; assert json.load(open(sys.argv[1]))' "$T/out" ||
	fail "promote --dry-run --json is not a JSON list of changes"
assert_eq "$nlog" "$(log_json 'len(j)')" "log entries after dry runs"
run mirrord channel list demo
assert_out_match "^production $SNAP2 "

step "promote -m and rollback -m are recorded and shown"
run mirrord promote -m "CHG-1234: why" demo "$SNAP3" production
assert_rc 0
run mirrord channel log demo production
assert_out_match " promote $SNAP2 -> $SNAP3 [^ ]+ CHG-1234: why\$"
assert_eq "CHG-1234: why" "$(log_json 'j[-1]["message"]')" "promote message"
run mirrord rollback demo production --message "CHG-1235: broke apt"
assert_rc 0
assert_eq "CHG-1235: broke apt" "$(log_json 'j[-1]["message"]')" "rollback message"
assert_eq None "$(log_json 'j[0]["message"]')" "a move without -m"

step "channel rename keeps history and refuses an existing name"
run mirrord promote demo "$SNAP3" production
assert_rc 0
run mirrord promote demo "$SNAP3" staging
assert_rc 0
run mirrord channel rename demo staging production
assert_rc 1
assert_err_match "channel 'production' already exists"
run mirrord channel rename demo production prod
assert_rc 0
assert_out_match "^production -> prod\$"
_s=$(http_status "$SERVE_URL/demo/production/dists/stable/InRelease")
assert_eq 404 "$_s" "GET the old name after a rename"
_s=$(http_status "$SERVE_URL/demo/prod/dists/stable/InRelease")
assert_eq 200 "$_s" "GET the new name after a rename"
LOGCH=prod
assert_eq rename "$(log_json 'j[-1]["action"]')" "rename logged"
assert_eq "CHG-1234: why" "$(log_json 'j[-4]["message"]')" "history kept"
LOGCH=production
assert_eq "renamed to 'prod'" "$(log_json 'j[-1]["message"]')" "old name's log"
# Undoes the promotion made before the rename: its history came along.
run mirrord rollback demo prod
assert_rc 0
assert_out_match "^prod -> $SNAP2\$"
run mirrord channel rename demo nosuch other
assert_rc 1
assert_err_match "has no channel 'nosuch'"
run mirrord fsck
assert_rc 0

step "gc then removes what the dropped snapshot alone held; the rest still serves"
n_before=$(blob_count)
export MIRRORD_TEST_GC_GRACE_MIN=0
set_global Gc-Grace 0
run mirrord gc
assert_rc 0
assert_out_match "^0 snapshots dropped, [1-9][0-9]* blobs"
n_after=$(blob_count)
[ "$n_after" -lt "$n_before" ] || fail "gc removed no blob ($n_before -> $n_after)"
run mirrord fsck
assert_rc 0
check_pool_blobs "$ARCHIVE"
for id in "$SNAP2" "$SNAP3"; do
	mirrord snapshot show demo "$id" --json >"$T/show.json" ||
		fail "snapshot show $id failed"
	"$PYTHON" -c 'import json, sys
for s in json.load(open(sys.argv[1]))["suites"]:
    for f in s["files"]:
        print("%s/%s" % (s["name"], f["path"]))' "$T/show.json" >"$T/files"
	while read -r f; do
		_s=$(http_status "$SERVE_URL/demo/$id/dists/$f")
		[ "$_s" = 200 ] || fail "GET $id dists/$f after the gc: $_s"
	done <"$T/files"
done
step "a sync after the drop and the gc still builds on the intervals"
mkarchive --generation 4
sync_ok
run mirrord fsck
assert_rc 0
check_pool_blobs "$ARCHIVE"
