#!/bin/sh
# Rollout plans with the real daemon and soaks of seconds: a healthy check
# walks a snapshot through canary, staging, production in order, each
# move at least its soak after the previous one, by "rollout weekly", the
# why in `channel log`; a check that fails at step 2 halts the plan (with
# On-Failure: rollback, staging goes back), production untouched, and
# `channel log`, `rollout show` and /metrics say so; kill -9 of the daemon
# mid-soak and a restart keep the schedule with no double move.
. "$(dirname "$0")/lib.sh"

SOAK=4

# moves CHANNEL SNAPSHOT: how many log entries of CHANNEL moved it to it.
moves() {
	mirrord channel log demo "$1" --json >"$T/log.json" ||
		fail "channel log demo $1 failed"
	"$PYTHON" -c 'import json, sys
print(sum(1 for e in json.load(open(sys.argv[1]))
          if e["to"] == sys.argv[2] and e["action"] == "promote"))' \
	    "$T/log.json" "$2"
}

# move_field CHANNEL SNAPSHOT FIELD: FIELD of the (last) promotion of
# CHANNEL to SNAPSHOT.
move_field() {
	mirrord channel log demo "$1" --json >"$T/log.json" ||
		fail "channel log demo $1 failed"
	"$PYTHON" -c 'import json, sys
e = [e for e in json.load(open(sys.argv[1])) if e["to"] == sys.argv[2]]
print(e[-1][sys.argv[3]] if e else "")' "$T/log.json" "$2" "$3"
}

target_is() {	# CHANNEL SNAPSHOT
	mirrord channel list demo >"$T/chans" 2>/dev/null &&
	    grep -Eq "^$1[[:space:]]+$2" "$T/chans"
}

show_field() {	# FIELD [PLAN]: of `rollout show PLAN --json` (weekly)
	mirrord rollout show "${2:-weekly}" --json >"$T/show.json" ||
		fail "rollout show failed"
	"$PYTHON" -c 'import json, sys
v = json.load(open(sys.argv[1]))[sys.argv[2]]
print("" if v is None else v)' "$T/show.json" "$1"
}

state_is() {	# STATE [PLAN]
	[ "$(show_field state "${2:-weekly}")" = "$1" ]
}

# gone PID: not running (a zombie nobody reaped yet counts as gone).
gone() {
	_st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	case $_st in Z*) return 0 ;; esac
	return 1
}

metric() {	# ERE: some line of /metrics matches
	curl -sf --max-time 10 "$DAEMON_URL/metrics" >"$T/metrics" ||
		fail "GET /metrics failed"
	grep -Eq -- "$1" "$T/metrics"
}

# spacing A B: B's move to $S came at least $SOAK s after A's.
spacing() {
	ta=$(move_field "$1" "$S" time)
	tb=$(move_field "$2" "$S" time)
	[ -n "$ta" ] && [ -n "$tb" ] ||
		fail "no move of $1 or $2 to $S"
	[ "$tb" -ge $((ta + SOAK)) ] ||
		fail "$2 moved at $tb, less than $SOAK s after $1 ($ta)"
}

test_expect_success 'a synced mirror and a rollout plan' - <<'EOT'
setup_synced
set_global Sync-Interval 1h
cat >"$T/check.sh" <<EOF
#!/bin/sh
echo "\$MIRRORD_ROLLOUT \$1 \$MIRRORD_SNAPSHOT" >>"$T/checks.log"
if grep -qx "\$1" "$T/fail-on" 2>/dev/null; then
	echo "fleet unhealthy on \$1"
	exit 1
fi
echo ok
EOF
chmod +x "$T/check.sh"
cat >>"$CONF" <<EOF

Rollout: weekly
Mirror: demo
Steps: canary ${SOAK}s, staging ${SOAK}s, production
Health-Check: $T/check.sh %c
Health-Timeout: 10s
On-Failure: rollback

Rollout: phased
Mirror: demo
Steps: ph-a 1s, ph-b
Phases: 50 100 every 3s

