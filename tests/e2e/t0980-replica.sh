#!/bin/sh
# Read replicas (issue 18 §2), part one: the primary's read-only JSON API
# under /api/v1/ (docs/api.md), which a replica follows. Every answer is
# checked against what the store says through the commands, and every
# byte a replica would copy against the hash the API gives for it.
. "$(dirname "$0")/lib.sh"

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
