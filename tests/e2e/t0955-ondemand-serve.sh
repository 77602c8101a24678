#!/bin/sh
# Download: on-demand, serving: a sync stores no pool file; a client's
# first request for one fetches it from upstream once (however many ask at
# once), verifies it against the snapshot's index, stores it and streams
# it meanwhile; HEAD answers from the index; a wrong file never reaches a
# client whole and is not stored; upstream 404 is a 502, upstream down a
# 504, both logged with the file and the snapshot; a kill -9 mid-fetch
# leaves nothing half-stored; /metrics counts it all.
. "$(dirname "$0")/lib.sh"

BIG=$((5 * 1024 * 1024))

# One more package: 'bigdata', a .deb of BIG incompressible bytes.
mkbig_archive "$BIG" 955

# upstream_gets PATH: how many GETs of PATH the upstream logged.
upstream_gets() {
	grep -c "^GET /debian/$1 " "$T/upstream.log" || true
}
# until SECONDS WHAT CMD...: runs CMD until it succeeds, at most SECONDS.
until_ok() {
	_end=$(($(date +%s) + $1))
	_what=$2
	shift 2
	until "$@"; do
		[ "$(date +%s)" -lt "$_end" ] || fail "$_what: not within the time"
		sleep 0.1
	done
}
# restart_upstream: upstream.py again on its port (the mirror's URI).
restart_upstream() {
	timeout 900 "$PYTHON" "$UPSTREAM_PY" --control "$T/control.json" \
	    --log "$T/upstream.log" --port "$UPSTREAM_PORT" "$SRV" \
	    >"$T/upstream.port" 2>"$T/upstream.err" &
	UPSTREAM_PID=$!
	_pids="$_pids $UPSTREAM_PID"
	until_ok 10 "upstream.py listening again" \
	    grep -q '^[0-9][0-9]*$' "$T/upstream.port"
}
# stop_upstream: kill -9 of upstream.py (under start_upstream's timeout(1)).
stop_upstream() {
	for _c in $(ps -o pid= --ppid "$UPSTREAM_PID"); do
		kill -KILL "$_c" 2>/dev/null || true
	done
	wait "$UPSTREAM_PID" 2>/dev/null || true
	forget_pid "$UPSTREAM_PID"
}
# kill9_serve: kill -9 of the mirrord under start_serve's timeout(1).
kill9_serve() {
	for _c in $(ps -o pid= --ppid "$SERVE_PID"); do
		kill -KILL "$_c" 2>/dev/null || true
	done
	wait "$SERVE_PID" 2>/dev/null || true
	forget_pid "$SERVE_PID"
}
# fsck_clean: `mirrord fsck` finds nothing wrong (an on-demand mirror's
# pool files that are referenced and not stored are not a problem).
fsck_clean() {
	run mirrord fsck
	assert_rc 0
}
# blob_stored SHA256: the blob file is there (and, as fsck checks, listed).
blob_stored() {
	[ -f "$(blob_path "$1")" ]
}

start_upstream
RETRIES=1 write_conf
echo "Download: on-demand" >>"$CONF"

step "an on-demand sync stores indices, no pool file"
sync_ok
SNAP1=$SNAP
set -- $(pool_of hello_)
HELLO_SHA=$1 HELLO_SIZE=$2 HELLO=$3
set -- $(pool_of bigdata_)
BIG_SHA=$1 BIG_SIZE=$2 BIGP=$3
[ "$BIG_SIZE" -gt "$BIG" ] || fail "the bigdata .deb is only $BIG_SIZE bytes"
while read -r _h _s _p; do
	blob_stored "$_h" && fail "pool file '$_p' stored by an on-demand sync"
done <"$T/pool"
[ "$(grep -c '^GET /debian/pool/' "$T/upstream.log")" = 0 ] ||
	fail "the sync fetched pool files"

run mirrord promote demo latest production
assert_rc 0
start_serve

test_expect_success 'HEAD of a file not stored: 200 from the index alone' '
	st=$(http_status "$SERVE_URL/demo/production/$HELLO" -I) &&
	assert_eq 200 "$st" "HEAD status" &&
	assert_eq "$HELLO_SIZE" "$(header Content-Length)" "Content-Length" &&
	assert_eq "\"$HELLO_SHA\"" "$(header ETag)" "ETag" &&
	assert_eq 0 "$(upstream_gets "$HELLO")" "upstream requests" &&
	! blob_stored "$HELLO_SHA"
