#!/bin/sh
# A replayed older (validly signed) Release is refused as a rollback.
. "$(dirname "$0")/lib.sh"

setup_synced
cp -a "$ARCHIVE" "$T/gen1"

step "generation 2"
mkarchive --generation 2
sync_ok
assert_eq 2 "$(snapshot_count demo)" "snapshots after generation 2"

step "upstream serves generation 1 again"
rm -rf "$ARCHIVE"
cp -a "$T/gen1" "$ARCHIVE"
expect_sync_failure "mirror 'demo'" "stable-updates" "older|rollback|replay"
run mirrord snapshot show demo latest
assert_rc 0
assert_out_match "^id: $SNAP\$"
