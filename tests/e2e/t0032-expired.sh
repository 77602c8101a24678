#!/bin/sh
# Release dates are checked: an expired Valid-Until and a Date far in the
# future are refused; a Valid-Until in the future is fine.
. "$(dirname "$0")/lib.sh"

setup_synced

step "Valid-Until 30 minutes ago"
mkarchive --generation 2 --valid-until-offset -1800
grep -q '^Valid-Until: ' "$ARCHIVE/dists/stable/Release" ||
	fail "fixture: no Valid-Until"
expect_sync_failure "mirror 'demo'" "suite 'stable" "expired|valid-until"

step "Date two hours in the future (Clock-Skew is 600 s by default)"
mkarchive --generation 2 --date-offset 7200
expect_sync_failure "mirror 'demo'" "suite 'stable" "future|date"

step "Valid-Until tomorrow"
mkarchive --generation 2 --valid-until-offset 86400
sync_ok
assert_eq 2 "$(snapshot_count demo)" "snapshots"
