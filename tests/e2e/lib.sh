# lib.sh: sourced by every tests/e2e/tNNNN-*.sh (POSIX sh).
#
# Gives each test a private temp dir $T (removed on exit, with every
# process the test started), an archive built by mkarchive.py under
# $ARCHIVE, an HTTP upstream serving it (start_upstream), a config
# (write_conf), the binary (mirrord ...), and assertions that say what was
# expected and what came instead.
#
# Named steps, as in git's t/: test_expect_success [PREREQ] 'NAME' 'CMDS'
# reports each step as TAP ("ok 2 - NAME", "not ok 3 - NAME" with its
# output, "ok 4 - NAME # SKIP missing PREREQ (why)"); see "named steps"
# below. Plain `step` lines and code outside blocks work as before.
#
# Environment: MIRRORD (the binary; default build/mirrord), E2E_GNUPG (a
# gnupg home shared by the suite; default one per test), MKARCHIVE_CACHE
# (the .deb cache), E2E_KEEP=1 keeps $T for a post-mortem, E2E_VERBOSE=1
# shows the output of the steps that pass too.

set -eu

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
MIRRORD=${MIRRORD:-$ROOT/build/mirrord}
case $MIRRORD in /*) ;; *) MIRRORD=$(pwd)/$MIRRORD ;; esac
# The system interpreter: a pyenv shim can take seconds to start.
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
MKARCHIVE_PY=$ROOT/tests/fixtures/mkarchive.py
UPSTREAM_PY=$E2E_DIR/upstream.py

T=$(mktemp -d "${TMPDIR:-/tmp}/mirrord-e2e.XXXXXX")
# The test's own stdout and stderr, kept for reports made while a named
# step's output is redirected (_steps_end, skip_all).
exec 7>&1 8>&2
_pids=""
_step_n=0		# named steps so far (test_expect_success)
_step_pass=0
_step_skips=""		# the reasons of the skipped ones, "; "-separated
_step_name=""		# the step running now ("" between steps)
_step_body=""
_step_out=""

_cleanup() {
	_rc=$?
	_steps_end
	for _p in $_pids; do kill "$_p" 2>/dev/null || true; done
	for _p in $_pids; do wait "$_p" 2>/dev/null || true; done
	if [ -n "${E2E_KEEP:-}" ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$_rc"
}
trap _cleanup EXIT

# forget_pid PID: a process of ours that has ended (and been waited for),
# so that cleanup never signals a recycled PID.
forget_pid() {
	_keep=""
	for _p in $_pids; do
		[ "$_p" = "$1" ] || _keep="$_keep $_p"
	done
	_pids=$_keep
}
trap 'exit 130' INT TERM HUP

GNUPG=${E2E_GNUPG:-$T/gnupg}
MKARCHIVE_CACHE=${MKARCHIVE_CACHE:-$T/debcache}
export MKARCHIVE_CACHE
SRV=$T/srv			# what the upstream serves
ARCHIVE=$SRV/debian		# the archive root: $UPSTREAM_URL
KEY=$T/archive-key.gpg		# Signed-By: the key of the first build
CONF=$T/mirrord.conf
STORE=$T/store
mkdir -p "$SRV"

# ------------------------------------------------------------ reporting

# The last command run by `run`, its status and output files.
RC=0
LAST=""

step() {
	echo "# $*"
}

_show_last() {
	[ -n "$LAST" ] || return 0
	echo "  last command: $LAST (exit $RC)"
	echo "  --- stdout:"; sed -n '1,40s/^/  | /p' "$T/out" 2>/dev/null || true
	echo "  --- stderr:"; sed -n '1,40s/^/  | /p' "$T/err" 2>/dev/null || true
}

# skip_all REASON: the test cannot run here (a missing prerequisite);
# run.sh reports it as "# SKIP REASON", never as a pass.
skip_all() {
	echo "# SKIP: $*" >&7
	exit 77
}

fail() {
	{
		echo "FAIL: $*"
		_show_last
	} >&2
	exit 1
}

# run CMD...: runs it with stdout in $T/out, stderr in $T/err, status in
# $RC, without stopping the test on failure.
run() {
	LAST=$*
	set +e
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
	return 0
}

assert_eq() {	# EXPECTED GOT WHAT
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

assert_rc() {	# EXPECTED: the status of the last `run`
	[ "$RC" = "$1" ] || fail "exit status: expected $1, got $RC"
}

assert_out_match() {	# ERE: some stdout line matches
	grep -Eq -- "$1" "$T/out" || fail "stdout does not match /$1/"
}

assert_err_match() {	# ERE: some stderr line matches (case-insensitive)
	grep -Eiq -- "$1" "$T/err" || fail "stderr does not match /$1/"
}

assert_output_match() {	# ERE: stdout or stderr matches (case-insensitive)
	cat "$T/out" "$T/err" | grep -Eiq -- "$1" ||
		fail "neither stdout nor stderr matches /$1/"
}

assert_out_empty() {
	[ ! -s "$T/out" ] || fail "stdout should be empty"
}

assert_lines() {	# N: stdout has N lines
	_n=$(wc -l <"$T/out" | tr -d ' ')
	[ "$_n" = "$1" ] || fail "stdout: expected $1 lines, got $_n"
}

# ------------------------------------------------------------ named steps
#
# test_expect_success [PREREQ] NAME COMMANDS: one named step, as in git's
# t/. COMMANDS (a string, or "-" to read them from stdin, e.g. a quoted
# here-document for a step that needs single quotes) run in the test's own
# shell, so that the variables they set stay set for the next steps, under
# set -e, with their output kept aside; as in git, a last command that
# returns non-zero (`test -f x && ...`) fails the step. Reported as TAP:
#   ok 3 - NAME
#   not ok 4 - NAME             then its output as "#	" comments, and the
#                               test ends there (later steps build on it)
#   ok 5 - NAME # SKIP missing PREREQ (why)   its commands did not run
# PREREQ is a comma-separated list of prerequisites (test_have_prereq), all
# needed. The plan "1..N" follows the last step. A test whose steps were
# all skipped ends as a skip (exit 77), never as a pass.
# (The state of the named steps is set at the top of this file, before
# the trap that reports it.)

test_expect_success() {
	_pre=""
	[ $# != 3 ] || { _pre=$1; shift; }
	[ $# = 2 ] || fail "test_expect_success [PREREQ] NAME COMMANDS:" \
	    "$# arguments (a quoting slip in the test?)"
	_step_n=$((_step_n + 1))
	if [ -n "$_pre" ] && ! test_have_prereq "$_pre"; then
		echo "ok $_step_n - $1 # SKIP missing $PREREQ_MISSING"
		_step_skips="${_step_skips:+$_step_skips; }$PREREQ_MISSING"
		return 0
	fi
	_step_name=$1
	_step_body=$2
	[ "$_step_body" != - ] || _step_body=$(cat)
	_step_out=$T/.step.$_step_n
	# Not a subshell: the variables the step sets are the test's.
	{ eval "$_step_body"; } >"$_step_out" 2>&1 </dev/null
	echo "ok $_step_n - $_step_name"
	[ -z "${E2E_VERBOSE:-}" ] || sed 's/^/#	/' "$_step_out"
	_step_name=""
	_step_pass=$((_step_pass + 1))
}

# _steps_end: at exit (_cleanup, with $_rc the exit status): the failed
# step's report with its output, the plan; a test whose steps were all
# skipped becomes a skip.
_steps_end() {
	exec 1>&7 2>&8	# a step may have ended the test inside its redirection
	if [ -n "$_step_name" ] && [ "$_rc" != 77 ]; then
		# exit 0 from a step would end the test early as a pass
		[ "$_rc" != 0 ] || _rc=1
		echo "not ok $_step_n - $_step_name"
		sed 's/^/#	/' "$_step_out" 2>/dev/null || true
		# without a FAIL: line, the command that stopped set -e is
		# somewhere in the step: show it as git does
		if ! grep -q '^FAIL: ' "$_step_out" 2>/dev/null; then
			echo "#	(exit $_rc from a command of the step:)"
			printf '%s\n' "$_step_body" | sed 's/^/#	> /'
		fi
	fi
	[ "$_step_n" = 0 ] || echo "1..$_step_n"
	if [ "$_rc" = 0 ] && [ "$_step_n" -gt 0 ] && [ "$_step_pass" = 0 ]; then
		echo "# SKIP: every step skipped: $_step_skips"
		_rc=77
	fi
}

# test_have_prereq PREREQ[,PREREQ...]: all are met ("!P": P is not). On
# false, PREREQ_MISSING says which one and why. Known prerequisites:
#   APT           apt-get and apt-cache (package apt)
#   MDB_STAT      mdb_stat (package lmdb-utils)
#   FAULTS_BUILD  MIRRORD_FAULTS_BIN names a -DMIRRORD_FAULTS build
#                 (`make e2e` always builds one and sets it)
#   ROOT          running as root (mount, chown)
#   CHROMIUM      a chromium binary (browser checks)
# and any declared with test_lazy_prereq.
test_have_prereq() {
	_ps=$1,
	while [ -n "$_ps" ]; do
		_p=${_ps%%,*}
		_ps=${_ps#*,}
		_neg=""
		case $_p in !*) _neg=1; _p=${_p#!} ;; esac
		if _prereq_check "$_p"; then _ok=1; else _ok=""; fi
		if [ "$_ok" = "$_neg" ]; then
			if [ -n "$_neg" ]; then
				PREREQ_MISSING="!$_p ($_p is met)"
			else
				PREREQ_MISSING="$_p ($_prereq_why)"
			fi
			return 1
		fi
	done
	return 0
}

# test_lazy_prereq NAME SCRIPT [WHY]: NAME is met if SCRIPT succeeds (run
# in a subshell, its output discarded, each time NAME is asked for); WHY
# is the reason a skip gives when it is not.
_lazy_prereqs=" "
test_lazy_prereq() {
	_lazy_prereqs="$_lazy_prereqs$1 "
	eval "_lazy_$1=\$2"
	eval "_lazy_why_$1=\${3:-}"
}

# test_require_prereq PREREQ[,PREREQ...]: the whole test needs them; if
# one is missing the test is a skip with the reason.
test_require_prereq() {
	test_have_prereq "$1" || skip_all "missing $PREREQ_MISSING"
}

# _prereq_check NAME: sets _prereq_why when NAME is not met.
_prereq_check() {
	case $1 in
	APT)
		_prereq_why="no apt-get/apt-cache: package apt"
		command -v apt-get >/dev/null 2>&1 &&
		    command -v apt-cache >/dev/null 2>&1 ;;
	MDB_STAT)
		_prereq_why="no mdb_stat: package lmdb-utils"
		command -v mdb_stat >/dev/null 2>&1 ;;
	FAULTS_BUILD)
		_prereq_why="MIRRORD_FAULTS_BIN is not set; make FAULTS=1 builds"
		_prereq_why="$_prereq_why build/faults/mirrord"
		[ -n "${MIRRORD_FAULTS_BIN:-}" ] || return 1
		# set but wrong is a mistake of the caller, not a skip
		[ -x "$MIRRORD_FAULTS_BIN" ] ||
			fail "MIRRORD_FAULTS_BIN='$MIRRORD_FAULTS_BIN' is not an executable"
		;;
	ROOT)
		_prereq_why="not root"
		[ "$(id -u)" = 0 ] ;;
	CHROMIUM)
		_prereq_why="no chromium or chromium-browser"
		command -v chromium >/dev/null 2>&1 ||
		    command -v chromium-browser >/dev/null 2>&1 ;;
	*)
		case $_lazy_prereqs in
		*" $1 "*) ;;
		*) fail "unknown prerequisite '$1'" ;;
		esac
		eval "_s=\$_lazy_$1 _prereq_why=\$_lazy_why_$1"
		[ -n "$_prereq_why" ] || _prereq_why="its test_lazy_prereq script failed"
		( eval "$_s" ) >/dev/null 2>&1 ;;
	esac
}

# ------------------------------------------------------------ fixtures

# mkarchive [ARGS...]: (re)builds $ARCHIVE; the first build's key is $KEY.
mkarchive() {
	mkarchive_at "$ARCHIVE" "$@"
	[ -f "$KEY" ] || cp "$ARCHIVE/archive-key.gpg" "$KEY"
}

# mkarchive_at DIR [ARGS...]
mkarchive_at() {
	_dir=$1; shift
	timeout 120 "$PYTHON" "$MKARCHIVE_PY" "$_dir" --gnupghome "$GNUPG" "$@" \
	    >"$T/mkarchive.out" 2>&1 ||
		fail "mkarchive.py $_dir $*: $(cat "$T/mkarchive.out")"
	step "mkarchive: $(cat "$T/mkarchive.out")"
}

# fixture_files ARCHIVE [pool|dists|listed_only]: "sha256 size path" lines.
fixture_files() {
	"$PYTHON" - "$1/.fixture.json" "${2:-pool}" <<'EOF'
import json, sys
for f in json.load(open(sys.argv[1]))[sys.argv[2]]:
    print(f["sha256"], f["size"], f["path"])
EOF
}

# mkbig_archive SIZE SEED: $ARCHIVE's generation 1 with one more package,
# 'bigdata' (stable-updates main, all), a .deb of SIZE incompressible
# bytes (tests/fixtures/mkbig.py); $KEY its key, $T/pool its pool files.
mkbig_archive() {
	BIG_SIZE=$1 BIG_SEED=$2 timeout 120 "$PYTHON" \
	    "$ROOT/tests/fixtures/mkbig.py" "$ARCHIVE" --gnupghome "$GNUPG" \
	    --generation 1 >"$T/mkarchive.out" 2>&1 ||
		fail "mkbig.py: $(cat "$T/mkarchive.out")"
	cp "$ARCHIVE/archive-key.gpg" "$KEY"
	fixture_files "$ARCHIVE" >"$T/pool"
}

# pool_of NAME-PREFIX: "sha256 size path" of the first .deb so named in
# $T/pool.
pool_of() {
	awk -v p="$1" '$3 ~ ("/" p) && $3 ~ /\.deb$/ { print; exit }' "$T/pool"
}

# ------------------------------------------------------------ upstream

# start_upstream [DIR]: serves DIR (default $SRV) over HTTP on 127.0.0.1;
# sets UPSTREAM_PORT, UPSTREAM_URL (the archive root) and UPSTREAM_PID.
# Requests are logged to $T/upstream.log; faults go through upstream_control.
start_upstream() {
	_dir=${1:-$SRV}
	: >"$T/upstream.log"
	printf '{}\n' >"$T/control.json"
	: >"$T/upstream.port"
	# timeout: a server never outlives a test that died without cleanup
	timeout 900 "$PYTHON" "$UPSTREAM_PY" --control "$T/control.json" \
	    --log "$T/upstream.log" "$_dir" >"$T/upstream.port" \
	    2>"$T/upstream.err" &
	UPSTREAM_PID=$!
	_pids="$_pids $UPSTREAM_PID"
	_i=0
	while ! grep -q '^[0-9][0-9]*$' "$T/upstream.port"; do
		kill -0 "$UPSTREAM_PID" 2>/dev/null ||
			fail "upstream.py died: $(cat "$T/upstream.err")"
		_i=$((_i + 1))
		[ "$_i" -le 150 ] || fail "upstream.py did not start in 15 s"
		sleep 0.1
	done
	UPSTREAM_PORT=$(head -n 1 "$T/upstream.port")
	UPSTREAM_URL=http://127.0.0.1:$UPSTREAM_PORT/debian
}

# upstream_control JSON: the faults for the next requests ('{}': none).
upstream_control() {
	printf '%s\n' "$1" >"$T/control.json.tmp"
	mv "$T/control.json.tmp" "$T/control.json"
}

# ------------------------------------------------------------ config

# MIRRORD_E2E_BLOBS=s3: blobs in a bucket (E2E_S3, s3_bucket, s3_*).
. "$ROOT/tests/e2e/s3lib.sh"	# $E2E_DIR is the caller's (tests/faults, tests/abuse...)

# new_conf: the global stanza, into $CONF, for $STORE. RETRIES,
# STALL_TIMEOUT and CONNECT_TIMEOUT override the defaults. With
# MIRRORD_E2E_BLOBS=s3, the blobs go to the test's own bucket.
new_conf() {
	cat >"$CONF" <<EOF
# written by tests/e2e/lib.sh
Store: $STORE
Retries: ${RETRIES:-3}
Stall-Timeout: ${STALL_TIMEOUT:-3}
Connect-Timeout: ${CONNECT_TIMEOUT:-5}
EOF
	if $E2E_S3; then
		s3_bucket_make
		cat >>"$CONF" <<EOF
Blobs: s3://$(s3_bucket)
S3-Endpoint: $E2E_S3_ENDPOINT
S3-Credentials: $E2E_S3_CREDS
EOF
	fi
}

# add_mirror NAME URI [SUITES]: appends a mirror stanza to $CONF.
add_mirror() {
	cat >>"$CONF" <<EOF

Name: $1
Types: deb deb-src
URIs: $2
Suites: ${3:-stable stable-updates}
Components: main contrib
Architectures: amd64 arm64
Signed-By: $KEY
EOF
}

# write_conf [URI]: a config with one mirror 'demo' of the whole archive.
write_conf() {
	new_conf
	add_mirror demo "${1:-$UPSTREAM_URL}"
}

# ------------------------------------------------------------ the binary

# mirrord ARGS...: the binary with $CONF, never hanging.
mirrord() {
	timeout "${MIRRORD_TIMEOUT:-120}" "$MIRRORD" -c "$CONF" "$@"
}

# sync_ok: a sync that must succeed and make a snapshot; sets SNAP.
sync_ok() {
	run mirrord sync "$@"
	assert_rc 0
	assert_out_match '^[a-z0-9][a-z0-9._-]* [0-9]{8}T[0-9]{6}Z$'
	SNAP=$(tail -n 1 "$T/out" | cut -d ' ' -f 2)
}

# snapshot_count MIRROR
snapshot_count() {
	if [ ! -d "$STORE/index" ]; then
		echo 0
		return 0
	fi
	mirrord snapshot list "$1" >"$T/list.out" 2>"$T/list.err" ||
		fail "snapshot list $1 failed: $(cat "$T/list.err")"
	wc -l <"$T/list.out" | tr -d ' '
}

# snapshot_json MIRROR EXPR: evaluates EXPR (Python, j = the parsed output
# of `snapshot list MIRROR --json`) and prints it.
snapshot_json() {
	mirrord snapshot list "$1" --json >"$T/json.out" 2>"$T/json.err" ||
		fail "snapshot list $1 --json failed: $(cat "$T/json.err")"
	"$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$T/json.out" "$2" ||
		fail "cannot evaluate '$2' on: $(cat "$T/json.out")"
}

# snapshot_content MIRROR REF FILE: `snapshot show --json` without the
# fields that differ between two syncs of the same content (id, time), with
# every list sorted.
snapshot_content() {
	mirrord snapshot show "$1" "$2" --json >"$T/show.json" 2>"$T/show.err" ||
		fail "snapshot show $1 $2 --json failed: $(cat "$T/show.err")"
	"$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
for k in ("id", "time"):
    j.pop(k, None)
def norm(x):    # lists as sets: the order files were fetched in may vary
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items()}
    if isinstance(x, list):
        return sorted((norm(e) for e in x), key=json.dumps)
    return x
print(json.dumps(norm(j), indent=1, sort_keys=True))' "$T/show.json" >"$3" ||
		fail "snapshot show output is not JSON: $(cat "$T/show.json")"
}

# ------------------------------------------------------------ the store

# blob_path SHA256: where the blob is: blobs/ab/SHA256 (store format 2),
# or format 1's blobs/ab/cd/SHA256 if only that exists (a store t0960
# made in format 1, or one an upgrade has not reached yet). No
# subprocess: forks are slow on a busy machine.
# With the S3 backend, a blob only in the bucket is first copied into the
# cache (as a reader would), so that the path holds its bytes.
blob_path() {
	_r=${1#??}
	_r2=${_r#??}
	_old="$STORE/blobs/${1%"$_r"}/${_r%"$_r2"}/$1"
	_new="$STORE/blobs/${1%"$_r"}/$1"
	if [ ! -e "$_new" ] && [ -e "$_old" ]; then
		echo "$_old"
		return 0
	fi
	if $E2E_S3 && [ ! -e "$_new" ] && [ -d "$STORE/blobs" ]; then
		mkdir -p "${_new%/*}"
		if s3_get "$1" "$_new.e2e"; then
			mv "$_new.e2e" "$_new"
		else
			rm -f "$_new.e2e"
		fi
	fi
	echo "$_new"
}

# blob_count, blob_list: the store's blobs: its files, or with the S3
# backend its bucket's objects (the cache holds any number of them).
blob_count() {
	blob_list | wc -l | tr -d ' '
}

blob_list() {	# the sorted sha256 names of every blob file
	if $E2E_S3; then
		s3_objects
	elif [ -d "$STORE/blobs" ]; then
		find "$STORE/blobs" -type f | sed 's,.*/,,' | sort
	fi
}

