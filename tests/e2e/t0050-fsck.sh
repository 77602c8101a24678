#!/bin/sh
# fsck passes on a good store and names each damaged or missing blob.
. "$(dirname "$0")/lib.sh"

setup_synced
run mirrord fsck
assert_rc 0

step "one byte flipped in a pool blob"
h=$(fixture_files "$ARCHIVE" pool | grep ' pool/main/h/hello/hello_2.10-3_amd64.deb$' |
    cut -d ' ' -f 1)
[ -n "$h" ] || fail "fixture: no hello_2.10-3_amd64.deb"
b=$(blob_path "$h")
[ -f "$b" ] || fail "no blob $b"
chmod u+w "$b" 2>/dev/null || true
flip_byte "$b"
run mirrord fsck
assert_rc 1
assert_output_match "$h"
assert_output_match "$h.*(sha256|mismatch|corrupt)|(sha256|mismatch|corrupt).*$h"

step "flipped back: good again"
flip_byte "$b"
run mirrord fsck
assert_rc 0

step "one blob deleted"
h2=$(file_sha256 "$ARCHIVE/dists/stable/InRelease")
blob_rm "$h2"
run mirrord fsck
assert_rc 1
assert_output_match "$h2.*missing|missing.*$h2"
