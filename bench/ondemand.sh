#!/bin/bash
# bench/ondemand.sh MIRRORD — on-demand content (issue 17) on the real bookworm shape.
#
#   (a) `Download: on-demand` sync against a full (immediate) sync of the same upstream, each
#       into an empty store: wall time, CPU, peak RSS (/usr/bin/time), what the upstream sent
#       (requests and bytes, from its access log) and what the store holds afterwards.  The
#       expectation: an on-demand sync costs the indices alone.
#   (b) the first request of a pool file the store does not hold yet (~1.5 MB): time to first
#       byte and total (curl), median over distinct files (each one a cold fetch), against the
#       same file served from the store afterwards and against nginx proxy_cache in front of
#       the same upstream, cold (a distinct file per run too); once with the upstream on
#       loopback, once with it slowed down (nginx limit_rate), where streaming shows.
#
# Upstream: bench/mkupstream.py's bookworm shape (BENCH_DIR/upstream-bookworm, shared with
# run.sh and compose.sh) with OD_FILES packages given a stand-in of their real size, the ones
# whose size in apt's lists is nearest 1.5 MB (cached in BENCH_DIR/upstream-bookworm-ondemand;
# the rest of the pool is hard-linked).  One nginx serves it (also slowed, under /slow/) and,
# on a second port, proxies it with proxy_cache.  Nothing asserts; a figure that cannot be
# measured (mirrord answers anything but 200 with the right bytes) is n/a and says why.  See
# bench/README.md.
#
# Environment: BENCH_DIR (default build/bench), BENCH_CONNECTIONS (8), BENCH_OD_RUNS (7, at
# most OD_FILES / 4 - 1 = 7), BENCH_OD_RATE (1m: the slowed upstream's nginx limit_rate),
# BENCH_KEEP=1 keeps the stores.  About a minute with the cached upstream (the full sync stores
# 63,440 files); building the upstream adds a minute.
set -u -o pipefail

# here, top, MIRRORD, BDIR, LISTS_GLOB; measure, calc, median, free_port, start_nginx,
# bookworm_upstream
. "$(dirname "$0")/lib.sh"
CONN=${BENCH_CONNECTIONS:-8}
RUNS=${BENCH_OD_RUNS:-7}
RATE=${BENCH_OD_RATE:-1m}
OD_FILES=32
TARGET=1500000

say() { printf 'bench-ondemand: %s\n' "$*" >&2; }
die() { printf 'bench-ondemand: error: %s\n' "$*" >&2; exit 1; }

for t in nginx python3 gpg curl lz4 xz; do
	command -v "$t" >/dev/null || die "'$t' is not installed (make deps-bench)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' is not installed (apt-get install time)"
# Two sets (loopback, RATE) of a warm-up and RUNS cold requests for each server.
if [ "$RUNS" -lt 1 ] || [ $((4 * (RUNS + 1))) -gt "$OD_FILES" ]; then
	die "BENCH_OD_RUNS must be 1 to $((OD_FILES / 4 - 1))"
fi
lists=
for f in $LISTS_GLOB; do [ -f "$f" ] && lists=$f; done
if [ -z "$lists" ]; then
	say "skipped: no $LISTS_GLOB (apt-get update on a bookworm system)"
	exit 0
fi

mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
RUN=$BDIR/ondemand-run
RES=$BDIR/ondemand-results.txt
rm -rf "$RUN"
mkdir -p "$RUN/dl"
LOAD0=$(uptime | sed 's/.*load average: //')
HAVE_M=0
if [ -x "$MIRRORD" ]; then
	MDESC="'$MIRRORD' built $(stat -c '%y' "$MIRRORD" | cut -c1-19)"
	cp "$MIRRORD" "$RUN/mirrord" || die "cannot copy '$MIRRORD'"
	MIRRORD=$RUN/mirrord
	HAVE_M=1
else
	MDESC="'$MIRRORD' does not exist: n/a"
fi
say "mirrord: $MDESC"

# ---------------------------------------------------------------- upstream (cached)
bookworm_upstream "$lists"
UP2=$BDIR/upstream-bookworm-ondemand
stamp2=$( (echo "$UP_STAMP $OD_FILES $TARGET"; sed -n '/^# od begin/,/^# od end/p' "$0") |
    sha256sum | cut -c1-16)
