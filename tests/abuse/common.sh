# tests/abuse/common.sh: sourced after tests/e2e/lib.sh by tests/abuse/run.sh
# (`make abuse`) and tests/e2e/t0520-abuse-sample.sh (its short sample).
#
# abuse_setup        a synced store, `mirrord serve`d, an apt sandbox
#                    pointing at the snapshot (upstream's key)
# abuse_round NAME DURATION ABUSE_ARGS...
#                    abuse.py against the server for DURATION seconds while
#                    apt_loop runs `apt-get update` + `apt-get download
#                    hello` over and over; results in $T/NAME.*; sets
#                    ROUND_FAIL (a list of what went wrong, "" if nothing)
#                    and ROUND_SUMMARY (one line of numbers).

ABUSE_DIR=$ROOT/tests/abuse
RSS_LIMIT_KB=${RSS_LIMIT_KB:-153600}	# 150 MB

abuse_setup() {
	setup_synced
	fixture_packages "$ARCHIVE" >"$T/pkgs"
	HELLO_VER=$(awk '$1 == "stable-updates" && $2 == "hello" &&
	    $3 == "amd64" { print $4 }' "$T/pkgs")
	HELLO_SHA=$(awk '$1 == "stable-updates" && $2 == "hello" &&
	    $3 == "amd64" { print $6 }' "$T/pkgs")
	[ -n "$HELLO_SHA" ] || fail "no hello amd64 in the fixture's stable-updates"
	# The files abuse.py asks for (and checks the bytes of): every pool
	# file of stable-updates amd64 and an InRelease.
	ABUSE_FILES="--file /demo/$SNAP1/dists/stable/InRelease=$ARCHIVE/dists/stable/InRelease"
	for _f in $(awk '$1 == "stable-updates" && $3 == "amd64" { print $5 }' \
	    "$T/pkgs" | sort -u); do
		ABUSE_FILES="$ABUSE_FILES --file /demo/$SNAP1/$_f=$ARCHIVE/$_f"
	done
	BOX=$T/box
	apt_box "$BOX"
	start_serve
	SERVE_MPID=$(ps -o pid= --ppid "$SERVE_PID" | tr -d ' ')
	[ -n "$SERVE_MPID" ] || fail "no mirrord under pid $SERVE_PID"
	_write_sources
}

_write_sources() {	# after start_serve (the port may change)
	cat >"$BOX/etc/apt/sources.list" <<EOF
deb [signed-by=$KEY] $SERVE_URL/demo/$SNAP1 stable main contrib
deb [signed-by=$KEY] $SERVE_URL/demo/$SNAP1 stable-updates main contrib
EOF
}

# restart_serve KEY VALUE...: stops the server, sets the global keys,
# starts it again.
restart_serve() {
	stop_serve
	while [ $# -ge 2 ]; do
		set_global "$1" "$2"
		shift 2
	done
	start_serve
	SERVE_MPID=$(ps -o pid= --ppid "$SERVE_PID" | tr -d ' ')
	_write_sources
}

# apt_loop LOG STOPFILE: until STOPFILE exists, a fresh `apt-get update`
# (lists removed first, so every index is fetched again) and `apt-get
# download hello` (its sha256 checked). One line per run in LOG: "ok MS"
# or "fail MS WHAT"; each failing run's output is kept as LOG.N.
apt_loop() {
	_log=$1
	_stop=$2
	_n=0
	: >"$_log"
	while [ ! -e "$_stop" ]; do
		_n=$((_n + 1))
		_t0=$(now_ms)
		_what=""
		rm -rf "$BOX/var/lib/apt/lists"
		mkdir -p "$BOX/var/lib/apt/lists/partial"
		rm -rf "$T/dl"
		mkdir -p "$T/dl"
		if ! apt_get "$BOX" update >"$_log.out" 2>&1; then
			_what="apt-get update exited non-zero"
		elif grep -Eq '^(W|E|Err):' "$_log.out"; then
			_what="apt-get update warned"
		elif ! (cd "$T/dl" && apt_get "$BOX" download hello) \
		    >>"$_log.out" 2>&1; then
			_what="apt-get download hello exited non-zero"
		elif [ "$(file_sha256 "$T/dl/hello_${HELLO_VER}_amd64.deb" \
		    2>/dev/null)" != "$HELLO_SHA" ]; then
			_what="the downloaded hello .deb has the wrong sha256"
		fi
		_ms=$(($(now_ms) - _t0))
		if [ -z "$_what" ]; then
			echo "ok $_ms" >>"$_log"
		else
			echo "fail $_ms $_what" >>"$_log"
			cp "$_log.out" "$_log.$_n"
		fi
	done
}

# metric NAME: its value in /metrics ("" if none).
metric() {
	curl -s --max-time 5 "$SERVE_URL/metrics" 2>/dev/null |
	    awk -v n="$1" '$1 == n { print $2 }'
}

abuse_round() {
	_name=$1
	_dur=$2
	shift 2
	ROUND_FAIL=""
	step "round '$_name': abuse.py --duration $_dur $* (apt-get loop meanwhile)"
	_refused0=$(metric mirrord_http_refused_connections_total)
	rm -f "$T/$_name.stop"
	apt_loop "$T/$_name.apt" "$T/$_name.stop" &
	_apt=$!
	_pids="$_pids $_apt"
	_arc=0
	timeout $((_dur + 120)) "$PYTHON" "$ABUSE_DIR/abuse.py" \
	    --port "$SERVE_PORT" --pid "$SERVE_MPID" $ABUSE_FILES \
	    --out "$T/$_name.json" --duration "$_dur" "$@" \
	    >"$T/$_name.abuse.log" 2>&1 || _arc=$?
	touch "$T/$_name.stop"
	# the apt run in progress ends (each apt-get is bounded at 60 s)
	wait "$_apt" 2>/dev/null || true
	forget_pid "$_apt"
	[ "$_arc" = 0 ] || fail "abuse.py exited $_arc: $(tail -n 20 "$T/$_name.abuse.log")"

	# The server is alive and well.
	kill -0 "$SERVE_MPID" 2>/dev/null ||
		fail "mirrord serve died during round '$_name': $(tail -n 5 "$T/serve.log")"
	_s=$(http_status "$SERVE_URL/healthz")
	[ "$_s" = 200 ] || ROUND_FAIL="$ROUND_FAIL; /healthz answered $_s after the round"

	# Open connections go back to ~0 (our /metrics request is 1), well
	# before Client-Timeout (30 s) would close what the server missed: 20 s,
	# as a sanitized server once took more than 10 on a machine busy with
	# another job's kill -9 and syncfs loops (and passed 5 of 5 runs after).
	_i=0
	while :; do
		_open=$(metric mirrord_http_open_connections)
		[ -n "$_open" ] && [ "$_open" -le 2 ] && break
		_i=$((_i + 1))
		if [ "$_i" -gt 200 ]; then
			ROUND_FAIL="$ROUND_FAIL; mirrord_http_open_connections is '$_open' 20 s after the abusers left"
			break
		fi
		sleep 0.1
	done
	_refused=$(( $(metric mirrord_http_refused_connections_total) - _refused0 ))

	# abuse.py's findings, in numbers
	"$PYTHON" - "$T/$_name.json" "$RSS_LIMIT_KB" >"$T/$_name.summary" <<'EOF'
import json, sys
j, limit = json.load(open(sys.argv[1])), int(sys.argv[2])
c = j["counts"]
def n(cat, *keys):
    return sum(c.get(cat, {}).get(k, 0) for k in keys)
churn = c.get("churn", {})
print("summary churn_attempts=%d churn_connected=%d churn_refused=%d "
      "idle_opened=%d idle_most=%d idle_server_closed=%d trickle_opened=%d "
      "trickle_longest_s=%s answers=%d peak_rss_kb=%d rss_samples=%d "
      "violations=%d" % (
    sum(v for k, v in churn.items() if not k.startswith("seconds") and k != "reset"),
    churn.get("connected", 0), churn.get("refused", 0),
    n("idle", "opened"), j["idle_most_at_once"],
    n("idle", "closed-by-server", "reset-by-server"),
    n("trickle", "opened"), j["trickle_longest_life_s"], j["answers"],
    j["rss"].get("peak_kb", 0), j["rss"].get("samples", 0), j["violations"]))
for cat in sorted(c):
    print("counts %s %s" % (cat, " ".join("%s=%d" % kv for kv in sorted(c[cat].items()))))
for e in j["examples"]:
    print("violation " + e)
if j["rss"].get("peak_kb", 0) >= limit:
    print("fail peak RSS %d kB, over %d kB" % (j["rss"]["peak_kb"], limit))
if j["rss"].get("samples", 0) < 10:
    print("fail only %d RSS samples" % j["rss"].get("samples", 0))
if j["violations"]:
    print("fail %d answers the server must never give (see the violations)" % j["violations"])
EOF
	sed 's/^/# /' "$T/$_name.summary"
	_ok=$(grep -c '^ok' "$T/$_name.apt" || true)
	_bad=$(grep -c '^fail' "$T/$_name.apt" || true)
	_ms=$(awk '$1 == "ok" { s += $2; if ($2 > m) m = $2 } END {
	    if (NR) printf "mean %d ms, max %d ms", s / (NR ? NR : 1), m }' "$T/$_name.apt")
	ROUND_SUMMARY="$_name: $(sed -n 's/^summary //p' "$T/$_name.summary") refused_by_server=$_refused apt_ok=$_ok apt_failed=$_bad ($_ms)"
	step "$ROUND_SUMMARY"
	grep '^fail' "$T/$_name.apt" | sort | uniq -c | sed 's/^/#   apt: /' | head -n 5
	_first=$(ls "$T/$_name.apt".[0-9]* 2>/dev/null | head -n 1)
	[ -z "$_first" ] || sed -n '1,15s/^/#   | /p' "$_first"
	while read -r _l; do
		[ -z "$_l" ] || ROUND_FAIL="$ROUND_FAIL; ${_l#fail }"
	done <<EOF
$(grep '^fail' "$T/$_name.summary" || true)
EOF
	[ "$_ok" -ge 1 ] || ROUND_FAIL="$ROUND_FAIL; no apt-get run completed"
	[ "$_bad" = 0 ] ||
		ROUND_FAIL="$ROUND_FAIL; $_bad of $((_ok + _bad)) apt-get runs failed"
	ROUND_FAIL=${ROUND_FAIL#; }
}
