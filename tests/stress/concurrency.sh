# tests/stress/concurrency.sh: sourced after tests/e2e/lib.sh by
# tests/stress/run.sh (`make stress`, CONC_SECONDS=45) and by its sample in
# `make check`, tests/e2e/t0530-concurrency-sample.sh (CONC_SECONDS=10).
#
# Concurrency (issue 5, part 6). A `mirrord daemon` (Sync-Interval: 2s,
# Keep-Snapshots: last 3, Gc-Grace: 0) follows an upstream that moves to a
# new generation every few seconds, while for CONC_SECONDS:
#   - 2 clients download in a loop through snapshot URLs: the snapshot's
#     stable-updates InRelease (must be the bytes of one of upstream's
#     generations), its Packages.xz (the sha256 InRelease lists) and pool
#     files (the sha256 Packages lists), plus latest's stable InRelease;
#   - other processes run, over and over: sync, promote (to latest and to
#     a random snapshot), rollback, gc, fsck, snapshot list [--json],
#     status [--json], channel list (Channel-History: 1, so that gc drops
#     snapshots while the clients read them);
#   - every ~2 s an `fsck` is stopped (SIGSTOP) while it is in the LMDB
#     reader table (mdb_stat -r) and killed with SIGKILL.
# Then: every command exited 0 or 1 with an error message (no signal, no
# timeout, no output that does not parse); no client got a wrong byte, a
# 5xx or a broken connection; a 404 only for a snapshot that is really gone
# at the end; fsck passes; the daemon is still up; no reader slot of a
# dead process is left after the next process opens the store, and (last
# check) the daemon alone clears such a slot within READER_WAIT (20) s.

# Gc-Grace: 0 is below the floor of 1h; the test lowers it to see blobs go.
export MIRRORD_TEST_GC_GRACE_MIN=0

DURATION=${CONC_SECONDS:-45}
CMD_TIMEOUT=30
READER_WAIT=${READER_WAIT:-20}
test_require_prereq MDB_STAT

# ------------------------------------------------------------ upstream
# Generations are built into $T/gens/gN/debian; $SRV/debian is a symlink
# to the current one, switched atomically once the next is complete.
GENS=$T/gens
STOP=$T/stop
# gen_loop: builds generation 2, 3, ... and switches upstream to each.
gen_loop() {
	_g=1
	while [ ! -e "$STOP" ]; do
		_g=$((_g + 1))
		timeout 60 "$PYTHON" "$MKARCHIVE_PY" "$GENS/g$_g/debian" \
		    --gnupghome "$GNUPG" --generation "$_g" \
		    >"$T/gen.out" 2>&1 || { echo "gen $_g failed: $(cat "$T/gen.out")"
			return 1; }
		ln -sfn "$GENS/g$_g/debian" "$T/next"
		mv -T "$T/next" "$ARCHIVE"
		echo "$(date +%s) generation $_g"
		# Time for a sync to finish between two flips (a sync that
		# meets a flip fails, clearly, and under sanitizers every one
		# did when generations came back to back).
		sleep "${GEN_PAUSE:-4}"
	done
}

test_expect_success 'a daemon that follows an upstream moving on' - <<'EOT'
mkdir -p "$GENS" "$T/cmd"
: >"$T/cmds.log"
mkarchive_at "$GENS/g1/debian" --generation 1
cp "$GENS/g1/debian/archive-key.gpg" "$KEY"
rmdir "$ARCHIVE" 2>/dev/null || true
ln -s "$GENS/g1/debian" "$ARCHIVE"
# started at once: building a generation takes seconds
start_upstream
write_conf
set_global Sync-Interval 2s
set_global Keep-Snapshots "last 3"
set_global Gc-Grace 0
# Only the channel's current target is spared besides the last 3, so that
# snapshots do get dropped (and their blobs removed) while clients read.
set_global Channel-History 1
# (retried: upstream may switch generations in the middle of it)
for _try in 1 2 3; do
	run mirrord sync
	[ "$RC" != 0 ] || break
done
assert_rc 0
run mirrord promote demo latest production
assert_rc 0
# Upstream churns only once the first snapshot is made (on a loaded
# machine a sync could otherwise keep meeting a newer generation).
gen_loop >"$T/gens.log" 2>&1 &
GENPID=$!
_pids="$_pids $GENPID"
start_daemon
EOT

