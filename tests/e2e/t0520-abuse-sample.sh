#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# A short sample of `make abuse` (tests/abuse/run.sh): for 20 s, 100 idle
# connections, 10 trickling an endless header, 1,000 connection attempts,
# pipelined requests dropped part-way, range abuse, huge and malformed
# headers and every method but GET/HEAD (tests/abuse/abuse.py) against
# `mirrord serve`, while apt-get update + apt-get download hello run in a
# loop: every apt run succeeds with the right bytes, no 5xx (505 to an
# unsupported HTTP version aside), no wrong bytes, RSS under 150 MB, and
# open connections back to ~0 afterwards.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/abuse/common.sh"

abuse_setup
abuse_round sample 20 --idle 100 --trickle 10 --churn 1000 --conc 20
[ -z "$ROUND_FAIL" ] || fail "$ROUND_FAIL"
stop_serve
step "ok"
