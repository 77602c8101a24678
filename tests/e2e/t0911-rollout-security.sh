#!/bin/sh
# Security: immediate with the real daemon. The compose fixture's
# generation 2 brings two fixes in stable-security (sec-a, sec-b) and one
# ordinary update in stable (stab-c). A plan canary 1h -> production, both
# channels at generation 1: once generation 2 is synced, every step is
# patched with the security fixes at once (no soak: production too), each
# patched step is health-checked, the moves are in `channel log` by
# "rollout sec" with why; stab-c does not reach production (it waits for
# the soak like the rest), and the rollout in flight starts over with the
# new latest from the first step.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/compose-lib.sh"

kind_of() {	# SNAPSHOT: its kind
	mirrord snapshot show demo "$1" >"$T/show" ||
		fail "snapshot show demo $1 failed"
	sed -n 's/^kind: //p' "$T/show"
}

target_is() {	# CHANNEL SNAPSHOT
	[ "$(channel_target "$1")" = "$2" ]
}

patched() {	# CHANNEL: its target is a patch snapshot
	_t=$(channel_target "$1")
	[ -n "$_t" ] && [ "$(kind_of "$_t")" = patch ]
}

test_expect_success 'generation 1 in canary and production; a plan' - <<'EOT'
mkcompose --generation 1 --no-closures
start_upstream
new_conf
set_global Sync-Interval 1h
add_full demo
sync_ok
S1=$SNAP
for c in canary production; do
	run mirrord promote demo latest "$c"
	assert_rc 0
done
cat >"$T/check.sh" <<EOF
#!/bin/sh
echo "\$MIRRORD_CHANNEL \$MIRRORD_SNAPSHOT" >>"$T/checks.log"
EOF
chmod +x "$T/check.sh"
cat >>"$CONF" <<EOF

Rollout: sec
Mirror: demo
Steps: canary 1h, production
Security: immediate
Health-Check: $T/check.sh
EOF
start_daemon
wait_for 30 "the plan running at $S1" sh -c \
    "'$MIRRORD' -c '$CONF' rollout show sec | grep -Eq '^state +running'"
assert_eq "$S1" "$(channel_target production)" "production before the fixes"
EOT

test_expect_success 'a sync with security fixes: every step patched at once' - <<'EOT'
mkcompose --generation 2 --no-closures
sleep 1
sync_ok
S2=$SNAP
wait_for 60 "production patched" patched production
P=$(channel_target production)
run mirrord snapshot show demo "$P"
assert_out_match 'sec-a'
assert_out_match 'sec-b'
! grep -q 'stab-c' "$T/out" || fail "stab-c in production's patch"
mirrord channel log demo production --json >"$T/log.json"
"$PYTHON" - "$T/log.json" "$P" <<'PY' || fail "production's log: $(cat "$T/log.json")"
import json, sys
e = [e for e in json.load(open(sys.argv[1])) if e["to"] == sys.argv[2]]
assert len(e) == 1, e
assert e[0]["by"] == "rollout sec", e[0]
assert "security" in e[0]["message"] and "no soak" in e[0]["message"], e[0]
PY
wait_for 10 "production's patch health-checked" grep -q "^production $P\$" \
    "$T/checks.log"
EOT

test_expect_success 'the rollout starts over with the new latest; no soak skipped' - <<'EOT'
wait_for 30 "canary at $S2" target_is canary "$S2"
run mirrord rollout show sec --json
assert_rc 0
"$PYTHON" -c 'import json, sys
v = json.load(open(sys.argv[1]))
assert v["snapshot"] == sys.argv[2] and v["step"] == 1, v' "$T/out" "$S2" ||
	fail "rollout show: $(cat "$T/out")"
assert_eq "$P" "$(channel_target production)" "production keeps its patch (canary soaks 1h)"
EOT
