#!/bin/sh
# Configuration and usage errors: exit 1 naming the file and line; exit 2
# for a bad command line.
. "$(dirname "$0")/lib.sh"

mkarchive --generation 1
write_conf "file://$ARCHIVE"

step "unknown key in the global stanza"
cp "$CONF" "$T/good.conf"
# line 3 of the file
sed -i '3i Frobnicate: yes' "$CONF"
sed -n 3p "$CONF" | grep -q '^Frobnicate: yes$' || fail "fixture: sed"
run mirrord sync
assert_rc 1
assert_err_match "mirrord\.conf'?(:| line |:line |, line )3([^0-9]|\$)"
assert_err_match "frobnicate"

step "unknown key in a mirror stanza"
cp "$T/good.conf" "$CONF"
n=$(grep -n '^Suites:' "$CONF" | cut -d: -f1)
sed -i "${n}a Sutes: stable" "$CONF"
run mirrord sync
assert_rc 1
assert_err_match "mirrord\.conf'?(:| line |:line |, line )$((n + 1))([^0-9]|\$)"
assert_err_match "sutes"
[ ! -d "$STORE/blobs" ] || [ "$(blob_count)" = 0 ] ||
	fail "a bad config still synced"

step "usage errors exit 2"
cp "$T/good.conf" "$CONF"
run mirrord no-such-command
assert_rc 2
run timeout 30 "$MIRRORD"
assert_rc 2

step "the good config works"
sync_ok
