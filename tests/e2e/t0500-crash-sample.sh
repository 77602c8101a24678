#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# A bounded sample of the crash suite (tests/crash, `make crash`): kill -9
# at random moments of sync, promote, rollback and gc (15 iterations,
# fewer if the time budget runs out), then fsck, byte-identical snapshots
# over HTTP, no temp files, and the next sync equal to an uninterrupted
# one; one injected failure per fault point (write, fsync, rename, syncfs,
# commit) failing cleanly; one full-disk case (a real tmpfs when mount is
# permitted, else injected ENOSPC). The fault cases need a -DMIRRORD_FAULTS
# build named by MIRRORD_FAULTS_BIN (`make e2e` builds one and sets it);
# without it their step is a skip (# SKIP), never a pass.
. "$(dirname "$0")/lib.sh"

FB=""
if test_have_prereq FAULTS_BUILD; then
	FB=$MIRRORD_FAULTS_BIN
fi
[ -n "${E2E_GNUPG:-}" ] && export E2E_GNUPG
seed=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# One run of crash.py does both (they share its setup and time budget);
# the second step checks from its log that the fault cases ran.
test_expect_success 'kill -9 during sync, promote, rollback and gc; a full disk' - <<'EOT'
set -- --mirrord "$MIRRORD" --seed "$seed" --iters "${CRASH_ITERS:-15}" \
    --churn 0.15 --sample --budget "${CRASH_BUDGET:-75}"
[ -n "$FB" ] && set -- "$@" --faults-bin "$FB"
TMPDIR=$T "$PYTHON" "$ROOT/tests/crash/crash.py" "$@" >"$T/crash.out" 2>&1 || {
	cat "$T/crash.out"
	fail "crash sample failed (replay: CRASH_SEED=$seed" \
	    "MIRRORD_FAULTS_BIN=$FB sh $0)"
}
cat "$T/crash.out"
grep -q '^# kill loop: ' "$T/crash.out" || fail "crash.py ran no kill loop"
EOT

test_expect_success FAULTS_BUILD 'one injected failure per fault point fails cleanly' '
	grep "^# fault" "$T/crash.out"
	grep -Eq "^# fault cases: [1-9][0-9]* run" "$T/crash.out" ||
		fail "crash.py ran no fault case with MIRRORD_FAULTS_BIN=$FB"
'

# Composed snapshots (issue 15): kill -9 during a partial sync and a
# patch, at random moments (and, with the faults build, at a few kill
# points); `make crash` runs more of each.
test_expect_success 'kill -9 during a partial sync and a patch' - <<'EOT'
set -- --mirrord "$MIRRORD" --seed "$seed" --iters "${COMPOSE_ITERS:-2}" \
    --budget "${COMPOSE_BUDGET:-30}"
[ -n "$FB" ] && set -- "$@" --faults-bin "$FB"
TMPDIR=$T "$PYTHON" "$ROOT/tests/crash/compose.py" "$@" >"$T/compose.out" \
    2>&1 || {
	cat "$T/compose.out"
	fail "compose crash sample failed (replay: CRASH_SEED=$seed sh $0)"
}
cat "$T/compose.out"
grep -Eq '^# compose: [1-9][0-9]* cases passed' "$T/compose.out" ||
	fail "compose.py ran no case"
EOT
