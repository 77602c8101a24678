#!/bin/sh
# HTTP semantics of `mirrord serve`, checked with curl and a raw socket:
# single ranges (206, Content-Range), resumed downloads, HEAD, validators
# (ETag/If-None-Match, Last-Modified/If-Modified-Since, If-Range), 416 on an
# unsatisfiable range, and apt fetching indices by-hash.
. "$(dirname "$0")/lib.sh"

setup_synced
start_serve
run mirrord promote demo latest production
assert_rc 0

deb=$(fixture_packages "$ARCHIVE" | awk '$1 == "stable-updates" &&
    $2 == "hello" && $3 == "amd64" { print $5 }')
FILE=$ARCHIVE/$deb
SIZE=$(stat -c %s "$FILE")
SHA=$(file_sha256 "$FILE")
URL=$SERVE_URL/demo/$SNAP1/$deb
[ "$SIZE" -gt 300 ] || fail "fixture file $deb is too small ($SIZE bytes)"
step "file: $deb ($SIZE bytes)"

# slice FROM COUNT: bytes of $FILE into $T/want
slice() {
	dd if="$FILE" of="$T/want" bs=1 skip="$1" count="$2" 2>/dev/null
}

step "GET: 200 with validators"
s=$(http_status "$URL")
assert_eq 200 "$s" "status of GET $URL"
cmp -s "$T/b" "$FILE" || fail "GET body differs from the fixture's file"
assert_eq "$SIZE" "$(header Content-Length)" "Content-Length"
etag=$(header ETag)
lm=$(header Last-Modified)
case $etag in
'"'*'"') ;;
*) fail "ETag: expected a strong entity tag, got '$etag'" ;;
esac
assert_eq "\"$SHA\"" "$etag" "ETag (the SHA-256 of the content)"
[ -n "$lm" ] || fail "no Last-Modified header"
assert_eq bytes "$(header Accept-Ranges)" "Accept-Ranges"
cc=$(header Cache-Control)
maxage=$(echo "$cc" | sed -n 's/.*max-age=\([0-9]*\).*/\1/p')
[ -n "$maxage" ] && [ "$maxage" -ge 86400 ] ||
	fail "Cache-Control of an immutable snapshot-ID URL: '$cc'" \
	    "(expected a long max-age)"

step "Range: 206 with Content-Range"
s=$(http_status "$URL" -r 100-199)
assert_eq 206 "$s" "status of GET Range: bytes=100-199"
assert_eq "bytes 100-199/$SIZE" "$(header Content-Range)" "Content-Range"
assert_eq 100 "$(header Content-Length)" "Content-Length of the range"
slice 100 100
cmp -s "$T/b" "$T/want" || fail "the body of bytes=100-199 is not those bytes"

s=$(http_status "$URL" -r 200-)
assert_eq 206 "$s" "status of GET Range: bytes=200-"
assert_eq "bytes 200-$((SIZE - 1))/$SIZE" "$(header Content-Range)" \
    "Content-Range of bytes=200-"
slice 200 "$SIZE"
cmp -s "$T/b" "$T/want" || fail "the body of bytes=200- is not those bytes"

s=$(http_status "$URL" -r -50)
assert_eq 206 "$s" "status of GET Range: bytes=-50"
assert_eq "bytes $((SIZE - 50))-$((SIZE - 1))/$SIZE" \
    "$(header Content-Range)" "Content-Range of bytes=-50"
slice $((SIZE - 50)) 50
cmp -s "$T/b" "$T/want" || fail "the body of bytes=-50 is not the last 50 bytes"

step "a partial download resumed with curl -C -"
head -c 300 "$FILE" >"$T/partial"
code=$(curl -s --max-time 10 -C - -o "$T/partial" -w '%{http_code}' "$URL") ||
	fail "curl -C - failed"
assert_eq 206 "$code" "status of the resumed download"
cmp -s "$T/partial" "$FILE" || fail "the resumed file differs from the fixture's"

step "HEAD: the headers of GET, no body"
code=$(curl -s --max-time 10 -I -o "$T/hh" -w '%{http_code}' "$URL") || true
assert_eq 200 "$code" "status of HEAD"
assert_eq "$SIZE" "$(header Content-Length "$T/hh")" "Content-Length of HEAD"
assert_eq "$etag" "$(header ETag "$T/hh")" "ETag of HEAD"
printf 'HEAD /demo/%s/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' \
    "$SNAP1" "$deb" >"$T/req"
