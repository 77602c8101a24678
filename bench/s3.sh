#!/bin/bash
# bench/s3.sh MIRRORD — the S3 blob backend (issue 18) against the file backend.
#
#   (a) the first sync of the real-shape bookworm upstream (bench/mkupstream.py, served by
#       nginx) into an empty file store and into an empty S3 store (`Blobs: s3://`, a one-node
#       OpenStack Swift with s3api started by tests/s3/swift.sh, behind an nginx that only
#       logs each request): wall time, CPU, peak RSS, and the requests the bucket got per
#       blob stored, by method.
#   (b) a 60 KB pool file (a real .deb of tests/fixtures/mkbig.py) served by `mirrord serve`:
#       from the file store (disk), from the S3 store cold (its cached copy removed before each
#       request: the server reads the bucket) and warm (cached): time to first byte and total
#       (curl), median of RUNS, every body checked.
#
# Nothing asserts; see bench/README.md. Environment: BENCH_DIR (default build/bench),
# BENCH_CONNECTIONS (8), BENCH_S3_RUNS (15), BENCH_S3_SYNC=0 skips (a), BENCH_KEEP=1 keeps the stores. The S3 sync stores
# 63,440 objects: several minutes on a 2-CPU machine (Swift's own cost, see docs/s3.md).
set -u -o pipefail

# here, top, MIRRORD, BDIR, LISTS_GLOB; measure, calc, median, free_port, start_nginx,
# bookworm_upstream
. "$(dirname "$0")/lib.sh"
CONN=${BENCH_CONNECTIONS:-8}
RUNS=${BENCH_S3_RUNS:-15}
SMALL=45000

say() { printf 'bench-s3: %s\n' "$*" >&2; }
die() { printf 'bench-s3: error: %s\n' "$*" >&2; exit 1; }

for t in nginx python3 gpg curl swift-proxy-server memcached; do
	command -v "$t" >/dev/null || die "'$t' is not installed (make deps-test deps-bench)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' is not installed (apt-get install time)"
[ -x "$MIRRORD" ] || die "'$MIRRORD' does not exist"
lists=
for f in $LISTS_GLOB; do [ -f "$f" ] && lists=$f; done
if [ -z "$lists" ]; then
	say "skipped: no $LISTS_GLOB (apt-get update on a bookworm system)"
	exit 0
fi

mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
RUN=$BDIR/s3-run
RES=$BDIR/s3-results.txt
SW=$RUN/swift
stop_all() {
	"$top/tests/s3/swift.sh" stop "$SW" 2>/dev/null
	[ -n "${SERVE_PIDS:-}" ] && kill $SERVE_PIDS 2>/dev/null
	nginx_stop
}
rm -rf "$RUN"
mkdir -p "$RUN/www"
LOAD0=$(uptime | sed 's/.*load average: //')

# ---------------------------------------------------------------- upstreams, Swift, nginx
bookworm_upstream "$lists"
# shellcheck disable=SC1091
. "$UP/shape.env"
say "building the 60 KB fixture"
BIG_SIZE=$SMALL BIG_SEED=18 python3 "$top/tests/fixtures/mkbig.py" "$RUN/small" \
    --gnupghome "$RUN/gnupg" > "$RUN/mkbig.out" 2>&1 || die "mkbig.py: $(cat "$RUN/mkbig.out")"
