#!/bin/sh
# On-demand content (issue 17), the content side: a mirror with
# `Download: on-demand` syncs indices and no pool file (the upstream's log
# shows no pool request); `snapshot show`, fsck and status say what is
# referenced and not stored; `mirrord fetch` stores it all, byte for
# byte, and a second fetch transfers nothing; with `Prefetch: production`
# a promotion to staging moves without fetching, one to production
# fetches first and, with a new .deb answered 404 upstream, fails naming
# it and leaves production where it was; a .deb with a wrong hash is
# refused by `fetch`, nothing of it stored, and fails a rollback of a
# Prefetch: channel to it; the daemon's rollout step to a Prefetch:
# channel waits (its log naming the file) until the file can be stored,
# then fetches and moves.
. "$(dirname "$0")/lib.sh"

# pool_requests: how many pool files the upstream was asked for so far.
pool_requests() {
	grep -c '^GET /debian/pool/' "$T/upstream.log" || true
}

# stored_line REF: the "stored: S of N pool files" numbers, as "S N".
stored_line() {
	mirrord snapshot show demo "$1" >"$T/show.out" 2>"$T/show.err" ||
		fail "snapshot show $1: $(cat "$T/show.err")"
	sed -n 's/^stored: \([0-9]*\) of \([0-9]*\) pool files, .*/\1 \2/p' \
	    "$T/show.out"
}

# new_pool OLD NEW: "sha256 size path" of NEW's pool .debs not in OLD.
new_pool() {
	fixture_files "$1" pool | sort >"$T/old.pool"
	fixture_files "$2" pool | sort >"$T/new.pool"
	comm -13 "$T/old.pool" "$T/new.pool" | grep '\.deb$' || true
}

test_expect_success 'an on-demand sync stores no pool file' - <<'EOT'
mkarchive --generation 1
cp -a "$ARCHIVE" "$T/gen1"
start_upstream
new_conf
add_mirror demo "$UPSTREAM_URL"
printf 'Download: on-demand\nPrefetch: production\n' >>"$CONF"
sync_ok
SNAP1=$SNAP
assert_eq 0 "$(pool_requests)" "pool requests during the sync"
fixture_files "$ARCHIVE" pool | cut -d ' ' -f 1 | sort -u >"$T/pool.h"
blob_list >"$T/blobs"
[ -s "$T/blobs" ] || fail "no blob at all: the indices are not stored"
assert_eq "" "$(comm -12 "$T/pool.h" "$T/blobs" | head -n 3)" \
    "pool files among the blobs"
EOT

test_expect_success 'snapshot show: 0 of N pool files stored' - <<'EOT'
set -- $(stored_line latest)
assert_eq 0 "$1" "stored pool files"
N=$2
[ "$N" -gt 0 ] || fail "the snapshot names no pool file: $(cat "$T/show.out")"
step "0 of $N stored"
EOT

test_expect_success 'fsck: clean, the pool files counted as not stored' - <<'EOT'
run mirrord fsck
assert_rc 0
assert_out_match "^$N pool files referenced, not stored \\(on demand\\)\$"
assert_out_match ' 0 problems$'
EOT

test_expect_success 'status: referenced vs stored' - <<'EOT'
run mirrord status
assert_rc 0
assert_out_match "^  content: +0 of $N pool files, "
assert_out_match '^  fetched: +0 files, 0\.0 MiB; 0 failed'
run mirrord status --json
assert_rc 0
"$PYTHON" -c 'import json, sys
m = json.load(open(sys.argv[1]))["mirrors"][0]
assert m["download"] == "on-demand", m
assert m["content"]["pool_files"] == int(sys.argv[2]), m
assert m["content"]["stored_files"] == 0, m' "$T/out" "$N" ||
	fail "status --json: $(cat "$T/out")"
EOT

test_expect_success 'fetch stores every pool file' - <<'EOT'
run mirrord fetch demo latest
assert_rc 0
assert_out_match "^fetched $N files \\([0-9.]+ MiB\\); 0 already stored; snapshot $SNAP1 now fully stored\$"
assert_eq "$N $N" "$(stored_line latest)" "stored after fetch"
check_pool_blobs "$ARCHIVE"
run mirrord fsck
assert_rc 0
assert_out_match ' 0 problems$'
if grep -q 'not stored' "$T/out"; then
	fail "fsck still counts files not stored: $(cat "$T/out")"
fi
run mirrord status
assert_out_match "^  fetched: +$N files, "
assert_tmp_empty
EOT

test_expect_success 'a second fetch transfers nothing' - <<'EOT'
before=$(pool_requests)
run mirrord fetch demo "$SNAP1"
assert_rc 0
assert_out_match "^fetched 0 files \\(0\\.0 MiB\\); $N already stored; "
assert_eq "$before" "$(pool_requests)" "pool requests of the second fetch"
EOT

test_expect_success 'Prefetch: a second sync; promote to staging fetches nothing' - <<'EOT'
run mirrord promote demo "$SNAP1" production
assert_rc 0
mkarchive --generation 2
sync_ok
SNAP2=$SNAP
new_pool "$T/gen1" "$ARCHIVE" >"$T/new2"
[ -s "$T/new2" ] || fail "generation 2 has no new .deb"
set -- $(stored_line "$SNAP2")
[ "$1" -lt "$2" ] || fail "generation 2 is stored already: $1 of $2"
before=$(pool_requests)
run mirrord promote demo latest staging
assert_rc 0
assert_out_match "^staging -> $SNAP2\$"
assert_eq "$before" "$(pool_requests)" "pool requests of a promotion to staging"
EOT

