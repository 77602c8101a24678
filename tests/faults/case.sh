#!/bin/sh
# case.sh CASE...: cases of the fault suite, run by tests/faults/run.sh
# (one case a run) and tests/e2e/t0510-faults-sample.sh (a few at once,
# all from one S1: cases that fail before storing what the next needs).
#
# A good sync of a clean archive makes snapshot S1, which `mirrord serve`
# serves; then the upstream (hostile.py) turns hostile as NAME says and a
# second sync runs. It must: end within a bound, exit non-zero (not by a
# signal) with an error naming the mirror and matching the case's regular
# expression, peak below 200 MB of RSS, print no snapshot, make none, leave
# no temp files and a store that passes fsck; and S1 must still serve the
# same bytes (SHA-256 over HTTP of both InRelease files, an index and a few
# pool files, before and after). The last line says what happened:
#     # result: CASE rc=1 secs=4.2 rss_mb=9 err=<the last line of stderr>
#
# Environment: MIRRORD (the binary), FAULTS_FIX (the archives of craft.py:
# gen1, gen2, ..., key.gpg), E2E_GNUPG, MKARCHIVE_CACHE (as for tests/e2e).
. "$(cd "$(dirname "$0")/../e2e" && pwd)/lib.sh"

FAULTS_DIR=$ROOT/tests/faults
FIX=${FAULTS_FIX:?FAULTS_FIX: the directory of tests/faults/craft.py}
HOSTILE_PY=$FAULTS_DIR/hostile.py
RSS_MAX_MB=200
[ $# -gt 0 ] || fail "usage: case.sh CASE..."

# ------------------------------------------------------------ the upstream

# start_hostile: hostile.py on a free port; sets HPORT, HURL, HOSTILE_PID.
start_hostile() {
	: >"$T/hostile.log"
	: >"$T/hostile.port"
	timeout 900 "$PYTHON" "$HOSTILE_PY" --control "$T/control.json" \
	    --log "$T/hostile.log" >"$T/hostile.port" 2>"$T/hostile.err" &
	HOSTILE_PID=$!
	_pids="$_pids $HOSTILE_PID"
	_i=0
	while ! grep -q '^[0-9][0-9]*$' "$T/hostile.port"; do
		kill -0 "$HOSTILE_PID" 2>/dev/null ||
			fail "hostile.py died: $(cat "$T/hostile.err")"
		_i=$((_i + 1))
		[ "$_i" -le 150 ] || fail "hostile.py did not start in 15 s"
		sleep 0.1
	done
	HPORT=$(head -n 1 "$T/hostile.port")
	HURL=http://127.0.0.1:$HPORT/debian
}

# control JSON: what hostile.py does from the next request on.
control() {
	printf '%s\n' "$1" >"$T/control.json.tmp"
	mv "$T/control.json.tmp" "$T/control.json"
}

# ------------------------------------------------------------ measuring

# measure LIMIT CMD...: runs CMD (stdout $T/out, stderr $T/err), killed
# after LIMIT seconds; sets RC, SECS, RSS_KB (peak RSS, from wait4) and
# KILLED (1 if the limit killed it).
measure() {
	LAST="$*"
	set -- $("$PYTHON" - "$T/out" "$T/err" "$@" <<'EOF'
import os, signal, subprocess, sys, time
out, err, limit, cmd = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4:]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stdout=open(out, "wb"), stderr=open(err, "wb"),
                     start_new_session=True)
killed = 0
while True:
    pid, status, ru = os.wait4(p.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() - t0 > limit:
        os.killpg(p.pid, signal.SIGKILL)
        pid, status, ru = os.wait4(p.pid, 0)
        killed = 1
        break
    time.sleep(0.05)
secs = time.monotonic() - t0
rc = os.waitstatus_to_exitcode(status)
print(rc if rc >= 0 else 128 - rc, "%.1f" % secs, ru.ru_maxrss, killed)
EOF
)
	RC=$1 SECS=$2 RSS_KB=$3 KILLED=$4
}

# ------------------------------------------------------------ S1 probes