read -r BIGPATH BIGSHA BIGSIZE < <(python3 -c 'import json, sys
for f in json.load(open(sys.argv[1]))["pool"]:
    if "/bigdata_" in f["path"] and f["path"].endswith(".deb"):
        print(f["path"], f["sha256"], f["size"])' "$RUN/small/.fixture.json")
[ -n "${BIGSHA:-}" ] || die "no bigdata .deb in the fixture"
ln -s "$UP/www/debian" "$RUN/www/debian"
ln -s "$RUN/small" "$RUN/www/small"

SWPORT=$((20000 + RANDOM % 20000))
"$top/tests/s3/swift.sh" start "$SW" "$SWPORT" bench-sync bench-serve > "$RUN/swift.out" 2>&1 ||
    die "tests/s3/swift.sh: $(tail -5 "$RUN/swift.out")"
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
	log_format s3 '$request_method $status $request_uri';
	access_log off;
	sendfile on;
	keepalive_timeout 65;
	keepalive_requests 100000;
	open_file_cache max=4000 inactive=60s;
	types { }
	default_type application/octet-stream;
	client_body_temp_path @RUN@/client_body;
	proxy_temp_path @RUN@/proxy;
	server {
		listen 127.0.0.1:@PORT@;
		root @ROOT@;
		location / { }
	}
	# The bucket's requests, counted: SigV4 signs the Host header, which passes unchanged.
	server {
		listen 127.0.0.1:@PORT2@;
		access_log @RUN@/s3.log s3;
		client_max_body_size 0;
		proxy_request_buffering off;
		proxy_buffering off;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		proxy_set_header Host $http_host;
		location / {
			proxy_pass http://127.0.0.1:@SWIFT@;
		}
	}
}
EOF
sed -i "s|@SWIFT@|$SWPORT|" "$RUN/nginx.conf.in"
start_nginx "$RUN/www" "/debian/dists/$CODENAME/InRelease" "$RUN/nginx.conf.in"
trap stop_all EXIT
URL=http://127.0.0.1:$PORT
S3URL=http://127.0.0.1:$PORT2
SLOG=$RUN/nginx/s3.log
printf '[default]\naws_access_key_id = test:tester\naws_secret_access_key = testing\n' \
    > "$RUN/creds"
chmod 600 "$RUN/creds"

# mconf NAME STORE BUCKET|-: a config for both mirrors (the bucket's store with S3 keys).
mconf() {
	{
		echo "Store: $RUN/$2"
		echo "Connections: $CONN"
		echo "Listen: 127.0.0.1:$(free_port)"
		if [ "$3" != - ]; then
			echo "Blobs: s3://$3"
			echo "S3-Endpoint: $S3URL"
			echo "S3-Credentials: $RUN/creds"
		fi
		printf '\nName: bw\nTypes: deb\nURIs: %s/debian\nSuites: %s\n' "$URL" "$CODENAME"
		printf 'Components: %s\nArchitectures: %s\nSigned-By: %s\n' "$COMPONENTS" \
		    "$ARCHS" "$UP/archive-key.gpg"
		printf '\nName: small\nTypes: deb\nURIs: %s/small\nSuites: stable-updates\n' "$URL"
		printf 'Components: main\nArchitectures: amd64\nSigned-By: %s\n' \
		    "$RUN/small/archive-key.gpg"
	} > "$RUN/$1.conf"
}
mconf file file-store -
mconf s3 s3-store bench-sync
mconf serve serve-store bench-serve

# ---------------------------------------------------------------- (a) the first sync
ROWS=()
row() { ROWS+=("$(printf '%-40s|%14s|%14s|%10s' "$@")"); }
if [ "${BENCH_S3_SYNC:-1}" = 1 ]; then
say "first sync into the file store"
measure file-sync "$MIRRORD" -c "$RUN/file.conf" sync bw
[ "$RC" = 0 ] || die "file sync failed: $(tail -3 "$RUN/file-sync.err")"
F=("$SECS" "$CPU" "$((KB / 1024))")
say "first sync into the S3 store"
: > "$SLOG"
measure s3-sync "$MIRRORD" -c "$RUN/s3.conf" sync bw
[ "$RC" = 0 ] || die "S3 sync failed: $(tail -3 "$RUN/s3-sync.err")"
S=("$SECS" "$CPU" "$((KB / 1024))")
read -r PUTS OTHER < <(awk '$1 == "PUT" { p++; next } { o++ } END { print p + 0, o + 0 }' "$SLOG")
NBLOBS=$(awk '$1 == "PUT" && $2 == 200' "$SLOG" | sort -u | wc -l)
row "first sync, bookworm shape" "file" "s3 (Swift)" "s3/file"
row "wall time (s)" "${F[0]}" "${S[0]}" "$(calc '%.2f' "${S[0]} / ${F[0]}")"
row "CPU user+sys (s)" "${F[1]}" "${S[1]}" "$(calc '%.2f' "${S[1]} / ${F[1]}")"
row "peak RSS (MB)" "${F[2]}" "${S[2]}" "$(calc '%.2f' "${S[2]} / ${F[2]}")"
row "bucket requests: PUT / other" "-" "$PUTS / $OTHER" "-"
row "bucket requests per blob stored" "-" "$(calc '%.3f' "($PUTS + $OTHER) / $NBLOBS")" "-"
else
	say "BENCH_S3_SYNC=0: the first sync skipped"
