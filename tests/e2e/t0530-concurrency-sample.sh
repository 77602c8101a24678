#!/bin/sh
# A short sample of `make stress` (tests/stress/run.sh): the concurrency
# run of tests/stress/concurrency.sh for CONC_SECONDS=10 in place of 45 (a
# daemon following a moving upstream; 2 clients reading snapshots; sync,
# promote, rollback, gc, fsck, list and status over and over; an fsck
# killed in the LMDB reader table every ~2 s), with every check of the full
# run, the reader table's last.
CONC_SECONDS=${CONC_SECONDS:-10}
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/stress/concurrency.sh"
