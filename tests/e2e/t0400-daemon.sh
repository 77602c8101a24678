#!/bin/sh
# mirrord daemon: scheduled syncs follow upstream and are served at once
# (latest moves, a channel promoted by hand stays, and is re-signed before
# its Valid-Until); a failing upstream is logged and retried without
# disturbing serving; a store locked by another process is waited for; a
# `mirrord sync` by hand beside it works; SIGTERM ends it with status 0.
. "$(dirname "$0")/lib.sh"

# ------------------------------------------------------------ the test

mkarchive --generation 1
cp -a "$ARCHIVE" "$T/gen1"
start_upstream
write_conf
# 'manual': known to the daemon (served) but never synced by it.
add_mirror manual "$UPSTREAM_URL" stable
echo "Enabled: no" >>"$CONF"
set_global Sync-Interval 3s
set_global Valid-For 60s
# Serving goes on while upstream fails; a stale mirror is t0450's.
set_global Max-Sync-Age 1h
start_daemon
SU=dists/stable-updates

step "the first scheduled sync makes a snapshot, served as latest"
wait_for 30 "a first snapshot" snapshots_at_least demo 1
wait_for 10 "latest serving generation 1" \
    served_is "$DAEMON_URL/demo/latest/$SU/InRelease" "$ARCHIVE/$SU/InRelease"
S1=$(mirrord snapshot list demo | tail -n 1)
log_has "info: mirror 'demo': sync started" ||
	fail "no 'sync started' line in the daemon's log"
log_has "info: mirror 'demo': new snapshot $S1" ||
	fail "no 'new snapshot $S1' line in the daemon's log"

step "promote by hand beside the daemon"
run mirrord promote demo "$S1" production
assert_rc 0
assert_out_match "^production -> $S1\$"
promoted_at=$(date +%s)

step "upstream moves to generation 2: a new snapshot, latest follows"
mkarchive --generation 2
wait_for 30 "latest serving generation 2" \
    served_is "$DAEMON_URL/demo/latest/$SU/InRelease" "$ARCHIVE/$SU/InRelease"
n2=$(snapshot_count demo)
[ "$n2" -ge 2 ] || fail "expected 2 snapshots, got $n2"
S2=$(mirrord snapshot list demo | tail -n 1)
[ "$S2" != "$S1" ] || fail "no new snapshot for generation 2"

step "the channel stays where it was promoted"
run mirrord channel list demo
assert_rc 0
assert_out_match "^production $S1 "
pk=main/binary-amd64/Packages.xz
served_is "$DAEMON_URL/demo/production/$SU/$pk" "$T/gen1/$SU/$pk" ||
	fail "production does not serve generation 1's $SU/$pk"
served_is "$DAEMON_URL/demo/latest/$SU/$pk" "$ARCHIVE/$SU/$pk" ||
	fail "latest does not serve generation 2's $SU/$pk"

step "no change upstream: syncs make no snapshot"
mark=$(log_lines)
wait_for 20 "two syncs without change" \
    since_at_least "$mark" 2 \
    "mirror 'demo': no change"
assert_eq "$n2" "$(snapshot_count demo)" "snapshots after syncs without change"

step "/metrics has the snapshot age"
s=$(http_status "$DAEMON_URL/metrics")
assert_eq 200 "$s" "status of /metrics"
grep -Eq '^mirrord_snapshot_age_seconds\{mirror="demo"\} [0-9]+$' "$T/b" ||
	fail "no mirrord_snapshot_age_seconds for demo in: $(head -c 2000 "$T/b")"

step "a failing upstream: logged, retried, serving goes on"
upstream_control '{"status": {"": 500}}'
mark=$(log_lines)
wait_for 45 "two failed syncs logged" since_at_least "$mark" 2 \
    "error: mirror 'demo'.*next try in"
tail -n "+$((mark + 1))" "$T/daemon.log" |
    grep -E "error: mirror 'demo'" | head -n 1 >"$T/failure"
step "logged: $(cat "$T/failure")"
grep -Eq '500|server error' "$T/failure" ||
	fail "the failure line does not give the reason (HTTP 500)"
s=$(http_status "$DAEMON_URL/healthz")
assert_eq 200 "$s" "/healthz while upstream fails"
served_is "$DAEMON_URL/demo/latest/$SU/InRelease" "$ARCHIVE/$SU/InRelease" ||
	fail "latest is not served while upstream fails"
assert_eq "$n2" "$(snapshot_count demo)" "snapshots after failed syncs"
upstream_control '{}'
mark=$(log_lines)
wait_for 30 "a good sync after upstream recovered" since_at_least "$mark" 1 \
    "mirror 'demo': (no change|new snapshot)"

step "the store locked by another process: the daemon waits its turn"
flock "$STORE/lock" sleep 5 &
flock_pid=$!
_pids="$_pids $flock_pid"
mark=$(log_lines)
wait_for 15 "the daemon seeing the lock" since_at_least "$mark" 1 \
    "mirror 'demo': not syncing now: .*locked"
