#!/bin/sh
# A bounded sample of the crash suite (tests/crash, `make crash`): kill -9
# at random moments of sync, promote, rollback and gc (15 iterations,
# fewer if the time budget runs out), then fsck, byte-identical snapshots
# over HTTP, no temp files, and the next sync equal to an uninterrupted
# one; one injected failure per fault point (write, fsync, rename, syncfs,
# commit) failing cleanly; one full-disk case (a real tmpfs when mount is
# permitted, else injected ENOSPC). The fault cases need a -DMIRRORD_FAULTS
# build named by MIRRORD_FAULTS_BIN; without it they are skipped.
. "$(dirname "$0")/lib.sh"

FB=${MIRRORD_FAULTS_BIN:-}
if [ -z "$FB" ]; then
	echo "# skipped: fault injection cases (MIRRORD_FAULTS_BIN is not set;" \
	    "make FAULTS=1 builds build/faults/mirrord)"
elif [ ! -x "$FB" ]; then
	fail "MIRRORD_FAULTS_BIN='$FB' is not an executable"
fi
[ -n "${E2E_GNUPG:-}" ] && export E2E_GNUPG
seed=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
set -- --mirrord "$MIRRORD" --seed "$seed" --iters "${CRASH_ITERS:-15}" \
    --churn 0.15 --sample --budget "${CRASH_BUDGET:-75}"
[ -n "$FB" ] && set -- "$@" --faults-bin "$FB"
TMPDIR=$T "$PYTHON" "$ROOT/tests/crash/crash.py" "$@" ||
	fail "crash sample failed (replay: CRASH_SEED=$seed" \
	    "MIRRORD_FAULTS_BIN=$FB sh $0)"
