#!/bin/bash
# bench/serve.sh MIRRORD — compare `mirrord serve` against nginx serving the same files.
#
# A small signed upstream (bench/mkserve.py: ~60 KB stand-in .debs, ~1.5 MB files, one
# 100 MB file) is served by nginx, synced by mirrord into a fresh store, then both servers
# are loaded with wrk on 127.0.0.1 (keep-alive): nginx over the upstream directory, mirrord at
# /demo/<snapshot-id>/pool/....  Every figure is a ratio against nginx in the same run; the
# only verdict is the summary line saying whether each target is met.  See bench/README.md.
#
# Environment:
#   BENCH_DIR=DIR                  work and result directory (default build/bench)
#   BENCH_SERVE_DURATION=S         seconds per measured wrk run (default 5)
#   BENCH_SERVE_ROUNDS=N           measured runs per server and case, medians (default 3)
#   BENCH_SERVE_WARMUP=S           seconds of warm-up per server and case (default 2)
#   BENCH_SERVE_THREADS=N          wrk threads (default 2)
#   BENCH_SERVE_LARGE_CONNS=N      connections for the 100 MB file (default 10)
#   BENCH_SERVE_CASES="C..."       only these cases, of: small100 revalidate100 medium100
#                                  h2medium100 large small1000 revalidate1000 (default all)
#   BENCH_PROFILE=1                afterwards, profile mirrord on the small-file load
#                                  (perf record -g, strace -c) into the run directory
#   BENCH_REBUILD=1                regenerate the cached upstream
#   BENCH_KEEP=1                   keep the mirrord store after the run
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
MIRRORD=${1:-$top/build/mirrord}
case $MIRRORD in /*) ;; *) MIRRORD=$PWD/$MIRRORD ;; esac
BDIR=${BENCH_DIR:-$top/build/bench}
DUR=${BENCH_SERVE_DURATION:-5}
ROUNDS=${BENCH_SERVE_ROUNDS:-3}
WARM=${BENCH_SERVE_WARMUP:-2}
THREADS=${BENCH_SERVE_THREADS:-2}
LARGE_CONNS=${BENCH_SERVE_LARGE_CONNS:-10}

say() { printf 'bench-serve: %s\n' "$*" >&2; }
die() { printf 'bench-serve: error: %s\n' "$*" >&2; exit 1; }

for t in nginx python3 gpg curl h2load; do
	command -v "$t" >/dev/null || die "'$t' is not installed (make deps-bench)"
done
if ! command -v wrk >/dev/null; then
	say "installing wrk"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null ||
	    die "cannot install wrk"
fi
HAVE_MIRRORD=1
if [ ! -x "$MIRRORD" ]; then
	say "'$MIRRORD' does not exist: measuring nginx only"
	HAVE_MIRRORD=0
fi
# wrk holds one socket per connection; mirrord and nginx raise their own limits.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 2048 ] || die "the open-file limit ($(ulimit -n)) is too low for 1,000 connections"

mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
# Not run.sh's run/: `make bench` runs both and each keeps its own logs.
RUN=$BDIR/serve-run
RES=$BDIR/serve-results.txt
rm -rf "$RUN"
mkdir -p "$RUN/nginx/client_body" "$RUN/nginx/proxy"
if [ "$HAVE_MIRRORD" = 1 ]; then
	MIRRORD_DESC="'$MIRRORD' built $(stat -c '%y' "$MIRRORD" | cut -c1-19)"
	say "measuring $MIRRORD_DESC, copied to '$RUN/mirrord'"
	cp "$MIRRORD" "$RUN/mirrord" || die "cannot copy '$MIRRORD'"
	MIRRORD=$RUN/mirrord
fi

# ---------------------------------------------------------------- upstream (cached)
UP=$BDIR/upstream-serve
stamp=$(sha256sum < "$here/mkserve.py" | cut -c1-16)
if [ "${BENCH_REBUILD:-0}" = 1 ] || [ "$(cat "$UP/.stamp" 2>/dev/null)" != "$stamp" ]; then
	say "building the serving upstream in '$UP'"
	python3 "$here/mkserve.py" "$UP" || die "mkserve.py failed"
	echo "$stamp" > "$UP/.stamp"
fi
# shellcheck disable=SC1091
. "$UP/shape.env"
KEY=$UP/archive-key.gpg

# ---------------------------------------------------------------- helpers
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
mb() { calc '%.1f' "$1 / 1024"; }
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# cpu_ticks PID...: user + system clock ticks of the processes (all their threads).
cpu_ticks() {
	local p t=0 u s
	for p in "$@"; do
		read -r u s < <(awk '{ print $14, $15 }' "/proc/$p/stat" 2>/dev/null || echo 0 0)
		t=$((t + u + s))
	done
	echo "$t"
}
hwm_kb() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status" 2>/dev/null; }

ROWS=()
SUMMARY=()
FAILURES=()
NOTES=()
RUNS=()
# row METRIC NGINX MIRRORD RATIO TARGET MET
row() { ROWS+=("$(printf '%-34s|%14s|%14s|%14s|%12s|%4s' "$@")"); }
verdict() { SUMMARY+=("$1: $2"); }

# ---------------------------------------------------------------- nginx
NPORT=$(free_port)
sed -e "s|@ROOT@|$UP/www|g" -e "s|@PORT@|$NPORT|g" -e "s|@RUN@|$RUN/nginx|g" \
    -e "s|@USER@|$(id -un)|g" -e "s|@WORKERS@|$(nproc)|g" "$here/nginx-serve.conf.in" \
    > "$RUN/nginx/nginx.conf"
nginx -p "$RUN/nginx" -e "$RUN/nginx/error.log" -c "$RUN/nginx/nginx.conf" \
    > "$RUN/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
MIRRORD_PID=
cleanup() {
	local p
	for p in "$MIRRORD_PID" "$NGINX_PID"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
NURL=http://127.0.0.1:$NPORT
for _ in $(seq 50); do
	curl -sf -o /dev/null "$NURL/debian/dists/$CODENAME/InRelease" && break
	kill -0 "$NGINX_PID" 2>/dev/null || die "nginx did not start: $(cat "$RUN/nginx/error.log")"
	sleep 0.1
done
curl -sf -o /dev/null "$NURL/debian/dists/$CODENAME/InRelease" || die "nginx does not answer on $NURL"
nginx_workers() { pgrep -P "$NGINX_PID" | tr '\n' ' '; }
say "upstream: $POOL_FILES pool files ($(calc '%.1f' "$POOL_BYTES / 1e6") MB), nginx" \
    "($(nproc) workers) at $NURL"

# ---------------------------------------------------------------- mirrord sync + serve
MURL=
SNAP=
if [ "$HAVE_MIRRORD" = 1 ]; then
	MPORT=$(free_port)
	cat > "$RUN/mirrord.conf" <<EOF
Store: $RUN/store
Listen: 127.0.0.1:$MPORT
Log-File: $RUN/mirrord-access.log
# wrk's 1,000 connections stand for 1,000 clients but come from one address.
Max-Clients-Per-IP: 1024

Name: demo
Types: deb
URIs: $NURL/debian
Suites: $CODENAME
Components: $COMPONENTS
Architectures: $ARCHS
Signed-By: $KEY
EOF
	say "mirrord: syncing the upstream into '$RUN/store'"
	if ! "$MIRRORD" -q -c "$RUN/mirrord.conf" sync > "$RUN/sync.out" 2> "$RUN/sync.err"; then
		FAILURES+=("sync: $(tail -n3 "$RUN/sync.err" | tr '\n' ' ')")
	else
		SNAP=$(awk '$1 == "demo" { print $2 }' "$RUN/sync.out")
		[ -n "$SNAP" ] || FAILURES+=("sync printed no 'demo SNAPSHOTID' line")
	fi
	if [ -n "$SNAP" ]; then
		"$MIRRORD" -c "$RUN/mirrord.conf" serve > "$RUN/serve.out" 2> "$RUN/serve.err" &
		MIRRORD_PID=$!
		MURL=http://127.0.0.1:$MPORT
		for _ in $(seq 100); do
			curl -sf -o /dev/null "$MURL/healthz" && break
			kill -0 "$MIRRORD_PID" 2>/dev/null || break
			sleep 0.1
		done
		if ! curl -sf -o /dev/null "$MURL/healthz"; then
			FAILURES+=("serve did not answer on $MURL: $(tail -n3 "$RUN/serve.err" | tr '\n' ' ')")
			MURL=
		else
			say "mirrord: snapshot $SNAP served at $MURL/demo/$SNAP/ (pid $MIRRORD_PID)"
		fi
	fi
fi

# ---------------------------------------------------------------- URL lists + checks
# Writes RUN/lists/{nginx,mirrord}-{small,revalidate,medium,h2medium,large}.txt, one request
# a line: a PATH for wrk, a full URL for h2load (revalidate, h2medium).  Every file is
# fetched once from each server and its SHA-256 checked (which also warms the page cache
# and both servers' caches); each small file is checked to give a 304 to
# If-Modified-Since: $IMS (now).
mkdir -p "$RUN/lists"
IMS=$(date -u '+%a, %d %b %Y %H:%M:%S GMT')
python3 - "$UP/files.txt" "$RUN/lists" "$NPORT" "${MPORT:-0}" "${MURL:+/demo/$SNAP}" "$IMS" \
    > "$RUN/check.out" 2> "$RUN/check.err" <<'EOF'
import hashlib, http.client, sys
files, out, nport, mport, mprefix, ims = sys.argv[1:7]
rows = [l.split() for l in open(files) if l.strip()]
servers = [("nginx", int(nport), "/debian", "Last-Modified")]
if mprefix:
    servers.append(("mirrord", int(mport), mprefix, "ETag"))
bad = 0
for name, port, prefix, vname in servers:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    lists = {k: [] for k in ("small", "revalidate", "medium", "h2medium", "large")}
    for cls, size, sha, rel in rows:
        path = prefix + "/" + rel
        c.request("GET", path)
        r = c.getresponse()
        h = hashlib.sha256()
        n = 0
        while True:
            b = r.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
        v = r.getheader(vname)
        if r.status != 200 or n != int(size) or h.hexdigest() != sha or v is None:
            print("%s: GET %s: status %d, %d bytes, sha256 %s, %s %s" % (
                name, path, r.status, n, h.hexdigest(), vname, v), file=sys.stderr)
            bad += 1
            continue
        if name == "mirrord" and v != '"%s"' % sha:
            print("%s: %s: ETag %s is not the sha256" % (name, path, v), file=sys.stderr)
        lists[cls].append(path)
        if cls == "medium":
            lists["h2medium"].append("http://127.0.0.1:%d%s" % (port, path))
        if cls == "small":
            # Revalidations: h2load sends one If-Modified-Since date (the time the lists
            # were made, later than every file's Last-Modified) with every request.
            c.request("GET", path, headers={"If-Modified-Since": ims})
            r = c.getresponse()
            r.read()
            if r.status != 304:
                print("%s: GET %s with If-Modified-Since: %s: status %d, not 304" % (
                    name, path, ims, r.status), file=sys.stderr)
                bad += 1
                continue
            lists["revalidate"].append("http://127.0.0.1:%d%s" % (port, path))
    for k, v in lists.items():
        with open("%s/%s-%s.txt" % (out, name, k), "w") as f:
            f.write("\n".join(v) + "\n")
    print("%s: %s" % (name, " ".join("%s %d" % (k, len(v)) for k, v in lists.items())))
sys.exit(1 if bad else 0)
EOF
check_rc=$?
if [ "$check_rc" != 0 ]; then
	if grep -q '^nginx:' "$RUN/check.err"; then
		die "nginx does not serve the upstream as expected: $(head -n3 "$RUN/check.err")"
	fi
	FAILURES+=("content check: $(head -n3 "$RUN/check.err" | tr '\n' ' ')")
	[ -s "$RUN/lists/mirrord-small.txt" ] || MURL=
fi
say "checked content and validators: $(tr '\n' ';' < "$RUN/check.out")"

# The wrk script: requests rotate over the list given after `--` (each thread starting at
# its own offset), prepared once in init(); done() prints one machine-readable line.
cat > "$RUN/rotate.lua" <<'EOF'
local reqs, n, i = {}, 0, 0
local threads = 0
function setup(thread)
	thread:set("tid", threads)
	threads = threads + 1
end
function init(args)
	for line in io.lines(args[1]) do
		local path, hname, hval = line:match("^([^\t]+)\t?([^\t]*)\t?(.*)$")
		if path then
			local h = {}
			if hname ~= "" then h[hname] = hval end
			n = n + 1
			reqs[n] = wrk.format("GET", path, h)
		end
	end
	i = (tid * 7919) % n
end
function request()
	i = i % n + 1
	return reqs[i]
end
function done(s, lat, req)
	local e = s.errors
	io.write(string.format("RESULT requests=%d duration_us=%d bytes=%d errors=%d " ..
	    "connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
	    s.requests, s.duration, s.bytes, e.connect + e.read + e.write + e.status + e.timeout,
	    e.connect, e.read, e.write, e.status, e.timeout, lat:percentile(50),
	    lat:percentile(99), lat.max))
end
EOF

# ---------------------------------------------------------------- load
# load SERVER CASE CONNS TIMEOUT SECS TAG: one wrk run of SECS seconds, output in
# RUN/wrk-SERVER-CASE-cCONNS-TAG.txt; sets RPS, MBPS (MB/s, 1e6 bytes), P99 (ms) and CPU_US
# (the server's CPU microseconds per request, all its processes and threads).  RPS is
# empty on failure.
load() {
	local server=$1 cs=$2 conns=$3 to=$4 secs=$5 tag=$6 url pids out t0 t1 res e
	local w_requests w_duration_us w_bytes w_errors w_connect w_read w_write w_status
	local w_timeout w_p50_us w_p99_us w_max_us
	RPS='' MBPS='' P99='' CPU_US=''
	if [ "$server" = nginx ]; then url=$NURL pids=$(nginx_workers); else url=$MURL pids=$MIRRORD_PID; fi
	out=$RUN/wrk-$server-$cs-c$conns-$tag.txt
	if [ "$cs" = revalidate ] || [ "$cs" = h2medium ]; then
		load_h2load "$@"
		return
	fi
	# shellcheck disable=SC2086
	t0=$(cpu_ticks $pids)
	wrk -t"$THREADS" -c"$conns" -d"${secs}s" --timeout "$to" --latency -s "$RUN/rotate.lua" \
	    "$url" -- "$RUN/lists/$server-$cs.txt" > "$out" 2>&1
	# shellcheck disable=SC2086
	t1=$(cpu_ticks $pids)
	[ "$tag" = warmup ] && return
	if ! res=$(grep '^RESULT ' "$out"); then
		FAILURES+=("$server $cs c$conns: wrk: $(tail -n2 "$out" | tr '\n' ' ')")
		return
	fi
	# The values of "RESULT requests=N duration_us=N ...", in done()'s order.
	# shellcheck disable=SC2001
	read -r w_requests w_duration_us w_bytes w_errors w_connect w_read w_write w_status \
	    w_timeout w_p50_us w_p99_us w_max_us < <(echo "${res#RESULT }" | sed 's/[a-z0-9_]*=//g')
	if [ "$w_requests" = 0 ]; then
		FAILURES+=("$server $cs c$conns: wrk completed no request in ${secs}s ($w_bytes bytes read)")
		return
	fi
	RPS=$(calc '%.0f' "$w_requests / ($w_duration_us / 1e6)")
	MBPS=$(calc '%.1f' "$w_bytes / $w_duration_us")
	P99=$(calc '%.2f' "$w_p99_us / 1000")
	CPU_US=$(calc '%.1f' "($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / $w_requests")
	if [ "$w_errors" != 0 ]; then
		e="$server $cs c$conns $tag: $w_errors wrk errors (connect $w_connect, read $w_read,"
		e="$e write $w_write, status $w_status, timeout $w_timeout)"
		if [ "$server" = nginx ]; then NOTES+=("$e"); else FAILURES+=("$e"); fi
	fi
	say "  $server $tag: $RPS req/s, $MBPS MB/s, latency p50 $(calc '%.2f' "$w_p50_us / 1000")" \
	    "p99 $P99 max $(calc '%.0f' "$w_max_us / 1000") ms, server CPU $CPU_US us/req," \
	    "errors $w_errors"
}

# load_h2load: load() for the 304 case, with h2load (HTTP/1.1, keep-alive) rather than wrk;
# and for the 1.5 MB files (h2medium: 200s, no If-Modified-Since), a second client's view
# of their latency beside wrk's.
# wrk's http_parser waits for a body after a 304 that carries Content-Length, which RFC 9110
# 8.6 allows (the 200's length; libmicrohttpd 0.9.75 always sends it) although RFC 9112 6.3
# says a 304 has no body; h2load's llhttp follows RFC 9112.  Both servers get the same
# If-Modified-Since date on every request; p50/p99 come from h2load's per-request log.
load_h2load() {
	local server=$1 cs=$2 conns=$3 secs=$5 tag=$6 pids out log t0 t1 line fin ok bad
	local want=304 ims=("-H" "If-Modified-Since: $IMS") traffic
	if [ "$server" = nginx ]; then pids=$(nginx_workers); else pids=$MIRRORD_PID; fi
	out=$RUN/h2load-$server-$cs-c$conns-$tag.txt
	log=$RUN/h2load-$server-$cs-c$conns-$tag.log
	[ "$cs" = h2medium ] && want=200 ims=()
	# shellcheck disable=SC2086
	t0=$(cpu_ticks $pids)
	h2load --h1 -t"$THREADS" -c"$conns" -D"$secs" -i "$RUN/lists/$server-$cs.txt" \
	    "${ims[@]}" --log-file="$log" > "$out" 2>&1
	# shellcheck disable=SC2086
	t1=$(cpu_ticks $pids)
	[ "$tag" = warmup ] && return
	fin=$(grep '^finished in' "$out")
	line=$(grep '^requests:' "$out")
	if [ -z "$fin" ] || [ -z "$line" ] || [ ! -s "$log" ]; then
		FAILURES+=("$server $cs c$conns: h2load: $(tail -n2 "$out" | tr '\n' ' ')")
		return
	fi
	# "requests: T total, S started, D done, OK succeeded, F failed, E errored, X timeout"
	read -r ok bad < <(echo "$line" | awk '{ print $8, $10 + $12 + $14 }')
	# "status codes: A 2xx, B 3xx, C 4xx, D 5xx": only 304s (or 200s) count.
	bad=$((bad + $(awk -v w="$want" '/^status codes:/ {
	    print (w == 304 ? $3 : $5) + $7 + $9 }' "$out")))
	RPS=$(echo "$fin" | sed 's/.*, \([0-9.]*\) req\/s.*/\1/' | xargs printf '%.0f')
	# "traffic: 7.26GB (7795000000) total, ...": bytes, headers included, over the run.
	traffic=$(awk '/^traffic:/ { gsub(/[()]/, "", $3); print $3 }' "$out")
	MBPS=$(calc '%.1f' "${traffic:-0} / $secs / 1e6")
	read -r w_p50_us P99 < <(awk '{ print $3 }' "$log" | sort -n | awk '{ v[NR] = $1 }
	    END { printf "%d %.2f\n", v[int(NR * 0.5) + 1], v[int(NR * 0.99) + 1] / 1000 }')
	CPU_US=$(calc '%.1f' "($t1 - $t0) * 1e6 / $(getconf CLK_TCK) / ($ok > 0 ? $ok : 1)")
	if [ "$bad" != 0 ]; then
		e="$server $cs c$conns $tag: $bad h2load requests failed or were not $want"
		if [ "$server" = nginx ]; then NOTES+=("$e"); else FAILURES+=("$e"); fi
	fi
	say "  $server $tag: $RPS req/s, $MBPS MB/s, latency p50 $(calc '%.2f' "$w_p50_us / 1000")" \
	    "p99 $P99 ms, server CPU $CPU_US us/req, failed or not $want: $bad"
}

