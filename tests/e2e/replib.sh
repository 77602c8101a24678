# replib.sh: sourced (after lib.sh) by the read replica tests, t0980 and
# t0979: what compares nodes, and the primary's kill -9 and restart.

# same_bytes URL1 URL2: every dists file of every snapshot and channel
# (and latest) and every pool file of every snapshot, as the primary's API
# lists them, must answer the same status and bytes on both nodes.
same_bytes() {
	"$PYTHON" - "$1" "$2" <<'PY'
import hashlib, json, sys, urllib.request, urllib.error
a, b = sys.argv[1], sys.argv[2]
def get(base, path):
    try:
        with urllib.request.urlopen(base + path, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
def js(path):
    s, body = get(a, "/api/v1/" + path)
    assert s == 200, (path, s)
    return json.loads(body)
snaps = js("mirrors/demo/snapshots")["snapshots"]
pool = js("mirrors/demo/pool")["intervals"]
chans = js("mirrors/demo/channels")["channels"]
urls = []
files = {}
for s in snaps:
    _, text = get(a, "/api/v1/mirrors/demo/snapshots/%s/manifest" % s["id"])
    suite = None
    files[s["id"]] = []
    for line in text.decode().split("\n"):
        w = line.split(" ")
        if w[0] == "suite":
            suite = w[1]
        elif w[0] == "file":
            files[s["id"]].append("dists/%s/%s" % (suite, w[3]))
    urls += ["/demo/%s/%s" % (s["id"], p) for p in files[s["id"]]]
    for iv in pool:
        if iv["from"] <= s["seq"] and (iv["to"] == 0 or s["seq"] < iv["to"]):
            urls.append("/demo/%s/%s" % (s["id"], iv["path"]))
for c in chans:
    urls += ["/demo/%s/%s" % (c["name"], p) for p in files[c["target"]]]
    urls += ["/demo/%s/dists/%s/%s" % (c["name"], su["name"], f["path"])
             for su in c["suites"] for f in su["files"]]
if snaps:
    urls += ["/demo/latest/%s" % p for p in files[snaps[-1]["id"]]]
bad = []
for u in urls:
    ra, rb = get(a, u), get(b, u)
    if ra[0] != 200 or ra != rb:
        bad.append("%s: %d/%d %s/%s" % (u, ra[0], rb[0],
            hashlib.sha256(ra[1]).hexdigest()[:12],
            hashlib.sha256(rb[1]).hexdigest()[:12]))
print("%d URLs compared" % len(urls))
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
PY
}

# generation URL: the generation /api/v1/state says ("" if it cannot).
generation() {
	curl -s --max-time 5 "$1/api/v1/state" 2>/dev/null | "$PYTHON" -c \
	    'import json, sys
try: print(json.load(sys.stdin)["generation"])
except Exception: print("")'
}


# kill_primary_mid_sync GEN: upstream generation GEN, its pool files slowed
# (3 s each); a sync of the primary is under way when the primary's server
# and the sync are killed -9.
kill_primary_mid_sync() {
	mkarchive --generation "$1"
	upstream_control '{"delay": {"pattern": "pool/", "seconds": 3}}'
	( mirrord sync >"$T/killed-sync.out" 2>&1 ) &
	_ks=$!
	_i=0
	until grep -q 'pool/' "$T/upstream.log"; do
		_i=$((_i + 1))
		[ "$_i" -le 300 ] || fail "the sync fetched no pool file"
		sleep 0.1
	done
	kill -KILL "$(ps -o pid= --ppid "$SERVE_PID" | tr -d ' ')"
	for _p in $(ps -o pid= --ppid "$_ks"); do
		for _q in $(ps -o pid= --ppid "$_p"); do
			kill -KILL "$_q" 2>/dev/null || true
		done
	done
	wait "$_ks" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
	forget_pid "$SERVE_PID"
}

# restart_primary: `mirrord serve` again on the same Listen: (in $CONF).
restart_primary() {
	timeout -k 5 600 "$MIRRORD" -c "$CONF" serve \
	    >"$T/serve.out" 2>>"$T/serve.log" &
	SERVE_PID=$!
	_pids="$_pids $SERVE_PID"
	_i=0
	until curl -s --max-time 2 "$SERVE_URL/healthz" 2>/dev/null |
	    grep -q '^ok'; do
		_i=$((_i + 1))
		[ "$_i" -le 100 ] || fail "the primary did not come back"
		sleep 0.1
	done
}

# apt_across_moves MOVES WAIT NODE...: each move of MOVES (promote: latest
# to production; rollback: production), then WAIT (the command that waits
# for the replicas), then apt in $BOX, its sources $T/NODE.sources for
# each NODE in turn: update, a candidate for hello, its download.
apt_across_moves() {
	_moves=$1
	_wait=$2
	shift 2
	for _move in $_moves; do
		if [ "$_move" = promote ]; then
			run mirrord promote demo latest production
		else
			run mirrord rollback demo production
		fi
		assert_rc 0
		$_wait
		for _node in "$@"; do
			cp "$T/$_node.sources" "$BOX/etc/apt/sources.list.d/x.sources"
			apt_update_ok "$BOX"
			_c=$(apt_candidate "$BOX" hello)
			[ -n "$_c" ] || fail "no candidate for hello from $_node"
			run apt_get "$BOX" -y --download-only install hello
			assert_rc 0
		done
		step "$_move: hello $_c from $*"
	done
}
