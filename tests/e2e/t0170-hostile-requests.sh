#!/bin/sh
# Hostile requests against `mirrord serve`: path traversal (plain, %2e%2e,
# encoded slashes, double encoding), a 10,000-byte path, NUL bytes, a 100 KB
# header, markup in the path, odd methods and request lines, a client that
# sends one byte per second and 300 idle connections. Each gets a clean 4xx
# (or the connection is closed), nothing outside the store (nor the store's
# own secret key or database) is ever served, no body echoes the request
# path unescaped, and a well-behaved apt-get update succeeds meanwhile.
. "$(dirname "$0")/lib.sh"

setup_synced
run mirrord promote demo latest production	# also makes the signing key
assert_rc 0
CANARY=canary-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
echo "$CANARY" >"$T/secret.txt"
echo "$CANARY" >"$STORE/secret.txt"		# in the store, not a blob
[ -f "$STORE/signing-key.asc" ] ||
	step "note: no $STORE/signing-key.asc (the key lives elsewhere)"
start_serve
run mirrord sources demo production
assert_rc 0
BOX=$T/box
apt_box "$BOX"
cp "$T/out" "$BOX/etc/apt/sources.list.d/x.sources"

step "300 idle connections and a client sending one byte per second"
"$PYTHON" - "$SERVE_PORT" "$T/pressure.out" <<'EOF' &
import socket, sys, threading, time
port, out = int(sys.argv[1]), sys.argv[2]
res = {}
def slow():
    req = b"GET /healthz HTTP/1.0\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    sent = 0
    try:
        for c in req:
            s.sendall(bytes([c]))
            sent += 1
            time.sleep(1)
        s.settimeout(10)
        got = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            got += b
        res["slow"] = "answer %r" % got.split(b"\r\n")[0]
        res["slow_ok"] = got.startswith(b"HTTP/1.") and b"\r\n\r\n" in got
    except socket.timeout:
        res["slow"], res["slow_ok"] = "no answer 10 s after the request", False
    except OSError as e:
        res["slow"] = "closed by the server after %d bytes (%s)" % (sent, e)
        res["slow_ok"] = True
idle = []
for i in range(300):
    try:
        # From another address than apt's (Max-Clients-Per-IP holds
        # one address to a quarter of the slots: some of these 300 are
        # closed at once, which is what it is for).
        idle.append(socket.create_connection(("127.0.0.1", port), timeout=5,
                                             source_address=("127.0.0.2", 0)))
    except OSError as e:
        res["idle_err"] = "connection %d: %s" % (i, e)
        break
t = threading.Thread(target=slow)
t.start()
t.join(45)
closed = 0
for s in idle:
    s.setblocking(False)
    try:
        if s.recv(1) == b"":
            closed += 1
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
    s.close()
with open(out, "w") as f:
    f.write("idle %d opened, %d closed by the server\n" % (len(idle), closed))
    f.write("idle_err %s\n" % res.get("idle_err", "-"))
    f.write("slow %s\n" % res.get("slow", "still running"))
    f.write("slow_ok %s\n" % res.get("slow_ok", False))
EOF
PRESSURE=$!
_pids="$_pids $PRESSURE"
sleep 2

step "apt-get update while the connections are held"
apt_update_ok "$BOX"

step "hostile requests"
"$PYTHON" - "$SERVE_PORT" "$CANARY" "$T" "$STORE" >"$T/hostile.out" 2>&1 <<'EOF' ||
import socket, sys
port, canary, tdir, store = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3], sys.argv[4]
key = open(store + "/signing-key.asc", "rb").read() if __import__("os").path.exists(
    store + "/signing-key.asc") else b""
FORBIDDEN = [b"root:x:0:0", b"root:*:0:0", canary, b"PRIVATE KEY", b"<script",
             b"onerror=", b"X-Injected"]