# stuck_check WHAT: a second after wrk closed all its connections, mirrord's /metrics must
# answer and count no more than a few open connections; otherwise a failure is recorded
# (once per WHAT).  libmicrohttpd splits the connection limit between its pool threads, and
# a thread that reached its share was seen to leave its closed connections open until the
# idle timeout, and to stop answering with all its threads in that state.
STUCK_SEEN=' '
stuck_check() {
	local what=$1 open
	case $STUCK_SEEN in *" $what "*) return ;; esac
	sleep 1
	open=$(curl -s -m 3 "$MURL/metrics" | awk '$1 == "mirrord_http_open_connections" { print $2 }')
	if [ -z "$open" ]; then
		FAILURES+=("after $what: /metrics did not answer within 3 s of wrk closing its connections")
	elif [ "$open" -gt 5 ]; then
		FAILURES+=("after $what: $open connections still open in mirrord 1 s after wrk closed all of them")
	else
		return
	fi
	STUCK_SEEN="$STUCK_SEEN$what "
}

# bench_case LABEL CASE CONNS TIMEOUT UNIT rps|mbps TARGET_RATIO JUDGE_P99
# A warm-up run per server, then ROUNDS rounds of one measured run per server, alternating
# which goes first (the machine is shared: load from elsewhere hits both alike); each
# figure is the median over the rounds.
bench_case() {
	case " ${BENCH_SERVE_CASES:-$2$3} " in *" $2$3 "*|*" $2 "*) ;; *) return ;; esac
	local label=$1 cs=$2 conns=$3 to=$4 unit=$5 kind=$6 tr=$7 jp=$8
	local r met name i order srv m_ok=0 skip=''
	local -a n_v=() n_p=() n_c=() m_v=() m_p=() m_c=()
	say "$label, $conns connections"
	[ -n "$MURL" ] && [ -z "$skip" ] && m_ok=1
	load nginx "$cs" "$conns" "$to" "$WARM" warmup
	[ "$m_ok" = 1 ] && load mirrord "$cs" "$conns" "$to" "$WARM" warmup
	for i in $(seq "$ROUNDS"); do
		order="nginx mirrord"
		[ $((i % 2)) = 0 ] && order="mirrord nginx"
		for srv in $order; do
			[ "$srv" = mirrord ] && [ "$m_ok" = 0 ] && continue
			load "$srv" "$cs" "$conns" "$to" "$DUR" "$i"
			[ "$srv" = mirrord ] && stuck_check "$label c$conns"
			if [ -z "$RPS" ]; then
				[ "$srv" = nginx ] && die "nginx $cs c$conns: no wrk result (see $RUN)"
				m_ok=0
				continue
			fi
			if [ "$srv" = nginx ]; then
				if [ "$kind" = rps ]; then n_v+=("$RPS"); else n_v+=("$MBPS"); fi
				n_p+=("$P99") n_c+=("$CPU_US")
			else
				if [ "$kind" = rps ]; then m_v+=("$RPS"); else m_v+=("$MBPS"); fi
				m_p+=("$P99") m_c+=("$CPU_US")
			fi
		done
		if [ "$m_ok" = 1 ] && ! kill -0 "$MIRRORD_PID" 2>/dev/null; then
			FAILURES+=("mirrord serve died during $cs c$conns: $(tail -n3 "$RUN/serve.err" | tr '\n' ' ')")
			MURL='' m_ok=0
		fi
	done
	NV=$(printf '%s\n' "${n_v[@]}" | median) NP=$(printf '%s\n' "${n_p[@]}" | median)
	NC=$(printf '%s\n' "${n_c[@]}" | median)
	name="$label c$conns ($unit)"
	if [ "$m_ok" = 1 ] && [ "${#m_v[@]}" = "$ROUNDS" ]; then
		MV=$(printf '%s\n' "${m_v[@]}" | median) MP=$(printf '%s\n' "${m_p[@]}" | median)
		MC=$(printf '%s\n' "${m_c[@]}" | median)
		RUNS+=("$label c$conns, nginx: ${n_v[*]}; mirrord: ${m_v[*]} ($unit)")
		r=$(calc '%.2f' "$MV / $NV")
		met=$(calc '%s' "($r >= $tr) ? \"yes\" : \"no\"")
		row "$name" "$NV" "$MV" "${r}x" ">= ${tr}x" "$met"
		verdict "$label c$conns >= ${tr}x" "$met"
		r=$(calc '%.2f' "$MP / ($NP > 0 ? $NP : 0.01)")
		if [ "$jp" = 1 ]; then
			met=$(calc '%s' "($MP <= $NP) ? \"yes\" : \"no\"")
			row "  p99 latency (ms)" "$NP" "$MP" "${r}x" "<= 1.0x" "$met"
			verdict "$label c$conns p99" "$met"
		else
			row "  p99 latency (ms)" "$NP" "$MP" "${r}x" "-" "-"
		fi
		row "  server CPU (us/request)" "$NC" "$MC" \
		    "$(calc '%.2f' "$MC / ($NC > 0 ? $NC : 0.1)")x" "-" "-"
	else
		RUNS+=("$label c$conns, nginx: ${n_v[*]} ($unit)")
		row "$name" "$NV" "n/a" "-" ">= ${tr}x" "n/a"
		verdict "$label c$conns >= ${tr}x" "n/a"
		row "  p99 latency (ms)" "$NP" "n/a" "-" "$([ "$jp" = 1 ] && echo '<= 1.0x' || echo -)" \
		    "$([ "$jp" = 1 ] && echo n/a || echo -)"
		[ "$jp" = 1 ] && verdict "$label c$conns p99" "n/a"
		row "  server CPU (us/request)" "$NC" "n/a" "-" "-" "-"
	fi
}

