#!/bin/sh
# Mirrors that share files store them once: the blobs of a store holding
# several mirrors are exactly the union of what each one needs alone. Also
# syncs over file://.
. "$(dirname "$0")/lib.sh"

mkarchive --generation 2
start_upstream

step "mirror 'one': both suites over http, alone"
STORE=$T/store-one
new_conf
add_mirror one "$UPSTREAM_URL" "stable stable-updates"
sync_ok
blob_list >"$T/one"

step "mirror 'two': stable only, over file://, alone"
STORE=$T/store-two
new_conf
add_mirror two "file://$ARCHIVE" "stable"
sync_ok
blob_list >"$T/two"

step "all three in one store ('three' = 'one' over file://)"
STORE=$T/store-all
new_conf
add_mirror one "$UPSTREAM_URL" "stable stable-updates"
add_mirror two "file://$ARCHIVE" "stable"
add_mirror three "file://$ARCHIVE" "stable stable-updates"
run mirrord sync
assert_rc 0
assert_lines 3
for m in one two three; do
	assert_out_match "^$m [0-9]{8}T[0-9]{6}Z\$"
	assert_eq 1 "$(snapshot_count $m)" "snapshots of mirror '$m'"
done
blob_list >"$T/all"
sort -u "$T/one" "$T/two" >"$T/union"
cmp -s "$T/union" "$T/all" ||
	fail "blobs of the shared store are not the union of each mirror's:
$(diff "$T/union" "$T/all" | head -10)"
n_one=$(wc -l <"$T/one" | tr -d ' ')
n_two=$(wc -l <"$T/two" | tr -d ' ')
n_all=$(blob_count)
n_union=$(wc -l <"$T/union" | tr -d ' ')
assert_eq "$n_union" "$n_all" "blob files = distinct hashes"
[ "$n_all" -lt $((n_one + n_two)) ] ||
	fail "nothing shared: $n_all blobs for $n_one + $n_two"

step "each pool file once, whatever the number of mirrors naming it"
check_pool_blobs "$ARCHIVE"
# Each blob is first stored by exactly one of the three snapshots (which
# one depends on the order mirrord syncs them in).
n3=$(snapshot_json three 'j[0]["new_bytes"]')
n2=$(snapshot_json two 'j[0]["new_bytes"]')
n1=$(snapshot_json one 'j[0]["new_bytes"]')
assert_eq "$(blob_bytes "$T/all")" "$((n1 + n2 + n3))" \
    "sum of new_bytes over the three mirrors = bytes of all blobs"

run mirrord fsck
assert_rc 0
step "ok: $n_all blobs for $n_one ('one') + $n_two ('two') + the same again ('three')"