# cmd_loop PAUSE CMD [| CMD...]: runs `mirrord CMD` until $STOP exists,
# the CMDs in turn; one line per run in cmds.log: "NAME RC MS VERDICT"
# (NAME: CMD's first word, "-snap" added if it holds @SNAP, which becomes
# a random snapshot of those listed); a failed run's output is kept.
cmd_loop() {
	_pause=$1
	shift
	_alts=$(echo "$*" | tr '|' '\n' | sed 's/^ *//; s/ *$//')
	_nalt=$(echo "$_alts" | wc -l)
	_n=0
	while [ ! -e "$STOP" ]; do
		_n=$((_n + 1))
		_cmd=$(echo "$_alts" | sed -n "$(( (_n - 1) % _nalt + 1 ))p")
		_name=${_cmd%% *}
		case $_cmd in *@SNAP*) _name=$_name-snap ;; esac
		case $_cmd in *--json*) _name=${_name}json ;; esac
		_o=$T/cmd/$_name.out
		_e=$T/cmd/$_name.err
		_args=""
		for _a in $_cmd; do
			if [ "$_a" = @SNAP ]; then
				_a=$(timeout 20 "$MIRRORD" -c "$CONF" snapshot list \
				    demo 2>/dev/null | shuf -n 1)
				[ -n "$_a" ] || _a=latest
			fi
			_args="$_args $_a"
		done
		_t0=$(now_ms)
		_rc=0
		# shellcheck disable=SC2086
		timeout "$CMD_TIMEOUT" "$MIRRORD" -c "$CONF" $_args >"$_o" 2>"$_e" ||
		    _rc=$?
		_ms=$(($(now_ms) - _t0))
		_v=$(validate "$_name" "$_rc" "$_o" "$_e")
		echo "$_name $_rc $_ms $_v" >>"$T/cmds.log"
		cat "$_o" >>"$T/cmd/$_name.all"
		if [ "$_v" != ok ]; then
			{ echo "== $_name #$_n: mirrord$_args: exit $_rc: $_v"
			  sed -n '1,10s/^/  out| /p' "$_o"
			  sed -n '1,10s/^/  err| /p' "$_e"; } >>"$T/fails.log"
		fi
		sleep "$_pause"
	done
}

# validate NAME RC OUT ERR: "ok", "failed-clearly" (exit 1 with an error
# message), or what is wrong.
validate() {
	case $2 in
	0) ;;
	1)
		if grep -Eiq 'error|busy|locked|cannot|no ' "$4"; then
			echo failed-clearly
		else
			echo "BAD exit 1 without a message"
		fi
		return 0 ;;
	124|137)
		# Still queued for the writer lock: slow, not broken (counted
		# and shown; the lock holders' own runs show their progress).
		if tail -n 1 "$4" | grep -Eq '(is|are) locked by .*; waiting$'; then
			echo lock-wait-timeout
		else
			echo "BAD timed out ($CMD_TIMEOUT s)"
		fi
		return 0 ;;
	*) echo "BAD exit $2 (a signal or a crash?)"; return 0 ;;
	esac
	case $1 in
	snapshot)
		grep -Evq '^[0-9]{8}T[0-9]{6}Z[a-z0-9._-]*$' "$3" &&
		    { echo "BAD a line that is not a snapshot ID"; return 0; }
		[ -s "$3" ] || { echo "BAD empty list"; return 0; } ;;
	sync)
		grep -Evq '^demo [0-9]{8}T[0-9]{6}Z[a-z0-9._-]*$' "$3" &&
		    { echo "BAD sync printed something else"; return 0; } ;;
	snapshotjson|statusjson)
		"$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' \
		    "$3" 2>/dev/null || { echo "BAD output is not JSON"; return 0; } ;;
	esac
	echo ok
}

# killer_loop: every ~2 s, an fsck stopped while it holds a reader slot,
# then SIGKILLed. One line per attempt in kills.log: "PID caught|missed",
# and for a caught one, 2 s later, "PID stale|cleared": whether its slot
# is still in the table (the other commands open the store meanwhile).
killer_loop() {
	while [ ! -e "$STOP" ]; do
		_r=$(catch_reader)
		echo "$_r" >>"$T/kills.log"
		sleep 2
		case $_r in
		*caught)
			if dead_readers | grep -qx "${_r%% *}"; then
				echo "${_r%% *} stale" >>"$T/kills.log"
			else
				echo "${_r%% *} cleared" >>"$T/kills.log"
			fi ;;
		esac
	done
}