if [ "$(cat "$UP2/.stamp" 2>/dev/null)" != "$stamp2" ]; then
	say "building '$UP2': $OD_FILES pool files at their real size (~1.5 MB)"
	rm -rf "$UP2"
	mkdir -p "$UP2/www"
	cp -al "$UP/www/debian" "$UP2/www/debian" || die "cannot link '$UP' into '$UP2'"
	rm -rf "$UP2/www/debian/dists"         # rewritten, never the linked files
# od begin
	BENCH_HERE=$here python3 - "$UP" "$UP2" "$lists" "$OD_FILES" "$TARGET" <<'PY' || die "building '$UP2' failed"
import hashlib, lzma, os, re, subprocess, sys, time
from email.utils import formatdate
up, up2, lists, nfiles, target = sys.argv[1:6]
sys.dont_write_bytecode = True     # no __pycache__ in the tree
sys.path.insert(0, os.environ["BENCH_HERE"])
import mkupstream as mk
# The real sizes, from apt's lists: the upstream's own index gives its stand-ins' sizes.
real = {}
raw = subprocess.run(["lz4", "-dc", lists], check=True, stdout=subprocess.PIPE).stdout
for para in raw.decode("utf-8", "surrogateescape").split("\n\n"):
    f = dict(l.split(": ", 1) for l in para.split("\n") if ": " in l and l[0] != " ")
    if "Filename" in f:
        real[f["Filename"]] = int(f["Size"])
pick = sorted(real, key=lambda fn: (abs(real[fn] - int(target)), fn))[:int(nfiles)]
www2 = os.path.join(up2, "www", "debian")
dist = "dists/bookworm"
text = lzma.decompress(open(os.path.join(up, "www/debian", dist, "main/binary-amd64/Packages.xz"),
                            "rb").read()).decode("utf-8", "surrogateescape")
pool = mk.Pool(www2, 17, 0, 0)
new, paras = {}, []
for para in text.split("\n\n"):
    if not para.strip():
        continue
    fn = re.search(r"(?m)^Filename: (.*)$", para).group(1)
    if fn in pick:
        os.unlink(os.path.join(www2, fn))      # a hard link to generation 1's file
        pool.lo = pool.hi = real[fn]
        size, md5, sha = pool.add(fn)
        new[fn] = (size, sha)
        vals = {"Size": str(size), "MD5sum": md5, "SHA256": sha}
        para = re.sub(r"(?m)^(Size|MD5sum|SHA256): .*$",
                      lambda m: "%s: %s" % (m.group(1), vals[m.group(1)]), para)
    paras.append(para.strip("\n") + "\n")
entries = []
mk.write_index(os.path.join(www2, dist), "main", "amd64", paras, entries)
# The Release of generation 1 with a new date and the new indices' sums, re-signed.
old = open(os.path.join(up, "www/debian", dist, "Release")).read()
lines = [l for l in old.split("\n")[:old.split("\n").index("MD5Sum:")]]
lines = [("Date: " + formatdate(time.time(), usegmt=True)) if l.startswith("Date: ") else l
         for l in lines]
for field, h in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
    lines.append(field + ":")
    lines.extend(" %s %16d %s" % (h(b).hexdigest(), len(b), p) for p, b, _ in entries)
release = ("\n".join(lines) + "\n").encode()
home = os.path.join(up, "gnupg")
for name, args in (("Release", None), ("InRelease", ["--clearsign"]),
                   ("Release.gpg", ["--armor", "--detach-sign"])):
    data = release if args is None else mk.gpg(home, *args, "--digest-algo", "SHA256",
                                                inp=release)
    open(os.path.join(www2, dist, name), "wb").write(data)
subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)
with open(os.path.join(up2, "od-files.txt"), "w") as f:
    for fn in pick:
        f.write("%s %d %s\n" % (fn, new[fn][0], new[fn][1]))
print("%d pool files at their real size, %d to %d bytes" % (
    len(new), min(s for s, _ in new.values()), max(s for s, _ in new.values())), file=sys.stderr)
PY
# od end
	echo "$stamp2" > "$UP2/.stamp"
