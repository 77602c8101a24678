#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# mirrord behind a real nginx proxy_cache (tests/cache/nginx.conf.in, the
# config docs/caching.md shows). The headers mirrord sends per URL kind;
# then 20 real apt clients through the cache, one per URL kind first
# (snapshot ID, past timestamp, latest, a channel) and 16 in parallel:
# every one updates and downloads hello; after the warm-up every request
# for a snapshot, by-hash or pool URL is a cache HIT, each immutable URL
# reached mirrord at most once, and apt's "Cache-Control: max-age=0" on
# index requests did not keep Release files from hitting, nor
# Acquire::http::No-Cache's no-cache the snapshot's files; the nginx block
# of docs/caching.md is the tested file's. Then a sync and
# a channel move: clients through the cache during the next seconds never
# see a Hash Sum mismatch, and once the Release files' max-age has passed
# the next update sees the new snapshot. Prints the hit ratio.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/cache/lib.sh"

test_require_prereq APT
test_lazy_prereq NGINX 'command -v nginx' 'no nginx: package nginx-light'
test_require_prereq NGINX

MAXAGE=10	# ROUTE_CC_MOVING's max-age (serve/route.h)

setup_synced
start_serve
run mirrord promote demo latest production
assert_rc 0
start_cache "127.0.0.1:$SERVE_PORT"
# A timestamp after SNAP1 (a second later), and in the past once another
# second has gone: it resolves to SNAP1 by another URL.
sleep 1
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
sleep 1
[ "$STAMP" != "$SNAP1" ] || fail "the timestamp is the snapshot's ID"

# A Packages index by hash and a pool file, from the fixture.
PKGS_HASH=$(fixture_files "$ARCHIVE" dists |
    awk '$3 == "dists/stable/main/binary-amd64/Packages.xz" { print $1 }')
POOL=$(fixture_files "$ARCHIVE" pool | awk 'NR == 1 { print $3 }')
[ -n "$PKGS_HASH" ] && [ -n "$POOL" ] ||
	fail "no Packages.xz or pool file in the fixture"

# cc_is URL WANT: mirrord's Cache-Control for URL is WANT, with an ETag.
cc_is() {
	_code=$(http_status "$SERVE_URL$1")
	assert_eq 200 "$_code" "status of $1"
	assert_eq "$2" "$(header Cache-Control)" "Cache-Control of $1"
	[ -n "$(header ETag)" ] || fail "no ETag on $1"
	[ -n "$(header Last-Modified)" ] || fail "no Last-Modified on $1"
}

test_expect_success 'mirrord: immutable and moving URLs say so' - <<'EOT'
imm="public, max-age=31536000, immutable"
mov="public, max-age=$MAXAGE"
cc_is "/demo/$SNAP1/dists/stable/InRelease" "$imm"
cc_is "/demo/$STAMP/dists/stable/InRelease" "$imm"
cc_is "/demo/latest/dists/stable/main/binary-amd64/by-hash/SHA256/$PKGS_HASH" "$imm"
cc_is "/demo/production/dists/stable/main/binary-amd64/by-hash/SHA256/$PKGS_HASH" "$imm"
cc_is "/demo/latest/$POOL" "$imm"
cc_is "/demo/production/$POOL" "$imm"
cc_is "/demo/latest/dists/stable/InRelease" "$mov"
cc_is "/demo/production/dists/stable/InRelease" "$mov"
cc_is "/demo/production/dists/stable/Release" "$mov"
etag=$(header ETag)
code=$(http_status "$SERVE_URL/demo/production/dists/stable/Release" \
    -H "If-None-Match: $etag")
assert_eq 304 "$code" "revalidation of an unmoved channel's Release"
assert_eq "$mov" "$(header Cache-Control)" "Cache-Control of the 304"
EOT

# The sources of each URL kind, through the cache.
run mirrord sources demo production
assert_rc 0
sed "s|^URIs: .*|URIs: $CACHE_URL/demo/production|" "$T/out" >"$T/channel.sources"
grep -q "^URIs: $CACHE_URL/demo/production\$" "$T/channel.sources" ||
	fail "no URIs: line in 'mirrord sources': $(cat "$T/out")"

# box N: a new apt sandbox $T/box-N whose sources are of kind N mod 4.
box() {
	_b=$T/box-$1
	apt_box "$_b"
	case $(($1 % 4)) in
	0) _ref=$SNAP1 ;;
	1) _ref=$STAMP ;;
	2) _ref=latest ;;
	3) cp "$T/channel.sources" "$_b/etc/apt/sources.list.d/x.sources"
	   return 0 ;;
	esac
	printf 'deb [signed-by=%s] %s/demo/%s %s main contrib\n' \
	    "$KEY" "$CACHE_URL" "$_ref" stable "$KEY" "$CACHE_URL" "$_ref" \
	    stable-updates >"$_b/etc/apt/sources.list"
}

# client N: box N updates (no W:, E:, Err:) and downloads hello; leaves
# $T/box-N/ok, or $T/box-N/fail saying what went wrong.
client() {
	_b=$T/box-$1
	if ! apt_get "$_b" update >"$_b/update.out" 2>&1; then
		echo "apt-get update failed: $(tail -n 5 "$_b/update.out")" >"$_b/fail"
	elif grep -Eq '^(W|E|Err):' "$_b/update.out"; then
		echo "apt-get update warned: $(grep -E '^(W|E|Err):' "$_b/update.out")" \
		    >"$_b/fail"
	elif ! apt_get "$_b" install --download-only -y hello \
	    >"$_b/install.out" 2>&1; then
		echo "install failed: $(tail -n 5 "$_b/install.out")" >"$_b/fail"
	elif ! ls "$_b/var/cache/apt/archives" | grep -q '^hello_.*\.deb$'; then
		echo "no hello .deb downloaded" >"$_b/fail"
	else
		: >"$_b/ok"
	fi
}

