#!/bin/sh
# First sync, a sync without upstream change, and an incremental sync that
# stores only what upstream changed.
. "$(dirname "$0")/lib.sh"

mkarchive --generation 1
cp -a "$ARCHIVE" "$T/gen1"
start_upstream
write_conf

step "first sync"
sync_ok
assert_lines 1
assert_out_match '^demo [0-9]{8}T[0-9]{6}Z$'
snap1=$SNAP
assert_tmp_empty

run mirrord snapshot list demo
assert_rc 0
assert_eq "$snap1" "$(cat "$T/out")" "snapshot list after the first sync"

run mirrord snapshot show demo latest
assert_rc 0
assert_out_match "^id: $snap1\$"
assert_out_match '^suite: stable date: '
assert_out_match '^suite: stable-updates date: '
run mirrord snapshot show demo "$snap1"
assert_rc 0
assert_out_match "^id: $snap1\$"

step "every pool file is a blob with the same bytes"
check_pool_blobs "$ARCHIVE"
fixture_files "$ARCHIVE" pool >"$T/pool1"
for s in stable stable-updates; do
	h=$(file_sha256 "$ARCHIVE/dists/$s/InRelease")
	[ -f "$(blob_path "$h")" ] || fail "dists/$s/InRelease ($h) is not a blob"
done

step "the uncompressed Packages and Sources the Release lists are kept"
# Debian's Release lists them without serving them: the sync keeps the
# text it decompressed when it matches that signed hash (composing and
# resolving then read it without decoding xz).
# (Those of the configured architectures and sources; an empty one is
# nothing to keep.)
fixture_files "$ARCHIVE" listed_only |
    grep -E ' [1-9][0-9]* [^ ]*/(binary-(amd64|arm64)/Packages|source/Sources)$' \
    >"$T/plain1"
[ -s "$T/plain1" ] || fail "the fixture lists no uncompressed index"
while read -r h _size path; do
	[ -f "$(blob_path "$h")" ] || fail "$path ($h) is not a blob"
	[ "$(file_sha256 "$(blob_path "$h")")" = "$h" ] ||
		fail "$path: its blob does not hash to $h"
done <"$T/plain1"
step "$(wc -l <"$T/plain1") uncompressed indices kept"

step "snapshot list --json accounts for every byte"
blob_list >"$T/blobs1"
total1=$(blob_bytes "$T/blobs1")
npool=$(cut -d ' ' -f 3 "$T/pool1" | sort -u | wc -l | tr -d ' ')
assert_eq 1 "$(snapshot_json demo 'len(j)')" "snapshots in --json"
assert_eq "$snap1" "$(snapshot_json demo 'j[0]["id"]')" "--json id"
assert_eq "$npool" "$(snapshot_json demo 'j[0]["files"]')" \
    "--json files (distinct pool files in .fixture.json)"
assert_eq "$total1" "$(snapshot_json demo 'j[0]["new_bytes"]')" \
    "--json new_bytes of the first snapshot (total size of all blobs)"
assert_eq "['stable', 'stable-updates']" \
    "$(snapshot_json demo 'sorted(j[0]["suites"])')" "--json suites"

step "second sync, nothing changed upstream"
run mirrord sync
assert_rc 0
assert_out_empty
assert_err_match "mirror 'demo'.*no change|no change.*demo"
assert_eq 1 "$(snapshot_count demo)" "snapshots after a no-change sync"
blob_list >"$T/blobs1b"
cmp -s "$T/blobs1" "$T/blobs1b" || fail "a no-change sync changed the blobs"

step "generation 2: new versions in stable-updates"
mkarchive --generation 2
sync_ok
assert_lines 1
snap2=$SNAP
[ "$snap2" != "$snap1" ] &&
    [ "$(printf '%s\n%s\n' "$snap1" "$snap2" | sort | tail -n 1)" = "$snap2" ] ||
	fail "snapshot ids must increase: '$snap1' then '$snap2'"
run mirrord snapshot list demo
assert_rc 0
assert_eq "$snap1 $snap2" "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')" \
    "snapshot list after the second change"
run mirrord snapshot show demo latest
assert_rc 0
assert_out_match "^id: $snap2\$"
run mirrord snapshot show demo 99991231T235959Z
assert_rc 0
assert_out_match "^id: $snap2\$"
assert_tmp_empty

blob_list >"$T/blobs2"
comm -13 "$T/blobs1" "$T/blobs2" >"$T/new"
comm -23 "$T/blobs1" "$T/blobs2" >"$T/gone"
[ ! -s "$T/gone" ] || fail "blobs disappeared: $(head -3 "$T/gone")"
# What the new blobs may be: only files of generation 2 that generation 1
# did not have. What they must include: the new pool files and the new
# stable-updates InRelease.
"$PYTHON" - "$T/gen1/.fixture.json" "$ARCHIVE/.fixture.json" "$T/new" \
    "$(file_sha256 "$ARCHIVE/dists/stable-updates/InRelease")" \
    "$(file_sha256 "$ARCHIVE/dists/stable/InRelease")" <<'PY' || fail "unexpected set of new blobs"
import json, sys
g1, g2 = (json.load(open(p)) for p in sys.argv[1:3])
new = set(open(sys.argv[3]).read().split())
def hashes(g, *kinds):
    return {f["sha256"]: f["path"] for k in kinds for f in g[k]}
old = hashes(g1, "pool", "dists", "listed_only")
cur = hashes(g2, "pool", "dists", "listed_only")
allowed = {h: p for h, p in cur.items() if h not in old}
newpool = {f["sha256"]: f["path"] for f in g2["pool"] if f["sha256"] not in old}
bad = 0
for h in sorted(new - set(allowed)):
    print("new blob %s is not a file new in generation 2" % h); bad = 1
for h, p in sorted(newpool.items()):
    if h not in new:
        print("new pool file %s (%s) was not stored" % (p, h)); bad = 1
if sys.argv[4] not in new:
    print("the new stable-updates InRelease is not a new blob"); bad = 1
if sys.argv[5] in new:
    print("the unchanged stable InRelease was stored again"); bad = 1
print("# %d new blobs: %d new pool files and %d index/Release files"
      % (len(new), len(newpool), len(new) - len(newpool)))
sys.exit(bad)
PY
new_bytes=$(blob_bytes "$T/new")
assert_eq "$new_bytes" "$(snapshot_json demo 'j[-1]["new_bytes"]')" \
    "--json new_bytes of the second snapshot (size of the blobs it added)"
bytes2=$(snapshot_json demo 'j[-1]["bytes"]')
[ "$new_bytes" -lt "$bytes2" ] ||
	fail "new_bytes ($new_bytes) should be below bytes ($bytes2)"
step "ok: $(wc -l <"$T/new" | tr -d ' ') new blobs, $new_bytes of $bytes2 bytes"