how=$(raw_request "$T/req" "$T/resp")
"$PYTHON" - "$T/resp" "$SIZE" <<'EOF' || fail "raw HEAD answer is wrong ($how)"
import sys
r = open(sys.argv[1], "rb").read()
head, sep, body = r.partition(b"\r\n\r\n")
if not head.startswith(b"HTTP/1.1 200"):
    print("status line: %r" % head[:40]); sys.exit(1)
if not sep or body:
    print("HEAD answer has %d body bytes" % len(body)); sys.exit(1)
if b"\r\ncontent-length: %s\r\n" % sys.argv[2].encode() not in head.lower() + b"\r\n":
    print("no Content-Length: %s in %r" % (sys.argv[2], head)); sys.exit(1)
EOF

step "If-None-Match: 304"
s=$(http_status "$URL" -H "If-None-Match: $etag")
assert_eq 304 "$s" "status with If-None-Match: $etag"
[ ! -s "$T/b" ] || fail "a 304 answer has a body"
assert_eq "$etag" "$(header ETag)" "ETag of the 304 answer"
s=$(http_status "$URL" -H 'If-None-Match: "0000"')
assert_eq 200 "$s" "status with a non-matching If-None-Match"
s=$(http_status "$URL" -H "If-None-Match: \"0000\", $etag")
assert_eq 304 "$s" "status with If-None-Match listing the ETag"

step "If-Modified-Since: 304"
s=$(http_status "$URL" -H "If-Modified-Since: $lm")
assert_eq 304 "$s" "status with If-Modified-Since: $lm"
[ ! -s "$T/b" ] || fail "a 304 answer has a body"
s=$(http_status "$URL" -H "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT")
assert_eq 200 "$s" "status with an old If-Modified-Since"

step "If-Range"
s=$(http_status "$URL" -r 10-19 -H "If-Range: $etag")
assert_eq 206 "$s" "status with a matching If-Range"
s=$(http_status "$URL" -r 10-19 -H 'If-Range: "0000"')
assert_eq 200 "$s" "status with a non-matching If-Range"
cmp -s "$T/b" "$FILE" || fail "a non-matching If-Range did not get the whole file"

step "unsatisfiable ranges: 416 with Content-Range: bytes */SIZE"
for r in "$SIZE-" "$((SIZE + 1000))-$((SIZE + 2000))"; do
	s=$(http_status "$URL" -r "$r")
	assert_eq 416 "$s" "status of Range: bytes=$r"
	assert_eq "bytes */$SIZE" "$(header Content-Range)" \
	    "Content-Range of the 416 to bytes=$r"
done

step "apt-get update on the channel fetches indices by-hash"
run mirrord sources demo production
assert_rc 0
BOX=$T/box
apt_box "$BOX"
cp "$T/out" "$BOX/etc/apt/sources.list.d/x.sources"
apt_update_ok "$BOX"
grep -E '"GET /demo/production/dists/[^ ]*/by-hash/SHA256/[0-9a-f]{64} HTTP/1\.[01]" 200 ' \
    "$T/serve.log" >"$T/byhash" || true
[ -s "$T/byhash" ] || fail "no by-hash GET in the access log: $(grep -c . "$T/serve.log") lines, e.g. $(grep dists "$T/serve.log" | tail -n 3)"
n=$(wc -l <"$T/byhash" | tr -d ' ')
step "$n by-hash GETs answered 200"
# A by-hash object is the file with that hash.
p=$(head -n 1 "$T/byhash" | sed 's/.*"GET \([^ ]*\) .*/\1/')
s=$(http_status "$SERVE_URL$p")
assert_eq 200 "$s" "status of $p"
assert_eq "${p##*/}" "$(file_sha256 "$T/b")" "sha256 of $p"
s=$(http_status "$SERVE_URL/demo/production/dists/stable/main/binary-amd64/by-hash/SHA256/$(printf '%064d' 0)")
assert_eq 404 "$s" "status of a by-hash path of no file"

stop_serve
step "ok"