fi
# shellcheck disable=SC1091
. "$UP/shape.env"
KEY=$UP/archive-key.gpg
mapfile -t ODF < "$UP2/od-files.txt"
[ "${#ODF[@]}" = "$OD_FILES" ] || die "'$UP2/od-files.txt' lists ${#ODF[@]} files, not $OD_FILES"

# ---------------------------------------------------------------- nginx: upstream + proxy
# One nginx: the upstream on PORT with an access log (what each sync and each cold fetch
# cost it), and the peer on PORT2, proxy_cache in front of the upstream, as a site would run
# it (defaults otherwise: proxy buffering on, a new upstream connection per miss).
cat > "$RUN/nginx.conf.in" <<'EOF'
daemon off;
master_process on;
worker_processes 2;
user @USER@;
pid @RUN@/nginx.pid;
error_log @RUN@/nginx-error.log warn;
events {
	worker_connections 1024;
}
http {
	log_format bytes '$status $body_bytes_sent $bytes_sent $request_uri';
	access_log off;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_timeout 65;
	keepalive_requests 100000;
	open_file_cache max=4000 inactive=60s;
	types { }
	default_type application/octet-stream;
	client_body_temp_path @RUN@/client_body;
	proxy_temp_path @RUN@/proxy;
	proxy_cache_path @RUN@/cache levels=1:2 keys_zone=od:10m max_size=2g inactive=1d
	    use_temp_path=off;
	server {
		listen 127.0.0.1:@PORT@;
		root @ROOT@;
		access_log @RUN@/upstream.log bytes;
		location / { }
		# The same files slower: nginx sends a second's worth at once, then one a second,
		# so a 1.5 MB file at 1m (MiB/s) takes a second, and its first byte comes at once.
		location /slow/ {
			alias @ROOT@/;
			limit_rate @RATE@;
		}
	}
	server {
		listen 127.0.0.1:@PORT2@;
		proxy_cache od;
		proxy_cache_valid 200 1d;
		add_header X-Cache-Status $upstream_cache_status;
		location / {
			proxy_pass http://127.0.0.1:@PORT@;
		}
		location /slow/ {
			proxy_pass http://127.0.0.1:@PORT@/slow/;
		}
	}
}
EOF
sed -i "s|@RATE@|$RATE|" "$RUN/nginx.conf.in"
# Read the whole upstream once so that no one pays for a cold page cache.
find "$UP2/www" -type f -print0 | xargs -0 cat > /dev/null
start_nginx "$UP2/www" "/debian/dists/$CODENAME/InRelease" "$RUN/nginx.conf.in"
URL=http://127.0.0.1:$PORT/debian
PURL=http://127.0.0.1:$PORT2/debian
ULOG=$RUN/nginx/upstream.log
curl -sf -o /dev/null "$PURL/dists/$CODENAME/Release" || die "the nginx proxy does not answer on $PURL"
say "upstream: $POOL_FILES pool files at $URL, proxy_cache at $PURL"

# ---------------------------------------------------------------- helpers
mb() { calc '%.1f' "$1 / 1e6"; }
ROWS=()
NOTES=()
FAILURES=()
# row METRIC FULL-OR-PEER MIRRORD RATIO
row() { ROWS+=("$(printf '%-44s|%16s|%16s|%14s' "$@")"); }
# ulog_lines: how many requests the upstream logged so far.
ulog_lines() { wc -l < "$ULOG"; }
# ulog_since N: "REQUESTS BODY_BYTES POOL_REQUESTS" of the upstream's log after line N.
ulog_since() {
	tail -n +"$(($1 + 1))" "$ULOG" | awk '{ n++; b += $2; if ($4 ~ /\/pool\//) p++ }
	    END { printf "%d %d %d\n", n, b, p }'
}
# blobs DIR: "FILES BYTES" of a store's blobs.
blobs() {
	find "$1/blobs" -type f -printf '%s\n' 2>/dev/null | awk '{ n++; b += $1 }
	    END { printf "%d %d\n", n, b }'
}