'

run mirrord sources demo production
assert_rc 0
cp "$T/out" "$T/x.sources"
A=$T/box-a
apt_box "$A"
cp "$T/x.sources" "$A/etc/apt/sources.list.d/x.sources"
apt_update_ok "$A"

test_expect_success 'apt-get install --download-only through the channel' '
	run apt_get "$A" install --download-only -y hello &&
	assert_rc 0 &&
	assert_out_match libhello1
'
for _p in hello_ libhello1_; do
	set -- $(pool_of "$_p")
	_sha=$1 _path=$3
	_deb=$A/var/cache/apt/archives/$(basename "$_path")
	test_expect_success "$(basename "$_path"): once from upstream, stored right" '
		assert_eq 1 "$(upstream_gets "$_path")" "upstream GETs" &&
		assert_eq "$_sha" "$(file_sha256 "$_deb")" "downloaded sha256" &&
		blob_stored "$_sha" &&
		cmp -s "$(blob_path "$_sha")" "$ARCHIVE/$_path"
	'
done

test_expect_success 'a second client gets them from the store, upstream stopped' '
	stop_upstream &&
	B=$T/box-b && apt_box "$B" &&
	cp "$T/x.sources" "$B/etc/apt/sources.list.d/x.sources" &&
	apt_update_ok "$B" &&
	run apt_get "$B" install --download-only -y hello &&
	assert_rc 0 &&
	for p in hello_ libhello1_; do
		set -- $(pool_of "$p") &&
		assert_eq "$1" "$(file_sha256 \
		    "$B/var/cache/apt/archives/$(basename "$3")")" "sha256 $p" ||
		return 1
	done
'

test_expect_success 'upstream down: 504, logged with the file and snapshot' '
	set -- $(pool_of contrib-data_) &&
	DOWN=$3 &&
	st=$(http_status "$SERVE_URL/demo/production/$DOWN") &&
	assert_eq 504 "$st" "status with upstream down" &&
	grep -q "snapshot $SNAP1: cannot fetch .$DOWN. on demand" "$T/serve.log"
'
restart_upstream

# A package nobody fetched yet, for the wrong-hash round.
set -- $(pool_of base-tool_)
BAD_SHA=$1 BAD=$3
BADPKG=base-tool

test_expect_success 'wrong bytes upstream: apt-get fails, nothing stored' '
	flip_byte "$ARCHIVE/$BAD" &&
	C=$T/box-c && apt_box "$C" &&
	cp "$T/x.sources" "$C/etc/apt/sources.list.d/x.sources" &&
	apt_update_ok "$C" &&
	run apt_get "$C" install --download-only -y "$BADPKG" &&
	test "$RC" != 0 &&
	! blob_stored "$BAD_SHA" &&
	! ls "$C/var/cache/apt/archives/" | grep -q "^${BADPKG}_" &&
	grep -q "snapshot $SNAP1: cannot fetch .$BAD. on demand.*sha256" \
	    "$T/serve.log"
'

test_expect_success 'repaired upstream: the next request succeeds' '
	flip_byte "$ARCHIVE/$BAD" &&
	run apt_get "$C" install --download-only -y "$BADPKG" &&
	assert_rc 0 &&
	blob_stored "$BAD_SHA" &&
	assert_eq "$BAD_SHA" "$(file_sha256 \
	    "$C/var/cache/apt/archives/$(basename "$BAD")")" "sha256"
'

test_expect_success 'upstream 404: 502, logged' '
	set -- $(pool_of docs-common_) &&
	GONE=$3 &&
	upstream_control "{\"status\": {\"$(basename "$GONE")\": 404}}" &&
	st=$(http_status "$SERVE_URL/demo/production/$GONE") &&
	upstream_control "{}" &&
	assert_eq 502 "$st" "status for a file gone upstream" &&
	grep -q "snapshot $SNAP1: cannot fetch .$GONE. on demand.*not found" \
	    "$T/serve.log"
'

