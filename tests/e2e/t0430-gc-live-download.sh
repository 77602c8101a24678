#!/bin/sh
# A client downloading a large file while gc removes its snapshot completes
# the download. Generation 1 of the fixture gets an extra 32 MiB package
# 'bigdata' (stable-updates main, arch all) that generation 2 no longer
# has; both are synced. A download of the .deb through S1's URL is started
# at 2 MB/s; while it runs, Keep-Snapshots: last 1 and Gc-Grace: 0 make S1
# droppable and `gc` drops it and unlinks the blob. The download must still
# end with every byte right; the URL is 404 from then on; fsck passes.
. "$(dirname "$0")/lib.sh"

# Gc-Grace: 0 is below the floor of 1h; the test lowers it to see blobs go.
export MIRRORD_TEST_GC_GRACE_MIN=0

BIG=$((32 * 1024 * 1024))
RATE=2000000

# generation 1 has one more package, 'bigdata', whose .deb holds BIG
# incompressible bytes (tests/fixtures/mkbig.py).

# mkbig GENERATION: (re)builds $ARCHIVE with mkbig.py.
mkbig() {
	BIG_SIZE=$BIG BIG_SEED=430 BIG_GENERATIONS=1 timeout 120 "$PYTHON" \
	    "$ROOT/tests/fixtures/mkbig.py" \
	    "$ARCHIVE" --gnupghome "$GNUPG" --generation "$1" \
	    >"$T/mkarchive.out" 2>&1 ||
		fail "mkbig.py --generation $1: $(cat "$T/mkarchive.out")"
	step "mkbig: $(cat "$T/mkarchive.out")"
	[ -f "$KEY" ] || cp "$ARCHIVE/archive-key.gpg" "$KEY"
}

step "generation 1 with a $BIG-byte package, then generation 2 without it"
mkbig 1
BIGPATH=$("$PYTHON" -c 'import json, sys
for f in json.load(open(sys.argv[1]))["pool"]:
    if "/bigdata_" in f["path"] and f["path"].endswith(".deb"):
        print(f["path"], f["sha256"], f["size"])' "$ARCHIVE/.fixture.json")
set -- $BIGPATH
[ $# = 3 ] || fail "no bigdata .deb in the fixture: '$BIGPATH'"
BIGPATH=$1
BIGSHA=$2
BIGSIZE=$3
[ "$BIGSIZE" -gt "$BIG" ] || fail "the bigdata .deb is only $BIGSIZE bytes"
start_upstream
write_conf
sync_ok
S1=$SNAP
[ -f "$(blob_path "$BIGSHA")" ] || fail "the big .deb is not a blob after the sync"
mkbig 2
if grep -q bigdata "$ARCHIVE/.fixture.json"; then
	fail "generation 2 still has the bigdata package"
fi
sync_ok
S2=$SNAP

start_serve
URL1=$SERVE_URL/demo/$S1/$BIGPATH
assert_eq 404 "$(http_status "$SERVE_URL/demo/$S2/$BIGPATH" -I)" \
    "HEAD of the big .deb through S2 (which does not have it)"
assert_eq 200 "$(http_status "$URL1" -I)" "HEAD of the big .deb through S1"

# slowget.py PORT PATH OUT RATE: GET at RATE bytes/s, with a small
# receive buffer (no window autotuning: loopback's can take 32 MB, the
# whole file, and the server would be done before gc), the body to OUT as
# it comes. Prints "STATUS BYTES"; exits 1 if the body is short.
cat >"$T/slowget.py" <<'EOF2'
import socket, sys, time
port, path, out, rate = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
s.settimeout(30)
s.connect(("127.0.0.1", port))
s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
           % (path, port)).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    c = s.recv(4096)
    if not c:
        print("0 0"); sys.exit(1)
    buf += c
head, body = buf.split(b"\r\n\r\n", 1)
lines = head.decode("latin-1").split("\r\n")
status = int(lines[0].split()[1])
clen = [int(l.split(":", 1)[1]) for l in lines if l.lower().startswith("content-length:")]
clen = clen[0] if clen else -1
got, t0 = len(body), time.time()
with open(out, "wb") as f:
    f.write(body)
    while got < clen:
        ahead = got / rate - (time.time() - t0)
        if ahead > 0:
            time.sleep(ahead)
        c = s.recv(min(65536, clen - got))
        if not c:
            break
        f.write(c)
        f.flush()
        got += len(c)
print(status, got)
sys.exit(0 if got == clen else 1)
EOF2

step "a download at $RATE bytes/s through S1's URL"
"$PYTHON" "$T/slowget.py" "$SERVE_PORT" "/demo/$S1/$BIGPATH" "$T/big.deb" \
    "$RATE" >"$T/get.out" 2>"$T/get.err" &
GET=$!
_pids="$_pids $GET"
# until the first MB has arrived: the server is in the middle of the body
_i=0
while :; do
	_got=$(stat -c %s "$T/big.deb" 2>/dev/null || echo 0)
	[ "$_got" -lt $((1024 * 1024)) ] || break
	kill -0 "$GET" 2>/dev/null ||
		fail "the download ended early: $(cat "$T/get.out" "$T/get.err")"
	_i=$((_i + 1))
	[ "$_i" -le 300 ] || fail "the download did not start in 30 s ($_got bytes)"
	sleep 0.1
done
step "downloading: $_got bytes so far"

step "meanwhile: Keep-Snapshots: last 1, Gc-Grace: 0, gc"
set_global Keep-Snapshots "last 1"
set_global Gc-Grace 0
run mirrord gc
assert_rc 0
assert_out_match '^1 snapshots dropped, [1-9][0-9]* blobs .* removed'
step "gc: $(cat "$T/out")"
_got=$(stat -c %s "$T/big.deb" 2>/dev/null || echo 0)
kill -0 "$GET" 2>/dev/null ||
	fail "the download ended before gc finished ($_got bytes): the test" \
	    "proves nothing; lower RATE"
step "gc done with $_got of $BIGSIZE bytes downloaded"
# The server was still reading the file: more was left than the socket
# buffers hold, and its access log (written when a response is done) has
# no line for the GET yet.
[ $((BIGSIZE - _got)) -ge $((8 * 1024 * 1024)) ] ||
	fail "only $((BIGSIZE - _got)) bytes were left to send when gc ended:" \
	    "the test proves nothing; lower RATE"
if grep -q "\"GET /demo/$S1/$BIGPATH " "$T/serve.log"; then
	fail "the server had sent the whole file before gc ended: the test" \
	    "proves nothing: $(grep "\"GET /demo/$S1/" "$T/serve.log")"