# clients_ok N...: every one of the boxes succeeded.
clients_ok() {
	for _n in "$@"; do
		[ -f "$T/box-$_n/ok" ] || fail "client $_n:" \
		    "$(cat "$T/box-$_n/fail" 2>/dev/null || echo 'did not finish')"
	done
}

ALOG=$T/nginx/access.log
TALLY=$ROOT/tests/cache/tally.py
# mirrord's log from here on: the requests that came through the cache.
SLOG0=$(wc -l <"$T/serve.log")
tally() {	# FIXED_REFS [FIRST:LAST]
	tail -n "+$((SLOG0 + 1))" "$T/serve.log" >"$T/serve-cached.log"
	"$PYTHON" "$TALLY" "$ALOG" "$T/serve-cached.log" "$@" >"$T/tally" 2>&1 ||
		fail "$(cat "$T/tally")"
}

test_expect_success 'warm-up: one client of each URL kind' - <<'EOT'
for n in 0 1 2 3; do
	box "$n"
	client "$n"
done
clients_ok 0 1 2 3
EOT
WARM=$(wc -l <"$ALOG")

test_expect_success '16 clients in parallel through the cache' - <<'EOT'
pids=""
for n in $(seq 4 19); do
	box "$n"
	client "$n" &
	pids="$pids $!"
done
for p in $pids; do wait "$p" || true; done
clients_ok $(seq 4 19)
EOT
END=$(wc -l <"$ALOG")

test_expect_success 'after the warm-up, immutable URLs all hit' - <<'EOT'
tally "$SNAP1,$STAMP" "$((WARM + 1)):$END"
sed 's/^/# /' "$T/tally" >&7
grep -q '^hit ratio: ' "$T/tally" || fail "no hit ratio: $(cat "$T/tally")"
EOT

test_expect_success "apt's max-age=0 does not stop Release files hitting" - <<'EOT'
# What apt really sends on an index request, as nginx logged it.
awk -v a="$WARM" -v b="$END" 'NR > a && NR <= b && $3 ~ /InRelease"$/' \
    "$ALOG" >"$T/inrelease"
[ -s "$T/inrelease" ] || fail "no InRelease request after the warm-up"
grep -q '"max-age=0"' "$T/inrelease" ||
	fail "apt sent no Cache-Control: max-age=0: $(head -n 3 "$T/inrelease")"
grep -q '^HIT .*"max-age=0"' "$T/inrelease" ||
	fail "no InRelease request with max-age=0 was a HIT:" \
	    "$(head -n 5 "$T/inrelease")"
EOT

test_expect_success 'apt with Acquire::http::No-Cache still hits' - <<'EOT'
# No-Cache sends "Cache-Control: no-cache" and "Pragma: no-cache": nginx
# ignores a request's Cache-Control, so the snapshot's files still hit.
box 20
before=$(wc -l <"$ALOG")
printf 'Acquire::http::No-Cache "true";\n' \
    >"$T/box-20/etc/apt/apt.conf.d/no-cache"
client 20
clients_ok 20
tail -n "+$((before + 1))" "$ALOG" >"$T/nocache"
grep -q '"no-cache" "no-cache"' "$T/nocache" ||
	fail "apt sent no no-cache: $(head -n 3 "$T/nocache")"
! grep -v '^HIT ' "$T/nocache" ||
	fail "a snapshot's file missed the cache under no-cache"
EOT

test_expect_success 'the config in docs/caching.md is the one tested' - <<'EOT'
sed -n '/^```nginx$/,/^```$/p' "$ROOT/docs/caching.md" |
    sed -n 's/^[[:space:]]*\(proxy_[a-z_]* .*\)$/\1/p' >"$T/doc-lines"
[ "$(wc -l <"$T/doc-lines")" -ge 8 ] || fail "no nginx block in the docs"
while read -r l; do
	case $l in proxy_cache_path*|proxy_pass*) continue ;; esac
	grep -qF -- "$l" "$ROOT/tests/cache/nginx.conf.in" ||
		fail "docs/caching.md has '$l', tests/cache/nginx.conf.in not"
done <"$T/doc-lines"
EOT

test_expect_success 'a sync and a channel move reach clients through the cache' - <<'EOT'
mkarchive --generation 2
sync_ok
SNAP2=$SNAP
run mirrord promote demo "$SNAP2" production
assert_rc 0
moved=$(date +%s)
new=$(curl -sf "$SERVE_URL/demo/production/dists/stable-updates/InRelease") ||
	fail "no InRelease of production from mirrord"
# Clients during the Release files' max-age: old or new, never a mix.
n=100
while [ "$(date +%s)" -le $((moved + MAXAGE)) ]; do
	box "$n"
	client "$n"
	clients_ok "$n"
	n=$((n + 1))
done
# The max-age is over: the next channel client sees the move.
box 203
client 203
clients_ok 203
f=$(ls "$T"/box-203/var/lib/apt/lists/*_production_dists_stable-updates_InRelease)
printf '%s\n' "$new" | cmp -s - "$f" ||
	fail "the cache served production's old InRelease $MAXAGE s after the move"
grep -q 'Hash Sum mismatch' "$T"/box-*/update.out "$T"/box-*/install.out &&
	fail "apt saw a Hash Sum mismatch"
tally "$SNAP1,$STAMP,$SNAP2"
EOT

stop_cache
stop_serve
