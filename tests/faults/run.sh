#!/bin/sh
# run.sh MIRRORD_BINARY [CASE...]: the hostile-upstream suite (make faults).
#
# Builds the archives once (craft.py), then runs each case (all when none
# is named) with case.sh against the binary, one at a time, and prints TAP:
#   ok 3 - stall-pool (5.1 s, 12 MB): mirror 'demo': ...: timed out ...
#   not ok 4 - ... followed by the case's output as # comments.
# Exits 1 if any case failed, 2 on a usage error. FAULTS_KEEP=1 keeps the
# temp dirs; FAULTS_FIX=DIR reuses (or makes) the archives in DIR.
set -u

CASES_ALL="stall-release stall-index stall-pool trickle-release trickle2-release
trickle-pool
reset-index reset-pool endless-release endless-index endless-pool bomb-small
bomb-huge bomb-lines http-500 http-503-retry-after redirect-file-release
redirect-file-pool redirect-cr redirect-crlf swap-mid-sync release-disagree
replay expired fn-traversal fn-absolute fn-nul fn-ctrl src-traversal
pool-hash pool-size"

if [ $# -lt 1 ]; then
	echo "usage: $0 MIRRORD_BINARY [CASE...]" >&2
	exit 2
fi
case $1 in /*) MIRRORD=$1 ;; *) MIRRORD=$(pwd)/$1 ;; esac
shift
if [ ! -x "$MIRRORD" ]; then
	echo "run.sh: '$MIRRORD' is not an executable" >&2
	exit 2
fi
export MIRRORD
DIR=$(cd "$(dirname "$0")" && pwd)
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
export PYTHON
CASES=${*:-$CASES_ALL}

SUITE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mirrord-faults.XXXXXX")
MKARCHIVE_CACHE=${MKARCHIVE_CACHE:-$SUITE_TMP/debcache}
FAULTS_FIX=${FAULTS_FIX:-$SUITE_TMP/fix}
E2E_GNUPG=$FAULTS_FIX/gnupg	# the key goes with the archives it signed
export E2E_GNUPG MKARCHIVE_CACHE FAULTS_FIX
[ -z "${FAULTS_KEEP:-}" ] || export E2E_KEEP=1
cleanup() {
	gpgconf --homedir "$E2E_GNUPG" --kill gpg-agent >/dev/null 2>&1 || true
	if [ -n "${FAULTS_KEEP:-}" ]; then
		echo "# kept $SUITE_TMP"
	else
		rm -rf "$SUITE_TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The archives these cases need.
need="gen3"
for c in $CASES; do
	case $c in
	expired|bomb-*|fn-*|src-traversal|pool-hash|pool-size) need="$need $c" ;;
	esac
done
t0=$(date +%s)
mkdir -p "$FAULTS_FIX"
if ! timeout 600 "$PYTHON" "$DIR/craft.py" "$FAULTS_FIX" \
    --gnupghome "$E2E_GNUPG" $need >"$SUITE_TMP/craft.log" 2>&1; then
	echo "Bail out! craft.py failed:"
	sed 's/^/# /' "$SUITE_TMP/craft.log"
	exit 1
fi
gpgconf --homedir "$E2E_GNUPG" --kill gpg-agent >/dev/null 2>&1 || true
echo "# archives ready in $(($(date +%s) - t0)) s"

set -- $CASES
echo "1..$#"
n=0
failed=0
start=$(date +%s)
for c in "$@"; do
	n=$((n + 1))
	# a bound per case: a hang is a failure, not a stuck suite
	timeout -k 5 240 sh "$DIR/case.sh" "$c" >"$SUITE_TMP/log" 2>&1
	rc=$?
	res=$(sed -n "s/^# result: [^ ]* //p" "$SUITE_TMP/log" | tail -n 1)
	secs=$(echo "$res" | sed -n 's/.*secs=\([0-9.]*\).*/\1/p')
	rss=$(echo "$res" | sed -n 's/.*rss_mb=\([0-9]*\).*/\1/p')
	err=$(echo "$res" | sed -n 's/.* err=//p' | cut -c 1-160)
	what="${secs:-?} s, ${rss:-?} MB"
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - $c ($what): $err"
	else
		failed=$((failed + 1))
		[ "$rc" -eq 124 ] && echo "# $c timed out"
		echo "not ok $n - $c ($what, exit $rc): $err"
		sed 's/^/#   /' "$SUITE_TMP/log"
	fi
done
echo "# faults: $((n - failed)) of $n cases passed, $failed failed ($(($(date +%s) - start)) s)"
[ "$failed" -eq 0 ]
