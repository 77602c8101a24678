#!/bin/sh
# Monitoring sees failures: /metrics gives each mirror's last sync (result,
# attempt and success times, duration, bytes and files), its failures by
# reason and the suite that failed; /healthz says 503, naming the mirror,
# once its last success is older than Max-Sync-Age (default 3 x
# Sync-Interval). A bad signature on one suite holds back the others, and
# sync's log, status (text and --json) and /metrics say so, naming it.
# What is configured and missing upstream (a component, an architecture)
# is a warning in sync's output and status, an error with Strict: yes; a
# mirrors.d/*.conf file is warned about. A channel promoted before
# Valid-For: was set gets a Valid-Until at the daemon's next check.
. "$(dirname "$0")/lib.sh"

# status_json EXPR: EXPR (Python; j = `status --json`, m = mirror 'demo').
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

check() {	# EXPR WHAT: the Python expression is true on `status --json`
	_v=$(status_json "$1")
	[ "$_v" = True ] || fail "$2: '$1' is $_v in: $(cat "$T/status.json")"
}

# metric LINE-ERE: some line of /metrics ($SERVE_URL) matches.
metric() {
	curl -sf --max-time 10 "$SERVE_URL/metrics" >"$T/metrics" ||
		fail "GET /metrics failed"
	grep -Eq -- "$1" "$T/metrics" ||
		fail "no /metrics line matching '$1' in:" \
		    "$(grep mirrord_sync "$T/metrics")"
}

set_mirror() {	# KEY VALUE: replaces or adds KEY: in mirror 'demo'
	sed -i "/^$1:/d" "$CONF"
	echo "$1: $2" >>"$CONF"
}

mkarchive --generation 1
start_upstream
write_conf

step "Max-Sync-Age defaults to 3 x Sync-Interval; a bad value is an error"
sync_ok
check "m['max_sync_age'] == 3 * 6 * 3600" "default Max-Sync-Age"
set_global Sync-Interval 1h
check "m['max_sync_age'] == 3 * 3600" "Max-Sync-Age of a 1h interval"
set_mirror Max-Sync-Age 2h
check "m['max_sync_age'] == 2 * 3600" "a mirror's Max-Sync-Age"
set_mirror Max-Sync-Age soon
run mirrord status
[ "$RC" -ne 0 ] || fail "Max-Sync-Age: soon was accepted"
assert_err_match "Max-Sync-Age"
set_mirror Max-Sync-Age 6s

step "a mirrors.d/*.conf file is warned about, not passed over in silence"
mkdir -p "$T/mirrors.d"
cp "$CONF" "$T/mirrors.d/old.conf"
touch "$T/mirrors.d/old.sources~"
run mirrord sync
assert_rc 0
assert_err_match "ignoring '.*mirrors.d/old.conf': mirrors.d reads only \*\.sources files"
grep -q "old.sources~" "$T/err" && fail "a backup file was warned about"
rm -r "$T/mirrors.d"

step "after a success: /metrics and /healthz say so"
start_serve
metric '^mirrord_sync_ok\{mirror="demo"\} 1$'
metric '^mirrord_sync_last_success_timestamp_seconds\{mirror="demo"\} [0-9]{10}$'
metric '^mirrord_sync_last_attempt_timestamp_seconds\{mirror="demo"\} [0-9]{10}$'
metric '^mirrord_sync_duration_seconds\{mirror="demo"\} [0-9]+$'
metric '^mirrord_sync_fetched_bytes\{mirror="demo"\} [0-9]+$'
metric '^mirrord_sync_fetched_files\{mirror="demo"\} [0-9]+$'
metric '^mirrord_sync_failures_total\{mirror="demo",reason="signature"\} 0$'
metric '^mirrord_sync_max_age_seconds\{mirror="demo"\} 6$'
metric '^# TYPE mirrord_sync_failures_total counter$'
for r in signature network hash disk config other; do
	metric "^mirrord_sync_failures_total\\{mirror=\"demo\",reason=\"$r\"\\} 0\$"
done
s=$(http_status "$SERVE_URL/healthz")
assert_eq 200 "$s" "/healthz after a fresh success"

step "a bad signature on stable-updates holds back stable: said loudly"
mkarchive --generation 2 --tamper-inrelease
expect_sync_failure "suite 'stable-updates'" "signature"
assert_err_match "suite 'stable-updates' failed \(signature\): 'stable' held back too"
run mirrord status
assert_rc 0
assert_out_match "^  reason: +signature \(suite 'stable-updates'\)$"
assert_out_match "^  held back: +'stable' \(suite 'stable-updates' failed: signature; "
assert_out_match "^  failures: +1 \(signature 1\)$"
check "m['last_sync']['reason'] == 'signature' and m['last_sync']['suite'] == 'stable-updates'" \
    "reason and suite"
