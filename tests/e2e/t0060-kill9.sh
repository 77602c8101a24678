#!/bin/sh
# kill -9 at a random moment of a sync, then sync again: the store passes
# fsck, the snapshot equals that of an uninterrupted sync, tmp/ is empty.
# First into empty stores, then over a store that holds generation 1.
. "$(dirname "$0")/lib.sh"

KILLS=${KILLS:-3}		# per phase; two phases
mkarchive --generation 1
start_upstream
# slow the upstream down a little so that kills land mid-transfer
upstream_control '{"delay": {"pattern": "", "seconds": 0.03}}'

# reference STORE: an uninterrupted sync; sets DUR (ms) and REF_* files
reference() {	# PHASE
	STORE=$T/ref
	CONF=$T/ref.conf
	write_conf
	t0=$(now_ms)
	sync_ok
	DUR=$(($(now_ms) - t0))
	snapshot_content demo latest "$T/ref$1.json"
	blob_list >"$T/ref$1.blobs"
	step "phase $1: uninterrupted sync took $DUR ms, $(wc -l <"$T/ref$1.blobs") blobs"
}

# killed_sync STORE PHASE I: sync, kill -9 after a random delay, sync again
killed_sync() {
	STORE=$1
	CONF=$1.conf
	write_conf
	ms=$(rand_ms $((DUR * 12 / 10 + 10)))
	sync_kill_after "$ms"
	step "phase $2 #$3: $how"
	run mirrord sync
	assert_rc 0
	run mirrord fsck
	assert_rc 0
	assert_tmp_empty
	snapshot_content demo latest "$T/got.json"
	cmp -s "$T/ref$2.json" "$T/got.json" ||
		fail "phase $2 #$3 ($how): snapshot differs from the uninterrupted one:
$(diff "$T/ref$2.json" "$T/got.json" | head -20)"
	blob_list >"$T/got.blobs"
	cmp -s "$T/ref$2.blobs" "$T/got.blobs" ||
		fail "phase $2 #$3 ($how): blobs differ from the uninterrupted sync:
$(diff "$T/ref$2.blobs" "$T/got.blobs" | head -10)"
	assert_eq "$2" "$(snapshot_count demo)" "snapshots in phase $2"
}

step "phase 1: first syncs into empty stores"
reference 1
i=1
while [ "$i" -le "$KILLS" ]; do
	killed_sync "$T/s$i" 1 "$i"
	i=$((i + 1))
done

step "phase 2: generation 2 over stores holding generation 1"
mkarchive --generation 2
reference 2
i=1
while [ "$i" -le "$KILLS" ]; do
	killed_sync "$T/s$i" 2 "$i"
	i=$((i + 1))
done
