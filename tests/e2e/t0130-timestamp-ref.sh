#!/bin/sh
# Timestamp refs over HTTP (snapshot.debian.org semantics): /demo/<ts>/...
# is the newest snapshot at or before <ts>; before the first one: 404;
# 'latest' is the newest.
. "$(dirname "$0")/lib.sh"

# ts_add ID SECONDS: the snapshot ID format of ID + SECONDS.
ts_add() {
	"$PYTHON" -c 'import calendar, sys, time
t = calendar.timegm(time.strptime(sys.argv[1], "%Y%m%dT%H%M%SZ"))
print(time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t + int(sys.argv[2]))))' "$1" "$2"
}

setup_synced
cp -a "$ARCHIVE" "$T/gen1"
# Snapshot IDs have a one-second resolution: the second snapshot must come
# at least 2 s after the first so that a timestamp lies strictly between.
while [ "$(date -u +%Y%m%dT%H%M%SZ)" \< "$(ts_add "$SNAP1" 2)" ]; do
	sleep 0.2
done
mkarchive --generation 2
sync_ok
SNAP2=$SNAP
start_serve

cmp -s "$T/gen1/dists/stable-updates/InRelease" \
    "$ARCHIVE/dists/stable-updates/InRelease" &&
	fail "the fixture's stable-updates InRelease did not change in gen 2"

# inrelease REF: fetches REF's stable-updates InRelease into $T/b, sets S.
inrelease() {
	S=$(http_status "$SERVE_URL/demo/$1/dists/stable-updates/InRelease")
}

# expect_gen REF GEN_DIR WHAT
expect_gen() {
	inrelease "$1"
	assert_eq 200 "$S" "status of /demo/$1/dists/stable-updates/InRelease"
	cmp -s "$T/b" "$2/dists/stable-updates/InRelease" ||
		fail "/demo/$1/dists/stable-updates/InRelease is not $3's"
}

step "snapshots $SNAP1 and $SNAP2"
expect_gen "$SNAP1" "$T/gen1" "the first snapshot"
expect_gen "$SNAP2" "$ARCHIVE" "the second snapshot"

mid=$(ts_add "$SNAP1" 1)
before2=$(ts_add "$SNAP2" -1)
step "timestamps between: $mid, $before2 -> $SNAP1"
expect_gen "$mid" "$T/gen1" "the older snapshot"
expect_gen "$before2" "$T/gen1" "the older snapshot"
# The same bytes as the older snapshot's own URL.
inrelease "$SNAP1"
cp "$T/b" "$T/by-id"
inrelease "$mid"
cmp -s "$T/b" "$T/by-id" || fail "/demo/$mid/ and /demo/$SNAP1/ differ"

step "a timestamp equal to a snapshot ID is that snapshot"
expect_gen "$SNAP1" "$T/gen1" "the first snapshot"

step "after the newest, and 'latest': the newest"
expect_gen "$(ts_add "$SNAP2" 3600)" "$ARCHIVE" "the newest snapshot"
expect_gen 99991231T235959Z "$ARCHIVE" "the newest snapshot"
expect_gen latest "$ARCHIVE" "the newest snapshot"

step "before the first snapshot: 404"
for ts in "$(ts_add "$SNAP1" -1)" 20000101T000000Z 19700101T000000Z; do
	inrelease "$ts"
	assert_eq 404 "$S" "status of /demo/$ts/dists/stable-updates/InRelease"
	s=$(http_status "$SERVE_URL/demo/$ts/pool/main/h/hello/hello_2.10-3_amd64.deb")
	assert_eq 404 "$s" "status of a pool file under /demo/$ts/"
done

step "a pool file of the older snapshot through a timestamp"
deb=$(fixture_packages "$T/gen1" | awk '$1 == "stable-updates" &&
    $2 == "hello" && $3 == "amd64" { print $5 }')
s=$(http_status "$SERVE_URL/demo/$mid/$deb")
assert_eq 200 "$s" "status of /demo/$mid/$deb"
cmp -s "$T/b" "$T/gen1/$deb" || fail "/demo/$mid/$deb is not the fixture's file"
# ... which the newer snapshot no longer has
s=$(http_status "$SERVE_URL/demo/latest/$deb")
assert_eq 404 "$s" "status of gen 1's hello .deb under /demo/latest/"

step "refs of the wrong shape are not snapshots"
for ref in 2026112T000000Z 20261129T000000 20261129t000000z; do
	s=$(http_status "$SERVE_URL/demo/$ref/dists/stable-updates/InRelease")
	case $s in 4??) ;; *) fail "/demo/$ref/dists/...: status $s, expected 4xx" ;; esac
done
stop_serve
step "ok"