wait "$flock_pid" || true
forget_pid "$flock_pid"
mark=$(log_lines)
wait_for 15 "a sync after the lock was released" since_at_least "$mark" 1 \
    "mirror 'demo': (no change|new snapshot)"

step "a manual sync of a mirror the daemon does not sync: served at once"
s=$(http_status "$DAEMON_URL/manual/latest/dists/stable/InRelease")
assert_eq 404 "$s" "status of manual/latest before any sync of it"
run mirrord sync manual
assert_rc 0
assert_out_match '^manual [0-9]{8}T[0-9]{6}Z$'
M1=$(cut -d ' ' -f 2 "$T/out")
wait_for 10 "the daemon serving manual's $M1" served_is \
    "$DAEMON_URL/manual/latest/dists/stable/InRelease" \
    "$ARCHIVE/dists/stable/InRelease"
served_is "$DAEMON_URL/manual/$M1/dists/stable/InRelease" \
    "$ARCHIVE/dists/stable/InRelease" || fail "manual/$M1 is not served"
log_has "mirror 'manual': sync started" &&
	fail "the daemon synced 'manual', which has Enabled: no"

step "a manual sync beside the daemon (generation 3)"
mkarchive --generation 3
run mirrord sync
assert_rc 0
if grep -Eq '^demo [0-9]{8}T[0-9]{6}Z$' "$T/out"; then
	S3=$(cut -d ' ' -f 2 "$T/out")
	step "the manual sync made $S3: the daemon serves it"
	wait_for 10 "the daemon serving $S3" served_is \
	    "$DAEMON_URL/demo/$S3/$SU/InRelease" "$ARCHIVE/$SU/InRelease"
else
	assert_err_match "no change"
	step "the daemon synced generation 3 first"
fi
wait_for 30 "latest serving generation 3" \
    served_is "$DAEMON_URL/demo/latest/$SU/InRelease" "$ARCHIVE/$SU/InRelease"
mark=$(log_lines)
wait_for 20 "a sync after generation 3" since_at_least "$mark" 1 \
    "mirror 'demo': no change"
assert_eq $((n2 + 1)) "$(snapshot_count demo)" \
    "snapshots after generation 3 (exactly one for it)"

step "the channel is re-signed before its Valid-Until, same target"
left=$((promoted_at + 55 - $(date +%s)))
[ "$left" -ge 5 ] || left=5
wait_for "$left" "a refresh of production in its log" \
    sh -c "timeout 20 '$MIRRORD' -c '$CONF' channel log demo production |
    grep -q ' refresh '"
log_has "mirror 'demo': channel 'production' re-signed" ||
	fail "no 're-signed' line in the daemon's log"
run mirrord channel list demo
assert_rc 0
assert_out_match "^production $S1 "
s=$(http_status "$DAEMON_URL/demo/production/$SU/InRelease")
assert_eq 200 "$s" "status of production's InRelease"
vu=$("$PYTHON" -c 'import email.utils, sys
for l in open(sys.argv[1], errors="replace"):
    if l.startswith("Valid-Until:"):
        print(int(email.utils.parsedate_to_datetime(l[12:].strip()).timestamp()))
        break' "$T/b")
[ -n "$vu" ] || fail "production's InRelease has no Valid-Until"
[ "$vu" -gt $((promoted_at + 60)) ] || fail "Valid-Until $vu is not later" \
    "than the promotion's ($((promoted_at + 60)))"
served_is "$DAEMON_URL/demo/production/$SU/$pk" "$T/gen1/$SU/$pk" ||
	fail "production no longer serves generation 1's $SU/$pk"

step "SIGTERM during a sync that hangs: status 0 in bounded time"
# Pool downloads stall (headers, then nothing): one attempt takes
# Stall-Timeout (3 s), retried 3 times, so the sync would outlive any
# reasonable stop; the daemon cancels it and exits 0 at once.
upstream_control '{"stall": "pool/"}'
mark=$(log_lines)
mkarchive --generation 4
# A suite line with a Release Date (not "unchanged"): generation 4 seen.
wait_for 20 "a sync fetching generation 4" since_at_least "$mark" 1 \
    "mirror 'demo': suite 'stable-updates': [A-Z][a-z]{2}, "
sleep 2
n4=$(snapshot_count demo)
stop_daemon 5
log_has "mirror 'demo': sync cancelled" ||
	fail "no line saying that the running sync was cancelled"
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$T/daemon.log"; then
	fail "sanitizer report in the daemon's log"
fi

step "the cancelled sync left the store sound: a sync by hand completes it"
upstream_control '{}'
assert_tmp_empty
assert_eq "$n4" "$(snapshot_count demo)" "snapshots after the cancelled sync"
run mirrord fsck
assert_rc 0
sync_ok
assert_eq $((n4 + 1)) "$(snapshot_count demo)" "snapshots after the manual sync"
assert_tmp_empty
