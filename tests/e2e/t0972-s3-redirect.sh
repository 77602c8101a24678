#!/bin/sh
# S3-Redirect: yes (MIRRORD_E2E_BLOBS=s3): a pool file is answered with a
# 302 to a presigned URL of its object, which serves the file's bytes;
# Release files and indices are answered by mirrord itself; apt follows
# the redirects and installs with the fixture's bytes.
. "$(dirname "$0")/lib.sh"

$E2E_S3 || skip_all "the S3 backend's test: run with MIRRORD_E2E_BLOBS=s3 (make e2e-s3)"

setup_synced
fixture_packages "$ARCHIVE" >"$T/pkgs"
set_global S3-Redirect yes
set_global S3-Redirect-Expiry 10m
start_serve
pool=$(awk '$1 == "stable" && $2 == "hello" && $3 == "amd64" { print $5 }' \
    "$T/pkgs")

test_expect_success 'a pool file: 302 to a presigned URL of its object' '
	run curl -s -o /dev/null -D "$T/h" -w "%{http_code}" \
	    "$SERVE_URL/demo/$SNAP1/$pool" &&
	assert_eq 302 "$(cat "$T/out")" "status of a pool file" &&
	loc=$(sed -n "s/^[Ll]ocation: //p" "$T/h" | tr -d "\r") &&
	case $loc in
	"$E2E_S3_ENDPOINT/$(s3_bucket)/blobs/"*X-Amz-Signature=*) ;;
	*) fail "Location is not a presigned object URL: $loc" ;;
	esac &&
	grep -qi "^cache-control: no-store" "$T/h"
'

test_expect_success 'the presigned URL serves the pool file' '
	curl -sf -o "$T/got.deb" "$loc" &&
	cmp "$ARCHIVE/$pool" "$T/got.deb"
'

test_expect_success 'Release files and indices: answered by mirrord' '
	for f in dists/stable/InRelease dists/stable/Release \
	    dists/stable/main/binary-amd64/Packages.gz; do
		assert_eq 200 "$(curl -s -o "$T/f" -w "%{http_code}" \
		    "$SERVE_URL/demo/$SNAP1/$f")" "status of $f" &&
		cmp "$ARCHIVE/$f" "$T/f" || return 1
	done
'

test_expect_success 'apt follows the redirects: install --download-only' '
	A=$T/box &&
	apt_box "$A" &&
	echo "deb [signed-by=$KEY] $SERVE_URL/demo/$SNAP1 stable main" \
	    >"$A/etc/apt/sources.list" &&
	apt_update_ok "$A" &&
	run apt_get "$A" install --download-only -y hello &&
	assert_rc 0 &&
	v=$(apt_candidate "$A" hello) &&
	cmp "$ARCHIVE/$pool" "$A/var/cache/apt/archives/hello_${v}_amd64.deb"
'