# probe FILE: "sha256 path" of what S1 serves: both InRelease files, an
# index and the first, middle and last pool files of the good archive.
probe() {
	: >"$1"
	for _p in $PROBES; do
		_s=$(http_status "$SERVE_URL/demo/$SNAP1/$_p")
		[ "$_s" = 200 ] || fail "S1 does not serve '$_p' (HTTP $_s)"
		echo "$(file_sha256 "$T/b") $_p" >>"$1"
	done
}

# ------------------------------------------------------------ the cases

GOOD=gen1		# S1's archive
RE=			# what the error must say (ERE, case-insensitive)
BOUND=60		# seconds the hostile sync may take
MIN_SECS=0		# and at least (a Retry-After that must be obeyed)
EVIL=0			# 1: nothing named *faults-evil* requested or written
RETRIES=1 STALL_TIMEOUT=2 CONNECT_TIMEOUT=2	# short, for bounded runs

new_pool='pool/main/h/hello/hello_2\\.10-3\\+deb12u2_amd64\\.deb$'
amd64='stable-updates/main/binary-amd64/'
inrel='stable-updates/InRelease$'

# setup_case: sets GOOD, RE, BOUND... and HOSTILE, the control JSON of
# the hostile sync (@H@ is the hostile upstream's URL, @F@ the fixtures).
setup_case() {
	H="\"root\": \"@F@/gen2\""	# gen2: what the hostile cases change
	case $CASE in
	stall-release)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$inrel\", \"action\": \"stall\"}]}"
		RE="InRelease.*(timed out|timeout|stall)" ;;
	stall-index)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$amd64\", \"action\": \"stall\"}]}"
		RE="binary-amd64/Packages.*(timed out|timeout|stall)" ;;
	stall-pool)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$new_pool\", \"action\": \"stall\"}]}"
		RE="deb12u2_amd64.*(timed out|timeout|stall)" ;;
	trickle-release)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$inrel\", \"action\": \"trickle\"}]}"
		RE="InRelease.*(timed out|timeout|stall|slow)" ;;
	trickle2-release)
		# Two bytes a second: never "no data", but 3 KB take 25 min
		# and an endless one never ends.
		HOSTILE="{$H, \"rules\": [{\"match\": \"$inrel\", \"action\": \"trickle\", \"interval\": 0.5}]}"
		RE="InRelease.*(timed out|timeout|stall|slow)" ;;
	trickle-pool)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$new_pool\", \"action\": \"trickle\"}]}"
		RE="deb12u2_amd64.*(timed out|timeout|stall|slow)" ;;
	reset-index)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$amd64\", \"action\": \"reset\"}]}"
		RE="binary-amd64/Packages.*(reset|recv|connection|partial|closed)" ;;
	reset-pool)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$new_pool\", \"action\": \"reset\"}]}"
		RE="deb12u2_amd64.*(reset|recv|connection|partial|closed)" ;;
	endless-release)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$inrel\", \"action\": \"endless\"}]}"
		RE="InRelease.*(larger than|too large|exceeds)" ;;
	endless-index)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$amd64\", \"action\": \"endless\"}]}"
		RE="binary-amd64/Packages.*(larger than|too large|exceeds)" ;;
	endless-pool)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$new_pool\", \"action\": \"endless\", \"length\": 10737418240}]}"
		RE="deb12u2_amd64.*(larger than|too large|exceeds)" ;;
	bomb-small)
		HOSTILE='{"root": "@F@/bomb-small"}'
		RE="binary-amd64/Packages\.xz.*(exceeds|larger than|limit)" ;;
	bomb-huge)
		HOSTILE='{"root": "@F@/bomb-huge"}'
		RE="binary-amd64/Packages\.xz.*(exceeds|larger than|limit|longer than)" ;;
	bomb-lines)
		HOSTILE='{"root": "@F@/bomb-lines"}'
		RE="binary-amd64/Packages.*(exceeds|larger than|limit|too large|mismatch)" ;;
	http-500)
		RETRIES=2
		HOSTILE="{$H, \"rules\": [{\"match\": \"pool/\", \"action\": \"status\", \"code\": 500, \"headers\": {\"Retry-After\": \"1\"}}]}"
		MIN_SECS=2
		RE="pool/.*HTTP 500 after 3 attempts" ;;
	http-503-retry-after)
		# Retry-After: a day. mirrord obeys at most 60 s of it.
		HOSTILE="{$H, \"rules\": [{\"match\": \"$inrel\", \"action\": \"status\", \"code\": 503, \"headers\": {\"Retry-After\": \"86400\"}}]}"
		BOUND=75
		RE="InRelease.*HTTP 503" ;;
	redirect-file-release)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$inrel\", \"action\": \"redirect\", \"location\": \"file://@F@/gen2/dists/stable-updates/InRelease\"}]}"
		RE="InRelease.*(redirect|protocol|not supported|disabled)" ;;
	redirect-file-pool)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$new_pool\", \"action\": \"redirect\", \"location\": \"file://@F@/gen2/pool/main/h/hello/hello_2.10-3+deb12u2_amd64.deb\"}]}"
		RE="deb12u2_amd64.*(redirect|protocol|not supported|disabled)" ;;
	redirect-cr)
		HOSTILE="{$H, \"rules\": [{\"match\": \"$inrel\", \"action\": \"redirect\", \"location\": \"@H@/dists/stable-updates/InRelease\\rX-Injected: 1\"}]}"
		RE="InRelease.*control char" ;;
	redirect-crlf)
		# CR LF in the Location splits it: a second header is injected
		# and the redirect leads to a file that does not exist.
		HOSTILE="{$H, \"rules\": [{\"match\": \"$new_pool\", \"action\": \"redirect\", \"location\": \"@H@/pool/nowhere.deb\\r\\nX-Injected: 1\"}]}"
		RE="deb12u2_amd64.*(not found|control char|redirect)" ;;
	swap-mid-sync)
		# After the Release files: gen3 everywhere, by-hash gone.
		HOSTILE="{$H, \"swap\": {\"after\": \"stable-updates/(main|contrib)/\", \"root\": \"@F@/gen3\"}, \"rules\": [{\"match\": \"by-hash\", \"action\": \"status\", \"code\": 404}]}"
		RE="stable-updates.*(sha256|hash|mismatch|size|larger)" ;;
	release-disagree)
		HOSTILE="{$H, \"rules\": [{\"match\": \"stable-updates/Release(\\\\.gpg)?$\", \"action\": \"serve\", \"root\": \"@F@/gen1\"}]}"
		RE="stable-updates.*disagree" ;;
	replay)
		GOOD=gen2
		HOSTILE='{"root": "@F@/gen1"}'
		RE="stable.*(older|replay|rolled back)" ;;
	expired)
		HOSTILE='{"root": "@F@/expired"}'
		RE="suite 'stable.*(expired|valid-until)" ;;
	fn-traversal|fn-absolute|fn-nul|fn-ctrl)
		EVIL=1
		HOSTILE="{\"root\": \"@F@/$CASE\"}"
		RE="binary-amd64/Packages.*(unsafe|path|invalid|control)" ;;
	src-traversal)
		EVIL=1
		HOSTILE="{\"root\": \"@F@/$CASE\"}"
		RE="source/Sources.*(unsafe|path|invalid)" ;;
	pool-hash)
		HOSTILE='{"root": "@F@/pool-hash"}'
		RE="deb12u2_amd64.*(sha256|hash|mismatch)" ;;
	pool-size)
		HOSTILE='{"root": "@F@/pool-size"}'
		RE="deb12u2_amd64.*(larger than|size)" ;;
	*)
		fail "unknown case '$CASE'" ;;
	esac
}