fi
[ ! -e "$(blob_path "$BIGSHA")" ] ||
	fail "gc did not remove the big .deb's blob $(blob_path "$BIGSHA")"
run mirrord snapshot list demo
assert_rc 0
assert_eq "$S2" "$(cat "$T/out")" "snapshot list after gc"
# a new request for the same URL: S1 is gone
assert_eq 404 "$(http_status "$URL1" -I)" \
    "HEAD of the big .deb through S1 while the old download still runs"
kill -0 "$GET" 2>/dev/null ||
	fail "the download ended before the checks after gc: lower RATE"

step "the download in progress completes"
_crc=0
wait "$GET" || _crc=$?
forget_pid "$GET"
[ "$_crc" = 0 ] || fail "the download failed ($_crc): $(cat "$T/get.out" "$T/get.err")" \
    "after $(stat -c %s "$T/big.deb" 2>/dev/null || echo 0) of $BIGSIZE bytes"
assert_eq "200 $BIGSIZE" "$(cat "$T/get.out")" "the download's status and byte count"
assert_eq "$BIGSHA" "$(file_sha256 "$T/big.deb")" "sha256 of the downloaded .deb"
# the log line the check above looked for (so that the check can fail)
grep -q "\"GET /demo/$S1/$BIGPATH [^\"]*\" 200 " "$T/serve.log" ||
	fail "no access log line for the download: $(tail -n 3 "$T/serve.log")"

step "afterwards: 404 for the URL, fsck passes, S2 still served"
assert_eq 404 "$(http_status "$URL1")" "GET of the big .deb through S1 after gc"
run mirrord fsck
assert_rc 0
assert_eq 200 "$(http_status "$SERVE_URL/demo/$S2/dists/stable-updates/InRelease")" \
    "GET S2's stable-updates InRelease"
assert_eq "$(file_sha256 "$ARCHIVE/dists/stable-updates/InRelease")" \
    "$(file_sha256 "$T/b")" "S2's stable-updates InRelease"
assert_tmp_empty
stop_serve
step "ok"
