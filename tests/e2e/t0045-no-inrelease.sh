#!/bin/sh
# Without InRelease, Release + Release.gpg are used; without a signature at
# all, the sync fails.
. "$(dirname "$0")/lib.sh"

setup_synced

step "InRelease is 404: Release + Release.gpg"
mkarchive --generation 2
upstream_control '{"status": {"/InRelease$": 404}}'
sync_ok
grep -q ' 404 .*fault=status' "$T/upstream.log" || fail "InRelease was not requested"
grep -q 'GET [^ ]*/dists/stable-updates/Release.gpg 200' "$T/upstream.log" ||
	fail "Release.gpg was not fetched"
assert_eq 2 "$(snapshot_count demo)" "snapshots"

step "no InRelease and no Release.gpg: unsigned, refused"
mkarchive --generation 3
upstream_control '{"status": {"/InRelease$": 404, "/Release\\.gpg$": 404}}'
expect_sync_failure "mirror 'demo'" "suite 'stable" "signature|signed|Release\.gpg|InRelease"
