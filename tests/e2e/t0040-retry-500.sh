#!/bin/sh
# Transient server errors are retried: two 500s with Retries: 3 still give a
# snapshot; endless 500s fail with a message.
. "$(dirname "$0")/lib.sh"

RETRIES=3
setup_synced

step "the first two pool requests get 500"
mkarchive --generation 2
upstream_control '{"fail500": {"pattern": "pool/", "count": 2}}'
sync_ok
n=$(grep -c 'fault=fail500' "$T/upstream.log" || true)
assert_eq 2 "$n" "500 answers sent"
assert_eq 2 "$(snapshot_count demo)" "snapshots"
check_pool_blobs "$ARCHIVE"
assert_tmp_empty

step "every pool request gets 500"
mkarchive --generation 3
upstream_control '{"fail500": {"pattern": "pool/", "count": 100000}}'
expect_sync_failure "mirror 'demo'" "500"
