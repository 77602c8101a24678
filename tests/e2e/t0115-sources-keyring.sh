#!/bin/sh
# A client set up with exactly what `mirrord sources` prints must verify
# every URL mirrord sends it to: the channel (signed by mirrord's key)
# and the snapshot URLs of the channel's Snapshots: field (upstream's
# Release files, signed by the mirror's Signed-By key). So the stanza
# inlines both keys, and /<mirror>/keyring.gpg serves them as one file.
# apt 2.6 has no --snapshot: a second stanza points at the URL the
# Snapshots: field gives, with the same Signed-By block.
. "$(dirname "$0")/lib.sh"

setup_synced
start_serve
# Snapshots: is written when mirrord knows the URL clients use.
set_global Base-URL "$SERVE_URL"
run mirrord promote demo latest production
assert_rc 0
fixture_packages "$ARCHIVE" >"$T/pkgs"
want=$(awk '$1 == "stable-updates" && $2 == "hello" && $3 == "amd64" {
    print $4 }' "$T/pkgs")
[ -n "$want" ] || fail "no hello amd64 in the fixture's stable-updates"

step "the stanza of 'mirrord sources': the channel updates"
run mirrord sources demo production
assert_rc 0
cp "$T/out" "$T/x.sources"
assert_out_match "^URIs: $SERVE_URL/demo/production\$"
n=$(grep -c -- '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$T/x.sources")
assert_eq 1 "$n" "armoured blocks in Signed-By"
A=$T/box-channel
apt_box "$A"
cp "$T/x.sources" "$A/etc/apt/sources.list.d/x.sources"
apt_update_ok "$A"
assert_eq "$want" "$(apt_candidate "$A" hello)" "candidate of hello (channel)"

step "the Snapshots: field of the channel's Release"
f=$(ls "$A"/var/lib/apt/lists/*_demo_production_dists_stable_InRelease | head -n 1)
snapurl=$(sed -n 's/^Snapshots: *//p' "$f" | head -n 1)
[ -n "$snapurl" ] || fail "the channel's InRelease has no Snapshots: field"
step "Snapshots: $snapurl"
case $snapurl in
*@SNAPSHOTID@*) ;;
*) fail "Snapshots: '$snapurl' has no @SNAPSHOTID@" ;;
esac
URL=$(printf '%s\n' "$snapurl" | sed "s/@SNAPSHOTID@/$SNAP1/; s,/\$,,")
assert_eq "$SERVE_URL/demo/$SNAP1" "$URL" "the snapshot URL"

step "the same stanza at the snapshot URL: upstream's Release verifies"
B=$T/box-snapshot
apt_box "$B"
sed "s|^URIs: .*|URIs: $URL|" "$T/x.sources" >"$B/etc/apt/sources.list.d/x.sources"
apt_update_ok "$B"
assert_eq "$want" "$(apt_candidate "$B" hello)" "candidate of hello (snapshot)"
run apt_get "$B" install --download-only -y hello
assert_rc 0
for s in stable stable-updates; do
	g=$(ls "$B"/var/lib/apt/lists/*_demo_${SNAP1}_dists_${s}_InRelease | head -n 1)
	cmp -s "$g" "$ARCHIVE/dists/$s/InRelease" ||
		fail "the snapshot's $s InRelease is not upstream's"
done

step "/demo/keyring.gpg: both keys, for signed-by="
http_status "$SERVE_URL/demo/keyring.gpg" >"$T/code"
assert_eq 200 "$(cat "$T/code")" "GET /demo/keyring.gpg"
grep -qi '^content-type: application/pgp-keys' "$T/h" ||
	fail "content type: $(cat "$T/h")"
cp "$T/b" "$T/demo-keyring.gpg"
GNUPGHOME=$T/showkeys
mkdir -m 0700 "$GNUPGHOME"
export GNUPGHOME
gpg --batch --with-colons --show-keys "$T/demo-keyring.gpg" >"$T/keys" 2>&1 ||
	fail "gpg --show-keys: $(cat "$T/keys")"
assert_eq 2 "$(grep -c '^pub:' "$T/keys")" "keys in /demo/keyring.gpg"
upfpr=$(gpg --batch --with-colons --show-keys "$KEY" | awk -F: '$1 == "fpr" { print $10; exit }')
grep -q "^fpr:::::::::$upfpr:" "$T/keys" ||
	fail "/demo/keyring.gpg lacks upstream's key $upfpr"
http_status "$SERVE_URL/keyring.gpg" >/dev/null
gpg --batch --with-colons --show-keys "$T/b" >"$T/own" 2>&1
myfpr=$(awk -F: '$1 == "fpr" { print $10; exit }' "$T/own")
grep -q "^fpr:::::::::$myfpr:" "$T/keys" ||
	fail "/demo/keyring.gpg lacks mirrord's key $myfpr"
# The inline block is the same keys.
sed -n '/^Signed-By:/,$p' "$T/x.sources" | sed '1d; s/^ //; s/^\.$//' >"$T/inline.asc"
gpg --batch --with-colons --show-keys "$T/inline.asc" | grep '^fpr:' | sort >"$T/inline.fpr"
grep '^fpr:' "$T/keys" | sort >"$T/file.fpr"
cmp -s "$T/inline.fpr" "$T/file.fpr" ||
	fail "sources' Signed-By and /demo/keyring.gpg differ: $(diff "$T/inline.fpr" "$T/file.fpr")"
C=$T/box-file
apt_box "$C"
cat >"$C/etc/apt/sources.list" <<EOF2
deb [signed-by=$T/demo-keyring.gpg] $SERVE_URL/demo/production stable main
deb [signed-by=$T/demo-keyring.gpg] $URL stable-updates main
EOF2
apt_update_ok "$C"

step "/nope/keyring.gpg is 404, /demo/keyring.gpg/ is no keyring"
http_status "$SERVE_URL/nope/keyring.gpg" >"$T/code"
assert_eq 404 "$(cat "$T/code")" "GET /nope/keyring.gpg"
http_status "$SERVE_URL/demo/keyring.gpg/" >"$T/code"
assert_eq 404 "$(cat "$T/code")" "GET /demo/keyring.gpg/"

step "no channel may be named keyring.gpg"
run mirrord promote demo latest keyring.gpg
assert_rc 1
assert_err_match "'keyring.gpg' is not a channel name"

stop_serve
step "ok"
