#!/bin/sh
# run.sh MIRRORD_BINARY [TEST...]: runs every tests/e2e/t[0-9]*.sh (or the
# named ones) against the binary, E2E_JOBS (2) at a time, printing TAP ("ok N - name",
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
MKARCHIVE_SHARED_HOME=$E2E_GNUPG
export E2E_GNUPG MKARCHIVE_CACHE MKARCHIVE_SHARED_HOME
SWIFT_DIR=""
cleanup() {
	gpgconf --homedir "$E2E_GNUPG" --kill gpg-agent >/dev/null 2>&1 || true
	# Swift's processes, by the PIDs swift.sh recorded.
	[ -z "$SWIFT_DIR" ] || sh "$E2E_DIR/../s3/swift.sh" stop "$SWIFT_DIR"
	rm -rf "$SUITE_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# MIRRORD_E2E_BLOBS=s3: the tests keep their blobs in an OpenStack Swift
# (S3 API), one for the run, each test in a bucket of its own (lib.sh).
# If it cannot start, every test says so as its skip reason.
if [ "${MIRRORD_E2E_BLOBS:-file}" = s3 ]; then
	# Five ports in a row: the proxy, three servers and memcached.
	port=$(python3 -c 'import random, socket
for _ in range(50):
    p = random.randrange(20000, 40000, 5)
    try:
        ss = []
        for i in range(5):
            s = socket.socket()
            s.bind(("127.0.0.1", p + i))
            ss.append(s)
        print(p)
        break
    except OSError:
        pass')
	SWIFT_DIR=$SUITE_TMP/swift
	E2E_S3_UNAVAILABLE=""
	if ! command -v swift-proxy-server >/dev/null 2>&1; then
		E2E_S3_UNAVAILABLE="no OpenStack Swift here (swift-proxy)"
		SWIFT_DIR=""
	elif ! sh "$E2E_DIR/../s3/swift.sh" start "$SWIFT_DIR" "$port" \
	    >"$SUITE_TMP/swift.log" 2>&1; then
		E2E_S3_UNAVAILABLE="Swift did not start: $(tail -n 1 \
		    "$SUITE_TMP/swift.log")"
	fi
	E2E_S3_ENDPOINT=http://127.0.0.1:$port
	E2E_S3_CREDS=$SUITE_TMP/s3.creds
	printf '[default]\naws_access_key_id = test:tester\naws_secret_access_key = testing\n' \
	    >"$E2E_S3_CREDS"
	chmod 600 "$E2E_S3_CREDS"
	export MIRRORD_E2E_BLOBS E2E_S3_ENDPOINT E2E_S3_CREDS E2E_S3_UNAVAILABLE
	echo "# blobs in OpenStack Swift at $E2E_S3_ENDPOINT${E2E_S3_UNAVAILABLE:+ (unavailable: $E2E_S3_UNAVAILABLE)}"
fi

set -- $TESTS
echo "1..$#"
failed=0
skipped=0
skipped_steps=0
start=$(date +%s)

# One test, in the background: its output, status and time in files.
run_one() {	# N PATH
	t0=$(date +%s)
	# a bound per test: a hang is a failure, not a stuck suite
	timeout -k 5 "${E2E_TEST_TIMEOUT:-180}" sh "$2" >"$SUITE_TMP/$1.log" 2>&1
	echo $? >"$SUITE_TMP/$1.rc.tmp"
	echo $(($(date +%s) - t0)) >"$SUITE_TMP/$1.secs"
	mv "$SUITE_TMP/$1.rc.tmp" "$SUITE_TMP/$1.rc"
}

# The TAP lines of test N, once it has ended.
report() {	# N PATH
	name=$(basename "$2" .sh)
	log=$SUITE_TMP/$1.log
	rc=$(cat "$SUITE_TMP/$1.rc")
	secs=$(cat "$SUITE_TMP/$1.secs")
	# a step that failed fails its test, whatever the exit status said
	if [ "$rc" -eq 0 ] && grep -q '^not ok [0-9]' "$log"; then
		rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		echo "ok $1 - $name (${secs}s)"
		grep -E '^ok [0-9]+ - ' "$log" | sed 's/^/#   /'
		s=$(grep -Ec '^ok [0-9]+ - .* # SKIP' "$log")
		skipped_steps=$((skipped_steps + s))
	elif [ "$rc" -eq 77 ]; then
		# skip_all in lib.sh: TAP's SKIP directive with its reason
		echo "ok $1 - $name # SKIP $(sed -n 's/^# SKIP: //p' "$log" |
		    tail -n 1)"
		skipped=$((skipped + 1))
	else
		failed=$((failed + 1))
		[ "$rc" -eq 124 ] && echo "# $name timed out"
		echo "not ok $1 - $name (exit $rc, ${secs}s)"
		sed 's/^/#   /' "$log"
	fi
}

# E2E_JOBS tests at a time (default 2: most of a test's time is spent
# waiting on its processes, not on a CPU). A test that says "# e2e:
# alone" (one that measures load, fills a disk or counts on timing)
# runs with no other. Results are printed in the tests' order.
jobs=${E2E_JOBS:-2}
total=$#
i=0		# tests started
done_n=0	# tests reported
running=0
while [ "$done_n" -lt "$total" ]; do
	alone_next=false
	if [ "$i" -lt "$total" ]; then
		eval "next=\${$((i + 1))}"
		case $next in */*) ;; *) next=$E2E_DIR/$next ;; esac
		grep -q '^# e2e: alone' "$next" && alone_next=true
	fi
	if [ "$i" -lt "$total" ] && [ "$running" -lt "$jobs" ] &&
	    { ! $alone_next || [ "$running" -eq 0 ]; } &&
	    ! [ -e "$SUITE_TMP/alone" ]; then
		i=$((i + 1))
		if $alone_next; then
			echo "$i" >"$SUITE_TMP/alone"
		fi
		run_one "$i" "$next" &
		running=$((running + 1))
		continue
	fi
	# Report what has ended, in order; then wait a moment.
	progressed=false
	while [ "$done_n" -lt "$i" ] && [ -e "$SUITE_TMP/$((done_n + 1)).rc" ]; do
		done_n=$((done_n + 1))
		eval "p=\${$done_n}"
		case $p in */*) ;; *) p=$E2E_DIR/$p ;; esac
		report "$done_n" "$p"
		progressed=true
	done
	# Count the running ones again from their status files.
	running=0
	k=$done_n
	while [ "$k" -lt "$i" ]; do
		k=$((k + 1))
		[ -e "$SUITE_TMP/$k.rc" ] || running=$((running + 1))
	done
	if [ -e "$SUITE_TMP/alone" ] &&
	    [ -e "$SUITE_TMP/$(cat "$SUITE_TMP/alone").rc" ]; then
		rm -f "$SUITE_TMP/alone"
	fi
	$progressed || sleep 0.2
done
wait
echo "# $failed of $total failed, $skipped skipped, $skipped_steps steps of" \
    "passed tests skipped ($(($(date +%s) - start))s)"
[ "$failed" -eq 0 ]