mconf() { # mconf NAME STORE [KEY: VALUE]: a config with one mirror, bw, of the upstream
	cat > "$RUN/$1.conf" <<EOF
Store: $2
Connections: $CONN
Retries: 3
Listen: 127.0.0.1:$MPORT
Log-File: $RUN/$1-access.log

Name: bw
Types: deb
URIs: $URL
Suites: $CODENAME
Components: $COMPONENTS
Architectures: $ARCHS
Signed-By: $KEY
${3:-}
EOF
}

# stored_note WHEN: a note with `snapshot show`'s "stored: ..." line for the on-demand store
# (none from a mirrord that does not print one).
stored_note() {
	local l
	l=$("$MIRRORD" -c "$RUN/od.conf" snapshot show bw latest 2>/dev/null | grep '^stored:')
	[ -n "$l" ] && NOTES+=("$1, snapshot show says: $l")
}

# ---------------------------------------------------------------- (a) the two syncs
# msync NAME: measure a first sync with RUN/NAME.conf; sets SECS KB CPU, UREQ UBYTES UPOOL
# (the upstream's requests, body bytes, pool-file requests), SFILES SBYTES (blobs stored)
# and SNAP; empty SECS on failure.
msync() {
	local n0
	n0=$(ulog_lines)
	measure "$1" "$MIRRORD" -q -c "$RUN/$1.conf" sync
	read -r UREQ UBYTES UPOOL < <(ulog_since "$n0")
	SNAP=$(awk '$1 == "bw" { print $2 }' "$RUN/$1.out")
	if [ "$RC" != 0 ] || [ -z "$SNAP" ]; then
		FAILURES+=("$1 sync: exit $RC: $(tail -n3 "$RUN/$1.err" | tr '\n' ' ')")
		SECS=
		return
	fi
	read -r SFILES SBYTES < <(blobs "$RUN/store-$1")
	say "$1 sync: ${SECS}s (CPU ${CPU}s), peak RSS $((KB / 1024)) MB; upstream sent" \
	    "$UREQ responses ($UPOOL pool files), $(mb "$UBYTES") MB; store holds $SFILES blobs"
}
MPORT=$(free_port)
od_secs='' full_secs='' OD_SNAP=''
if [ "$HAVE_M" = 1 ]; then
	mconf od "$RUN/store-od" "Download: on-demand"
	mconf full "$RUN/store-full"
	say "mirrord: on-demand sync (Release files and indices only)"
	msync od
	if [ -n "$SECS" ]; then
		od_secs=$SECS od_kb=$KB od_cpu=$CPU od_req=$UREQ od_bytes=$UBYTES od_pool=$UPOOL
		od_files=$SFILES od_sbytes=$SBYTES OD_SNAP=$SNAP
	fi
	say "mirrord: full (immediate) sync"
	msync full
	if [ -n "$SECS" ]; then
		full_secs=$SECS full_kb=$KB full_cpu=$CPU full_req=$UREQ full_bytes=$UBYTES
		full_pool=$UPOOL full_files=$SFILES full_sbytes=$SBYTES
	fi
fi
# pair LABEL FULL OD: a row, with OD / FULL as the ratio (- when FULL is 0).
pair() {
	local r=-
	[ "$(calc '%d' "($2 > 0)")" = 1 ] && r=$(calc '%.3g' "$3 / $2")
	row "$1" "$2" "$3" "$r"
}
if [ -n "$od_secs" ] && [ -n "$full_secs" ]; then
	row "sync, empty store" "full" "on-demand" "on-demand/full"
	pair "  wall time (s)" "$full_secs" "$od_secs"
	pair "  CPU user+sys (s)" "$full_cpu" "$od_cpu"
	pair "  peak RSS (MB)" "$((full_kb / 1024))" "$((od_kb / 1024))"
	pair "  upstream responses" "$full_req" "$od_req"
	pair "    of which pool files" "$full_pool" "$od_pool"
	pair "  upstream bytes sent (MB)" "$(mb "$full_bytes")" "$(mb "$od_bytes")"
	pair "  blobs stored" "$full_files" "$od_files"
	pair "  blob bytes stored (MB)" "$(mb "$full_sbytes")" "$(mb "$od_sbytes")"
	# What the suite's metadata weighs: every file under dists/ but the by-hash links.
	idx=$(find "$UP2/www/debian/dists" -type f -not -path '*by-hash*' -printf '%s\n' |
	    awk '{ b += $1 } END { print b }')
	NOTES+=("the suite's files under dists/ (Release files, Packages.gz and .xz; by-hash aside): $(mb "$idx") MB; the on-demand sync's upstream bytes are $(calc '%.3f' "$od_bytes / $idx")x that")
	[ "$od_pool" = 0 ] || FAILURES+=("the on-demand sync fetched $od_pool pool files")
	stored_note "after the on-demand sync"
