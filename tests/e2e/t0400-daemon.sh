#!/bin/sh
# mirrord daemon: scheduled syncs follow upstream and are served at once
# (latest moves, a channel promoted by hand stays, and is re-signed before
# its Valid-Until); a failing upstream is logged and retried without
# disturbing serving; a store locked by another process is waited for; a
# `mirrord sync` by hand beside it works; SIGTERM ends it with status 0.
. "$(dirname "$0")/lib.sh"

# ------------------------------------------------------------ daemon helpers

# start_daemon: `mirrord daemon` with Listen: 127.0.0.1:<a free port> (set
# in $CONF), its stderr in $T/daemon.log, waited for until /healthz answers.
# Sets DAEMON_URL, DAEMON_PID (timeout(1)'s) and MPID (mirrord's own:
# signals go to it, as timeout(1) forwards only the first of each kind).
start_daemon() {
	_try=0
	while :; do
		_try=$((_try + 1))
		_port=$(free_port)
		DAEMON_URL=http://127.0.0.1:$_port
		set_global Listen "127.0.0.1:$_port"
		: >"$T/daemon.log"
		# timeout: never outlives a test that died without cleanup
		timeout -k 5 175 "$MIRRORD" -c "$CONF" daemon \
		    >"$T/daemon.out" 2>"$T/daemon.log" &
		DAEMON_PID=$!
		_pids="$_pids $DAEMON_PID"
		_i=0
		while kill -0 "$DAEMON_PID" 2>/dev/null; do
			if curl -s --max-time 2 -o "$T/healthz" \
			    "$DAEMON_URL/healthz" 2>/dev/null &&
			    grep -q '^ok' "$T/healthz"; then
				MPID=$(ps -o pid= --ppid "$DAEMON_PID" |
				    tr -d ' ')
				[ -n "$MPID" ] ||
					fail "no mirrord under pid $DAEMON_PID"
				step "mirrord daemon on $DAEMON_URL (pid $MPID)"
				return 0
			fi
			_i=$((_i + 1))
			[ "$_i" -le 100 ] || fail "mirrord daemon: /healthz not" \
			    "ok after 10 s: $(tail -n 5 "$T/daemon.log")"
			sleep 0.1
		done
		wait "$DAEMON_PID" 2>/dev/null || true
		forget_pid "$DAEMON_PID"
		if [ "$_try" -lt 5 ] &&
		    grep -Eiq 'in use' "$T/daemon.log"; then
			step "port $_port taken, trying another one"
			continue
		fi
		fail "mirrord daemon exited at start: $(cat "$T/daemon.log")"
	done
}

# stop_daemon [SECONDS]: SIGTERM; it must exit 0 within SECONDS (15).
# Sets STOP_MS, how long it took.
stop_daemon() {
	_bound=${1:-15}
	_t0=$(now_ms)
	kill -TERM "$MPID"
	while kill -0 "$DAEMON_PID" 2>/dev/null; do
		if [ $(($(now_ms) - _t0)) -gt $((_bound * 1000)) ]; then
			kill -KILL "$MPID" 2>/dev/null || true
			fail "mirrord daemon still running $_bound s after" \
			    "SIGTERM: $(tail -n 5 "$T/daemon.log")"
		fi
		sleep 0.1
	done
	STOP_MS=$(($(now_ms) - _t0))
	_src=0
	wait "$DAEMON_PID" 2>/dev/null || _src=$?
	forget_pid "$DAEMON_PID"
	[ "$_src" = 0 ] || fail "mirrord daemon exited $_src after SIGTERM:" \
	    "$(tail -n 5 "$T/daemon.log")"
	step "stopped with status 0 in $STOP_MS ms"
}

# wait_for SECONDS WHAT CMD...: runs CMD until it succeeds, at most SECONDS;
# fails naming WHAT otherwise, or at once if the daemon died.
wait_for() {
	_secs=$1
	_what=$2
	shift 2
	_end=$(($(date +%s) + _secs))
	until "$@"; do
		kill -0 "$MPID" 2>/dev/null ||
			fail "the daemon died: $(tail -n 10 "$T/daemon.log")"
		[ "$(date +%s)" -lt "$_end" ] || fail "$_what: not within" \
		    "$_secs s; the daemon's log ends with:" \
		    "$(tail -n 8 "$T/daemon.log")"
		sleep 0.2
	done
}

# served_is URL FILE: a GET of URL answers FILE's bytes.
served_is() {
	curl -sf --max-time 5 -o "$T/served" "$1" 2>/dev/null &&
	    cmp -s "$T/served" "$2"
}

snapshots_at_least() {	# MIRROR N
	[ "$(snapshot_count "$1")" -ge "$2" ]
}

log_has() {	# ERE
	grep -Eq -- "$1" "$T/daemon.log"
}

# log_count_since LINE ERE: lines after line LINE of the log matching ERE.
log_count_since() {
	tail -n "+$(($1 + 1))" "$T/daemon.log" | grep -Ec -- "$2" || true
}

# since_at_least LINE N ERE: at least N lines after line LINE match ERE.
since_at_least() {
	[ "$(log_count_since "$1" "$3")" -ge "$2" ]
}

log_lines() {
	wc -l <"$T/daemon.log" | tr -d ' '
}

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
# Stall-Timeout (3 s), retried 3 times, so the sync outlives the 10 s the
# daemon grants it after the stop; it must give up on it and exit 0.
upstream_control '{"stall": "pool/"}'
mark=$(log_lines)
mkarchive --generation 4
# A suite line with a Release Date (not "unchanged"): generation 4 seen.
wait_for 20 "a sync fetching generation 4" since_at_least "$mark" 1 \
    "mirror 'demo': suite 'stable-updates': [A-Z][a-z]{2}, "
sleep 2
n4=$(snapshot_count demo)
stop_daemon 15
log_has "still runs .* after the stop; exiting without it" ||
	fail "no line saying that the running sync was abandoned"
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$T/daemon.log"; then
	fail "sanitizer report in the daemon's log"
fi

step "the abandoned sync left the store sound: a sync by hand completes it"
upstream_control '{}'
assert_eq "$n4" "$(snapshot_count demo)" "snapshots after the abandoned sync"
run mirrord fsck
assert_rc 0
sync_ok
assert_eq $((n4 + 1)) "$(snapshot_count demo)" "snapshots after the manual sync"
assert_tmp_empty