blob_bytes() {	# FILE of sha256 names: their total size in the store
	while read -r _h; do blob_path "$_h"; done <"$1" |
	    xargs -r stat -c %s | awk '{ s += $1 } END { print s + 0 }'
}

# check_pool_blobs ARCHIVE: every pool file of ARCHIVE/.fixture.json is a
# blob of the store, with the same bytes as in the archive.
check_pool_blobs() {
	if $E2E_S3; then	# the pool files into the cache, from the bucket
		"$PYTHON" -c 'import json, sys
for f in json.load(open(sys.argv[1]))["pool"]: print(f["sha256"])' \
		    "$1/.fixture.json" | while read -r _h; do
			blob_path "$_h" >/dev/null
		done
	fi
	"$PYTHON" - "$1" "$STORE" <<'EOF' || fail "pool files missing from the store"
import json, os, sys
arch, store = sys.argv[1:3]
bad = 0
for f in json.load(open(os.path.join(arch, ".fixture.json")))["pool"]:
    h = f["sha256"]
    b = os.path.join(store, "blobs", h[:2], h)
    if not os.path.isfile(b):   # format 1 (t0960), or not upgraded yet
        b = os.path.join(store, "blobs", h[:2], h[2:4], h)
    if not os.path.isfile(b):
        print("pool file '%s' is not in the store as %s" % (f["path"], b))
        bad = 1
    elif open(b, "rb").read() != open(os.path.join(arch, f["path"]), "rb").read():
        print("blob %s differs from '%s'" % (h, f["path"]))
        bad = 1
sys.exit(bad)
EOF
}