else
	row "sync, empty store" "full" "on-demand" "n/a"
fi

# ---------------------------------------------------------------- (b) first request
# get TAG URL SIZE SHA: one request with curl into RUN/dl/TAG (headers in TAG.h); sets CODE,
# TTFB and TOTAL (ms) and GOOD (1 when the answer was 200 with the index's bytes).
get() {
	local out sz sha
	out=$(curl -s -o "$RUN/dl/$1" -D "$RUN/dl/$1.h" -m 120 \
	    -w '%{http_code} %{time_starttransfer} %{time_total}' "$2")
	read -r CODE TTFB TOTAL <<< "$out"
	TTFB=$(calc '%.1f' "${TTFB:-0} * 1000") TOTAL=$(calc '%.1f' "${TOTAL:-0} * 1000")
	sz=$(stat -c %s "$RUN/dl/$1" 2>/dev/null || echo 0)
	sha=$(sha256sum < "$RUN/dl/$1" 2>/dev/null | cut -c1-64)
	GOOD=0
	[ "$CODE" = 200 ] && [ "$sz" = "$3" ] && [ "$sha" = "$4" ] && GOOD=1
	[ "$GOOD" = 1 ] || say "  $1: HTTP $CODE, $sz bytes (want $3), sha256 ${sha:0:12}... (want ${4:0:12}...)"
	rm -f "$RUN/dl/$1"
}
cache_status() { awk 'tolower($1) == "x-cache-status:" { print $2 }' "$RUN/dl/$1.h" | tr -d '\r'; }
# upstream_gets PATH: how many times the upstream sent pool file PATH (under /debian/ or
# /slow/debian/) since line B0 of its log.
upstream_gets() {
	tail -n +"$((B0 + 1))" "$ULOG" | awk -v u="/debian/$1" '{ l = length($4) - length(u) }
	    l >= 0 && substr($4, l + 1) == u { n++ } END { print n + 0 }'
}
med() { printf '%s\n' "$@" | median; }

SERVE_PID=''
stop_serve() {
	if [ -n "$SERVE_PID" ]; then
		kill "$SERVE_PID" 2>/dev/null
		wait "$SERVE_PID" 2>/dev/null
	fi
	SERVE_PID=''
}
trap 'stop_serve; nginx_stop' EXIT
# start_serve NAME PREFIX: mirrord serve of the on-demand store with the mirror's upstream at
# PREFIX/debian (the same files, maybe slower); sets MURL, empty if it does not answer.
start_serve() {
	MURL=''
	[ -n "$OD_SNAP" ] || return
	sed "s|^URIs: .*|URIs: http://127.0.0.1:$PORT$2/debian|" "$RUN/od.conf" > "$RUN/$1.conf"
	"$MIRRORD" -c "$RUN/$1.conf" serve > "$RUN/$1.out" 2> "$RUN/$1.err" &
	SERVE_PID=$!
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$MPORT/healthz" && break
		kill -0 "$SERVE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if curl -sf -o /dev/null "http://127.0.0.1:$MPORT/healthz"; then
		MURL=http://127.0.0.1:$MPORT/bw/$OD_SNAP
	else
		FAILURES+=("$1: serve did not answer on port $MPORT: $(tail -n3 "$RUN/$1.err" | tr '\n' ' ')")
	fi
}