# catch_reader: starts an fsck and lets it run in slices of ~1 ms, stopped
# between them, until mdb_stat -r lists it as a reader (up to 300 slices);
# then SIGKILLs it. Prints "PID caught" if it was listed while stopped,
# else "PID missed". An fsck on an idle machine holds its read transaction
# for a few ms only: slices of 0-40 ms caught 1 in 40 there (CI failed on
# it), slices of 1 ms 38 in 40. mdb_stat runs under timeout(1): an fsck
# that is the store's only opener holds the lock file's exclusive lock
# during its mdb_env_open, and stopped there it blocks mdb_stat.
catch_reader() {
	"$MIRRORD" -c "$CONF" fsck >/dev/null 2>&1 &
	_p=$!
	_how=missed
	_n=0
	while [ "$_n" -lt 300 ] && kill -0 "$_p" 2>/dev/null; do
		_n=$((_n + 1))
		sleep 0.001
		kill -STOP "$_p" 2>/dev/null || true
		if timeout 2 mdb_stat -r "$STORE/index" 2>/dev/null |
		    awk -v p="$_p" '$1 == p { f = 1 } END { exit !f }'; then
			_how=caught
			break
		fi
		kill -CONT "$_p" 2>/dev/null || true
	done
	kill -KILL "$_p" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
	echo "$_p $_how"
}

# dead_readers: the PIDs in the reader table of processes that are gone.
dead_readers() {
	timeout 5 mdb_stat -r "$STORE/index" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ { print $1 }' |
	    sort -u | while read -r _p; do
		[ -d "/proc/$_p" ] || echo "$_p"
	done
}

# ------------------------------------------------------------ the clients
cat >"$T/client.py" <<'EOF'
import glob, hashlib, http.client, json, lzma, os, random, subprocess, sys, time
port, mirrord, conf, gens, duration, out, seed = sys.argv[1:8]
port, duration = int(port), float(duration)
rnd = random.Random(int(seed))
res = {"requests": 0, "ok_files": 0, "bytes": 0, "iterations": 0,
       "not_found": {}, "bad": [], "retries": 0, "list_failures": 0}
conn = None

def get(path):
    """(status, body); one retry on a fresh connection if the server closed
    a kept-alive one before answering."""
    global conn
    for attempt in (0, 1):
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            res["requests"] += 1
            if r.getheader("connection", "").lower() == "close":
                conn.close(); conn = None
            return r.status, body
        except (http.client.RemoteDisconnected, ConnectionResetError,
                BrokenPipeError) as e:
            conn.close(); conn = None
            if attempt:
                raise
            res["retries"] += 1

def known(rel):
    """sha256 of rel in every generation built so far."""
    hs = set()
    for f in glob.glob(os.path.join(gens, "*", "debian", rel)):
        hs.add(hashlib.sha256(open(f, "rb").read()).hexdigest())
    return hs

def bad(msg):
    if len(res["bad"]) < 40:
        res["bad"].append("%.1f %s" % (time.time(), msg))
    else:
        res["bad"].append("...")
        del res["bad"][40:]

def check(snap, path, status, body, want=None):
    """True if 200 with the right bytes; a 404 is noted against snap."""
    if status == 404:
        res["not_found"].setdefault(snap, []).append(path)
        return False
    if status != 200:
        bad("GET %s: status %d" % (path, status))
        return False
    if want is not None and hashlib.sha256(body).hexdigest() != want:
        # A snapshot ID is a time: once retention drops snap, its URLs
        # serve the newest snapshot before it (ARCHITECTURE.md), whose
        # file at this path may differ. Only then is it no fault.
        if snap not in (list_snaps() or [snap]):
            res["not_found"].setdefault(snap, []).append(path)
            return False
        bad("GET %s: wrong bytes (sha256 %s, expected %s)" %
            (path, hashlib.sha256(body).hexdigest(), want))
        return False
    res["ok_files"] += 1
    res["bytes"] += len(body)
    return True