# Read every file once more so that neither server pays for a cold page cache.
find "$UP/www" -type f -print0 | xargs -0 cat > /dev/null
[ -d "$RUN/store/blobs" ] && find "$RUN/store/blobs" -type f -print0 | xargs -0 cat > /dev/null

say "wrk -t$THREADS; per case and server ${WARM}s of warm-up, then $ROUNDS runs of ${DUR}s"
# The 1,000-connection cases come last: a server left with stuck connections by one of them
# (see stuck_check) must not spoil the other cases.
bench_case "small ~60 KB" small 100 5s "req/s" rps 1.0 1
bench_case "304 revalidation" revalidate 100 5s "req/s" rps 1.0 1
bench_case "1.5 MB" medium 100 30s "MB/s" bps 0.95 0
bench_case "1.5 MB, h2load" h2medium 100 30s "MB/s" bps 0.95 0
bench_case "100 MB" large "$LARGE_CONNS" 60s "MB/s" bps 0.95 0
bench_case "small ~60 KB" small 1000 10s "req/s" rps 1.0 1
bench_case "304 revalidation" revalidate 1000 10s "req/s" rps 1.0 1

n_kb=0
for p in $(nginx_workers); do n_kb=$((n_kb + $(hwm_kb "$p"))); done
if [ -n "$MURL" ]; then
	m_kb=$(hwm_kb "$MIRRORD_PID")
	met=$(calc '%s' "($m_kb < 100 * 1024) ? \"yes\" : \"no\"")
	row "peak RSS (MB; nginx: workers)" "$(mb "$n_kb")" "$(mb "$m_kb")" \
	    "$(calc '%.2f' "$m_kb / $n_kb")x" "< 100 MB" "$met"
	verdict "mirrord serve RSS < 100 MB" "$met"
