#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# A sync that fills the disk, and getting the space back. The store is on
# a 20 MiB tmpfs. Generation 1 of the fixture is synced (S1) and served;
# generation 2 adds NBULK incompressible packages, more than the tmpfs
# holds. Then:
#   - the sync fails and says "No space left on device"; the blobs it
#     downloaded cannot be recorded either (that commit needs space too),
#     which it says; they are files no table lists; fsck: no problem;
#   - a sync on the full disk says the disk is full (it used to blame the
#     keyring: gpg's import into its home under tmp/ failed silently);
#   - gc with Gc-Grace: 1h keeps those files (too young) and says so; once
#     their mtime is 2 h old, gc removes them: df shows the space back,
#     fsck finds no unreferenced file;
#   - S1 is served byte-exact throughout; after the tmpfs grows, the next
#     sync succeeds, fsck passes and S1 is still the same.
# Needs root (mount); skipped, not passed, without it.
. "$(dirname "$0")/lib.sh"

NBULK=600
BULK=36000

[ "$(id -u)" = 0 ] || skip_all "not root: cannot mount a tmpfs"
MNT=$T/mnt
mkdir "$MNT"
mount -t tmpfs -o size=20m,mode=0755 tmpfs "$MNT" 2>"$T/mount.err" ||
	skip_all "mount -t tmpfs failed: $(cat "$T/mount.err")"
# Unmounted whatever happens (lazily: a server may still hold files),
# before lib.sh's cleanup removes $T.
trap '_rc0=$?; umount -l "$MNT" 2>/dev/null; (exit $_rc0); _cleanup' EXIT
STORE=$MNT/store

# mkfull.py: mkarchive.py whose generation 2 has NBULK more packages
# 'bulkNNN' (stable-updates main, arch all), each .deb holding BULK
# incompressible (seeded, so cached) bytes, uncompressed.
cat >"$T/mkfull.py" <<'EOF'
import os, random, sys
sys.path.insert(0, os.path.dirname(os.environ["MKARCHIVE_PY"]))
import mkarchive as mk
NBULK, BULK = int(os.environ["NBULK"]), int(os.environ["BULK"])
cat0, payload0, build0 = mk.catalogue, mk.deb_payload, mk.build_deb
def catalogue(gen, nfill):
    cat = cat0(gen, nfill)
    if gen == 2:
        cat[("stable-updates", "main")] += [
            mk.Pkg("bulk%03d" % i, "1.0-1", "all", section="misc")
            for i in range(NBULK)]
    return cat
def deb_payload(p, arch):
    if p.name.startswith("bulk"):
        return random.Random(p.name).randbytes(BULK)
    return payload0(p, arch)
def build_deb(p, arch, cache, compressor):
    if p.name.startswith("bulk"):
        compressor = "none"
    return build0(p, arch, cache, compressor)
mk.catalogue, mk.deb_payload, mk.build_deb = catalogue, deb_payload, build_deb
mk.main()
EOF

# mkfull GENERATION: (re)builds $ARCHIVE with mkfull.py.
mkfull() {
	MKARCHIVE_PY=$MKARCHIVE_PY NBULK=$NBULK BULK=$BULK timeout 150 \
	    "$PYTHON" "$T/mkfull.py" "$ARCHIVE" --gnupghome "$GNUPG" \
	    --generation "$1" >"$T/mkarchive.out" 2>&1 ||
		fail "mkfull.py --generation $1: $(cat "$T/mkarchive.out")"
	step "mkfull: $(cat "$T/mkarchive.out")"
	[ -f "$KEY" ] || cp "$ARCHIVE/archive-key.gpg" "$KEY"
}

avail_kib() {
	df -k --output=avail "$MNT" | tail -n 1 | tr -d ' '
}

# s1_served: S1's stable-updates InRelease and hello .deb, through
# `mirrord serve`, are the bytes generation 1 had.
s1_served() {
	assert_eq 200 "$(http_status "$SERVE_URL/demo/$S1/dists/stable-updates/InRelease")" \
	    "GET S1's stable-updates InRelease ($1)"
	assert_eq "$S1_INREL" "$(file_sha256 "$T/b")" \
	    "sha256 of S1's stable-updates InRelease ($1)"
	assert_eq 200 "$(http_status "$SERVE_URL/demo/$S1/$HELLO_PATH")" \
	    "GET S1's $HELLO_PATH ($1)"
	assert_eq "$HELLO_SHA" "$(file_sha256 "$T/b")" \
	    "sha256 of S1's $HELLO_PATH ($1)"
	snapshot_content demo "$S1" "$T/s1.now"
	cmp -s "$T/s1.json" "$T/s1.now" ||
		fail "snapshot $S1 changed ($1): $(diff "$T/s1.json" "$T/s1.now" | head -5)"
}

