#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# A short sample of `make stress` (tests/stress/run.sh): the concurrency
# run of tests/stress/concurrency.sh for CONC_SECONDS=20 in place of 45 (a
# daemon following a moving upstream; 2 clients reading snapshots; sync,
# promote, rollback, gc, fsck, list and status over and over; an fsck
# killed in the LMDB reader table every ~2 s), with every check of the full
# run, the reader table's last. (20 s: in 10 s a loaded machine got a
# channel move, which the run requires, only 1 to 3 times.)
CONC_SECONDS=${CONC_SECONDS:-20}
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/stress/concurrency.sh"
