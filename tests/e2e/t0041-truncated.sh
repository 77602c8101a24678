#!/bin/sh
# Responses that end early (half the promised body, then the connection
# closes), with retries exhausted (Retries: 1), fail the sync; the
# partial data leaves no trace and the next sync succeeds.
. "$(dirname "$0")/lib.sh"

setup_synced
RETRIES=1
write_conf

step "the new pool files are truncated on every request"
mkarchive --generation 2
upstream_control '{"truncate": "pool/.*deb12u2"}'
expect_sync_failure "mirror 'demo'" "deb12u2"
assert_tmp_empty
# Each file: at most 1 + Retries requests; at least one was retried.
max=$(grep 'fault=truncate' "$T/upstream.log" | cut -d ' ' -f 2 | sort |
    uniq -c | sort -n | tail -n 1 | awk '{ print $1 }')
assert_eq 2 "$max" "most requests for one truncated file (1 + Retries)"

step "upstream repaired: the sync succeeds"
upstream_control '{}'
sync_ok
run mirrord fsck
assert_rc 0
assert_tmp_empty