step "generation 1 on a 20 MiB tmpfs"
mkfull 1
S1_INREL=$(file_sha256 "$ARCHIVE/dists/stable-updates/InRelease")
set -- $(fixture_files "$ARCHIVE" | grep ' pool/main/h/hello/hello_[^ ]*_amd64\.deb$' |
    grep -v deb12u | head -n 1)
[ $# = 3 ] || fail "no stable hello amd64 .deb in the fixture"
HELLO_SHA=$1
HELLO_PATH=$3
start_upstream
write_conf
sync_ok
S1=$SNAP
snapshot_content demo "$S1" "$T/s1.json"
start_serve
s1_served "after the first sync"
step "store after S1: $(avail_kib) KiB free"

step "generation 2: $NBULK packages of $BULK bytes, more than the tmpfs holds"
mkfull 2
# A pool file written behind fails creating or writing its file in place
# (or, replacing one, its unnamed file in tmp/ or the link); any other
# file, writing its temp file.
expect_sync_failure "(cannot write (a file in )?'$STORE/tmp[^']*'|cannot (create|write|link) '$STORE/blobs/[^']*'): No space left on device"
# The blobs downloaded before the disk filled: their record needs space too.
assert_err_match "warning: mirror 'demo': cannot record [0-9]+ verified blobs .*No space left on device"
step "after the failed sync: $(avail_kib) KiB free"
[ "$(avail_kib)" -lt 512 ] ||
	fail "the tmpfs still has $(avail_kib) KiB free: the test proves nothing"
assert_tmp_empty
s1_served "after the failed sync"

step "fsck: no problem, the downloaded blobs are listed nowhere"
run mirrord fsck
assert_rc 0
assert_out_match ' ([1-9][0-9]{2,}) unreferenced blob files, 0 problems$'
ORPHANS=$(sed -n 's/.* \([0-9]*\) unreferenced blob files, 0 problems$/\1/p' "$T/out")
step "fsck: $ORPHANS unreferenced blob files"

step "a sync on the full disk says so"
expect_sync_failure "No space left on device"
if grep -q 'holds no OpenPGP keys' "$T/err"; then
	fail "the full disk was reported as a keyring without keys"
fi
grep -E 'error:' "$T/err" | grep -q "$STORE/tmp" ||
	fail "the error does not name the full file system's path ($STORE/tmp)"

step "gc with Gc-Grace: 1h keeps files younger than the grace"
set_global Gc-Grace 1h
run mirrord gc
assert_rc 0
assert_out_match "^0 blob files no table lists \(0\.0 MiB\) removed, $ORPHANS younger than the grace period kept$"
[ "$(avail_kib)" -lt 512 ] || fail "gc within the grace freed space"

step "their files 2 hours old: gc removes them"
find "$STORE/blobs" -type f -exec touch -d '2 hours ago' {} +
run mirrord gc
assert_rc 0
assert_out_match "^$ORPHANS blob files no table lists \([0-9.]+ MiB\) removed, 0 younger than the grace period kept$"
assert_out_match '^0 snapshots dropped, 0 blobs '
step "gc: $(tr '\n' ' ' <"$T/out")"
step "after gc: $(avail_kib) KiB free"
[ "$(avail_kib)" -ge $((15 * 1024)) ] ||
	fail "only $(avail_kib) KiB free after gc: the space is not back"
run mirrord fsck
assert_rc 0
assert_out_match ' 0 unreferenced blob files, 0 problems$'
s1_served "after gc"

step "the tmpfs grows: the next sync succeeds"
mount -o remount,size=96m "$MNT" || fail "cannot remount $MNT with size=96m"
sync_ok
S2=$SNAP
[ "$S2" != "$S1" ] || fail "the sync made no new snapshot"
check_pool_blobs "$ARCHIVE"
run mirrord fsck
assert_rc 0
assert_out_match ' 0 unreferenced blob files, 0 problems$'
s1_served "after the sync of generation 2"
assert_tmp_empty
stop_serve
step "ok"