assert_tmp_empty() {
	if [ -d "$STORE/tmp" ] && [ -n "$(ls -A "$STORE/tmp")" ]; then
		fail "files left in $STORE/tmp: $(ls -A "$STORE/tmp" | head -5)"
	fi
}

file_sha256() {
	sha256sum "$1" | cut -d ' ' -f 1
}

# flip_byte FILE [OFFSET]: flips one bit of one byte in place.
flip_byte() {
	"$PYTHON" - "$1" "${2:--1}" <<'EOF'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    data = f.read()
    i = len(data) // 2 if off < 0 else off
    f.seek(i)
    f.write(bytes([data[i] ^ 1]))
EOF
}

# A random number of milliseconds in [0, MAX).
rand_ms() {
	_seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	awk -v s="$_seed" -v m="$1" 'BEGIN { srand(s); printf "%d\n", rand() * m }'
}

now_ms() {
	date +%s%3N
}

# ------------------------------------------------------------ common setups

# sync_kill_after MS: `mirrord sync` in the background, kill -9 after MS
# ms (unless it ended first); $how says which.
sync_kill_after() {
	"$MIRRORD" -c "$CONF" -q sync >"$T/killed.out" 2>&1 &
	_kpid=$!
	_pids="$_pids $_kpid"
	sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f\n", m / 1000 }')"
	if kill -9 "$_kpid" 2>/dev/null; then
		how="killed after $1 ms"
	else
		how="finished before the kill at $1 ms"
	fi
	wait "$_kpid" 2>/dev/null || true
	forget_pid "$_kpid"
}

