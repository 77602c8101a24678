# lib.sh: sourced by every tests/e2e/tNNNN-*.sh (POSIX sh).
#
# Gives each test a private temp dir $T (removed on exit, with every
# process the test started), an archive built by mkarchive.py under
# $ARCHIVE, an HTTP upstream serving it (start_upstream), a config
# (write_conf), the binary (mirrord ...), and assertions that say what was
# expected and what came instead.
#
# Environment: MIRRORD (the binary; default build/mirrord), E2E_GNUPG (a
# gnupg home shared by the suite; default one per test), MKARCHIVE_CACHE
# (the .deb cache), E2E_KEEP=1 keeps $T for a post-mortem.

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
_pids=""

_cleanup() {
	_rc=$?
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

# new_conf: the global stanza, into $CONF, for $STORE. RETRIES,
# STALL_TIMEOUT and CONNECT_TIMEOUT override the defaults.
new_conf() {
	cat >"$CONF" <<EOF
# written by tests/e2e/lib.sh
Store: $STORE
Retries: ${RETRIES:-3}
Stall-Timeout: ${STALL_TIMEOUT:-3}
Connect-Timeout: ${CONNECT_TIMEOUT:-5}
EOF
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

blob_path() {	# SHA256 (no subprocess: forks are slow on a busy machine)
	_r=${1#??}
	_r2=${_r#??}
	echo "$STORE/blobs/${1%"$_r"}/${_r%"$_r2"}/$1"
}

blob_count() {
	if [ -d "$STORE/blobs" ]; then
		find "$STORE/blobs" -type f | wc -l | tr -d ' '
	else
		echo 0
	fi
}

blob_list() {	# the sorted sha256 names of every blob file
	if [ -d "$STORE/blobs" ]; then
		find "$STORE/blobs" -type f | sed 's,.*/,,' | sort
	fi
}

blob_bytes() {	# FILE of sha256 names: their total size in the store
	sed "s|^\(..\)\(..\)|$STORE/blobs/\1/\2/\1\2|" "$1" |
	    xargs -r stat -c %s | awk '{ s += $1 } END { print s + 0 }'
}

# check_pool_blobs ARCHIVE: every pool file of ARCHIVE/.fixture.json is a
# blob of the store, with the same bytes as in the archive.
check_pool_blobs() {
	"$PYTHON" - "$1" "$STORE" <<'EOF' || fail "pool files missing from the store"
import json, os, sys
arch, store = sys.argv[1:3]
bad = 0
for f in json.load(open(os.path.join(arch, ".fixture.json")))["pool"]:
    h = f["sha256"]
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