# ------------------------------------------------------------ the run

# hostile_sync: the hostile sync of case $CASE and every check on it.
hostile_sync() {
	step "$CASE: hostile sync"
	control "$(printf '%s\n' "$HOSTILE" |
	    sed -e "s|@F@|$FIX|g" -e "s|@H@|$HURL|g")"
	: >"$T/hostile.log"
	measure $((BOUND + 30)) "$MIRRORD" -c "$CONF" sync
	RSS_MB=$((RSS_KB / 1024))
	ERR1=$(grep -v '^$' "$T/err" | tail -n 1 | cut -c 1-300)
	echo "# result: $CASE rc=$RC secs=$SECS rss_mb=$RSS_MB err=$ERR1"

	[ "$KILLED" = 0 ] ||
		fail "the sync still ran after $((BOUND + 30)) s: killed"
	awk -v s="$SECS" -v b="$BOUND" 'BEGIN { exit !(s <= b) }' ||
		fail "the sync took $SECS s, more than $BOUND s"
	awk -v s="$SECS" -v b="$MIN_SECS" 'BEGIN { exit !(s >= b) }' ||
		fail "the sync took $SECS s, less than $MIN_SECS s"
	[ "$RC" != 0 ] || fail "the hostile sync succeeded"
	[ "$RC" -lt 126 ] ||
		fail "the sync died of a signal or did not run (status $RC)"
	assert_err_match "mirror 'demo'"
	assert_err_match "$RE"
	[ "$RSS_MB" -lt "$RSS_MAX_MB" ] ||
		fail "peak RSS $RSS_MB MB, not below $RSS_MAX_MB MB"
	assert_out_empty
	assert_eq 1 "$(snapshot_count demo)" "snapshots after the hostile sync"
	assert_tmp_empty
	if [ "$EVIL" = 1 ]; then
		! grep -q 'evil' "$T/hostile.log" || fail "a hostile path" \
		    "was requested: $(grep evil "$T/hostile.log")"
		_e=$(find "$T" /tmp -maxdepth 3 -name '*faults-evil*' \
		    2>/dev/null | head -n 3)
		[ -z "$_e" ] || fail "a hostile path was written: $_e"
	fi

	# S1 unchanged, still served byte for byte.
	probe "$T/after"
	cmp -s "$T/before" "$T/after" ||
		fail "S1 serves other bytes now: $(diff "$T/before" "$T/after")"
	kill -0 "$SERVE_PID" 2>/dev/null || fail "mirrord serve died"
	run mirrord fsck
	assert_rc 0
}

