#!/bin/sh
# mirrord status [--json]: the last sync's result (ok, or failed with its
# reason: HTTP 500, a bad signature), the snapshot it made, the daemon's
# next sync while a daemon runs, snapshots, channels and their targets,
# store size and dedup ratio. And cancellation: SIGTERM to a `mirrord sync`
# or to a daemon in the middle of a stalled sync ends it promptly, commits
# nothing, and leaves no temp file, gpg home or gpg-agent behind.
. "$(dirname "$0")/lib.sh"

# status_json EXPR: evaluates EXPR (Python; j = `status --json`, m = its
# mirror 'demo') and prints it; fails if the output is not JSON.
status_json() {
	mirrord status --json >"$T/status.json" 2>"$T/status.err" ||
		fail "status --json failed: $(cat "$T/status.err")"
	"$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
m = [x for x in j["mirrors"] if x["name"] == "demo"][0]
print(eval(sys.argv[2]))' "$T/status.json" "$1" 2>"$T/eval.err" ||
		fail "cannot evaluate '$1' on: $(cat "$T/status.json")" \
		    "$(cat "$T/eval.err")"
}

# check EXPR WHAT: the Python expression is true on `status --json`.
check() {
	_v=$(status_json "$1")
	[ "$_v" = True ] || fail "$2: '$1' is $_v in: $(cat "$T/status.json")"
}

daemon_synced() {
	[ "$(status_json "m['last_sync']['by']")" = daemon ]
}

daemon_planned() {
	[ "$(status_json "m['next_sync'] is not None")" = True ]
}

# sign_homes: the signer homes of mirrord processes that exist now.
sign_homes() {
	ls -d /tmp/mirrord-sign.* 2>/dev/null | sort || true
}

mkarchive --generation 1
start_upstream
write_conf

step "no store yet: a clear error naming it"
run mirrord status
[ "$RC" -ne 0 ] || fail "status of a missing store exited 0"
assert_err_match "store.*'$STORE'|'$STORE'.*store"

step "after a successful sync: ok, the snapshot of 'snapshot list'"
sync_ok
S1=$SNAP
assert_eq "$S1" "$(mirrord snapshot list demo | tail -n 1)" "snapshot list"
run mirrord status
assert_rc 0
assert_out_match '^mirror demo$'
assert_out_match "^  last sync: +ok at [0-9-]+ [0-9:]+ UTC "
assert_out_match "new snapshot $S1 "
assert_out_match '^  next sync: +unknown \(no daemon running\)$'
assert_out_match '^  snapshots: +1$'
assert_out_match "^  newest: +$S1 "
assert_out_match '^  channels: +none$'
assert_out_match '^  dedup ratio: +[0-9]+\.[0-9]{2}$'
check "sorted(j) == ['mirrors', 'store', 'time']" "top-level keys"
check "sorted(j['store']) == ['blobs', 'dedup_ratio', 'path', 'referenced_bytes', 'snapshots', 'stored_bytes']" \
    "store keys"
check "sorted(m) == ['channels', 'daemon_pid', 'enabled', 'failures', 'held_back', 'last_success', 'last_sync', 'max_sync_age', 'name', 'newest', 'next_sync', 'pins', 'snapshots', 'stale']" \
    "mirror keys"
check "sorted(m['last_sync']) == ['by', 'error', 'fetched_bytes', 'fetched_files', 'finished', 'reason', 'result', 'snapshot', 'started', 'suite', 'warnings']" \
    "last_sync keys"
check "m['last_sync']['result'] == 'ok' and m['last_sync']['error'] is None" \
    "result"
check "m['last_sync']['snapshot'] == '$S1' and m['newest']['id'] == '$S1'" \
    "snapshot"
check "m['last_sync']['by'] == 'sync' and m['last_sync']['fetched_files'] > 0" \
    "who and what"
check "0 <= m['last_sync']['finished'] - m['last_sync']['started'] < 120" \
    "times"
check "abs(m['last_sync']['finished'] - j['time']) < 120" "finished"
check "m['last_success'] == m['last_sync']" "last success"
check "m['next_sync'] is None and m['daemon_pid'] is None" "next sync"
check "m['snapshots'] == 1 and m['channels'] == [] and m['enabled']" \
    "snapshots, channels"
