#!/bin/sh
# A primary and two read replicas at once (issue 18 §2), the primary's
# blobs in Swift: replica A on the primary's own bucket (it copies no pool
# byte), replica B on local files (it fetches every blob from the primary,
# verified). Promotions and a rollback are followed by both within a few
# seconds; every URL of every snapshot and channel answers the same bytes
# on the three nodes; an apt client whose requests alternate between the
# nodes never fails; the primary killed -9 mid-sync and restarted: both
# replicas serve throughout and catch up.
. "$(dirname "$0")/lib.sh"
# same_bytes, generation
. "$E2E_DIR/replib.sh"

$E2E_S3 || skip_all "the S3 backend's test: run with MIRRORD_E2E_BLOBS=s3 (make e2e-s3)"

# start_replica NAME: a replica daemon with $CONF (Replica-Of: the
# primary); sets NAME_URL and NAME_MPID; its log in $T/NAME.log.
start_replica() {
	set_global Replica-Of "$SERVE_URL"
	set_global Replica-Interval 1
	start_daemon
	mv "$T/daemon.log" "$T/$1.log"
	eval "${1}_URL=\$DAEMON_URL ${1}_MPID=\$MPID"
}

# wait_all: both replicas serve the primary's generation within 30 s.
wait_all() {
	_want=$(generation "$SERVE_URL")
	[ -n "$_want" ] || fail "the primary gives no generation"
	_t0=$(now_ms)
	for _u in "$A_URL" "$B_URL"; do
		while [ "$(generation "$_u")" != "$_want" ]; do
			[ $(($(now_ms) - _t0)) -lt 30000 ] || fail "$_u did not" \
			    "follow within 30 s: $(tail -n 3 "$T/A.log" "$T/B.log")"
			sleep 0.2
		done
	done
	step "both replicas followed in $(($(now_ms) - _t0)) ms"
}

# three_same: every URL the same bytes on the primary and each replica.
three_same() {
	run same_bytes "$SERVE_URL" "$A_URL"
	assert_rc 0
	run same_bytes "$SERVE_URL" "$B_URL"
	assert_rc 0
	step "$(head -n 1 "$T/out") on each replica"
}

test_expect_success 'a primary on Swift: two syncs, production promoted, served' - <<'EOT'
setup_synced
mkarchive --generation 2
sync_ok
SNAP2=$SNAP
run mirrord promote demo "$SNAP1" production
assert_rc 0
start_serve
PCONF=$CONF
EOT

test_expect_success 'replica A on the primary bucket, replica B on local files' - <<'EOT'
CONF=$T/a.conf
sed -e "s|^Store: .*|Store: $T/a-store|" "$PCONF" >"$CONF"
start_replica A
CONF=$T/b.conf
sed -e "s|^Store: .*|Store: $T/b-store|" -e '/^Blobs:/d' -e '/^S3-/d' \
    "$PCONF" >"$CONF"
start_replica B
CONF=$PCONF
wait_all
l=$(grep -m 1 'replica: generation .* applied' "$T/A.log") ||
	fail "A applied nothing: $(tail -n 3 "$T/A.log")"
echo "$l" | grep -Eq ' 0 blobs \(0 bytes\) fetched, [1-9][0-9]* found in the shared bucket' ||
	fail "replica A copied blobs: $l"
step "A: ${l#*applied: }"
l=$(grep -m 1 'replica: generation .* applied' "$T/B.log") ||
	fail "B applied nothing: $(tail -n 3 "$T/B.log")"
echo "$l" | grep -Eq ' [1-9][0-9]* blobs \([0-9]+ bytes\) fetched, 0 found in the shared bucket' ||
	fail "replica B fetched no blob: $l"
step "B: ${l#*applied: }"
n=$(find "$T/b-store/blobs" -type f | wc -l)
[ "$n" -gt 0 ] || fail "replica B has no blob file"
three_same
EOT

test_expect_success 'promotions and a rollback: followed by both, same bytes' - <<'EOT'
run mirrord promote demo "$SNAP2" production
assert_rc 0
run mirrord promote demo "$SNAP1" staging
assert_rc 0
wait_all
three_same
run mirrord rollback demo production
assert_rc 0
wait_all
three_same
EOT

test_expect_success 'apt alternating between the three nodes during moves' - <<'EOT'
run mirrord sources demo production
assert_rc 0
BOX=$T/box
apt_box "$BOX"
cp "$T/out" "$T/P.sources"
grep -q "$SERVE_URL" "$T/P.sources" ||
	fail "the sources name no primary URL: $(cat "$T/P.sources")"
sed "s|$SERVE_URL|$A_URL|g" "$T/P.sources" >"$T/A.sources"
sed "s|$SERVE_URL|$B_URL|g" "$T/P.sources" >"$T/B.sources"
apt_across_moves "promote rollback promote" wait_all P A B P
EOT

test_expect_success 'the primary killed -9 mid-sync: both replicas serve throughout' - <<'EOT'
for n in A B; do
	eval "u=\$${n}_URL"
	s=$(http_status "$u/demo/production/dists/stable/InRelease")
	assert_eq 200 "$s" "$n's production InRelease"
	cp "$T/b" "$T/$n.inrelease"
done
kill_primary_mid_sync 3
for i in 1 2 3; do
	for n in A B; do
		eval "u=\$${n}_URL"
		s=$(http_status "$u/demo/production/dists/stable/InRelease")
		assert_eq 200 "$s" "$n's production InRelease, the primary down"
		cmp -s "$T/b" "$T/$n.inrelease" || fail "$n's InRelease changed"
	done
	sleep 1
done
upstream_control '{}'
restart_primary
sync_ok
run mirrord promote demo "$SNAP" production
assert_rc 0
wait_all
three_same
EOT

test_expect_success 'the replicas pass fsck; the primary too (A deleted no object)' - <<'EOT'
for n in a b; do
	run timeout 60 "$MIRRORD" -c "$T/$n.conf" fsck
	assert_rc 0
done
run mirrord fsck
assert_rc 0
EOT