test_expect_success 'kill -9 mid-fetch: nothing half-stored, fsck clean' '
	upstream_control "{\"rate\": {\"pattern\": \"bigdata\",
	    \"bytes_per_second\": 1000000}}" &&
	curl -s --max-time 30 -o "$T/killed.body" \
	    "$SERVE_URL/demo/production/$BIGP" &
	cpid=$! &&
	until_ok 10 "the upstream sends bigdata" \
	    grep -q "^GET /debian/$BIGP " "$T/upstream.log" &&
	sleep 1 &&
	kill9_serve &&
	{ wait $cpid || true; } &&
	! blob_stored "$BIG_SHA" &&
	fsck_clean
'

test_expect_success '20 clients at once, a Range among them: one upstream GET' '
	start_serve &&
	before=$(upstream_gets "$BIGP") &&
	i=0 && pids= &&
	while [ $i -lt 20 ]; do
		curl -s --max-time 60 -o "$T/big.$i" \
		    "$SERVE_URL/demo/production/$BIGP" &
		pids="$pids $!" && i=$((i + 1))
	done &&
	st=$(http_status "$SERVE_URL/demo/production/$BIGP" \
	    -r 1000000-1999999 --max-time 60) &&
	for p in $pids; do wait $p || return 1; done &&
	assert_eq 206 "$st" "Range status" &&
	dd if="$ARCHIVE/$BIGP" bs=1000000 skip=1 count=1 2>/dev/null \
	    >"$T/range.want" &&
	cmp -s "$T/range.want" "$T/b" &&
	assert_eq $((before + 1)) "$(upstream_gets "$BIGP")" "upstream GETs" &&
	i=0 &&
	while [ $i -lt 20 ]; do
		assert_eq "$BIG_SHA" "$(file_sha256 "$T/big.$i")" "body $i" ||
		return 1
		i=$((i + 1))
	done &&
	blob_stored "$BIG_SHA"
'
upstream_control "{}"

test_expect_success '/metrics counts the on-demand fetches' '
	st=$(http_status "$SERVE_URL/metrics") &&
	assert_eq 200 "$st" "metrics status" &&
	grep -Eq "^mirrord_ondemand_fetches_total\{mirror=\"demo\"\} [4-9]" \
	    "$T/b" &&
	grep -Eq "^mirrord_ondemand_failures_total\{mirror=\"demo\"\} [3-9]" \
	    "$T/b" &&
	grep -Eq "^mirrord_ondemand_bytes_total\{mirror=\"demo\"\} [0-9]{7}" \
	    "$T/b" &&
	grep -Eq "^mirrord_ondemand_inflight\{mirror=\"demo\"\} 0" "$T/b" &&
	grep -Eq "^mirrord_ondemand_last_failure_timestamp_seconds\{mirror=\"demo\",what=\".*\"\} [0-9]+" "$T/b" &&
	grep -Eq "^mirrord_ondemand_fetch_seconds_count\{mirror=\"demo\"\} [4-9]" \
	    "$T/b" &&
	ref=$(sed -n "s/^mirrord_pool_files{mirror=\"demo\",state=\"referenced\"} //p" \
	    "$T/b") &&
	sto=$(sed -n "s/^mirrord_pool_files{mirror=\"demo\",state=\"stored\"} //p" \
	    "$T/b") &&
	assert_eq "$(wc -l <"$T/pool")" "$ref" "pool files referenced" &&
	n=0 && while read -r h s p; do
		! blob_stored "$h" || n=$((n + 1))
	done <"$T/pool" &&
	assert_eq "$n" "$sto" "pool files stored" &&
	grep -Eq "^mirrord_pool_bytes\{mirror=\"demo\",state=\"stored\"\} [0-9]{7}" \
	    "$T/b"
'

test_expect_success 'fsck is clean after it all' '
	stop_serve &&
	fsck_clean
'

test_expect_success 'gc with no grace keeps every blob stored on demand' '
	while read -r h s p; do
		! blob_stored "$h" || echo "$h $p"
	done <"$T/pool" >"$T/ondemand.stored" &&
	[ -s "$T/ondemand.stored" ] &&
	set_global Gc-Grace 0 &&
	MIRRORD_TEST_GC_GRACE_MIN=0 run mirrord gc &&
	assert_rc 0 &&
	while read -r h p; do
		blob_stored "$h" || fail "gc removed $p, which the snapshot names"
	done <"$T/ondemand.stored" &&
	MIRRORD_TEST_GC_GRACE_MIN=0 fsck_clean
'