def list_snaps():
    """The mirror's snapshot IDs (a pinned one's line goes on with its
    mark), or None if the list failed."""
    p = subprocess.run([mirrord, "-c", conf, "snapshot", "list", "demo"],
                       capture_output=True, text=True, timeout=30)
    if p.returncode != 0:
        res["list_failures"] += 1
        return None
    return [l.split()[0] for l in p.stdout.splitlines() if l.split()]

snaps = []
end = time.time() + duration
while time.time() < end:
    res["iterations"] += 1
    if res["iterations"] % 5 == 1 or not snaps:
        snaps = list_snaps() or snaps
    try:
        # latest's stable InRelease: one of upstream's
        path = "/demo/latest/dists/stable/InRelease"
        st, body = get(path)
        if st != 200 or hashlib.sha256(body).hexdigest() not in \
                known("dists/stable/InRelease"):
            bad("GET %s: status %d, %s bytes" % (path, st,
                "known" if st != 200 else "unknown"))
        snap = rnd.choice(snaps)
        base = "/demo/%s/dists/stable-updates/" % snap
        st, rel = get(base + "InRelease")
        if not check(snap, base + "InRelease", st, rel):
            continue
        if hashlib.sha256(rel).hexdigest() not in known(
                "dists/stable-updates/InRelease"):
            bad("GET %sInRelease: bytes of no upstream generation" % base)
            continue
        want, sect = None, False
        for line in rel.decode().split("\n"):
            if line.startswith("SHA256:"):
                sect = True
            elif sect and not line.startswith(" "):
                sect = False
            elif sect and line.split()[-1] == "main/binary-amd64/Packages.xz":
                want = line.split()[0]
        if want is None:
            bad("%sInRelease lists no main/binary-amd64/Packages.xz" % base)
            continue
        path = base + "main/binary-amd64/Packages.xz"
        st, px = get(path)
        if not check(snap, path, st, px, want):
            continue
        pool = []
        for para in lzma.decompress(px).decode().split("\n\n"):
            f = dict(l.split(": ", 1) for l in para.split("\n")
                     if ": " in l and not l.startswith(" "))
            if "Filename" in f:
                pool.append((f["Filename"], f["SHA256"]))
        for fn, h in rnd.sample(pool, min(6, len(pool))):
            path = "/demo/%s/%s" % (snap, fn)
            st, body = get(path)
            check(snap, path, st, body, h)
    except (OSError, http.client.HTTPException) as e:
        bad("connection error: %r" % e)
        conn = None
        time.sleep(0.2)
json.dump(res, open(out, "w"), indent=1)
EOF

# ------------------------------------------------------------ the run
test_expect_success "for $DURATION s: 2 clients, sync, promote, rollback, gc, fsck, list, status, and an fsck killed every ~2 s" - <<'EOT'
for c in 1 2; do
	"$PYTHON" "$T/client.py" "${DAEMON_URL##*:}" "$MIRRORD" "$CONF" "$GENS" \
	    "$DURATION" "$T/client$c.json" "$c" >"$T/client$c.log" 2>&1 &
	eval "CL$c=\$!"
	_pids="$_pids $!"
done
L=""
# Writers (sync, promote, rollback, gc) pause longer: sync and gc hold the
# writer lock, moves the channel lock (which gc takes too while removing),
# and the daemon, which only tries them, must get them sometimes. The moves
# share one loop: promote latest, rollback, promote a random snapshot.
for spec in "2 sync" "3 gc" \
    "2 promote demo latest production | rollback demo production |
     promote demo @SNAP production" \
    "0.3 fsck" "0.1 snapshot list demo | status | channel list demo" \
    "0.3 snapshot list demo --json | status --json"; do
	# shellcheck disable=SC2086
	cmd_loop $spec &
	L="$L $!"
done
killer_loop &
L="$L $!"
_pids="$_pids $L"
_t0=$(date +%s)
while [ $(($(date +%s) - _t0)) -lt "$DURATION" ]; do
	kill -0 "$MPID" 2>/dev/null ||
		fail "the daemon died: $(tail -n 10 "$T/daemon.log")"
	sleep 1
