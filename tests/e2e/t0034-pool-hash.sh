#!/bin/sh
# A pool file whose bytes do not match its index is refused, and not stored.
. "$(dirname "$0")/lib.sh"

setup_synced

step "one new .deb corrupted"
mkarchive --generation 2 --tamper-pool
deb=pool/main/h/hello/hello_2.10-3+deb12u2_amd64.deb
grep -q "\"$deb\"" "$ARCHIVE/.fixture.json" || fail "fixture: no $deb"
bad=$(file_sha256 "$ARCHIVE/$deb")
expect_sync_failure "mirror 'demo'" 'hello_2\.10-3\+deb12u2_amd64\.deb' \
    "sha256|hash|checksum|mismatch"
! blob_list | grep -q "^$bad\$" || fail "the corrupted .deb was stored as a blob"
run mirrord fsck
assert_rc 0
assert_tmp_empty

step "repaired upstream: the sync succeeds and stores the right bytes"
mkarchive --generation 2
sync_ok
good=$(file_sha256 "$ARCHIVE/$deb")
cmp -s "$(blob_path "$good")" "$ARCHIVE/$deb" || fail "$deb is not stored right"