# fetch SERVER I PHASE: GET file I from SERVER (mirrord, nginx, or upstream: direct) at the
# set's URLs (MURL, S_PURL, S_URL).
fetch() {
	local fn size sha base
	read -r fn size sha <<< "${ODF[$2]}"
	case $1 in mirrord) base=$MURL ;; nginx) base=$S_PURL ;; *) base=$S_URL ;; esac
	get "$1-$2-$3" "$base/$fn" "$size" "$sha"
	[ "$1" != mirrord ] && [ "$GOOD" = 0 ] &&
	    die "$1: HTTP $CODE or wrong bytes for $base/$fn (see $RUN/nginx)"
}
# fetch_m I PHASE: fetch from mirrord while it works; the first failure makes its cells n/a.
fetch_m() {
	[ "$m_ok" = 1 ] || return 1
	fetch mirrord "$@"
	[ "$GOOD" = 1 ] && return 0
	m_ok=0
	M_WHY="$2 request of a pool file the store does not hold: HTTP $CODE, not the file"
	return 1
}
want_cache() { # want_cache I PHASE STATUS: nginx's X-Cache-Status says STATUS
	local st
	st=$(cache_status "nginx-$1-$2")
	[ "$st" = "$3" ] || NOTES+=("nginx $2 request of file $1: X-Cache-Status '$st', not $3")
}
# cells PEER-ARRAY MIRRORD-ARRAY LABEL: a row of medians, mirrord's n/a unless it worked.
cells() {
	local -n pa=$1 ma=$2
	local p m
	p=$(med "${pa[@]}")
	if [ "$m_ok" = 1 ] && [ "${#ma[@]}" = "$RUNS" ]; then
		m=$(med "${ma[@]}")
		row "$3" "$p" "$m" "$(calc '%.2f' "$m / ($p > 0 ? $p : 0.1)")x"
	else
		row "$3" "$p" "n/a" "-"
	fi
}

