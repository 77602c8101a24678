#!/bin/sh
# The S3 blob backend (MIRRORD_E2E_BLOBS=s3): a cold read streams. With
# the cache emptied, 10 clients at once and a Range request for a 5 MB
# .deb make exactly one GET to the bucket (mirrord_s3_downloads_total),
# every body right; it is then cached, and served from the cache (no
# more GET). A cold file's HEAD and its conditional GET (304) answer from
# the index alone: no GET, nothing cached. No on-demand counter moves.
# (That the first bytes go out before the download ends is shown without
# timing in tests/unit/t_s3flight.c, which holds the bucket's answer.)
. "$(dirname "$0")/lib.sh"

$E2E_S3 || skip_all "the S3 backend's test: run with MIRRORD_E2E_BLOBS=s3 (make e2e-s3)"

BIG=$((5 * 1024 * 1024))

# One more package: 'bigdata', a .deb of BIG incompressible bytes.
mkbig_archive "$BIG" 973

# cached SHA256: the blob's file is in the cache (blob_path would copy it
# there from the bucket).
cached() {
	_r=${1#??}
	[ -f "$STORE/blobs/${1%"$_r"}/$1" ]
}
# metric NAME: its value in /metrics.
metric() {
	curl -sf --max-time 10 "$SERVE_URL/metrics" |
	    awk -v n="$1" '$1 == n { print $2 }'
}

start_upstream
write_conf
sync_ok
set -- $(pool_of bigdata_)
BIG_SHA=$1 BIG_SIZE=$2 BIGP=$3
[ "$BIG_SIZE" -gt "$BIG" ] || fail "the bigdata .deb is only $BIG_SIZE bytes"
set -- $(pool_of hello_)
HELLO_SHA=$1 HELLO_SIZE=$2 HELLO=$3

test_expect_success 'the cache emptied: every blob only in the bucket' '
	rm -rf "$STORE/blobs" &&
	mkdir "$STORE/blobs" &&
	! cached "$BIG_SHA" && ! cached "$HELLO_SHA"
'

start_serve
U=$SERVE_URL/demo/$SNAP

test_expect_success 'HEAD of a cold file: 200 from the index, no GET' '
	st=$(http_status "$U/$HELLO" -I) &&
	assert_eq 200 "$st" "HEAD status" &&
	assert_eq "$HELLO_SIZE" "$(header Content-Length)" "Content-Length" &&
	assert_eq "\"$HELLO_SHA\"" "$(header ETag)" "ETag" &&
	assert_eq 0 "$(metric mirrord_s3_downloads_total)" "bucket GETs" &&
	! cached "$HELLO_SHA"
'

test_expect_success 'a cold conditional GET: 304 from the index, no GET' '
	st=$(http_status "$U/$HELLO" -H "If-None-Match: \"$HELLO_SHA\"") &&
	assert_eq 304 "$st" "status" &&
	assert_eq 0 "$(metric mirrord_s3_downloads_total)" "bucket GETs" &&
	! cached "$HELLO_SHA"
'

# clients: 10 GETs of the big .deb and one Range request, at once; waits
# for them (curl's --max-time bounds each).
clients() {
	_pids=
	for _i in 0 1 2 3 4 5 6 7 8 9; do
		curl -s --max-time 60 -o "$T/big.$_i" -w "%{http_code}\n" \
		    "$U/$BIGP" >"$T/code.$_i" &
		_pids="$_pids $!"
	done
	curl -s --max-time 60 -o "$T/big.range" -w "%{http_code}\n" \
	    -r 1000000-1999999 "$U/$BIGP" >"$T/code.range" &
	_pids="$_pids $!"
	for _p in $_pids; do
		wait "$_p" || :
	done
}

test_expect_success '10 clients and a Range request at once: one GET' '
	clients &&
	assert_eq 1 "$(metric mirrord_s3_downloads_total)" "bucket GETs" &&
	assert_eq 0 "$(metric mirrord_s3_uploads_total)" "uploads"
'

test_expect_success 'every body right' '
	i=0 &&
	while [ $i -lt 10 ]; do
		assert_eq 200 "$(cat "$T/code.$i")" "client $i status" &&
		cmp "$ARCHIVE/$BIGP" "$T/big.$i" || return 1
		i=$((i + 1))
	done &&
	assert_eq 206 "$(cat "$T/code.range")" "the Range status" &&
	tail -c +1000001 "$ARCHIVE/$BIGP" | head -c 1000000 >"$T/want.range" &&
	cmp "$T/want.range" "$T/big.range"
'

test_expect_success 'cached now, and served from the cache' '
	cached "$BIG_SHA" &&
	cmp "$ARCHIVE/$BIGP" "$STORE/blobs/$(echo "$BIG_SHA" | cut -c1-2)/$BIG_SHA" &&
	st=$(http_status "$U/$BIGP") &&
	assert_eq 200 "$st" "status" &&
	cmp "$ARCHIVE/$BIGP" "$T/b" &&
	assert_eq 1 "$(metric mirrord_s3_downloads_total)" "bucket GETs" &&
	[ -z "$(ls -A "$STORE/tmp")" ]
'

test_expect_success 'no on-demand counter moved, the S3 gauges are there' '
	curl -sf "$SERVE_URL/metrics" >"$T/metrics" &&
	! grep -q "^mirrord_ondemand_fetches_total" "$T/metrics" &&
	grep -q "^mirrord_s3_cache_max_bytes [1-9]" "$T/metrics" &&
	grep -q "^mirrord_s3_download_joins_total 0" "$T/metrics"
'

stop_serve