fi

# ---------------------------------------------------------------- (b) serving 60 KB
say "serving a ${BIGSIZE}-byte pool file: disk, S3 cold, S3 warm"
"$MIRRORD" -c "$RUN/file.conf" sync small > "$RUN/fs.out" 2>&1 || die "sync small (file)"
"$MIRRORD" -c "$RUN/serve.conf" sync small > "$RUN/ss.out" 2>&1 || die "sync small (s3)"
SERVE_PIDS=
serve() { # serve CONF: a server, its base URL into SBASE
	local port
	port=$(sed -n 's/^Listen: 127.0.0.1://p' "$RUN/$1.conf")
	"$MIRRORD" -c "$RUN/$1.conf" serve >> "$RUN/$1-serve.log" 2>&1 &
	SPID=$!
	SERVE_PIDS="$SERVE_PIDS $SPID"
	for _ in $(seq 100); do
		curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break
		sleep 0.1
	done
	SBASE=http://127.0.0.1:$port/small/latest
}
serve file
DISK=$SBASE
serve serve
S3PID=$SPID
S3B=$SBASE
CACHED=$RUN/serve-store/blobs/${BIGSHA:0:2}/$BIGSHA
# get BASE: "FIRST-BYTE TOTAL" in ms, the body checked (n/a if wrong)
get() {
	local t
	t=$(curl -s -o "$RUN/body" -w '%{time_starttransfer} %{time_total}' "$1/$BIGPATH") || t=
	[ "$(sha256sum < "$RUN/body" | cut -c1-64)" = "$BIGSHA" ] || { echo "n/a n/a"; return; }
	awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.2f %.2f\n", a[1] * 1000, a[2] * 1000 }'
}
get "$DISK" > /dev/null
# Cold: the server restarted (it keeps blob files open) with its cached copy removed.
for i in $(seq "$RUNS"); do
	get "$DISK" >> "$RUN/disk.ms"
	kill "$S3PID" && wait "$S3PID" 2>/dev/null
	rm -f "$CACHED"
	serve serve
	S3PID=$SPID
	get "$S3B" >> "$RUN/cold.ms"
	[ -f "$CACHED" ] || say "note: the S3 server did not cache the file"
	get "$S3B" >> "$RUN/warm.ms"
done
col() { awk -v c="$2" '{ print $c }' "$RUN/$1.ms" | median; }
row "$((BIGSIZE / 1000)) KB pool file, median of $RUNS (ms)" "disk" "s3" "s3/disk"
for k in cold warm; do
	for c in 1 2; do
		n=$([ "$c" = 1 ] && echo "first byte" || echo total)
		d=$(col disk "$c")
		s=$(col "$k" "$c")
		row "  $k, $n" "$d" "$s" "$(calc '%.2f' "$s / $d")"
	done
done

{
	echo "bench/s3.sh $(date -u '+%Y-%m-%dT%H:%MZ') load: $LOAD0 -> $(uptime | sed 's/.*load average: //')"
	echo "mirrord: '$MIRRORD'; upstream: $POOL_FILES pool files; Swift $(dpkg-query -W -f '${Version}' swift-proxy 2>/dev/null)"
	printf '%s\n' "${ROWS[@]}"
} | tee "$RES"
[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$RUN/file-store" "$RUN/s3-store" "$RUN/serve-store" "$SW/node"