check "m['held_back'] == ['stable']" "held back"
check "m['failures']['signature'] == 1 and sum(m['failures'].values()) == 1" \
    "failures by reason"
metric '^mirrord_sync_ok\{mirror="demo"\} 0$'
metric '^mirrord_sync_failures_total\{mirror="demo",reason="signature"\} 1$'
metric '^mirrord_sync_failing_suite\{mirror="demo",suite="stable-updates",reason="signature"\} 1$'

step "upstream answers 500: a network failure, counted apart"
RETRIES=0
upstream_control '{"status": {"": 500}}'
run mirrord sync
assert_rc 1
upstream_control '{}'
check "m['last_sync']['reason'] == 'network'" "reason of an HTTP 500"
check "m['failures'] == {'signature': 1, 'network': 1, 'hash': 0, 'disk': 0, 'config': 0, 'other': 0}" \
    "failures by reason"
metric '^mirrord_sync_failures_total\{mirror="demo",reason="network"\} 1$'

step "the last success older than Max-Sync-Age: /healthz 503, naming it"
ok_at=$(status_json "m['last_success']['finished']")
while [ $(($(date +%s) - ok_at)) -le 7 ]; do sleep 0.5; done
s=$(http_status "$SERVE_URL/healthz")
assert_eq 503 "$s" "/healthz with a stale mirror"
grep -Eq "^mirror 'demo': last successful sync [0-9]+s ago, more than Max-Sync-Age 6s: mirror 'demo': " "$T/b" ||
	fail "/healthz body: $(cat "$T/b")"
check "m['stale'] is not None and 'Max-Sync-Age' in m['stale']" "stale"
run mirrord status
assert_out_match "^  health: +STALE: mirror 'demo': last successful sync "

step "repaired: ok again, /healthz 200"
mkarchive --generation 2
sync_ok
s=$(http_status "$SERVE_URL/healthz")
assert_eq 200 "$s" "/healthz after the repair"
metric '^mirrord_sync_ok\{mirror="demo"\} 1$'
grep -q '^mirrord_sync_failing_suite{' "$T/metrics" &&
	fail "a failing suite after a success: $(grep failing_suite "$T/metrics")"
check "m['held_back'] == [] and m['stale'] is None" "after the repair"
check "m['failures']['signature'] == 1" "the counters survive a success"
stop_serve

step "configured and missing upstream: warnings in sync's output and status"
set_mirror Max-Sync-Age 1h
sed -i 's/^Components: main contrib$/Components: main contrib bogus/;
    s/^Architectures: amd64 arm64$/Architectures: amd64 arm64 s390x/' "$CONF"
run mirrord sync
assert_rc 0
assert_err_match "warn.*suite 'stable': component 'bogus' is not in its Release"
assert_err_match "warn.*suite 'stable-updates': component 'main' has no architecture 's390x' in its Release"
run mirrord status
assert_out_match "^  warning: +suite 'stable': component 'bogus' is not in its Release$"
check "len(m['last_sync']['warnings']) == 6 and m['last_sync']['result'] == 'ok'" \
    "6 warnings (bogus and s390x of main and contrib, each suite)"
start_serve
metric '^mirrord_sync_warnings\{mirror="demo"\} 6$'
stop_serve

step "Strict: yes: the same is an error, reason config"
set_mirror Strict yes
run mirrord sync
assert_rc 1
assert_err_match "error: mirror 'demo': suite 'stable': component 'main' has no architecture 's390x' in its Release \(Strict: yes\)"
check "m['last_sync']['reason'] == 'config'" "reason with Strict"
set_mirror Strict maybe
run mirrord status
[ "$RC" -ne 0 ] || fail "Strict: maybe was accepted"
sed -i '/^Strict:/d; s/ bogus$//; s/ s390x$//' "$CONF"
run mirrord sync
assert_rc 0
check "m['last_sync']['warnings'] == []" "no warning once repaired"

step "a channel promoted before Valid-For: gets a Valid-Until at the next check"
run mirrord promote demo latest prod
assert_rc 0
set_global Valid-For 1h
set_global Sync-Interval 1h
start_daemon
rel() {
	curl -sf --max-time 5 "$DAEMON_URL/demo/prod/dists/stable/InRelease" \
	    >"$T/rel" 2>/dev/null && grep -q '^Valid-Until: ' "$T/rel"
}
wait_for 20 "a Valid-Until on channel 'prod'" rel
check "[c['valid_until'] is not None for c in m['channels']] == [True]" \
    "valid_until in status"
stop_daemon
step "re-signed: $(grep '^Valid-Until: ' "$T/rel")"
