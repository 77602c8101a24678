#!/bin/sh
# A real apt client (a sandbox, TESTING.md's recipe) updates and downloads
# hello with its dependency libhello1 through `mirrord serve`: once through
# a snapshot URL, verified with upstream's key, and once through a channel
# configured with exactly the stanza `mirrord sources` prints (mirrord's
# key inlined). The .debs that land must be the fixture's bytes.
. "$(dirname "$0")/lib.sh"

setup_synced
fixture_packages "$ARCHIVE" >"$T/pkgs"
start_serve

# The candidate apt must pick: hello of stable-updates (the higher version),
# which Depends on libhello1 of the same version.
want=$(awk '$1 == "stable-updates" && $2 == "hello" && $3 == "amd64" {
    print $4 }' "$T/pkgs")
[ -n "$want" ] || fail "no hello amd64 in the fixture's stable-updates"
step "expect hello $want (and libhello1 $want) from stable-updates"

# check_debs BOX: exactly hello and libhello1 (amd64, $want) were
# downloaded, each with the sha256 of the fixture's pool file.
check_debs() {
	_arch=$1/var/cache/apt/archives
	ls "$_arch" | grep '\.deb$' | sort >"$T/debs" || true
	printf '%s\n' "hello_${want}_amd64.deb" "libhello1_${want}_amd64.deb" |
	    sort >"$T/debs.want"
	cmp -s "$T/debs.want" "$T/debs" ||
		fail "downloaded .debs: expected '$(tr '\n' ' ' <"$T/debs.want")'," \
		    "got '$(tr '\n' ' ' <"$T/debs")'"
	for _p in hello libhello1; do
		_fix=$(awk -v p="$_p" '$1 == "stable-updates" && $2 == p &&
		    $3 == "amd64" { print $5 }' "$T/pkgs")
		_h=$("$PYTHON" -c 'import json, sys
for f in json.load(open(sys.argv[1]))["pool"]:
    if f["path"] == sys.argv[2]:
        print(f["sha256"])' "$ARCHIVE/.fixture.json" "$_fix")
		[ -n "$_h" ] || fail "'$_fix' is not in .fixture.json"
		assert_eq "$_h" "$(file_sha256 "$_arch/${_p}_${want}_amd64.deb")" \
		    "sha256 of the downloaded ${_p}_${want}_amd64.deb"
	done
	[ -z "$(ls -A "$_arch/partial")" ] ||
		fail "partial downloads left in $_arch/partial"
}

step "snapshot URL, upstream key: apt-get update"
A=$T/box-snap
apt_box "$A"
cat >"$A/etc/apt/sources.list" <<EOF
deb [signed-by=$KEY] $SERVE_URL/demo/$SNAP1 stable main contrib
deb [signed-by=$KEY] $SERVE_URL/demo/$SNAP1 stable-updates main contrib
deb-src [signed-by=$KEY] $SERVE_URL/demo/$SNAP1 stable-updates main
EOF
apt_update_ok "$A"
assert_eq "$want" "$(apt_candidate "$A" hello)" "candidate of hello (snapshot)"
# Snapshot URLs serve upstream's signed bytes unchanged.
for s in stable stable-updates; do
	f=$(ls "$A"/var/lib/apt/lists/*_demo_${SNAP1}_dists_${s}_InRelease 2>/dev/null |
	    head -n 1)
	[ -n "$f" ] || fail "apt kept no InRelease of $s: $(ls "$A/var/lib/apt/lists")"
	cmp -s "$f" "$ARCHIVE/dists/$s/InRelease" ||
		fail "the snapshot's $s InRelease differs from upstream's"
done

step "snapshot URL: apt-get install --download-only hello"
run apt_get "$A" install --download-only -y hello
assert_rc 0
assert_out_match 'libhello1'
check_debs "$A"

step "snapshot URL: apt-get source --download-only hello"
mkdir "$T/src"
run sh -c 'cd "$1" && shift && "$@"' sh "$T/src" \
    env APT_CONFIG="$A/apt.conf" timeout 60 apt-get -o Dir="$A" \
    -o Dir::State::status="$A/var/lib/dpkg/status" \
    -o Dir::Etc::trusted=/dev/null \
    -o Dir::Etc::trustedparts="$A/etc/apt/trusted.gpg.d" \
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root \
    -o Acquire::Languages=none -o APT::Architecture=amd64 \
    source --download-only hello
assert_rc 0
"$PYTHON" - "$ARCHIVE/.fixture.json" "$T/src" "$want" <<'EOF' ||
import json, os, sys, hashlib
fx, d, ver = sys.argv[1:4]
want = {os.path.basename(f["path"]): f["sha256"]
        for f in json.load(open(fx))["pool"]
        if os.path.basename(f["path"]).startswith("hello_%s." % ver)}
got = {n: hashlib.sha256(open(os.path.join(d, n), "rb").read()).hexdigest()
       for n in os.listdir(d)}
if not want or got != want:
    print("source files: expected %s, got %s" % (sorted(want), sorted(got)))
    sys.exit(1)
EOF
	fail "apt-get source did not fetch the fixture's hello source files"

step "channel 'production' with the stanza of 'mirrord sources'"
run mirrord promote demo latest production
assert_rc 0
assert_out_match "^production -> $SNAP1\$"
run mirrord sources demo production
assert_rc 0
cp "$T/out" "$T/x.sources"
assert_out_match "^URIs: $SERVE_URL/demo/production\$"
assert_out_match '^Suites: stable stable-updates$'
assert_out_match '^Signed-By:$'
assert_out_match '^ -----BEGIN PGP PUBLIC KEY BLOCK-----$'
B=$T/box-channel
apt_box "$B"
cp "$T/x.sources" "$B/etc/apt/sources.list.d/x.sources"
apt_update_ok "$B"
assert_eq "$want" "$(apt_candidate "$B" hello)" "candidate of hello (channel)"
run apt_get "$B" install --download-only -y hello
assert_rc 0
check_debs "$B"

step "the channel is signed by mirrord, not by upstream's key"
C=$T/box-wrong-key
apt_box "$C"
echo "deb [signed-by=$KEY] $SERVE_URL/demo/production stable main" \
    >"$C/etc/apt/sources.list"
run apt_get "$C" update
[ "$RC" != 0 ] || grep -Eq '^(W|E):' "$T/out" "$T/err" ||
	fail "a channel checked against upstream's key was accepted"
assert_output_match 'NO_PUBKEY|not signed|signature|EXPKEYSIG|BADSIG'

step "Base-URL: is what 'sources' puts in URIs"
set_global Base-URL "http://mirror.example.org:8080"
run mirrord sources demo production
assert_rc 0
assert_out_match '^URIs: http://mirror\.example\.org:8080/demo/production$'
diff "$T/x.sources" "$T/out" | grep -E '^[<>]' | grep -v 'URIs:' >"$T/d" || true
[ ! -s "$T/d" ] || fail "Base-URL changed more than URIs: $(cat "$T/d")"

stop_serve
step "ok"