done
touch "$STOP"
step "stopping the loops"
for p in $L; do
	wait "$p" 2>/dev/null || true
	forget_pid "$p"
done
for c in 1 2; do
	eval "p=\$CL$c"
	wait "$p" || fail "client $c exited $?: $(tail -n 5 "$T/client$c.log")"
	forget_pid "$p"
done
# the generation being built: its timeout(1) (which passes the signal on)
for _c in $(ps -o pid= --ppid "$GENPID"); do
	kill "$_c" 2>/dev/null || true
done
kill "$GENPID" 2>/dev/null || true
wait "$GENPID" 2>/dev/null || true
forget_pid "$GENPID"
kill -0 "$MPID" 2>/dev/null || fail "the daemon died: $(tail -n 10 "$T/daemon.log")"
EOT

# ------------------------------------------------------------ checks
test_expect_success 'every command exited 0, or 1 with a clear message' - <<'EOT'
step "upstream: $(grep -c generation "$T/gens.log") new generations;" \
    "daemon: $(grep -c 'sync started' "$T/daemon.log") syncs started," \
    "$(grep -c 'not syncing now' "$T/daemon.log") tries skipped (store" \
    "locked), $(grep -c 'new snapshot' "$T/daemon.log") new snapshots;" \
    "sync by hand: $(grep -c '^sync 0 ' "$T/cmds.log") runs ok;" \
    "gc: $(awk '/snapshots dropped/ { d += $1; b += $4 } END { printf "%d snapshots dropped, %d blobs removed", d, b }' \
	"$T/cmd/gc.all");" \
    "$(snapshot_count demo) snapshots now"
made=$(( 1 + $(grep -c '^demo ' "$T/cmd/sync.all" || true) +
    $(grep -c 'new snapshot' "$T/daemon.log" || true) ))
step "$made snapshots made, $((made - $(snapshot_count demo))) dropped by" \
    "retention (the daemon's after its syncs, or gc)"
grep -q failed "$T/gens.log" && step "note: $(grep failed "$T/gens.log")"

step "commands (runs, ok, failed clearly, gave up waiting, bad; mean ms)"
awk '{ n[$1]++; s[$1] += $3
       if ($4 == "ok") o[$1]++; else if ($4 == "failed-clearly") f[$1]++; else b[$1]++ }
     $4 == "lock-wait-timeout" { w[$1]++ }
     END { for (k in n) printf "#   %-10s %4d runs, %4d ok, %3d failed clearly, %d gave up waiting for the lock, %d bad; %d ms\n",
	    k, n[k], o[k], f[k], w[k], b[k] - w[k], s[k] / n[k] }' "$T/cmds.log" | sort
if [ -s "$T/fails.log" ]; then
	step "distinct failure messages:"
	grep -h 'err|' "$T/fails.log" | sed 's/^ *err| //; s/[0-9]\{8\}T[0-9]\{6\}Z/ID/g; s/pid [0-9]*/pid N/g' |
	    sort | uniq -c | sort -rn | head -n 15 | sed 's/^/#   /'
fi
nbad=$(awk '$4 != "ok" && $4 != "failed-clearly" && $4 != "lock-wait-timeout"' \
    "$T/cmds.log" | wc -l)
[ "$nbad" = 0 ] || {
	grep -A 12 ': BAD' "$T/fails.log" | head -n 60 >&2
	fail "$nbad command runs crashed, timed out, failed without a message" \
	    "or printed something that does not parse"
}
for k in sync gc fsck snapshot snapshotjson status statusjson channel; do
	grep -q "^$k 0 " "$T/cmds.log" || fail "'$k' never succeeded"
done
# (on a loaded machine a move can take 10-30 s: gpg starts under the
# lock, so the loop may not get round to all three)
grep -Eq '^(promote|promote-snap|rollback) 0 ' "$T/cmds.log" ||
	fail "neither promote nor rollback ever moved the channel"
# fsck may only fail with a clear message; a false alarm is a bug
if grep -q '^fsck 1 ' "$T/cmds.log"; then
	grep -A 12 '== fsck' "$T/fails.log" | head -n 30 >&2
	fail "fsck reported a problem $(grep -c '^fsck 1 ' "$T/cmds.log") times" \
	    "during the run (see above; a false alarm is a bug too)"
fi

