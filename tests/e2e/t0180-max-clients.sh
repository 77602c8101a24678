#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# Max-Clients, Max-Clients-Per-IP and Client-Timeout: with Max-Clients: 20,
# 20 idle connections
# are held open and every connection beyond them is closed at once (and
# counted in /metrics); once the idle ones are gone (closed by the client,
# or by the server after Client-Timeout), new clients are served again.
. "$(dirname "$0")/lib.sh"

setup_synced
set_global Max-Clients 20
# All from 127.0.0.1 here: no per-address limit below the total (the
# default, a quarter of Max-Clients, is tested below).
set_global Max-Clients-Per-IP 20
set_global Client-Timeout 4
start_serve

step "20 idle connections, then 5 more"
"$PYTHON" - "$SERVE_PORT" "$T/clients.out" <<'EOF'
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
res = []
def closed_within(s, secs):
    """True if the server closes s (EOF or reset) within secs."""
    s.settimeout(secs)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(20)]
time.sleep(0.5)
# The held ones stay open...
res.append("held_open %d" % sum(1 for s in held[:5] if not closed_within(s, 0.2)))
extra = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(5)]
# ...the extra ones are closed at once.
res.append("extra_closed %d" % sum(1 for s in extra if closed_within(s, 2)))
# After Client-Timeout (4 s) the server closes the idle ones itself.
t0 = time.time()
n = sum(1 for s in held if closed_within(s, 12 - (time.time() - t0)))
res.append("idle_closed %d after %.1f s" % (n, time.time() - t0))
for s in held + extra:
    s.close()
open(out, "w").write("\n".join(res) + "\n")
EOF
sed 's/^/# /' "$T/clients.out"
grep -q '^held_open 5$' "$T/clients.out" ||
	fail "connections within Max-Clients were closed: $(cat "$T/clients.out")"
grep -q '^extra_closed 5$' "$T/clients.out" ||
	fail "connections over Max-Clients were not closed at once: $(cat "$T/clients.out")"
grep -q '^idle_closed 20 ' "$T/clients.out" ||
	fail "idle connections outlived Client-Timeout: $(cat "$T/clients.out")"

step "served again once they are gone; the refusals are counted"
s=$(http_status "$SERVE_URL/healthz")
assert_eq 200 "$s" "status of /healthz after the idle connections closed"
curl -s --max-time 5 -o "$T/metrics" "$SERVE_URL/metrics" || fail "GET /metrics failed"
n=$(awk '$1 == "mirrord_http_refused_connections_total" { print $2 }' "$T/metrics")
[ -n "$n" ] && [ "$n" -ge 5 ] ||
	fail "mirrord_http_refused_connections_total is '$n', expected at least 5"
s=$(http_status "$SERVE_URL/demo/$SNAP1/dists/stable/InRelease")
assert_eq 200 "$s" "status of the snapshot's InRelease"

step "Max-Clients-Per-IP: 5 from one address, another address still served"
stop_serve
set_global Max-Clients-Per-IP 5
start_serve
"$PYTHON" - "$SERVE_PORT" "$T/perip.out" <<'EOF'
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return s
def closed_within(s, secs):
    s.settimeout(secs)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
held = [conn("127.0.0.2") for _ in range(5)]
time.sleep(0.3)
extra = [conn("127.0.0.2") for _ in range(3)]
res = ["extra_closed %d" % sum(1 for s in extra if closed_within(s, 2))]
other = conn("127.0.0.1")
other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
other.settimeout(5)
data = b""
try:
    while True:
        b = other.recv(4096)
        if not b:
            break
        data += b
except OSError:
    pass
res.append("other " + (data.split(b"\r\n")[0].decode("latin-1") if data else "closed"))
res.append("held_open %d" % sum(1 for s in held if not closed_within(s, 0.2)))
for s in held + extra + [other]:
    s.close()
open(out, "w").write("\n".join(res) + "\n")
EOF
sed 's/^/# /' "$T/perip.out"
grep -q '^extra_closed 3$' "$T/perip.out" ||
	fail "connections over Max-Clients-Per-IP were not closed: $(cat "$T/perip.out")"
grep -q '^other HTTP/1.1 200' "$T/perip.out" ||
	fail "a client on another address was not served: $(cat "$T/perip.out")"
grep -q '^held_open 5$' "$T/perip.out" ||
	fail "connections within Max-Clients-Per-IP were closed: $(cat "$T/perip.out")"
stop_serve
step "ok"
