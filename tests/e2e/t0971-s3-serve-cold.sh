#!/bin/sh
# The S3 blob backend (MIRRORD_E2E_BLOBS=s3): the store's blobs/ is only a
# cache of the bucket. With it removed whole (rm -rf), `mirrord serve`
# answers apt from the bucket: apt-get update and install through a
# channel, the .debs the fixture's bytes; the cache fills again with what
# was read, each file verified on its way in.
. "$(dirname "$0")/lib.sh"

$E2E_S3 || skip_all "the S3 backend's test: run with MIRRORD_E2E_BLOBS=s3 (make e2e-s3)"

setup_synced
fixture_packages "$ARCHIVE" >"$T/pkgs"

test_expect_success 'promote, then empty the cache' '
	run mirrord promote demo "$SNAP1" prod &&
	assert_rc 0 &&
	rm -rf "$STORE/blobs" &&
	mkdir "$STORE/blobs" &&
	[ -z "$(find "$STORE/blobs" -type f)" ]
'

start_serve

want=$(awk '$1 == "stable-updates" && $2 == "hello" && $3 == "amd64" {
    print $4 }' "$T/pkgs")

test_expect_success 'apt-get update through the channel, from the bucket' '
	A=$T/box &&
	apt_box "$A" &&
	mirrord sources demo prod >"$A/etc/apt/sources.list.d/m.sources" &&
	apt_update_ok "$A" &&
	assert_eq "$want" "$(apt_candidate "$A" hello)" "candidate of hello"
'

test_expect_success 'apt-get install --download-only hello: the fixture bytes' '
	run apt_get "$A" install --download-only -y hello &&
	assert_rc 0 &&
	for p in hello libhello1; do
		fix=$(awk -v p="$p" "\$1 == \"stable-updates\" && \$2 == p &&
		    \$3 == \"amd64\" { print \$5 }" "$T/pkgs") &&
		cmp "$ARCHIVE/$fix" "$A/var/cache/apt/archives/${p}_${want}_amd64.deb" ||
		return 1
	done
'

test_expect_success 'the cache filled again with what was read' '
	n=$(find "$STORE/blobs" -type f | wc -l) &&
	[ "$n" -gt 0 ] &&
	echo "# $n blobs cached again" &&
	[ -z "$(ls -A "$STORE/tmp")" ]
'