else
	row "peak RSS (MB; nginx: workers)" "$(mb "$n_kb")" "n/a" "-" "< 100 MB" "n/a"
	verdict "mirrord serve RSS < 100 MB" "n/a"
fi

# ---------------------------------------------------------------- optional profile
if [ "${BENCH_PROFILE:-0}" = 1 ] && [ -n "$MURL" ]; then
	say "profiling mirrord serve under the small-file load (c100)"
	if command -v perf >/dev/null; then
		wrk -t"$THREADS" -c100 -d"$((DUR + 2))s" -s "$RUN/rotate.lua" "$MURL" -- \
		    "$RUN/lists/mirrord-small.txt" > "$RUN/profile-wrk-perf.txt" 2>&1 &
		wpid=$!
		sleep 1
		perf record -g -o "$RUN/perf.data" -p "$MIRRORD_PID" -- sleep "$DUR" \
		    > "$RUN/perf-record.log" 2>&1
		wait "$wpid"
		# Flat by library and by symbol; then inclusive (syscalls and their kernel work).
		perf report -i "$RUN/perf.data" --stdio --no-children --sort dso -g none \
		    > "$RUN/perf-dso.txt" 2> /dev/null
		perf report -i "$RUN/perf.data" --stdio --no-children --sort dso,sym -g none \
		    --percent-limit 0.2 > "$RUN/perf-report.txt" 2> /dev/null
		perf report -i "$RUN/perf.data" --stdio --children --sort sym -g none \
		    --percent-limit 0.5 > "$RUN/perf-children.txt" 2> /dev/null
	fi
	if command -v strace >/dev/null; then
		wrk -t"$THREADS" -c100 -d"$((DUR + 2))s" -s "$RUN/rotate.lua" "$MURL" -- \
		    "$RUN/lists/mirrord-small.txt" > "$RUN/profile-wrk-strace.txt" 2>&1 &
		wpid=$!
		sleep 1
		timeout -s INT "$DUR" strace -c -f -p "$MIRRORD_PID" -o "$RUN/strace-c.txt" \
		    2> /dev/null
		wait "$wpid"
	fi
	NOTES+=("profile: $RUN/perf-dso.txt, perf-report.txt, perf-children.txt, strace-c.txt")