Rollout: slow
Mirror: demo
Steps: slow-a 1s, slow-b
Health-Check: $T/slow.sh
Health-Timeout: 2s
EOF
cat >"$T/slow.sh" <<EOF
#!/bin/sh
sleep 120 &
echo \$! >"$T/slow-child.pid"
echo "checking slowly"
sleep 120
EOF
chmod +x "$T/slow.sh"
run mirrord rollout list
assert_rc 0
assert_out_match '^weekly[[:space:]]+demo[[:space:]]+idle'
assert_out_match '^slow[[:space:]]+demo[[:space:]]+idle'
EOT

test_expect_success 'a plan naming an unknown mirror is refused at load' - <<'EOT'
cp "$CONF" "$T/bad.conf"
printf '\nRollout: other\nMirror: nope\nSteps: a 1h, b\n' >>"$T/bad.conf"
run "$MIRRORD" -c "$T/bad.conf" rollout list
assert_rc 1
assert_err_match "bad.conf' line [0-9]+: rollout 'other': Mirror: no mirror 'nope'"
EOT

test_expect_success 'healthy: canary, staging, production in order' - <<'EOT'
S=$SNAP1
start_daemon
wait_for 60 "production at $S" target_is production "$S"
spacing canary staging
spacing staging production
for c in canary staging production; do
	assert_eq 1 "$(moves "$c" "$S")" "moves of $c to $S"
	assert_eq "rollout weekly" "$(move_field "$c" "$S" by)" "by of $c"
done
msg=$(move_field staging "$S" message)
case $msg in
*"soak ${SOAK}s of canary done, check passed"*) ;;
*) fail "staging's why: '$msg'" ;;
esac
wait_for 10 "the plan done" state_is done
grep -q "^weekly canary $S\$" "$T/checks.log" ||
	fail "the check was not run on canary with its arguments"
metric '^mirrord_rollout_step\{rollout="weekly",mirror="demo"\} 3$' ||
	fail "no step gauge: $(grep rollout "$T/metrics")"
metric '^mirrord_rollout_halted\{rollout="weekly"\} 0$' ||
	fail "halted gauge not 0"
EOT

test_expect_success 'a check past Health-Timeout is unhealthy; its group is killed' - <<'EOT'
wait_for 30 "plan slow halted" state_is halted slow
halt=$(show_field halt_reason slow)
case $halt in
*"check of slow-a: timed out after 2s: checking slowly"*) ;;
*) fail "slow's halt reason: '$halt'" ;;
esac
wait_for 10 "the check's background child killed" gone "$(cat "$T/slow-child.pid")"
target_is slow-a "$SNAP1" || fail "slow-a not at $SNAP1"
! target_is slow-b "$SNAP1" || fail "slow-b moved after a timed-out check"
EOT

test_expect_success 'a reload with a bad plan is refused, the running one kept' - <<'EOT'
cp "$CONF" "$T/good.conf"
printf '\nRollout: other\nMirror: demo\nSteps: x 1h, x\n' >>"$CONF"
kill -HUP "$MPID"
wait_for 10 "the reload refused" log_has \
    "reload: .*rollout 'other': Steps: channel 'x' is a step twice; keeping the running configuration"
cp "$T/good.conf" "$CONF"
run mirrord rollout show weekly
assert_rc 0
assert_out_match '^state +done'
EOT

test_expect_success 'a failing check at step 2 halts; production untouched' - <<'EOT'
echo staging >"$T/fail-on"
mkarchive --generation 2
sync_ok
S=$SNAP
wait_for 60 "the plan halted" state_is halted
target_is production "$SNAP1" || fail "production moved: $(cat "$T/chans")"
target_is canary "$S" || fail "canary not at $S: $(cat "$T/chans")"
target_is staging "$SNAP1" || fail "staging not rolled back to $SNAP1"
mirrord channel log demo staging >"$T/staging.log"
grep -Eq "rollback $S -> $SNAP1 rollout weekly halted, rolled back: check of staging: exit 1: fleet unhealthy on staging" \
    "$T/staging.log" || fail "no halt in channel log: $(cat "$T/staging.log")"
halt=$(show_field halt_reason)
case $halt in
*"check of staging: exit 1: fleet unhealthy on staging"*) ;;
*) fail "rollout show's halt reason: '$halt'" ;;
esac
run mirrord rollout show weekly
assert_rc 0
assert_out_match '^halted +halted, rolled back: check of staging'
assert_out_match '^check +unhealthy: exit 1: fleet unhealthy on staging'
metric '^mirrord_rollout_halted\{rollout="weekly"\} 1$' ||
	fail "halted gauge not 1: $(grep rollout "$T/metrics")"