EOT

test_expect_success 'no client got a wrong byte, a 5xx or a 404 for a snapshot that exists' - <<'EOT'
run mirrord snapshot list demo
assert_rc 0
cp "$T/out" "$T/final.list"
for c in 1 2; do
	"$PYTHON" - "$T/client$c.json" "$T/final.list" <<'EOF' || fail "client $c: see above"
import json, sys
j = json.load(open(sys.argv[1]))
final = set(open(sys.argv[2]).read().split())
print("#   client: %d iterations, %d requests, %d files (%d bytes) right, "
      "%d retries, 404s for %d snapshots, %d list failures" % (
    j["iterations"], j["requests"], j["ok_files"], j["bytes"], j["retries"],
    len(j["not_found"]), j["list_failures"]))
bad = list(j["bad"])
for snap, paths in j["not_found"].items():
    if snap in final:
        bad.append("404 for %s through %s, which still exists" % (paths[0], snap))
for b in bad:
    print("#   BAD " + b)
if j["ok_files"] < 20:
    bad.append("only %d files downloaded" % j["ok_files"])
    print("#   BAD only %d files downloaded" % j["ok_files"])
sys.exit(1 if bad else 0)
EOF
done

EOT

test_expect_success 'afterwards fsck passes, the daemon still serves' - <<'EOT'
run mirrord fsck
assert_rc 0
s=$(http_status "$DAEMON_URL/demo/latest/dists/stable/InRelease")
assert_eq 200 "$s" "status of latest's stable InRelease"
if grep -Eiq 'segfault|assert|abort|panic' "$T/daemon.log"; then
	fail "the daemon's log: $(grep -Ei 'segfault|assert|abort|panic' "$T/daemon.log" | head -3)"
fi

EOT

test_expect_success 'reader table: no slot of a dead process once another opens the store' - <<'EOT'
kills=$(grep -Ec 'caught|missed' "$T/kills.log" || true)
caught=$(grep -c caught "$T/kills.log" || true)
step "$kills fsck processes killed with SIGKILL, $caught of them while in" \
    "the reader table; 2 s later (other commands running) their slots were" \
    "cleared $(grep -c cleared "$T/kills.log" || true) times, still there" \
    "$(grep -c stale "$T/kills.log" || true) times"
[ "$caught" -ge 1 ] || fail "no fsck was caught in the reader table: the check proves nothing"
dead=$(dead_readers | tr '\n' ' ')
step "dead readers before the next open: '${dead}'"
run mirrord snapshot list demo
assert_rc 0
dead=$(dead_readers | tr '\n' ' ')
[ -z "$dead" ] || fail "reader slots of dead processes $dead left after a" \
    "new process opened the store: $(mdb_stat -r "$STORE/index")"
nslots=$(mdb_stat -r "$STORE/index" | awk '$1 ~ /^[0-9]+$/' | wc -l)
step "reader table after the run: $nslots slots in use"

EOT

test_expect_success 'a reader killed while only the daemon runs: the daemon clears it' - <<'EOT'
_i=0
while :; do
	_i=$((_i + 1))
	[ "$_i" -le 60 ] || fail "could not catch an fsck in the reader table in 60 tries"
	r=$(catch_reader)
	case $r in *caught) break ;; esac
done
victim=${r%% *}
dead_readers | grep -qx "$victim" ||
	fail "killed fsck $victim is not in the reader table: $(mdb_stat -r "$STORE/index")"
_t0=$(date +%s)
while dead_readers | grep -qx "$victim"; do
	if [ $(($(date +%s) - _t0)) -ge "$READER_WAIT" ]; then
		step "$(mdb_stat -r "$STORE/index" | tr '\n' ' ')"
		# the next opener clears it (store_open's mdb_reader_check)
		run mirrord status
		dead_readers | grep -qx "$victim" &&
			fail "the slot of killed pid $victim outlived 'mirrord status' too"
		fail "the reader slot of killed pid $victim was still in the table" \
		    "$READER_WAIT s later with only the daemon running (the daemon" \
		    "never runs mdb_reader_check after it opened the store); the" \
		    "next process to open the store cleared it"
	fi
	sleep 1
done
step "cleared after $(($(date +%s) - _t0)) s"
stop_daemon 20
EOT
