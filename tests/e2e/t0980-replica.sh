#!/bin/sh
# Read replicas (issue 18 §2). First the primary's read-only JSON API
# under /api/v1/ (docs/api.md): every answer checked against what the
# store says through the commands, every byte a replica copies against
# the hash the API gives for it. Then a replica daemon (its own store,
# Replica-Of: the primary, on 127.0.0.1) follows syncs, promotions, a
# rollback, a delete and gc, within a bounded wait; every URL of every
# snapshot and channel answers the same bytes on both nodes; writes on
# the replica refuse; the primary killed -9 mid-sync leaves the replica
# serving, its lag growing, until it catches up; a hostile primary's
# wrong blob commits nothing; apt alternates between the nodes.
. "$(dirname "$0")/lib.sh"
# same_bytes, generation
. "$E2E_DIR/replib.sh"

# api PATH: GET $SERVE_URL/api/v1/PATH into $T/b, must be 200 JSON.
api() {
	_s=$(http_status "$SERVE_URL/api/v1/$1")
	[ "$_s" = 200 ] || fail "GET /api/v1/$1: status $_s: $(cat "$T/b")"
	case $(header Content-Type) in
	application/json*) ;;
	*) fail "GET /api/v1/$1: Content-Type '$(header Content-Type)'" ;;
	esac
}

# py EXPR: EXPR (Python, j = the JSON in $T/b, a copy of it in $T/$2 when
# given) printed.
py() {
	"$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$T/b" "$1" || fail "cannot evaluate '$1' on: $(cat "$T/b")"
}

test_expect_success 'a primary: two syncs, a channel moved twice, served' - <<'EOT'
setup_synced
mkarchive --generation 2
sync_ok
SNAP2=$SNAP
run mirrord promote demo "$SNAP1" production
assert_rc 0
run mirrord promote demo "$SNAP2" production
assert_rc 0
start_serve
EOT

test_expect_success 'v1/state: the mirrors, their newest snapshot, a generation' - <<'EOT'
api state
assert_eq 1 "$(py 'j["api"]')" "api version"
assert_eq "$SNAP2" "$(py '[m for m in j["mirrors"] if m["name"] == "demo"][0]["newest"]')" "newest"
assert_eq 2 "$(py '[m for m in j["mirrors"] if m["name"] == "demo"][0]["snapshots"]')" "count"
assert_eq "['production']" "$(py '[m for m in j["mirrors"] if m["name"] == "demo"][0]["channels"]')" "channels"
assert_eq 64 "$(py 'len(j["generation"])')" "generation is a sha256"
GEN1=$(py 'j["generation"]')
[ "$(py 'j["time"]')" -gt 0 ] || fail "no time"
api state
assert_eq "$GEN1" "$(py 'j["generation"]')" "generation stable without a change"
EOT

