#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# Issue 13, bug 2: channel moves never wait for a sync's download phase.
# A sync whose new pool files stall upstream (headers, then nothing) is
# stuck mid-download, with some of its blobs already renamed into blobs/
# and not yet committed. Meanwhile:
#   - `rollback` and `promote` each return in under a second (the issue's
#     bound; on main a rollback waited for the whole sync), and a client
#     reading the channel's InRelease through `mirrord serve` sees each
#     new target;
#   - a `gc` started then (Gc-Grace: 0) removes nothing the sync wrote: it
#     waits for the sync, and runs after it.
# Then upstream recovers: the sync completes (its retry succeeds), gc runs
# after it, fsck is clean (nothing any snapshot or channel names is
# missing) and tmp/ is empty.
. "$(dirname "$0")/lib.sh"

# Gc-Grace: 0 is below the floor of 1h; the test lowers it so that gc
# would remove an unlisted blob at once if it ran.
export MIRRORD_TEST_GC_GRACE_MIN=0
BOUND_MS=${MOVE_BOUND_MS:-1000}

setup_synced
mkarchive --generation 2
sync_ok
SNAP2=$SNAP
blob_list >"$T/blobs2"
RETRIES=1
STALL_TIMEOUT=15
write_conf
set_global Gc-Grace 0
start_serve
# production: SNAP1, then SNAP2 (the rollback's target is SNAP1)
run mirrord promote demo "$SNAP1" production
assert_rc 0
run mirrord promote demo "$SNAP2" production
assert_rc 0
run mirrord promote demo "$SNAP1" staging
assert_rc 0

# channel_is CHANNEL SNAP: the channel's InRelease, as served, carries the
# Packages.xz hashes of SNAP's upstream Release (served at SNAP's URL).
channel_is() {
	_u=$SERVE_URL/demo
	curl -sf --max-time 5 -o "$T/ch" "$_u/$1/dists/stable-updates/InRelease" ||
		return 1
	curl -sf --max-time 5 -o "$T/sn" "$_u/$2/dists/stable-updates/InRelease" ||
		return 1
	grep -E '^ [0-9a-f]{64} +[0-9]+ main/binary-amd64/Packages.xz$' \
	    "$T/sn" >"$T/want" || return 1
	grep -qxF -f "$T/want" "$T/ch"
}
channel_is production "$SNAP2" || fail "production does not serve $SNAP2"
channel_is production "$SNAP1" && fail "the two snapshots look the same"

step "generation 3; its new tool's pool files stall after the headers"
mkarchive --generation 3
upstream_control '{"stall": "pool/.*newtool"}'
t_sync=$(now_ms)
mirrord sync >"$T/sync.out" 2>"$T/sync.err" &
SYNC_PID=$!
_pids="$_pids $SYNC_PID"
_i=0
until grep -q 'fault=stall' "$T/upstream.log"; do
	kill -0 "$SYNC_PID" 2>/dev/null ||
		fail "the sync ended before stalling: $(cat "$T/sync.err")"
	_i=$((_i + 1))
	[ "$_i" -le 300 ] || fail "the sync did not reach the stall in 30 s"
	sleep 0.1
done
# The files that do not stall finish meanwhile (a few KiB each).
sleep 1
kill -0 "$SYNC_PID" 2>/dev/null ||
	fail "the sync is not stalled: $(cat "$T/sync.err")"
blob_list | comm -13 "$T/blobs2" - >"$T/inflight"
n=$(wc -l <"$T/inflight" | tr -d ' ')
step "sync stalled (pid $SYNC_PID) with $n blob files written, uncommitted"
[ "$n" -gt 0 ] || fail "the stalled sync wrote no blob file yet"

step "gc during the stall"
mirrord gc >"$T/gc.out" 2>"$T/gc.err" &
GC_PID=$!
_pids="$_pids $GC_PID"
sleep 0.5

# timed NAME CMD...: runs `mirrord CMD`; fails unless it exits 0 within
# BOUND_MS.
timed() {
	_name=$1
	shift
	_t0=$(date +%s%N)
	run mirrord "$@"
	_ms=$((($(date +%s%N) - _t0) / 1000000))
	step "$_name took $_ms ms"
	[ "$_ms" -lt "$BOUND_MS" ] || fail "$_name took $_ms ms during a" \
	    "stalled sync (bound $BOUND_MS ms): $(cat "$T/err")"
	assert_rc 0
}

timed rollback rollback demo production
channel_is production "$SNAP1" ||
	fail "after the rollback, a client does not see $SNAP1 on production"
timed promote promote demo "$SNAP2" staging
channel_is staging "$SNAP2" ||
	fail "after the promotion, a client does not see $SNAP2 on staging"
timed "promote latest" promote demo latest production
channel_is production "$SNAP2" ||
	fail "production does not serve latest ($SNAP2) during the sync"

kill -0 "$SYNC_PID" 2>/dev/null ||
	fail "the sync ended during the moves: $(cat "$T/sync.err")"
if ! kill -0 "$GC_PID" 2>/dev/null; then
	wait "$GC_PID" || true
	fail "gc ran during the sync: $(cat "$T/gc.out" "$T/gc.err")"
fi
while read -r h; do
	[ -f "$(blob_path "$h")" ] || fail "blob $h of the stalled sync is gone"
done <"$T/inflight"

step "upstream recovers: the stalled fetches time out and are retried"
upstream_control '{}'
_src=0
wait "$SYNC_PID" || _src=$?
forget_pid "$SYNC_PID"
[ "$_src" = 0 ] || fail "the sync exited $_src: $(cat "$T/sync.err")"
grep -Eq '^demo [0-9]{8}T[0-9]{6}Z$' "$T/sync.out" ||
	fail "the sync made no snapshot: $(cat "$T/sync.out" "$T/sync.err")"
SNAP3=$(cut -d ' ' -f 2 "$T/sync.out")
step "sync made $SNAP3 after $(($(now_ms) - t_sync)) ms"
_src=0
wait "$GC_PID" || _src=$?
forget_pid "$GC_PID"
[ "$_src" = 0 ] || fail "gc exited $_src: $(cat "$T/gc.err")"
step "gc after the sync: $(tail -n 1 "$T/gc.out")"
# gc may now remove what the sync fetched and its snapshot does not keep
# (superseded index files): fsck, below, says nothing listed is missing.
run mirrord promote demo latest production
assert_rc 0
channel_is production "$SNAP3" || fail "production does not serve $SNAP3"
run mirrord fsck
assert_rc 0
assert_out_match ' 0 problems$'
assert_tmp_empty
step "ok"
