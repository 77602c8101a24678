#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# An upstream that sends headers and then nothing: with Stall-Timeout: 2 and
# Retries: 0 the sync fails in bounded time, naming the mirror.
. "$(dirname "$0")/lib.sh"

setup_synced
RETRIES=0
STALL_TIMEOUT=2
write_conf

step "new pool files stall after the headers"
mkarchive --generation 2
upstream_control '{"stall": "pool/.*deb12u2"}'
MIRRORD_TIMEOUT=30
t0=$(now_ms)
expect_sync_failure "mirror 'demo'" "stall|timed? ?out|timeout|no data|too slow"
ms=$(($(now_ms) - t0))
step "failed after $ms ms"
[ "$ms" -ge 1500 ] || fail "failed after $ms ms, before the 2 s Stall-Timeout"
assert_tmp_empty

step "upstream repaired: the sync succeeds"
upstream_control '{}'
sync_ok