# setup_synced: generation 1 served over HTTP, config written, synced once.
# Sets SNAP1 and BLOBS1 (a file with the sorted blob list).
setup_synced() {
	mkarchive --generation 1
	start_upstream
	write_conf
	sync_ok
	SNAP1=$SNAP
	BLOBS1=$T/blobs1
	blob_list >"$BLOBS1"
	assert_eq 1 "$(snapshot_count demo)" "snapshots after the first sync"
}

# expect_sync_failure ERE...: `sync` exits 1, stderr matches every ERE
# (case-insensitive), and the mirror still has exactly the snapshots it had.
expect_sync_failure() {
	_before=$(snapshot_count demo)
	run mirrord sync
	assert_rc 1
	for _re in "$@"; do
		assert_err_match "$_re"
	done
	assert_eq "$_before" "$(snapshot_count demo)" \
	    "snapshot count after a failed sync"
	[ ! -s "$T/out" ] || fail "a failed sync printed a snapshot on stdout"
	step "failed as expected: $(head -n 3 "$T/err" | tr '\n' ' ')"
}

[ -x "$MIRRORD" ] || fail "no mirrord binary at '$MIRRORD'"

# ------------------------------------------------------------ serving

# free_port: a TCP port of 127.0.0.1 that was free a moment ago.
free_port() {
	"$PYTHON" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# set_global KEY VALUE: sets KEY: in $CONF's global stanza (the first one).
set_global() {
	"$PYTHON" - "$CONF" "$1" "$2" <<'EOF'
import sys
path, key, value = sys.argv[1:4]
out, done, glob = [], False, True
for l in open(path).read().split("\n"):
    if glob and l.lower().startswith(key.lower() + ":"):
        continue            # the old value
    if glob and l.strip() == "" and any(x.strip() and x[0] != "#" for x in out):
        out.append("%s: %s" % (key, value))
        done, glob = True, False
    out.append(l)
if not done:
    out.append("%s: %s" % (key, value))
open(path + ".tmp", "w").write("\n".join(out))
EOF
	mv "$CONF.tmp" "$CONF"
}

# channel_target CHANNEL: CHANNEL's target snapshot ID (mirror demo).
channel_target() {
	mirrord channel list demo --json >"$T/ch.json" 2>"$T/ch.err" ||
		fail "channel list: $(cat "$T/ch.err")"
	"$PYTHON" -c 'import json, sys
print("".join(c["target"] for c in json.load(open(sys.argv[1]))
              if c["name"] == sys.argv[2]))' "$T/ch.json" "$1"
}

# start_serve: `mirrord serve` with Listen: 127.0.0.1:<a free port> (set in
# $CONF), retried on a bind failure, waited for until /healthz answers ok.
# Sets SERVE_PORT, SERVE_URL (http://127.0.0.1:PORT) and SERVE_PID; its
# stderr (the access log) goes to $T/serve.log.
start_serve() {
	_try=0
	while :; do
		_try=$((_try + 1))
		SERVE_PORT=$(free_port)
		SERVE_URL=http://127.0.0.1:$SERVE_PORT
		set_global Listen "127.0.0.1:$SERVE_PORT"
		: >"$T/serve.log"
		# timeout: never outlives a test that died without cleanup
		timeout -k 5 600 "$MIRRORD" -c "$CONF" serve \
		    >"$T/serve.out" 2>"$T/serve.log" &
		SERVE_PID=$!
		_pids="$_pids $SERVE_PID"
		_i=0
		while kill -0 "$SERVE_PID" 2>/dev/null; do
			if curl -s --max-time 2 -o "$T/healthz" \
			    "$SERVE_URL/healthz" 2>/dev/null &&
			    grep -q '^ok' "$T/healthz" &&
			    kill -0 "$SERVE_PID" 2>/dev/null; then
				step "mirrord serve on $SERVE_URL (pid $SERVE_PID)"
				return 0
			fi
			_i=$((_i + 1))
			[ "$_i" -le 100 ] || fail "mirrord serve: /healthz not ok" \
			    "after 10 s: $(tail -n 5 "$T/serve.log")"
			sleep 0.1
		done
		wait "$SERVE_PID" 2>/dev/null || true
		forget_pid "$SERVE_PID"
		if [ "$_try" -lt 5 ] &&
		    grep -Eiq 'in use|bind' "$T/serve.log"; then
			step "port $SERVE_PORT taken, trying another one"
			continue
		fi
		fail "mirrord serve exited at start: $(cat "$T/serve.log")"
	done
}

# stop_serve: SIGTERM to the server; it must exit 0 within 10 s.
stop_serve() {
	kill "$SERVE_PID" 2>/dev/null || true
	_i=0
	while kill -0 "$SERVE_PID" 2>/dev/null; do
		_i=$((_i + 1))
		if [ "$_i" -gt 100 ]; then
			# the mirrord under our timeout(1), by its PID
			for _c in $(ps -o pid= --ppid "$SERVE_PID"); do
				kill -KILL "$_c" 2>/dev/null || true
			done
			fail "mirrord serve still running 10 s after SIGTERM"
		fi
		sleep 0.1
	done
	_src=0
	wait "$SERVE_PID" 2>/dev/null || _src=$?
	forget_pid "$SERVE_PID"
	[ "$_src" = 0 ] || fail "mirrord serve exited $_src after SIGTERM:" \
	    "$(tail -n 5 "$T/serve.log")"
}

# http_status URL [CURL_ARGS...]: prints the status of a GET (000 if none);
# the headers go to $T/h, the body to $T/b.
http_status() {
	_u=$1; shift
	rm -f "$T/b" "$T/h"	# curl creates -o's file only for a body
	curl -s --max-time 10 -o "$T/b" -D "$T/h" -w '%{http_code}' "$@" \
	    "$_u" 2>/dev/null || true
	[ -f "$T/b" ] || : >"$T/b"
	[ -f "$T/h" ] || : >"$T/h"
}

# header NAME [FILE]: the value of the last header NAME in FILE ($T/h).
header() {
	tr -d '\r' <"${2:-$T/h}" | awk -v n="$1" 'BEGIN { n = tolower(n) }
	    { i = index($0, ":")
	      if (i && tolower(substr($0, 1, i - 1)) == n) {
		v = substr($0, i + 1); sub(/^[ \t]*/, "", v); last = v } }
	    END { print last }'
}

# ------------------------------------------------------------ apt clients

# apt_box BOX: a private apt state tree (the recipe of TESTING.md). Also
# $BOX/apt.conf, given as APT_CONFIG: it points Dir::Etc::parts at the box
# so that the host's apt.conf.d (its update hooks) is not read.
apt_box() {
	mkdir -p "$1/etc/apt/sources.list.d" "$1/etc/apt/preferences.d" \
	    "$1/etc/apt/apt.conf.d" "$1/etc/apt/trusted.gpg.d" \
	    "$1/var/lib/apt/lists/partial" \
	    "$1/var/cache/apt/archives/partial" "$1/var/lib/dpkg"
	: >"$1/var/lib/dpkg/status"
	printf 'Dir::Etc::parts "%s/etc/apt/apt.conf.d";\n' "$1" >"$1/apt.conf"
}

# apt_get BOX ARGS...: apt-get on BOX, bounded in time, no retries.
apt_get() {
	_box=$1; shift
	APT_CONFIG=$_box/apt.conf timeout 60 apt-get -o Dir="$_box" \
	    -o Dir::State::status="$_box/var/lib/dpkg/status" \
	    -o Dir::Etc::trusted=/dev/null \
	    -o Dir::Etc::trustedparts="$_box/etc/apt/trusted.gpg.d" \
	    -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
	    -o Acquire::Languages=none -o APT::Architecture=amd64 \
	    -o Acquire::Retries=0 "$@"
}

# apt_cache BOX ARGS...
apt_cache() {
	_box=$1; shift
	APT_CONFIG=$_box/apt.conf timeout 60 apt-cache -o Dir="$_box" \
	    -o Dir::State::status="$_box/var/lib/dpkg/status" \
	    -o Dir::Etc::trusted=/dev/null \
	    -o Dir::Etc::trustedparts="$_box/etc/apt/trusted.gpg.d" \
	    -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
	    -o Acquire::Languages=none -o APT::Architecture=amd64 "$@"
}

# apt_update_ok BOX: `apt-get update` exits 0 and prints no W:, E: or Err:.
apt_update_ok() {
	run apt_get "$1" update
	[ "$RC" = 0 ] || fail "apt-get update in $1 failed"
	if grep -Eq '^(W|E|Err):' "$T/out" "$T/err"; then
		fail "apt-get update in $1 warned or failed"
	fi
}

# apt_candidate BOX PKG: the candidate version `apt-cache policy` shows.
apt_candidate() {
	apt_cache "$1" policy "$2" >"$T/policy" 2>&1 ||
		fail "apt-cache policy $2 failed: $(cat "$T/policy")"
	sed -n 's/^ *Candidate: *//p' "$T/policy"
}

# fixture_packages ARCHIVE: one line "SUITE PACKAGE ARCH VERSION FILENAME
# SHA256" per binary package entry of ARCHIVE's Packages.xz indices (every
# suite, component and binary-* folder), sorted, without duplicates.
fixture_packages() {
	"$PYTHON" - "$1" <<'EOF'
import glob, lzma, os, sys
root = sys.argv[1]
out = set()
for p in glob.glob(os.path.join(root, "dists/*/*/binary-*/Packages.xz")):
    suite = os.path.relpath(p, os.path.join(root, "dists")).split(os.sep)[0]
    for para in lzma.decompress(open(p, "rb").read()).decode().split("\n\n"):
        f = {}
        for line in para.split("\n"):
            if line and not line[0].isspace() and ":" in line:
                k, v = line.split(":", 1)
                f[k] = v.strip()
        if "Package" in f:
            out.add((suite, f["Package"], f["Architecture"], f["Version"],
                     f["Filename"], f["SHA256"]))
for t in sorted(out):
    print(" ".join(t))
EOF
}

# raw_request IN OUT [SECONDS]: sends IN's bytes as they are on one TCP
# connection to the server of start_serve, then reads until the server
# closes it or SECONDS (default 5) pass; the answer goes to OUT. Prints how
# it ended: "closed", "timeout", "reset" or "refused".
raw_request() {
	"$PYTHON" - "$1" "$2" "$SERVE_PORT" "${3:-5}" <<'EOF'
import socket, sys, time
inp, outp, port, secs = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
data = open(inp, "rb").read()
got, how = b"", "closed"
try:
    s = socket.create_connection(("127.0.0.1", port), timeout=secs)
except OSError:
    open(outp, "wb").close()
    print("refused")
    sys.exit(0)
end = time.time() + secs
try:
    s.sendall(data)
except OSError:
    how = "reset"      # the server may answer and close before reading all
try:
    while True:
        left = end - time.time()
        if left <= 0:
            how = "timeout"
            break
        s.settimeout(left)
        b = s.recv(65536)
        if not b:
            break
        got += b
except socket.timeout:
    how = "timeout"
except OSError:
    how = "reset"
s.close()
open(outp, "wb").write(got)
print(how)
EOF
}

# ------------------------------------------------------------ daemon helpers
# (shared by the t04xx daemon tests)

# start_daemon: `mirrord daemon` with Listen: 127.0.0.1:<a free port> (set
# in $CONF), its stderr in $T/daemon.log, waited for until /healthz answers.
# Sets DAEMON_URL, DAEMON_PID (timeout(1)'s) and MPID (mirrord's own:
# signals go to it, as timeout(1) forwards only the first of each kind).
start_daemon() {
	_try=0
	while :; do
		_try=$((_try + 1))
		_port=$(free_port)
		DAEMON_URL=http://127.0.0.1:$_port
		set_global Listen "127.0.0.1:$_port"
		: >"$T/daemon.log"
		# timeout: never outlives a test that died without cleanup
		timeout -k 5 175 "$MIRRORD" -c "$CONF" daemon \
		    >"$T/daemon.out" 2>"$T/daemon.log" &
		DAEMON_PID=$!
		_pids="$_pids $DAEMON_PID"
		_i=0
		while kill -0 "$DAEMON_PID" 2>/dev/null; do
			if curl -s --max-time 2 -o "$T/healthz" \
			    "$DAEMON_URL/healthz" 2>/dev/null &&
			    grep -q '^ok' "$T/healthz"; then
				MPID=$(ps -o pid= --ppid "$DAEMON_PID" |
				    tr -d ' ')
				[ -n "$MPID" ] ||
					fail "no mirrord under pid $DAEMON_PID"
				step "mirrord daemon on $DAEMON_URL (pid $MPID)"
				return 0
			fi
			_i=$((_i + 1))
			[ "$_i" -le 100 ] || fail "mirrord daemon: /healthz not" \
			    "ok after 10 s: $(tail -n 5 "$T/daemon.log")"
			sleep 0.1
		done
		wait "$DAEMON_PID" 2>/dev/null || true
		forget_pid "$DAEMON_PID"
		if [ "$_try" -lt 5 ] &&
		    grep -Eiq 'in use' "$T/daemon.log"; then
			step "port $_port taken, trying another one"
			continue
		fi
		fail "mirrord daemon exited at start: $(cat "$T/daemon.log")"
	done
}

# stop_daemon [SECONDS]: SIGTERM; it must exit 0 within SECONDS (15).
# Sets STOP_MS, how long it took.
stop_daemon() {
	_bound=${1:-15}
	_t0=$(now_ms)
	kill -TERM "$MPID"
	while kill -0 "$DAEMON_PID" 2>/dev/null; do
		if [ $(($(now_ms) - _t0)) -gt $((_bound * 1000)) ]; then
			kill -KILL "$MPID" 2>/dev/null || true
			fail "mirrord daemon still running $_bound s after" \
			    "SIGTERM: $(tail -n 5 "$T/daemon.log")"
		fi
		sleep 0.1
	done
	STOP_MS=$(($(now_ms) - _t0))
	_src=0
	wait "$DAEMON_PID" 2>/dev/null || _src=$?
	forget_pid "$DAEMON_PID"
	[ "$_src" = 0 ] || fail "mirrord daemon exited $_src after SIGTERM:" \
	    "$(tail -n 5 "$T/daemon.log")"
	step "stopped with status 0 in $STOP_MS ms"
}

# wait_for SECONDS WHAT CMD...: runs CMD until it succeeds, at most SECONDS;
# fails naming WHAT otherwise, or at once if the daemon died.
wait_for() {
	_secs=$1
	_what=$2
	shift 2
	_end=$(($(date +%s) + _secs))
	until "$@"; do
		kill -0 "$MPID" 2>/dev/null ||
			fail "the daemon died: $(tail -n 10 "$T/daemon.log")"
		[ "$(date +%s)" -lt "$_end" ] || fail "$_what: not within" \
		    "$_secs s; the daemon's log ends with:" \
		    "$(tail -n 8 "$T/daemon.log")"
		sleep 0.2
	done
}

# served_is URL FILE: a GET of URL answers FILE's bytes.
served_is() {
	curl -sf --max-time 5 -o "$T/served" "$1" 2>/dev/null &&
	    cmp -s "$T/served" "$2"
}

snapshots_at_least() {	# MIRROR N
	[ "$(snapshot_count "$1")" -ge "$2" ]
}

log_has() {	# ERE
	grep -Eq -- "$1" "$T/daemon.log"
}

# log_count_since LINE ERE: lines after line LINE of the log matching ERE.
log_count_since() {
	tail -n "+$(($1 + 1))" "$T/daemon.log" | grep -Ec -- "$2" || true
}

# since_at_least LINE N ERE: at least N lines after line LINE match ERE.
since_at_least() {
	[ "$(log_count_since "$1" "$3")" -ge "$2" ]
}

log_lines() {
	wc -l <"$T/daemon.log" | tr -d ' '
}
