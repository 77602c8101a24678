#!/bin/sh
# An index whose bytes do not match the signed Release is refused (the
# tampered file is the by-hash object and the plain Packages.xz/.gz).
. "$(dirname "$0")/lib.sh"

setup_synced

step "stable-updates/main/binary-amd64/Packages.{xz,gz} corrupted after signing"
mkarchive --generation 2 --tamper-index
bad=$(file_sha256 "$ARCHIVE/dists/stable-updates/main/binary-amd64/Packages.xz")
expect_sync_failure "mirror 'demo'" "stable-updates" "sha256|hash|checksum|mismatch" \
    "Packages"
! blob_list | grep -q "^$bad\$" || fail "the corrupted index was stored as a blob"
run mirrord fsck
assert_rc 0

step "repaired upstream: the sync succeeds"
mkarchive --generation 2
sync_ok
assert_eq 2 "$(snapshot_count demo)" "snapshots"
