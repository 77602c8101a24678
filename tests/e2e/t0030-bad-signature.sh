#!/bin/sh
# A Release whose signature does not verify against Signed-By is refused:
# a changed letter in the signed text, and a signature by another key.
. "$(dirname "$0")/lib.sh"

setup_synced

step "InRelease with one letter of the signed text changed"
mkarchive --generation 2 --tamper-inrelease
grep -q '^Label: Debiam$' "$ARCHIVE/dists/stable-updates/InRelease" ||
	fail "fixture: InRelease was not tampered with"
expect_sync_failure "mirror 'demo'" "stable-updates" "signature"

step "signed by a key that is not in Signed-By"
mkarchive --generation 2 --sign-with-homedir "$T/otherkey"
expect_sync_failure "mirror 'demo'" "suite 'stable" "signature|signed|key"

step "signed again with the right key: the sync succeeds"
mkarchive --generation 2
sync_ok
assert_eq 2 "$(snapshot_count demo)" "snapshots after the repaired sync"
run mirrord fsck
assert_rc 0
