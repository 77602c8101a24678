# s3lib.sh: sourced by lib.sh: the e2e suite's S3 blob backend switch.
#
# MIRRORD_E2E_BLOBS=s3: run.sh started one OpenStack Swift for the run
# (tests/s3/swift.sh; E2E_S3_ENDPOINT, E2E_S3_CREDS; E2E_S3_UNAVAILABLE
# says why it could not). Each store of each test keeps its blobs in a
# bucket of its own (s3_bucket), so that tests running side by side, and
# the stores of one test, see none of each other's objects (gc deletes
# what its store does not list); the store's blobs/ is then a cache, and
# the helpers below look in the bucket too. The bucket is made and read with Swift's
# own API (an S3 client would have to sign with SigV4).
E2E_S3=false
if [ "${MIRRORD_E2E_BLOBS:-file}" = s3 ]; then
	E2E_S3=true
	[ -z "${E2E_S3_UNAVAILABLE:-}" ] ||
		skip_all "MIRRORD_E2E_BLOBS=s3: $E2E_S3_UNAVAILABLE"
	[ -n "${E2E_S3_ENDPOINT:-}" ] ||
		skip_all "MIRRORD_E2E_BLOBS=s3 needs run.sh's Swift"
fi

# Swift's token and account URL into $T/s3.auth, once per test.
_s3_auth() {
	[ -s "$T/s3.auth" ] && return 0
	_h=$(curl -sfi -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
	    "$E2E_S3_ENDPOINT/auth/v1.0" | tr -d '\r') ||
		fail "cannot log in to Swift at $E2E_S3_ENDPOINT"
	{
		echo "$_h" | sed -n 's/^X-Auth-Token: //p'
		echo "$_h" | sed -n 's/^X-Storage-Url: //p'
	} >"$T/s3.auth"
}

# s3_bucket: the bucket of $STORE ($T is the test's own).
s3_bucket() {
	echo "e2e-$(printf '%s' "$STORE" | cksum | tr ' ' '-')"
}

# s3_curl PATH [CURL ARGS...]: Swift's API on the bucket's PATH.
s3_curl() {
	_s3_auth
	_p=$1
	shift
	curl -sf -H "X-Auth-Token: $(sed -n 1p "$T/s3.auth")" "$@" \
	    "$(sed -n 2p "$T/s3.auth")/$(s3_bucket)$_p"
}

s3_bucket_make() {	# again is fine: a PUT of a bucket that exists
	s3_curl "" -o /dev/null -X PUT || fail "cannot make bucket $(s3_bucket)"
}

# s3_objects: the sorted sha256 names of the bucket's blob objects.
s3_objects() {
	s3_curl "?prefix=blobs/" | sed 's,.*/,,' | sort
}

# s3_get SHA256 DEST: the blob's object into DEST; false if there is none.
s3_get() {
	_r=${1#??}
	s3_curl "/blobs/${1%"$_r"}/$1" -o "$2"
}

# blob_rm SHA256: the store loses the blob: its file, and with the S3
# backend its object too (the file is then only a cached copy).
blob_rm() {
	rm -f "$(blob_path "$1")"
	if $E2E_S3; then
		_r=${1#??}
		s3_curl "/blobs/${1%"$_r"}/$1" -o /dev/null -X DELETE ||
			fail "cannot delete blob $1's object"
	fi
}
