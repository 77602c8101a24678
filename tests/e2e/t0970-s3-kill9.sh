#!/bin/sh
# The S3 blob backend (Blobs: s3://, MIRRORD_E2E_BLOBS=s3): a sync puts
# every blob in the bucket before it commits; kill -9 in the middle of a
# sync, sync again: fsck is clean (every listed blob has its object), the
# bucket holds every pool file, the snapshot is that of an uninterrupted
# sync. The store remembers its backend: Blobs: file is refused.
. "$(dirname "$0")/lib.sh"

$E2E_S3 || skip_all "the S3 backend's test: run with MIRRORD_E2E_BLOBS=s3 (make e2e-s3)"

mkarchive --generation 1
start_upstream
# slow the upstream down a little so that the kill lands mid-transfer
upstream_control '{"delay": {"pattern": "", "seconds": 0.03}}'

test_expect_success 'an uninterrupted sync into its own bucket' '
	STORE=$T/ref CONF=$T/ref.conf &&
	write_conf &&
	t0=$(now_ms) &&
	sync_ok &&
	DUR=$(($(now_ms) - t0)) &&
	snapshot_content demo latest "$T/ref.json" &&
	blob_list >"$T/ref.blobs" &&
	[ -s "$T/ref.blobs" ]
'

test_expect_success 'every blob the sync listed is in the bucket (fsck)' '
	run mirrord fsck &&
	assert_rc 0 &&
	assert_out_match " 0 problems$" &&
	check_pool_blobs "$ARCHIVE"
'

# killed_sync I: a store (and so a bucket) of its own, a sync killed after a
# random delay, then a sync to the end.
killed_sync() {
	STORE=$T/s$1
	CONF=$T/s$1.conf
	write_conf
	ms=$(rand_ms $((DUR * 12 / 10 + 10)))
	sync_kill_after "$ms"
	echo "# #$1: $how"
	run mirrord sync
	assert_rc 0
	run mirrord fsck --deep
	assert_rc 0
	assert_out_match " 0 problems$"
	assert_tmp_empty
	snapshot_content demo latest "$T/got.json"
	cmp -s "$T/ref.json" "$T/got.json" ||
		fail "#$1 ($how): the snapshot differs from the uninterrupted one"
	blob_list >"$T/got.blobs"
	# Objects a killed run uploaded but never listed may remain (gc
	# deletes them after the grace): every reference blob must be there.
	[ -z "$(comm -23 "$T/ref.blobs" "$T/got.blobs")" ] ||
		fail "#$1 ($how): blobs missing from the bucket:
$(comm -23 "$T/ref.blobs" "$T/got.blobs" | head -5)"
	check_pool_blobs "$ARCHIVE"
}

test_expect_success 'kill -9 mid-sync, sync again: fsck --deep clean (1)' '
	killed_sync 1
'
test_expect_success 'kill -9 mid-sync, sync again: fsck --deep clean (2)' '
	killed_sync 2
'

test_expect_success 'the store refuses Blobs: file' '
	STORE=$T/s1 CONF=$T/s1.conf &&
	grep -v "^Blobs:" "$CONF" >"$T/file.conf" &&
	run "$MIRRORD" -c "$T/file.conf" snapshot list demo &&
	assert_rc 1 &&
	assert_err_match "keeps its blobs in s3://"
'