# Every case named must start from the same good archive.
GOOD1=
for CASE in "$@"; do
	setup_case
	[ -z "$GOOD1" ] || [ "$GOOD1" = "$GOOD" ] ||
		fail "case '$CASE' starts from $GOOD, not $GOOD1: run it alone"
	GOOD1=$GOOD
done

cp "$FIX/key.gpg" "$KEY"
control "{\"root\": \"$FIX/$GOOD\"}"
start_hostile
write_conf "$HURL"
step "good sync of $GOOD"
sync_ok
SNAP1=$SNAP
start_serve
PROBES="dists/stable/InRelease dists/stable-updates/InRelease
dists/stable-updates/main/binary-amd64/Packages.xz
$(fixture_files "$FIX/$GOOD" | awk '{ p[NR] = $3 } END {
    print p[1]; print p[int((NR + 1) / 2)]; print p[NR] }')"
probe "$T/before"
# S1 serves what upstream had.
while read -r _h _p; do
	assert_eq "$(file_sha256 "$FIX/$GOOD/$_p")" "$_h" "S1's '$_p'"
done <"$T/before"

for CASE in "$@"; do
	RETRIES=1 STALL_TIMEOUT=2 CONNECT_TIMEOUT=2 BOUND=60 MIN_SECS=0 EVIL=0
	setup_case
	write_conf "$HURL"	# this case's Retries and timeouts
	set_global Listen "127.0.0.1:$SERVE_PORT"
	hostile_sync
done
stop_serve

if [ "$GOOD" = gen1 ]; then
	step "upstream repaired: the next sync succeeds"
	control "{\"root\": \"$FIX/gen2\"}"
	sync_ok
	assert_eq 2 "$(snapshot_count demo)" "snapshots after the repair"
fi