fi

# ---------------------------------------------------------------- report
{
	echo "mirrord serving benchmark, $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(nproc) CPUs shared by" \
	    "wrk, nginx and mirrord"
	echo "files: $SMALL_FILES x ~60 KB, $MEDIUM_FILES x ~1.5 MB, 1 x $LARGE_MB MB" \
	    "($(calc '%.1f' "$POOL_BYTES / 1e6") MB), the same bytes from both servers (sha256 checked)"
	echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(nproc) workers, sendfile," \
	    "tcp_nopush, open_file_cache, access log to a file (unbuffered); upstream dir over /debian/"
	echo "mirrord: ${MIRRORD_DESC:-not built}; serve defaults (one MHD thread per CPU, 1024 connections) but Max-Clients-Per-IP 1024 (wrk is one address)," \
	    "access log to a file; /demo/${SNAP:-?}/pool/..."
	echo "load: $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2), -t$THREADS, keep-alive," \
	    "per case and server ${WARM}s of warm-up then $ROUNDS runs of ${DUR}s, alternating" \
	    "which server goes first, medians shown; small and 304 rotate over $SMALL_FILES URLs" \
	    "(304: h2load $(h2load --version | awk '{ print $2; exit }') -t$THREADS, the same If-Modified-Since to both servers);" \
	    "100 MB with -c$LARGE_CONNS"
	echo
	printf '%-34s|%14s|%14s|%14s|%12s|%4s\n' metric nginx mirrord ratio target met
	printf '%s\n' "----------------------------------+--------------+--------------+--------------+------------+----"
	printf '%s\n' "${ROWS[@]}"
	echo
	echo "runs: $(printf '%s; ' "${RUNS[@]}")"
	[ "$HAVE_MIRRORD" = 0 ] && echo "mirrord: not measured ('$MIRRORD' does not exist)"
	for f in "${NOTES[@]}"; do
		echo "note: $f"
	done
	for f in "${FAILURES[@]}"; do
		echo "MIRRORD FAILURE: $f"
	done
	nyes=0 nall=0
	for s in "${SUMMARY[@]}"; do
		nall=$((nall + 1))
		case $s in *": yes") nyes=$((nyes + 1)) ;; esac
	done
	line=$(printf '%s; ' "${SUMMARY[@]}")
	echo "summary: $nyes/$nall serving targets met: ${line%; }"
	echo "logs: $RUN"
} > "$RES.tmp"
mv "$RES.tmp" "$RES"
cat "$RES"
if [ "${BENCH_KEEP:-0}" != 1 ]; then
	cleanup
	MIRRORD_PID='' NGINX_PID=
	rm -rf "$RUN/store"
fi