test_expect_success 'v1/mirrors/demo/snapshots and each manifest, by its hash' - <<'EOT'
api mirrors/demo/snapshots
assert_eq "$SNAP1 $SNAP2" "$(py '" ".join(s["id"] for s in j["snapshots"])')" "ids"
assert_eq "1 2" "$(py '" ".join(str(s["seq"]) for s in j["snapshots"])')" "seqs"
assert_eq "sync False" "$(py 'j["snapshots"][0]["kind"] + " " + str(j["snapshots"][0]["composed"])')" "kind"
cp "$T/b" "$T/snaps.json"
for id in "$SNAP1" "$SNAP2"; do
	want=$("$PYTHON" -c 'import json, sys
print([s["manifest"]["sha256"] for s in json.load(open(sys.argv[1]))["snapshots"] if s["id"] == sys.argv[2]][0])' "$T/snaps.json" "$id")
	s=$(http_status "$SERVE_URL/api/v1/mirrors/demo/snapshots/$id/manifest")
	assert_eq 200 "$s" "manifest of $id"
	assert_eq "$want" "$(sha256sum <"$T/b" | cut -d ' ' -f 1)" "manifest sha256 of $id"
done
EOT

test_expect_success 'v1/mirrors/demo/pool: intervals that name stored blobs' - <<'EOT'
api mirrors/demo/pool
n=$(py 'len(j["intervals"])')
[ "$n" -gt 0 ] || fail "no pool intervals"
py '"\n".join(sorted(set(i["sha256"] for i in j["intervals"])))' >"$T/poolblobs"
py '"\n".join(i["path"] for i in j["intervals"] if i["to"] == 0)' >"$T/openpaths"
grep -q '^pool/' "$T/openpaths" || fail "open intervals name no pool/ path"
EOT

test_expect_success 'v1/blobs/H: each pool blob, its bytes hashing to H' - <<'EOT'
while read -r h; do
	s=$(http_status "$SERVE_URL/api/v1/blobs/$h")
	assert_eq 200 "$s" "blob $h"
	assert_eq "$h" "$(sha256sum <"$T/b" | cut -d ' ' -f 1)" "bytes of $h"
done <"$T/poolblobs"
s=$(http_status "$SERVE_URL/api/v1/blobs/$(printf 'x' | sha256sum | cut -d ' ' -f 1)")
assert_eq 404 "$s" "a blob the store does not list"
s=$(http_status "$SERVE_URL/api/v1/blobs/nothex")
assert_eq 404 "$s" "not a hash"
s=$(http_status "$SERVE_URL/api/v2/state")
assert_eq 404 "$s" "another API version"
s=$(http_status "$SERVE_URL/api/v1/mirrors/nosuch/snapshots")
assert_eq 404 "$s" "an unknown mirror"
EOT

test_expect_success 'v1/mirrors/demo/channels: target, log, signed files by hash' - <<'EOT'
api mirrors/demo/channels
assert_eq "$SNAP2" "$(py 'j["channels"][0]["target"]')" "target"
assert_eq "$SNAP1" "$(py 'j["channels"][0]["prev"]')" "prev"
assert_eq "promote promote" "$(py '" ".join(l["action"] for l in j["channels"][0]["log"])')" "log"
py '"\n".join(s["name"] + " " + f["path"] + " " + f["sha256"] for s in j["channels"][0]["suites"] for f in s["files"])' >"$T/chfiles"
grep -q ' InRelease ' "$T/chfiles" || fail "no InRelease among: $(cat "$T/chfiles")"
while read -r suite path h; do
	s=$(http_status "$SERVE_URL/demo/production/dists/$suite/$path")
	assert_eq 200 "$s" "production's $suite/$path"
	assert_eq "$h" "$(sha256sum <"$T/b" | cut -d ' ' -f 1)" "served $suite/$path is the one the API names"
	s=$(http_status "$SERVE_URL/api/v1/blobs/$h")
	assert_eq 200 "$s" "the blob of $suite/$path"
done <"$T/chfiles"
EOT

test_expect_success 'a move changes the generation' - <<'EOT'
run mirrord rollback demo production
assert_rc 0
api state
[ "$(py 'j["generation"]')" != "$GEN1" ] || fail "generation unchanged by a rollback"
EOT

# ---- part two: a replica follows the primary.

# wait_follow: the replica at $DAEMON_URL serves the primary's generation
# within 30 s (polled every 0.2 s); sets FOLLOW_MS, how long it took.
wait_follow() {
	_want=$(generation "$SERVE_URL")
	[ -n "$_want" ] || fail "the primary gives no generation"
	_t0=$(now_ms)
	while [ "$(generation "$DAEMON_URL")" != "$_want" ]; do
		[ $(($(now_ms) - _t0)) -lt 30000 ] || fail "the replica did" \
		    "not follow within 30 s: $(tail -n 5 "$T/daemon.log")"
		sleep 0.2
	done
	FOLLOW_MS=$(($(now_ms) - _t0))
	step "the replica followed in $FOLLOW_MS ms"
}

# replica CMD...: mirrord with the replica's configuration.
replica() {
	timeout 60 "$MIRRORD" -c "$RCONF" "$@"
}

test_expect_success 'a replica daemon on its own store follows the primary' - <<'EOT'
PCONF=$CONF
RCONF=$T/replica.conf
RSTORE=$T/replica-store
sed -e "s|^Store: .*|Store: $RSTORE|" "$PCONF" >"$RCONF"
CONF=$RCONF
set_global Replica-Of "$SERVE_URL"
set_global Replica-Interval 1
# The replica collects what its applies queue: at once, to be seen here.
export MIRRORD_TEST_GC_GRACE_MIN=0
set_global Gc-Grace 0
start_daemon
CONF=$PCONF
wait_follow
run replica snapshot list demo
assert_rc 0
assert_eq 2 "$(wc -l <"$T/out" | tr -d ' ')" "the replica's snapshots"
EOT

# With MIRRORD_E2E_BLOBS=s3 the replica's conf is the primary's but for
# its Store: both keep their blobs in one bucket, and the replica copies
# no blob: it lists what the bucket holds (docs/api.md).
if $E2E_S3; then
test_expect_success 'S3: a replica on the bucket of its primary copies no blob' - <<'EOT'
l=$(grep -m 1 'replica: generation .* applied' "$T/daemon.log") ||
	fail "no apply logged: $(tail -n 5 "$T/daemon.log")"
step "$l"
echo "$l" | grep -Eq ' 0 blobs \(0 bytes\) fetched, [1-9][0-9]* found in the shared bucket' ||
	fail "the replica copied blobs: $l"
n=$(find "$RSTORE/blobs" -type f 2>/dev/null | wc -l)
assert_eq 0 "$n" "blob files in the replica's cache before it served"
EOT
fi

test_expect_success 'every URL of every snapshot and channel: the same bytes' - <<'EOT'
run same_bytes "$SERVE_URL" "$DAEMON_URL"
assert_rc 0
step "$(cat "$T/out" | head -n 1)"
EOT

test_expect_success 'the replica serves the keys of the primary, which verify its channels' - <<'EOT'
for k in keyring.gpg demo/keyring.gpg; do
	s=$(http_status "$SERVE_URL/$k")
	assert_eq 200 "$s" "the primary's /$k"
	cp "$T/b" "$T/key.primary"
	s=$(http_status "$DAEMON_URL/$k")
	assert_eq 200 "$s" "the replica's /$k"
	cmp -s "$T/b" "$T/key.primary" || fail "/$k differs between the nodes"
done
http_status "$DAEMON_URL/demo/production/dists/stable/InRelease" >/dev/null
run gpgv --keyring "$T/key.primary" "$T/b"
assert_rc 0
EOT

test_expect_success 'a new sync and promotions on the primary: followed, same bytes' - <<'EOT'
mkarchive --generation 3
sync_ok
SNAP3=$SNAP
run mirrord promote demo latest production
assert_rc 0
run mirrord promote demo "$SNAP1" staging
assert_rc 0
wait_follow
run same_bytes "$SERVE_URL" "$DAEMON_URL"
assert_rc 0
assert_eq "$SNAP3" "$(replica channel list demo --json | "$PYTHON" -c 'import json, sys
print([c["target"] for c in json.load(sys.stdin) if c["name"] == "production"][0])')" \
    "the replica's production"
EOT

test_expect_success 'a rollback and a channel delete on the primary: followed' - <<'EOT'
run mirrord rollback demo production
assert_rc 0
run mirrord channel delete demo staging
assert_rc 0
wait_follow
run same_bytes "$SERVE_URL" "$DAEMON_URL"
assert_rc 0
s=$(http_status "$DAEMON_URL/demo/staging/dists/stable/InRelease")
assert_eq 404 "$s" "a deleted channel on the replica"
run replica channel log demo production
assert_rc 0
assert_out_match 'rollback'
EOT

test_expect_success 'write commands on the replica refuse, naming the primary' - <<'EOT'
for cmd in "promote demo latest production" "rollback demo production" \
    "sync" "gc" "snapshot pin demo latest why" "channel delete demo production"; do
	# shellcheck disable=SC2086
	run replica $cmd
	assert_rc 1
	assert_err_match "this store is a replica of $SERVE_URL"
done
run replica status
assert_rc 0
assert_out_match "^replica of $SERVE_URL"
assert_out_match '^  lag: +[0-9]+s'
EOT

test_expect_success 'the replica store passes fsck' - <<'EOT'
run replica fsck
assert_rc 0
EOT

# replica_lag: the lag `status --json` of the replica says.
replica_lag() {
	replica status --json | "$PYTHON" -c 'import json, sys
print(json.load(sys.stdin)["replica"]["lag_seconds"])'
}

test_expect_success 'the primary killed -9 mid-sync: the replica serves on, lag grows' - <<'EOT'
http_status "$DAEMON_URL/demo/production/dists/stable/InRelease" >/dev/null
cp "$T/b" "$T/inrelease.before"
# Pool files come slowly: the sync is under way when both are killed.
kill_primary_mid_sync 4
lag1=$(replica_lag)
sleep 3
lag2=$(replica_lag)
[ "$lag2" -ge 2 ] && [ "$lag2" -gt "$lag1" ] ||
	fail "the lag did not grow while the primary was down ($lag1, then $lag2)"
s=$(http_status "$DAEMON_URL/demo/production/dists/stable/InRelease")
assert_eq 200 "$s" "the replica's production InRelease, primary down"
cmp -s "$T/b" "$T/inrelease.before" || fail "the replica's InRelease changed"
curl -s "$DAEMON_URL/metrics" >"$T/metrics"
grep -Eq '^mirrord_replica_lag_seconds [0-9]+$' "$T/metrics" ||
	fail "no lag in /metrics: $(grep replica "$T/metrics")"
# A failed poll ends after its retries: wait for it (bounded), then for
# two more polls, which must not log again.
_i=0
until grep -q 'replica: .*serving the last state applied' "$T/daemon.log"; do
	_i=$((_i + 1))
	[ "$_i" -le 200 ] || fail "no failure logged: $(tail -n 3 "$T/daemon.log")"
	sleep 0.1
done
sleep 6
n=$(grep -c 'replica: .*serving the last state applied' "$T/daemon.log" || true)
assert_eq 1 "$n" "the outage logged once"
EOT

test_expect_success 'the primary back: a sync, a promotion; the replica catches up' - <<'EOT'
upstream_control '{}'
restart_primary
sync_ok
SNAP4=$SNAP
run mirrord promote demo "$SNAP4" production
assert_rc 0
wait_follow
run same_bytes "$SERVE_URL" "$DAEMON_URL"
assert_rc 0
grep -q "replica: $SERVE_URL answers again" "$T/daemon.log" ||
	fail "no 'answers again' in the log"
[ "$(replica_lag)" -le 5 ] || fail "lag still $(replica_lag) after catching up"
EOT

test_expect_success 'a hostile primary serving a wrong blob: refused, nothing committed' - <<'EOT'
# A proxy in front of the primary that flips one byte of every blob.
cat >"$T/hostile.py" <<'PY'
import http.server, sys, urllib.request, urllib.error
up = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            with urllib.request.urlopen(up + self.path, timeout=10) as r:
                code, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            code, body = e.code, b""
        if self.path.startswith("/api/v1/blobs/") and body:
            body = bytes([body[0] ^ 1]) + body[1:]
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
s.serve_forever()
PY
HPORT=$(free_port)
"$PYTHON" "$T/hostile.py" "$HPORT" "$SERVE_URL" &
HPID=$!
_pids="$_pids $HPID"
HCONF=$T/hostile.conf
sed -e "s|^Store: .*|Store: $T/hostile-store|" \
    -e "s|^Replica-Of: .*|Replica-Of: http://127.0.0.1:$HPORT|" \
    -e "s|^Listen: .*|Listen: 127.0.0.1:$(free_port)|" "$RCONF" >"$HCONF"
if $E2E_S3; then	# a bucket of its own: the blobs come from the proxy
	_store=$STORE
	STORE=$T/hostile-store
	s3_bucket_make
	sed -i "s|^Blobs: .*|Blobs: s3://$(s3_bucket)|" "$HCONF"
	STORE=$_store
fi
timeout -k 5 120 "$MIRRORD" -c "$HCONF" daemon >"$T/hostile.out" \
    2>"$T/hostile.log" &
HDPID=$!
_pids="$_pids $HDPID"
_i=0
until grep -q 'sha256 mismatch' "$T/hostile.log"; do
	_i=$((_i + 1))
	[ "$_i" -le 300 ] || fail "no mismatch reported: $(tail -n 5 "$T/hostile.log")"
	sleep 0.1
done
step "$(grep -m 1 'sha256 mismatch' "$T/hostile.log")"
kill "$(ps -o pid= --ppid "$HDPID" | tr -d ' ')"
wait "$HDPID" 2>/dev/null || true
forget_pid "$HDPID"
run timeout 60 "$MIRRORD" -c "$HCONF" snapshot list demo
assert_rc 0
assert_out_empty
run timeout 60 "$MIRRORD" -c "$HCONF" channel list demo
assert_out_empty
run timeout 60 "$MIRRORD" -c "$HCONF" status --json
assert_rc 0
assert_out_match '"replica":\{"primary":"http://127.0.0.1:[0-9]+","generation":null'
run timeout 60 "$MIRRORD" -c "$HCONF" fsck
assert_rc 0
EOT

test_expect_success 'gc on the primary drops snapshots: so does the replica' - <<'EOT'
before=$(snapshot_count demo)
set_global Keep-Snapshots "last 2"
set_global Channel-History 1
run mirrord gc
assert_rc 0
n=$(snapshot_count demo)
[ "$n" -lt "$before" ] || fail "gc dropped no snapshot ($before, then $n)"
wait_follow
run same_bytes "$SERVE_URL" "$DAEMON_URL"
assert_rc 0
run replica snapshot list demo
assert_eq "$n" "$(wc -l <"$T/out" | tr -d ' ')" "the replica's snapshots after gc"
run replica fsck
assert_rc 0
# On a shared bucket the replica's collection deletes no object: every
# blob the primary lists still has its object.
run mirrord fsck
assert_rc 0
EOT

test_expect_success 'apt alternating between the nodes during moves: no failure' - <<'EOT'
run mirrord sources demo production
assert_rc 0
BOX=$T/box
apt_box "$BOX"
sed "s|$SERVE_URL|$DAEMON_URL|g" "$T/out" >"$T/replica.sources"
cp "$T/out" "$T/primary.sources"
grep -q "$SERVE_URL" "$T/primary.sources" ||
	fail "the sources name no primary URL: $(cat "$T/primary.sources")"
apt_across_moves "rollback promote rollback" wait_follow primary replica primary
EOT

test_expect_success 'the replica collected what the drops left, and passes fsck' - <<'EOT'
grep -Eq "retention: 0 snapshots dropped, [1-9][0-9]* blobs" "$T/daemon.log" ||
	fail "the replica removed no blob: $(grep retention "$T/daemon.log")"
step "$(grep -E 'retention: 0 snapshots dropped, [1-9]' "$T/daemon.log" | tail -n 1)"
run replica fsck
assert_rc 0
assert_out_match ' 0 problems'
EOT