test_expect_success 'Prefetch: a new .deb gone upstream fails the promotion' - <<'EOT'
GONE=$(head -n 1 "$T/new2" | cut -d ' ' -f 3)
GONE_H=$(head -n 1 "$T/new2" | cut -d ' ' -f 1)
upstream_control "$("$PYTHON" -c 'import json, re, sys
print(json.dumps({"status": {re.escape(sys.argv[1]) + "$": 404}}))' "$GONE")"
run mirrord promote demo latest production
assert_rc 1
grep -qF "'$GONE'" "$T/err" || fail "the error does not name '$GONE': $(cat "$T/err")"
assert_err_match "production"
assert_eq "$SNAP1" "$(channel_target production)" "production after the failed promotion"
[ ! -e "$(blob_path "$GONE_H")" ] || fail "the 404 file is in the store"
run mirrord status
assert_out_match "^  channels: +production +-> $SNAP1 "
grep -qF "snapshot $SNAP2 $GONE: " "$T/out" ||
	fail "status does not show the failure: $(cat "$T/out")"
run mirrord fsck
assert_rc 0
EOT

test_expect_success 'Prefetch: upstream repaired, the promotion fetches and moves' - <<'EOT'
upstream_control '{}'
run mirrord promote demo latest production
assert_rc 0
assert_out_match "^production -> $SNAP2\$"
set -- $(stored_line "$SNAP2")
assert_eq "$2" "$1" "stored files of $SNAP2"
check_pool_blobs "$ARCHIVE"
EOT

test_expect_success 'fetch refuses a .deb with a wrong hash' - <<'EOT'
cp -a "$ARCHIVE" "$T/gen2"
mkarchive --generation 3
sync_ok
new_pool "$T/gen2" "$ARCHIVE" >"$T/new3"
[ -s "$T/new3" ] || fail "generation 3 has no new .deb"
BAD=$(head -n 1 "$T/new3" | cut -d ' ' -f 3)
BAD_H=$(head -n 1 "$T/new3" | cut -d ' ' -f 1)
flip_byte "$ARCHIVE/$BAD"
run mirrord fetch demo latest
assert_rc 1
grep -qF "'$BAD'" "$T/err" || fail "the error does not name '$BAD': $(cat "$T/err")"
[ ! -e "$(blob_path "$BAD_H")" ] || fail "the wrong file is in the store"
set -- $(stored_line latest)
[ "$1" -lt "$2" ] || fail "latest is fully stored with a wrong file: $1 of $2"
run mirrord fsck
assert_rc 0
assert_out_match ' 0 problems$'
assert_tmp_empty
EOT

test_expect_success 'Prefetch: a rollback to a snapshot that cannot be stored fails' - <<'EOT'
SNAP3=$SNAP
run mirrord promote demo "$SNAP3" canary
assert_rc 0
run mirrord promote demo "$SNAP2" canary
assert_rc 0
# canary takes only fully stored snapshots from now on.
sed -i 's/^Prefetch: production$/Prefetch: production canary/' "$CONF"
run mirrord rollback demo canary
assert_rc 1
grep -qF "'$BAD'" "$T/err" || fail "the error does not name '$BAD': $(cat "$T/err")"
assert_err_match "canary"
assert_eq "$SNAP2" "$(channel_target canary)" "canary after the failed rollback"
EOT

# log_names_bad: the daemon's log has an error naming the wrong file.
log_names_bad() {
	grep -F "'$BAD'" "$T/daemon.log" | grep -q "dprod"
}

target_is() {	# CHANNEL SNAPSHOT
	[ "$(channel_target "$1")" = "$2" ]
}

test_expect_success 'the daemon: a rollout step to a Prefetch: channel fetches first' - <<'EOT'
set_global Sync-Interval 1h
sed -i 's/^Prefetch: production canary$/Prefetch: production canary dprod/' "$CONF"
cat >>"$CONF" <<EOF2

Rollout: pf
Mirror: demo
Steps: dcan 1s, dprod
EOF2
start_daemon
wait_for 20 "dcan at $SNAP3" target_is dcan "$SNAP3"
# The wrong file: the step waits, the log says why, dprod stays unset.
wait_for 20 "the daemon's error naming $BAD" log_names_bad
assert_eq "" "$(channel_target dprod)" "dprod with a wrong file upstream"
# Repaired upstream: the retry fetches, then moves.
flip_byte "$ARCHIVE/$BAD"
wait_for 60 "dprod at $SNAP3" target_is dprod "$SNAP3"
set -- $(stored_line "$SNAP3")
assert_eq "$2" "$1" "stored files of $SNAP3 once dprod moved"
grep -q "fetched [0-9]* files of $SNAP3 for channel 'dprod' (Prefetch:)" \
    "$T/daemon.log" || fail "no fetch in the daemon's log: $(tail -n 5 "$T/daemon.log")"
stop_daemon
EOT
