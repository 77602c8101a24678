#!/bin/sh
# run.sh MIRRORD_BINARY [TEST...]: runs every tests/e2e/t[0-9]*.sh (or the
# named ones) in order against the binary, printing TAP ("ok N - name",
# "not ok N - name" followed by the test's output as # comments, "ok N -
# name # SKIP reason" for a test that cannot run here). Under each test
# that passed, its named steps (lib.sh's test_expect_success) as comments:
# "#   ok 2 - step", "#   ok 3 - step # SKIP missing PREREQ (why)". The
# summary counts failed and skipped tests, and skipped steps. Exits 1 if
# any test failed, 2 on a usage error.
set -u

if [ $# -lt 1 ]; then
	echo "usage: $0 MIRRORD_BINARY [TEST...]" >&2
	exit 2
fi
case $1 in /*) MIRRORD=$1 ;; *) MIRRORD=$(pwd)/$1 ;; esac
shift
if [ ! -x "$MIRRORD" ]; then
	echo "run.sh: '$MIRRORD' is not an executable" >&2
	exit 2
fi
export MIRRORD

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
if [ $# -gt 0 ]; then
	TESTS=$*
else
	TESTS=$(ls "$E2E_DIR"/t[0-9]*.sh)
fi

# Shared by the tests: one signing key (a key and its gpg-agent per test
# would cost time) and the cache of built .debs. Each test still builds
# its own archive in its own temp dir.
SUITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mirrord-e2e-suite.XXXXXX")
E2E_GNUPG=$SUITE_TMP/gnupg
MKARCHIVE_CACHE=$SUITE_TMP/debcache
export E2E_GNUPG MKARCHIVE_CACHE
cleanup() {
	gpgconf --homedir "$E2E_GNUPG" --kill gpg-agent >/dev/null 2>&1 || true
	rm -rf "$SUITE_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

set -- $TESTS
echo "1..$#"
n=0
failed=0
skipped=0
skipped_steps=0
start=$(date +%s)
for t in "$@"; do
	case $t in */*) ;; *) t=$E2E_DIR/$t ;; esac
	n=$((n + 1))
	name=$(basename "$t" .sh)
	t0=$(date +%s)
	# a bound per test: a hang is a failure, not a stuck suite
	timeout -k 5 "${E2E_TEST_TIMEOUT:-180}" sh "$t" >"$SUITE_TMP/log" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	# a step that failed fails its test, whatever the exit status said
	if [ "$rc" -eq 0 ] && grep -q '^not ok [0-9]' "$SUITE_TMP/log"; then
		rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - $name (${secs}s)"
		grep -E '^ok [0-9]+ - ' "$SUITE_TMP/log" | sed 's/^/#   /'
		s=$(grep -Ec '^ok [0-9]+ - .* # SKIP' "$SUITE_TMP/log")
		skipped_steps=$((skipped_steps + s))
	elif [ "$rc" -eq 77 ]; then
		# skip_all in lib.sh: TAP's SKIP directive with its reason
		echo "ok $n - $name # SKIP $(sed -n 's/^# SKIP: //p' \
		    "$SUITE_TMP/log" | tail -n 1)"
		skipped=$((skipped + 1))
	else
		failed=$((failed + 1))
		[ "$rc" -eq 124 ] && echo "# $name timed out"
		echo "not ok $n - $name (exit $rc, ${secs}s)"
		sed 's/^/#   /' "$SUITE_TMP/log"
	fi
done
echo "# $failed of $n failed, $skipped skipped, $skipped_steps steps of" \
    "passed tests skipped ($(($(date +%s) - start))s)"
[ "$failed" -eq 0 ]