# request_set LABEL FIRST PREFIX: the first requests over the upstream at PREFIX/debian, with
# files FIRST.. of od-files.txt.  Files FIRST and FIRST+1 are one warm-up request for each
# server (not counted); run i takes FIRST+2i for mirrord and FIRST+2i+1 for nginx,
# alternating which goes first.  Every file is fetched cold once, so the upstream must log
# one GET of each; then every file again (warm), then nginx's straight from the upstream.
request_set() {
	local label=$1 f0=$2 tag=serve${3//\//-} i srv order fn sha n
	local -a mc_t=() mc_f=() mw_t=() mw_f=() nc_t=() nc_f=() nw_t=() nw_f=() d_t=() d_f=()
	S_URL=http://127.0.0.1:$PORT$3/debian S_PURL=http://127.0.0.1:$PORT2$3/debian
	start_serve "$tag" "$3"
	m_ok=0 M_WHY="no mirrord serve (see the failures)"
	[ -n "$MURL" ] && m_ok=1 M_WHY=''
	say "first requests of ~1.5 MB pool files, upstream $label: $RUNS cold runs per server, then warm"
	fetch_m "$f0" warmup
	fetch nginx $((f0 + 1)) warmup
	for i in $(seq "$RUNS"); do
		order="mirrord nginx"
		[ $((i % 2)) = 0 ] && order="nginx mirrord"
		for srv in $order; do
			if [ "$srv" = nginx ]; then
				fetch nginx $((f0 + 2 * i + 1)) cold
				want_cache $((f0 + 2 * i + 1)) cold MISS
				nc_t+=("$TTFB") nc_f+=("$TOTAL")
			elif fetch_m $((f0 + 2 * i)) cold; then
				mc_t+=("$TTFB") mc_f+=("$TOTAL")
			fi
		done
	done
	for i in $(seq "$RUNS"); do
		if fetch_m $((f0 + 2 * i)) warm; then
			mw_t+=("$TTFB") mw_f+=("$TOTAL")
		fi
		fetch nginx $((f0 + 2 * i + 1)) warm
		want_cache $((f0 + 2 * i + 1)) warm HIT
		nw_t+=("$TTFB") nw_f+=("$TOTAL")
	done
	# Each file went to the upstream once; mirrord's are stored (blobs/ab/SHA256).
	for i in $(seq 0 "$RUNS"); do
		read -r fn _ sha <<< "${ODF[$((f0 + 2 * i))]}"
		[ "$m_ok" = 1 ] || break
		n=$(upstream_gets "$fn")
		[ "$n" = 1 ] || FAILURES+=("$fn: $n upstream GETs for a cold and a warm request, not 1")
		[ -f "$RUN/store-od/blobs/${sha:0:2}/$sha" ] ||
		    FAILURES+=("$fn: served, but no blob $sha in the store")
	done
	for i in $(seq 0 "$RUNS"); do
		read -r fn _ _ <<< "${ODF[$((f0 + 2 * i + 1))]}"
		n=$(upstream_gets "$fn")
		[ "$n" = 1 ] || NOTES+=("nginx: $fn: $n upstream GETs, not 1")
	done
	# mirrord's own counters (kept in the store: they add up over both sets).
	if [ -n "$MURL" ] && curl -s -o "$RUN/$tag-metrics.txt" "http://127.0.0.1:$MPORT/metrics"; then
		n=$(awk '/^mirrord_ondemand_(fetches_total|failures_total|fetch_seconds_sum)\{mirror="bw"\}/ {
		    sub(/\{.*/, "", $1); sub(/^mirrord_ondemand_/, "", $1); printf "%s %s, ", $1, $2 }' \
		    "$RUN/$tag-metrics.txt")
		[ -n "$n" ] && NOTES+=("upstream $label: mirrord's /metrics after it: ${n%, }")
	fi
	stop_serve
	for i in $(seq "$RUNS"); do
		fetch upstream $((f0 + 2 * i + 1)) direct
		d_t+=("$TTFB") d_f+=("$TOTAL")
	done
	row "first request ~1.5 MB, upstream $label" "nginx cache" "mirrord" "mirrord/nginx"
	cells nc_t mc_t "  cold: time to first byte (ms)"
	cells nc_f mc_f "  cold: total (ms)"
	cells nw_t mw_t "  warm (cache hit / store): first byte"
	cells nw_f mw_f "  warm: total (ms)"
	row "  straight from the upstream: first byte" "$(med "${d_t[@]}")" "-" "-"
	row "  straight from the upstream: total" "$(med "${d_f[@]}")" "-" "-"
	if [ "$m_ok" = 1 ]; then
		NOTES+=("upstream $label: mirrord cold/warm total: $(calc '%.1f' "$(med "${mc_f[@]}") / $(med "${mw_f[@]}")")x")
	else
		NOTES+=("upstream $label: mirrord's first-request cells are n/a: $M_WHY")
	fi
}
B0=$(ulog_lines)
request_set "on loopback" 0 ""
request_set "at $RATE/s" $((2 * (RUNS + 1))) /slow
[ -n "$OD_SNAP" ] && stored_note "after the first requests"

# ---------------------------------------------------------------- report
{
	echo "mirrord on-demand benchmark, $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(nproc) CPUs," \
	    "load average at start $LOAD0, at end $(uptime | sed 's/.*load average: //')"
	echo "upstream: bookworm shape ($POOL_FILES pool files, the real main/binary-amd64" \
	    "Packages), $OD_FILES of them at their real size: ${ODF[0]%% *} ... ($(cut -d' ' -f2 \
	    "$UP2/od-files.txt" | sort -n | sed -n '1p;$p' | tr '\n' ' ')bytes); nginx on 127.0.0.1"
	echo "mirrord: $MDESC; Connections: $CONN; the syncs from empty stores, once each" \
	    "(/usr/bin/time), on-demand first"
	echo "first requests: curl -w '%{time_starttransfer} %{time_total}', a new connection each," \
	    "a distinct file per cold request (one warm-up each, not counted); warm = the same" \
	    "files again; nginx $(nginx -v 2>&1 | sed 's/^nginx version: //') proxy_cache, defaults;" \
	    "the upstream on loopback, then at $RATE/s per connection (nginx limit_rate: a second's" \
	    "worth at once, the rest a second later)"
	echo
	printf '%s\n' "${ROWS[@]}"
	echo
	for f in "${NOTES[@]}"; do echo "note: $f"; done
	for f in "${FAILURES[@]}"; do echo "MIRRORD FAILURE: $f"; done
	echo "logs: $RUN"
} > "$RES.tmp"
mv "$RES.tmp" "$RES"
cat "$RES"
# The full store goes at the end, not at the next run's start: on ext4 a burst of freshly
# deleted inodes slows the next inode allocations (bench/README.md, Caveats).
[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$RUN/store-od" "$RUN/store-full" "$RUN/nginx/cache"