sleep 3
target_is production "$SNAP1" || fail "production moved while halted"
EOT

test_expect_success 'phases: the last step at 50% (a phase snapshot), then 100%' - <<'EOT'
S=$(show_field snapshot weekly)
wait_for 30 "ph-b at $S" target_is ph-b "$S"
mirrord channel log demo ph-b --json >"$T/phb.json"
"$PYTHON" - "$T/phb.json" "$S" >"$T/phb.out" <<'PY' || fail "ph-b's log: $(cat "$T/phb.out")"
import json, sys
log, s = json.load(open(sys.argv[1])), sys.argv[2]
i = [k for k, e in enumerate(log) if e["to"] == s][-1]
at50, at100 = log[i - 1], log[i]
assert at50["to"] != s, "no move to a phase snapshot before 100%"
assert "soak 1s of ph-a done" in at50["message"], at50["message"]
assert "phase raised to 100%" in at100["message"], at100["message"]
assert at100["time"] >= at50["time"] + 3, "raised before 3 s"
assert at50["by"] == at100["by"] == "rollout phased"
print(at50["to"])
PY
run mirrord snapshot show demo "$(cat "$T/phb.out")" --json
assert_rc 0
assert_out_match '"kind": *"phase"'
wait_for 10 "plan phased done" state_is done phased
EOT

test_expect_success 'abort, then kill -9 mid-soak: same schedule, no double move' - <<'EOT'
run mirrord rollout abort weekly
assert_rc 0
rm -f "$T/fail-on"
mkarchive --generation 3
sync_ok
S=$SNAP
wait_for 30 "canary at $S" target_is canary "$S"
t_canary=$(move_field canary "$S" time)
kill -KILL "$MPID"
wait "$DAEMON_PID" 2>/dev/null || true
forget_pid "$DAEMON_PID"
step "killed the daemon $(($(date +%s) - t_canary)) s into canary's soak"
start_daemon
wait_for 60 "production at $S" target_is production "$S"
spacing canary staging
spacing staging production
for c in canary staging production; do
	assert_eq 1 "$(moves "$c" "$S")" "moves of $c to $S after the restart"
done
EOT

test_expect_success 'checks by URL: %c substituted, 200 healthy, 404 halts' - <<'EOT'
printf '\nRollout: web-ok\nMirror: demo\nSteps: wa 1s, wb\nHealth-Check: %s\n' \
    "$DAEMON_URL/demo/%c/dists/stable/InRelease" >>"$CONF"
printf '\nRollout: web-bad\nMirror: demo\nSteps: wx 1s, wy\nHealth-Check: %s\n' \
    "$DAEMON_URL/demo/%s-nope/dists/stable/InRelease" >>"$CONF"
kill -HUP "$MPID"
S=$(show_field snapshot weekly)
wait_for 30 "wb at $S" target_is wb "$S"
wait_for 30 "web-bad halted" state_is halted web-bad
halt=$(show_field halt_reason web-bad)
case $halt in
*"check of wx: HTTP 404"*) ;;
*) fail "web-bad's halt reason: '$halt'" ;;
esac
! target_is wy "$S" || fail "wy moved after a 404"
EOT

test_expect_success 'SIGTERM during a long check: a prompt stop, nothing recorded' - <<'EOT'
cat >"$T/hang.sh" <<EOF
#!/bin/sh
touch "$T/hang.started"
sleep 100
EOF
chmod +x "$T/hang.sh"
printf '\nRollout: hang\nMirror: demo\nSteps: hang-a 1s, hang-b\nHealth-Check: %s\nHealth-Timeout: 100s\n' \
    "$T/hang.sh" >>"$CONF"
kill -HUP "$MPID"
wait_for 30 "the long check started" test -f "$T/hang.started"
stop_daemon 10
assert_eq running "$(show_field state hang)" "hang's state after the stop"
assert_eq "" "$(show_field last_check hang)" "hang's last check"
EOT
