#!/bin/sh
# Fleet adoption (issue 16): what the server sees of a channel's machines.
# Five real apt clients, each reaching mirrord from its own loopback
# address (127.0.0.11-15, through srcproxy.py: apt cannot pick its source
# address), run apt update on production at generation 1. production then
# moves to generation 2; three clients update (they fetch the new indices
# by hash), two of them download the upgrade (the pool files the move
# brought). /metrics and `status` must say 5 clients, 3 with the new
# indices, 2 upgraded; the counts survive a restart of the server; a
# second move starts the new-index and upgrade counts from 0.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/compose-lib.sh"

NBOX=5

# box_proxy I: box I's proxy from 127.0.0.(10+I) (started once).
box_proxy() {
	rm -f "$T/proxy$1.port"
	"$PYTHON" "$E2E_DIR/srcproxy.py" "127.0.0.$((10 + $1))" \
	    "$T/proxy$1.port" 2>"$T/proxy$1.err" &
	_pids="$_pids $!"
	_n=0
	while [ ! -s "$T/proxy$1.port" ]; do
		_n=$((_n + 1))
		[ "$_n" -le 100 ] || fail "proxy $1 did not start: $(cat "$T/proxy$1.err")"
		sleep 0.1
	done
	printf 'Acquire::http::Proxy "http://127.0.0.1:%s/";\nAcquire::http::Pipeline-Depth "0";\n' \
	    "$(cat "$T/proxy$1.port")" >"$T/box$1/etc/apt/apt.conf.d/50proxy"
}

# fleet NAME: /metrics's mirrord_channel_fleet_NAME of demo's production.
fleet() {
	curl -sf --max-time 30 -o "$T/metrics" "$SERVE_URL/metrics" ||
		fail "GET /metrics failed"
	sed -n "s/^mirrord_channel_fleet_$1{mirror=\"demo\",channel=\"production\"} //p" \
	    "$T/metrics"
}

# updates I...: apt-get update in those boxes (through their proxies).
updates() {
	for _b in "$@"; do
		apt_update_ok "$T/box$_b" || return 1
	done
}

test_expect_success 'production at generation 1, served' '
	mkcompose --generation 1 --no-closures &&
	start_upstream &&
	new_conf &&
	add_full demo &&
	start_serve &&
	sync_ok &&
	run mirrord promote demo latest production &&
	assert_rc 0
'

test_expect_success APT "$NBOX clients, each from its own address, update" '
	run mirrord sources demo production &&
	assert_rc 0 &&
	i=1 &&
	while [ "$i" -le "$NBOX" ]; do
		apt_box "$T/box$i" &&
		cp "$T/out" "$T/box$i/etc/apt/sources.list.d/demo.sources" &&
		box_proxy "$i" || return 1
		i=$((i + 1))
	done &&
	updates 1 2 3 4 5 &&
	box_status "$T/box1" >/dev/null &&
	for i in 2 3 4 5; do cp "$T/box1/var/lib/dpkg/status" "$T/box$i/var/lib/dpkg/status"; done &&
	assert_eq 5 "$(fleet clients)" "clients"
'

test_expect_success APT 'after a move: 3 update (new indices), 2 upgrade' '
	mkcompose --generation 2 --no-closures &&
	sleep 1 &&
	sync_ok &&
	sleep 1 &&
	run mirrord promote demo latest production &&
	assert_rc 0 &&
	assert_eq 0 "$(fleet new_indices)" "new indices before any update" &&
	updates 1 2 3 &&
	assert_eq 3 "$(fleet new_indices)" "clients with the new indices" &&
	assert_eq 0 "$(fleet upgraded)" "upgraded before any download" &&
	for i in 1 2; do
		apt_get "$T/box$i" -y -d dist-upgrade >"$T/dl$i.out" 2>&1 ||
			fail "dist-upgrade -d in box $i: $(tail -5 "$T/dl$i.out")"
		ls "$T/box$i/var/cache/apt/archives/"*.deb >/dev/null 2>&1 ||
			fail "box $i downloaded nothing: $(tail -5 "$T/dl$i.out")"
	done &&
	assert_eq 2 "$(fleet upgraded)" "clients that upgraded" &&
	assert_eq 5 "$(fleet clients)" "clients in the window"
'

test_expect_success APT 'the counts survive a restart; status says them too' '
	stop_serve &&
	[ -s "$STORE/adoption" ] || fail "no $STORE/adoption after a stop" &&
	run mirrord status --json &&
	assert_rc 0 &&
	"$PYTHON" -c "import json, sys
r = json.load(open(sys.argv[1]))
ch = [c for m in r[\"mirrors\"] for c in m[\"channels\"] if c[\"name\"] == \"production\"][0]
assert ch[\"fleet\"] == {\"clients\": 5, \"new_indices\": 3, \"upgraded\": 2}, ch[\"fleet\"]" "$T/out" &&
	run mirrord status &&
	assert_out_match "fleet: 5 clients; since the move 3 took the new indices, 2 upgraded" &&
	start_serve &&
	assert_eq 5 "$(fleet clients)" "clients after a restart" &&
	assert_eq 2 "$(fleet upgraded)" "upgraded after a restart"
'

test_expect_success APT 'a new move starts the step counts again' '
	sleep 1 &&
	run mirrord rollback demo production &&
	assert_rc 0 &&
	assert_eq 0 "$(fleet new_indices)" "new indices after another move" &&
	assert_eq 0 "$(fleet upgraded)" "upgraded after another move" &&
	assert_eq 5 "$(fleet clients)" "the fleet is still the fleet"
'

test_expect_success APT 'a HEAD is no fetch; a GET from another address is a client' '
	curl -sfI --max-time 10 "$SERVE_URL/demo/production/dists/stable/InRelease" \
	    >/dev/null &&
	assert_eq 5 "$(fleet clients)" "clients after a HEAD from 127.0.0.1" &&
	curl -sf --max-time 10 -o /dev/null "$SERVE_URL/demo/production/dists/stable/InRelease" &&
	assert_eq 6 "$(fleet clients)" "a GET from 127.0.0.1: a sixth client"
'