check "j['store']['path'] == '$STORE'" "store path"
check "j['store']['blobs'] == $(blob_count)" "blob count"
blob_list >"$T/allblobs"
check "j['store']['stored_bytes'] == $(blob_bytes "$T/allblobs")" \
    "stored bytes (the blob files' sizes)"
b1=$(snapshot_json demo 'j[0]["bytes"]')
check "j['store']['referenced_bytes'] == $b1" "referenced bytes"
check "abs(j['store']['dedup_ratio'] - $b1 / j['store']['stored_bytes']) < 0.001" \
    "dedup ratio"
r1=$(status_json "j['store']['dedup_ratio']")

step "a sync without change: ok, no snapshot made"
run mirrord sync
assert_rc 0
check "m['last_sync']['result'] == 'ok' and m['last_sync']['snapshot'] is None" \
    "result of a sync without change"
check "m['newest']['id'] == '$S1' and m['snapshots'] == 1" "newest"

step "upstream answers 500: failed, with the reason"
RETRIES=0
write_conf
upstream_control '{"status": {"": 500}}'
expect_sync_failure "mirror 'demo'" "500"
upstream_control '{}'
check "m['last_sync']['result'] == 'failed'" "result after HTTP 500"
check "'500' in m['last_sync']['error'] and \"mirror 'demo'\" in m['last_sync']['error']" \
    "reason after HTTP 500"
check "m['last_sync']['snapshot'] is None" "snapshot of a failed sync"
check "m['last_success']['result'] == 'ok' and m['last_success']['finished'] <= m['last_sync']['finished']" \
    "the last success is kept"
check "m['snapshots'] == 1" "snapshots after a failure"
run mirrord status
assert_rc 0
assert_out_match '^  last sync: +failed at '
assert_out_match "^  error: +mirror 'demo'.*500"
assert_out_match '^  last success: +[0-9-]+ [0-9:]+ UTC '

step "a bad signature: failed, with the reason"
mkarchive --generation 2 --tamper-inrelease
expect_sync_failure "mirror 'demo'" "signature"
check "m['last_sync']['result'] == 'failed' and 'signature' in m['last_sync']['error'].lower()" \
    "reason after a bad signature"

step "repaired: a second snapshot; promote: channels and targets"
mkarchive --generation 2
sync_ok
S2=$SNAP
check "m['last_sync']['result'] == 'ok' and m['last_sync']['snapshot'] == '$S2'" \
    "result after the repair"
check "m['snapshots'] == 2 and m['newest']['id'] == '$S2'" "newest"
# The second snapshot shares most of its blobs with the first.
check "j['store']['dedup_ratio'] > $r1 * 1.2" "dedup ratio of two snapshots"
step "dedup ratio: $r1 after one snapshot," \
    "$(status_json "j['store']['dedup_ratio']") after two"
run mirrord promote demo "$S1" stable
assert_rc 0
run mirrord promote demo latest testing
assert_rc 0
check "[(c['name'], c['target']) for c in m['channels']] == [('stable', '$S1'), ('testing', '$S2')]" \
    "channels"
check "all(abs(c['moved_at'] - j['time']) < 120 and c['by'] and c['valid_until'] is None for c in m['channels'])" \
    "promotion times"
run mirrord status
assert_rc 0
assert_out_match "^  channels: +stable +-> $S1  promoted [0-9-]+ [0-9:]+ UTC by "
assert_out_match "^ +testing +-> $S2  promoted "
bsum=$(snapshot_json demo 'sum(s["bytes"] for s in j)')
blob_list >"$T/allblobs"
check "j['store']['referenced_bytes'] == $bsum and j['store']['snapshots'] == 2" \
    "referenced bytes of two snapshots"
check "j['store']['stored_bytes'] == $(blob_bytes "$T/allblobs")" \
    "stored bytes"
check "abs(j['store']['dedup_ratio'] - $bsum / j['store']['stored_bytes']) < 0.001" \
    "dedup ratio with channels"

step "a daemon running: its next sync is known; stopped: it is not"
set_global Sync-Interval 10s
homes0=$(sign_homes)
start_daemon
# Published when the daemon's worker has made its plan, just after start.
wait_for 5 "a next sync in status" daemon_planned
check "m['next_sync'] is not None and m['daemon_pid'] == $MPID" \
    "next sync while the daemon runs"
