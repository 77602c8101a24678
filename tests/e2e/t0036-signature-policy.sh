#!/bin/sh
# apt's signature policy, with the real apt as the judge: an upstream signed
# with a SHA-1 digest is refused by apt and by mirrord (InRelease and
# Release.gpg alike, the message naming SHA1 and the suite), and nothing is
# re-signed for clients; the same key with SHA-256 is accepted by both.
# Then Signed-By as apt writes it: an inline key block in a .sources
# stanza, a keyring narrowed by a fingerprint, and the malformed forms apt
# refuses (a key ID, a fingerprint no key has).
. "$(dirname "$0")/lib.sh"

B=$T/box
apt_box "$B"

# apt_verdict: "ok" if `apt-get update` of the box's sources succeeds with
# no warning, else "refused".
apt_verdict() {
	rm -rf "$B/var/lib/apt/lists"
	mkdir -p "$B/var/lib/apt/lists/partial"
	run apt_get "$B" update
	if [ "$RC" = 0 ] && ! grep -Eq '^(W|E|Err):' "$T/out" "$T/err"; then
		echo ok
	else
		echo refused
	fi
}

mkarchive --generation 1 --digest-algo SHA1
grep -q '^Hash: SHA1$' "$ARCHIVE/dists/stable/InRelease" ||
	fail "fixture: InRelease is not signed with SHA-1"
start_upstream
write_conf
echo "deb [signed-by=$KEY] $UPSTREAM_URL stable main" \
    >"$B/etc/apt/sources.list"

step "apt refuses the SHA-1 signed upstream"
assert_eq refused "$(apt_verdict)" "apt's verdict on SHA-1"
step "apt said: $(grep -E '^(W|E):' "$T/out" "$T/err" | head -n 2 | tr '\n' ' ')"

step "mirrord refuses it too, naming the digest and the suite"
expect_sync_failure "mirror 'demo'" "suite 'stable" "InRelease" \
    "weak digest algorithm SHA1"
assert_eq 0 "$(snapshot_count demo)" "snapshots after the refused sync"

step "Release.gpg alone (no InRelease), SHA-1: refused as well"
upstream_control '{"status": {"/InRelease$": 404}}'
expect_sync_failure "suite 'stable" "Release\.gpg" "weak digest algorithm SHA1"
upstream_control '{}'

step "the same key with SHA-256: apt and mirrord accept"
mkarchive --generation 2 --digest-algo SHA256
grep -q '^Hash: SHA256$' "$ARCHIVE/dists/stable/InRelease" ||
	fail "fixture: InRelease is not signed with SHA-256"
assert_eq ok "$(apt_verdict)" "apt's verdict on SHA-256"
sync_ok
assert_eq 1 "$(snapshot_count demo)" "snapshots"
run mirrord fsck
assert_rc 0

# ------------------------------------------------ Signed-By forms

KH=$T/keyhome
mkdir -m 700 "$KH"
gpg --batch --quiet --homedir "$KH" --import "$KEY" 2>/dev/null ||
	fail "cannot import the archive key"
FPR=$(gpg --batch --homedir "$KH" --with-colons --list-keys 2>/dev/null |
    awk -F: '$1 == "fpr" { print $10; exit }')
[ ${#FPR} = 40 ] || fail "no fingerprint for the archive key: '$FPR'"
# The key block as a .sources field wants it: each line indented, an
# empty line written " .".
gpg --batch --homedir "$KH" --armor --export "$FPR" 2>/dev/null |
    sed -e 's/^$/./' -e 's/^/ /' >"$T/inline"
grep -q 'BEGIN PGP PUBLIC KEY BLOCK' "$T/inline" || fail "no armoured key"

# stanza NAME SIGNED-BY-VALUE: a .sources stanza for the upstream.
stanza() {
	printf 'Types: deb\nURIs: %s\nSuites: stable stable-updates\n' \
	    "$UPSTREAM_URL"
	printf 'Components: main contrib\nArchitectures: amd64\n'
	printf 'Signed-By:%s\n' "$1"
}

# try_form WHAT SIGNED-BY-VALUE: apt's verdict and mirrord's on the same
# stanza (mirrord's in mirrors.d, with a Name), which must agree; prints
# the verdict.
try_form() {
	rm -f "$B/etc/apt/sources.list"
	stanza "$2" >"$B/etc/apt/sources.list.d/form.sources"
	_apt=$(apt_verdict)
	new_conf
	mkdir -p "$T/mirrors.d"
	{ echo "Name: form"; stanza "$2"; } >"$T/mirrors.d/form.sources"
	rm -rf "$STORE"
	run mirrord sync
	if [ "$RC" = 0 ]; then _m=ok; else _m=refused; fi
	step "$1: apt $_apt, mirrord $_m ($(head -n 1 "$T/err"))"
	assert_eq "$_apt" "$_m" "$1: mirrord's verdict against apt's"
	echo "$_m" >"$T/verdict"
}

try_form "inline key block" "
$(cat "$T/inline")"
assert_eq ok "$(cat "$T/verdict")" "inline key block"
run mirrord snapshot list form
assert_rc 0
assert_out_match '^[0-9]{8}T[0-9]{6}Z'

try_form "keyring and its fingerprint" " $KEY,$FPR"
assert_eq ok "$(cat "$T/verdict")" "keyring and fingerprint"

try_form "keyring, fingerprint with '!' (the primary signs)" " $KEY $FPR!"
assert_eq ok "$(cat "$T/verdict")" "fingerprint!"

OTHER=0123456789ABCDEF0123456789ABCDEF01234567
try_form "keyring and a fingerprint it does not hold" " $KEY $OTHER"
assert_eq refused "$(cat "$T/verdict")" "a fingerprint of no key"
assert_err_match "fingerprint $OTHER names no key"

SHORT=$(echo "$FPR" | cut -c 25-40)
try_form "a long key ID" " $KEY,$SHORT"
assert_eq refused "$(cat "$T/verdict")" "a key ID"
assert_err_match "'$SHORT' is not a fingerprint"