def request(raw, secs=10):
    """Sends raw, returns (answer bytes, how the connection ended)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=secs)
    how = "closed"
    try:
        s.sendall(raw)
    except OSError:
        how = "reset while sending"
    got = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        how = "timeout"
    except OSError:
        how = "reset"
    s.close()
    return got, how

bad = 0
def check(desc, path, raw=None, may_close=False, method=b"GET", extra=b""):
    global bad
    if raw is None:
        raw = (method + b" " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
               extra + b"Connection: close\r\n\r\n")
    got, how = request(raw)
    head, _, body = got.partition(b"\r\n\r\n")
    line = head.split(b"\r\n")[0]
    st = line.split(b" ")[1] if line.startswith(b"HTTP/1.") and b" " in line else b""
    errs = []
    if not got:
        if not may_close:
            errs.append("no answer (%s)" % how)
    elif not (st.startswith(b"4") and len(st) == 3):
        errs.append("status line %r, expected 4xx" % line[:80])
    for f in FORBIDDEN:
        if f in got:
            errs.append("the answer contains %r" % f)
    if key and key[:200] in got:
        errs.append("the answer contains the signing key")
    if len(path) > 200 and path in body:
        errs.append("the body echoes the %d-byte path" % len(path))
    if any(c in path for c in b"<>\"'") and path in body:
        errs.append("the body echoes the path unescaped")
    if errs:
        bad = 1
        print("FAIL %s: %s" % (desc, "; ".join(errs)))
        print("     request %r" % raw[:160])
        print("     answer  %r" % got[:300])
    else:
        print("ok   %s: %s" % (desc, line.decode(errors="replace") or how))

dot = [b"../", b"%2e%2e/", b"%2E%2E/", b".%2e/", b"%2e./", b"..%2f", b"..%2F",
       b"%252e%252e/", b"..%5c", b"..\\", b"%2e%2e%2f"]
for d in dot:
    for base in (b"/demo/latest/dists/", b"/demo/latest/pool/",
                 b"/demo/production/dists/stable/", b"/"):
        for target in (b"etc/passwd", b"secret.txt", b"signing-key.asc",
                       b"index/data.mdb", b"lock"):
            for depth in (1, 2, 3, 4, 6, 10):
                p = base + d * depth + target
                check("traversal %s" % p.decode(errors="replace"), p)
tdir_b = tdir.encode()
for p in (b"/demo/latest/pool/" + tdir_b + b"/secret.txt",
          b"/demo/latest/pool//" + tdir_b + b"/secret.txt",
          b"/demo/latest/pool/%2f" + tdir_b.replace(b"/", b"%2f") + b"%2fsecret.txt",
          b"/demo/latest/pool/%2fetc%2fpasswd", b"//etc/passwd",
          b"/demo/latest/pool/./../../etc/passwd", b"/demo/./latest/pool/x",
          b"/secret.txt", b"/signing-key.asc", b"/index/data.mdb",
          b"/demo/secret.txt", b"/demo/latest/secret.txt",
          b"/demo/latest/dists/stable/InRelease/../../../../secret.txt",
          b"/demo/latest/blobs", b"/blobs/"):
    check("path %s" % p.decode(errors="replace"), p)
check("a NUL escape", b"/demo/latest/dists/stable/InRelease%00.txt")
check("a raw NUL byte", b"/demo/latest/dists/stable/In\x00Release", may_close=True)
check("control bytes", b"/demo/latest/dists/%01%7f/InRelease")
check("a raw tab", b"/demo/latest/dists/st\table/InRelease", may_close=True)
check("a bad escape", b"/demo/latest/dists/%zz/InRelease")
check("a truncated escape", b"/demo/latest/dists/stable/InRelease%2")
long_path = b"/demo/latest/dists/" + b"a" * (10000 - 19)
check("a 10,000-byte path", long_path, may_close=True)
check("a 10,000-byte ref", b"/demo/" + b"9" * 9994, may_close=True)
check("a 100 KB header", b"/demo/latest/dists/stable/InRelease", may_close=True,
      extra=b"X-Big: " + b"a" * 100000 + b"\r\n")
check("5,000 small headers", b"/demo/latest/dists/stable/InRelease", may_close=True,
      extra=b"".join(b"X-H%d: v\r\n" % i for i in range(5000)))
check("markup in the mirror", b"/<script>alert(1)</script>/")
check("markup in the ref", b"/demo/<script>alert(1)</script>/dists/stable/InRelease")
check("escaped markup", b"/demo/%3Cscript%3Ealert(1)%3C%2Fscript%3E/")
check("escaped markup in a pool path",
      b"/demo/latest/pool/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E")
check("quotes in the path", b"/demo/latest/pool/\"'><img src=x onerror=alert(1)>")
check("CRLF in an escape", b"/demo/latest/pool/x%0d%0aX-Injected:%201")
check("unknown mirror", b"/nosuchmirror/latest/dists/stable/InRelease")
check("unknown channel", b"/demo/nosuchchannel/dists/stable/InRelease")
check("bad channel name", b"/demo/-bad-/dists/stable/InRelease")
for m in (b"POST", b"PUT", b"DELETE", b"PATCH", b"TRACE", b"BREW"):
    check("method %s" % m.decode(), b"/demo/latest/dists/stable/InRelease",
          method=m)
check("garbage request line", b"", raw=b"GARBAGE\r\n\r\n", may_close=True)
check("HTTP/0.9-style", b"", raw=b"GET /etc/passwd\r\n\r\n", may_close=True)
check("absolute-form", b"http://127.0.0.1/../../etc/passwd",
      raw=b"GET http://127.0.0.1/../../etc/passwd HTTP/1.1\r\nHost: x\r\n"
          b"Connection: close\r\n\r\n", may_close=True)
check("no leading slash", b"etc/passwd",
      raw=b"GET etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      may_close=True)
check("HTTP/1.1 without Host", b"/demo/latest/../../etc/passwd",
      raw=b"GET /demo/latest/../../etc/passwd HTTP/1.1\r\nConnection: close\r\n\r\n")
sys.exit(bad)
EOF
	{ grep -v '^ok' "$T/hostile.out" | head -n 40 >&2
	  fail "$(grep -c '^FAIL' "$T/hostile.out") hostile requests were mishandled"; }
step "$(grep -c '^ok' "$T/hostile.out") hostile requests answered cleanly"

step "curl --path-as-is"
for p in /demo/latest/dists/../../../etc/passwd \
    /demo/latest/dists/%2e%2e/%2e%2e/%2e%2e/etc/passwd \
    /demo/latest/../../../../../../../../etc/passwd; do
	s=$(http_status "$SERVE_URL$p" --path-as-is)
	case $s in
	4??) ;;
	*) fail "GET $p (--path-as-is): status $s, expected 4xx" ;;
	esac
	! grep -q 'root:' "$T/b" || fail "GET $p served /etc/passwd"
done

step "the server is still well: /healthz, apt-get update"
s=$(http_status "$SERVE_URL/healthz")
assert_eq 200 "$s" "status of /healthz after the hostile requests"
apt_update_ok "$BOX"

step "waiting for the slow client"
_i=0
while kill -0 "$PRESSURE" 2>/dev/null; do
	_i=$((_i + 1))
	[ "$_i" -le 500 ] || fail "the slow client is still running after 50 s"
	sleep 0.1
done
wait "$PRESSURE" || true
forget_pid "$PRESSURE"
sed 's/^/# /' "$T/pressure.out"
grep -q '^idle_err -$' "$T/pressure.out" ||
	fail "idle connections: $(grep idle_err "$T/pressure.out")"
grep -q '^slow_ok True$' "$T/pressure.out" ||
	fail "the one-byte-per-second client: $(grep '^slow ' "$T/pressure.out")"
kill -0 "$SERVE_PID" 2>/dev/null || fail "mirrord serve died: $(tail -n 5 "$T/serve.log")"
stop_serve
step "ok"