check "j['time'] - 5 <= m['next_sync'] <= j['time'] + 15" \
    "next sync within the interval"
run mirrord status
assert_rc 0
assert_out_match "^  next sync: +[0-9-]+ [0-9:]+ UTC \((in [0-9]+s|due now); daemon pid $MPID\)$"
wait_for 30 "a sync by the daemon" daemon_synced
check "m['last_sync']['result'] == 'ok' and m['next_sync'] > m['last_sync']['started']" \
    "the daemon's sync and its next one"
stop_daemon 10
check "m['next_sync'] is None and m['daemon_pid'] is None" \
    "next sync after the daemon stopped"

step "SIGTERM to 'mirrord sync' in a stalled download: cancelled, non-zero"
mkarchive --generation 3
upstream_control '{"stall": "pool/"}'
n=$(snapshot_count demo)
"$MIRRORD" -c "$CONF" sync >"$T/sync.out" 2>"$T/sync.err" &
spid=$!
_pids="$_pids $spid"
i=0
until grep -Eq "suite 'stable-updates': [A-Z][a-z]{2}, " "$T/sync.err"; do
	i=$((i + 1))
	[ "$i" -le 200 ] || fail "the sync did not reach generation 3:" \
	    "$(cat "$T/sync.err")"
	sleep 0.1
done
sleep 1
t0=$(now_ms)
kill -TERM "$spid"
src=0
wait "$spid" || src=$?
forget_pid "$spid"
ms=$(($(now_ms) - t0))
step "exit $src after $ms ms: $(tail -n 1 "$T/sync.err")"
[ "$src" -ne 0 ] || fail "a cancelled sync exited 0"
[ "$ms" -lt 5000 ] || fail "the cancelled sync took $ms ms to end"
grep -q "mirror 'demo': sync cancelled" "$T/sync.err" ||
	fail "no 'sync cancelled' message: $(cat "$T/sync.err")"
[ ! -s "$T/sync.out" ] || fail "a cancelled sync printed a snapshot"
assert_eq "$n" "$(snapshot_count demo)" "snapshots after a cancelled sync"
assert_tmp_empty
check "m['last_sync']['result'] == 'failed' and m['last_sync']['error'] == \"mirror 'demo': sync cancelled\"" \
    "status after a cancelled sync"

step "SIGTERM to the daemon in a stalled sync: exit 0 within 5 s"
homes0=$(sign_homes)
start_daemon
homes1=$(sign_homes)
ours=$(printf '%s\n' "$homes1" | grep -vxF "$homes0" || true)
step "the daemon's signer home: ${ours:-none}"
mark=0
wait_for 30 "the daemon syncing generation 3" since_at_least "$mark" 1 \
    "mirror 'demo': suite 'stable-updates': [A-Z][a-z]{2}, "
sleep 1
stop_daemon 5
[ "$STOP_MS" -lt 5000 ] || fail "the daemon took $STOP_MS ms to stop"
log_has "mirror 'demo': sync cancelled" ||
	fail "no 'sync cancelled' line: $(tail -n 5 "$T/daemon.log")"
log_has "exiting without it" && fail "the daemon abandoned the sync"
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$T/daemon.log"; then
	fail "sanitizer report in the daemon's log"
fi
assert_tmp_empty
assert_eq "$n" "$(snapshot_count demo)" "snapshots after the cancelled sync"
for h in $ours; do
	[ ! -e "$h" ] || fail "the daemon left its gpg home '$h'"
	if ps -eo args | grep -F "gpg-agent" | grep -qF -- "$h"; then
		fail "a gpg-agent of '$h' outlived the daemon"
	fi
done
check "m['last_sync']['result'] == 'failed' and m['last_sync']['by'] == 'daemon' and 'cancelled' in m['last_sync']['error']" \
    "status after the daemon's cancelled sync"
check "m['next_sync'] is None" "next sync after the daemon stopped"

step "the store is sound: a sync completes generation 3"
upstream_control '{}'
run mirrord fsck
assert_rc 0
sync_ok
check "m['last_sync']['result'] == 'ok' and m['last_sync']['snapshot'] == '$SNAP' and m['snapshots'] == $((n + 1))" \
    "status after the completing sync"
assert_tmp_empty
