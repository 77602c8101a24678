#!/bin/sh
# Retention keeps what rollbacks can reach, whatever the daemon's
# re-signings add to the channel log (issue 13): Channel-History counts
# targets, not log entries, and a refresh is no move.
#   Mirror 'one': A1, A2; production promoted A1 then A2. Mirror 'two':
#   B1..B4, production promoted through all four. Valid-For: 60s; the
#   daemon (both mirrors Enabled: no: no sync, no gc of its own) re-signs
#   both channels ('refresh' in their logs) before we stop it.
# A: Channel-History: 1, Keep-Snapshots: last 1 (two: last 100): snapshot
#    drop refuses A1, the one rollback's target, and gc keeps it; rollback
#    succeeds and serves A1's indices.
# B: Channel-History: 2, two: last 1: gc drops exactly B1 (three rollbacks
#    away) and keeps B2, B3; two rollbacks in a row succeed and serve B3
#    then B2; a third fails naming B1, which is gone.
. "$(dirname "$0")/lib.sh"

SU=dists/stable-updates
PK=main/binary-amd64/Packages.xz

mkarchive --generation 1
start_upstream
new_conf
add_mirror one "$UPSTREAM_URL"
echo "Enabled: no" >>"$CONF"
add_mirror two "$UPSTREAM_URL"
echo "Enabled: no" >>"$CONF"
echo "Keep-Snapshots: last 100" >>"$CONF"
set_global Keep-Snapshots "last 1"
set_global Channel-History 1
set_global Valid-For 60s

step "syncs: one gets generations 1 and 2, two gets 1 to 4"
for g in 1 2 3 4; do
	[ "$g" = 1 ] || mkarchive --generation "$g"
	mkdir -p "$T/gen$g/$SU/main/binary-amd64"
	cp "$ARCHIVE/$SU/$PK" "$T/gen$g/$SU/$PK"
	if [ "$g" -le 2 ]; then
		sync_ok one
		eval "A$g=\$SNAP"
	fi
	sync_ok two
	eval "B$g=\$SNAP"
done
cmp -s "$T/gen1/$SU/$PK" "$T/gen2/$SU/$PK" &&
	fail "generations 1 and 2 have the same $SU/$PK"

step "promotions: one A1 A2, two B1 B2 B3 B4"
for s in "$A1" "$A2"; do
	run mirrord promote one "$s" production
	assert_rc 0
	assert_out_match "^production -> $s\$"
done
for s in "$B1" "$B2" "$B3" "$B4"; do
	run mirrord promote two "$s" production
	assert_rc 0
	assert_out_match "^production -> $s\$"
done

step "the daemon re-signs both channels (half-way to Valid-Until: ~30 s)"
start_daemon
wait_for 90 "both channels re-signed" since_at_least 0 2 \
    "channel 'production' re-signed"
stop_daemon
for m in one two; do
	run mirrord channel log "$m" production
	assert_rc 0
	assert_out_match " refresh "
done

step "A: Channel-History: 1: snapshot drop refuses A1, the rollback's target"
run mirrord snapshot drop one "$A1"
assert_rc 1
assert_err_match "channel 'production' can roll back to it within Channel-History"

step "A: Channel-History: 1: gc keeps A1, the rollback's target"
run mirrord gc
assert_rc 0
run mirrord snapshot list one
assert_rc 0
assert_eq "$A1 $A2" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" \
    "one's snapshots after gc"
run mirrord snapshot list two
assert_rc 0
assert_eq "$B1 $B2 $B3 $B4" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" \
    "two's snapshots after gc (last 100)"

step "A: rollback returns one's production to A1"
run mirrord rollback one production
assert_rc 0
assert_out_match "^production -> $A1\$"
start_serve
served_is "$SERVE_URL/one/production/$SU/$PK" "$T/gen1/$SU/$PK" ||
	fail "one's production does not serve generation 1's $SU/$PK"

step "B: Channel-History: 2: gc drops B1 only"
set_global Channel-History 2
sed 's/^Keep-Snapshots: last 100$/Keep-Snapshots: last 1/' "$CONF" \
    >"$CONF.tmp"
mv "$CONF.tmp" "$CONF"
run mirrord gc
assert_rc 0
run mirrord snapshot list two
assert_rc 0
assert_eq "$B2 $B3 $B4" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" \
    "two's snapshots after gc (Channel-History: 2)"

step "B: two rollbacks in a row: B3, then B2"
run mirrord rollback two production
assert_rc 0
assert_out_match "^production -> $B3\$"
served_is "$SERVE_URL/two/production/$SU/$PK" "$T/gen3/$SU/$PK" ||
	fail "two's production does not serve generation 3's $SU/$PK"
run mirrord rollback two production
assert_rc 0
assert_out_match "^production -> $B2\$"
served_is "$SERVE_URL/two/production/$SU/$PK" "$T/gen2/$SU/$PK" ||
	fail "two's production does not serve generation 2's $SU/$PK"

step "B: a third rollback, beyond Channel-History, finds B1 gone"
run mirrord rollback two production
assert_rc 1
assert_err_match "snapshot '$B1' no longer exists"
stop_serve
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' \
    "$T/daemon.log" "$T/serve.log"; then
	fail "sanitizer report in the daemon's or the server's log"
fi
