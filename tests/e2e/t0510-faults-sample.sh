#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# A short sample of the hostile-upstream suite (make faults runs it all,
# tests/faults/run.sh): cases that t0030..t0045 do not cover and that fail
# fast, all against one snapshot S1 served by `mirrord serve`: a redirect
# with a bare CR in its Location, a redirect to file://, Release and
# InRelease that disagree (both validly signed), an xz bomb as a signed
# Packages.xz, and a signed Packages whose Filename holds a NUL byte. Each
# must fail in bounded time and memory with a clear error, make no
# snapshot, and leave S1 served byte for byte (see tests/faults/case.sh).
. "$(dirname "$0")/lib.sh"

FAULTS=$ROOT/tests/faults
CASES="redirect-cr redirect-file-release release-disagree bomb-small fn-nul"

# The archives: generations 1 and 2, and the two crafted from 2.
FAULTS_FIX=$T/fix
export FAULTS_FIX MIRRORD
step "craft.py: gen1, gen2, bomb-small, fn-nul"
timeout 150 "$PYTHON" "$FAULTS/craft.py" "$FAULTS_FIX" --gnupghome \
    "$FAULTS_FIX/gnupg" bomb-small fn-nul >"$T/craft.out" 2>&1 ||
	fail "craft.py failed: $(cat "$T/craft.out")"
gpgconf --homedir "$FAULTS_FIX/gnupg" --kill gpg-agent >/dev/null 2>&1 || true

# case.sh has its own temp dir and cleanup; its output is shown on failure.
t0=$(now_ms)
E2E_GNUPG=$FAULTS_FIX/gnupg timeout -k 5 120 sh "$FAULTS/case.sh" $CASES \
    >"$T/case.out" 2>&1 || {
	rc=$?
	sed 's/^/  | /' "$T/case.out" >&2
	fail "tests/faults/case.sh $CASES: exit $rc"
}
grep '^# result: ' "$T/case.out"
n=$(grep -c '^# result: ' "$T/case.out" || true)
assert_eq 5 "$n" "cases run"
step "5 cases in $(($(now_ms) - t0)) ms"
