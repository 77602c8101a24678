# compose-lib.sh: sourced after lib.sh by the composed-snapshot tests
# (t0810, t0820, t0830; issue 15). The fixture is tests/fixtures/mkcompose.py
# (its docstring names every package); composed.py reads what mirrord
# serves; apt and dose-distcheck judge it.

MKCOMPOSE_PY=$ROOT/tests/fixtures/mkcompose.py
COMPOSED_PY=$E2E_DIR/composed.py
FIXTURE=$ARCHIVE/.fixture.json

test_lazy_prereq DOSE 'command -v dose-distcheck' \
    "no dose-distcheck: package dose-distcheck"

# mkcompose [ARGS...]: (re)builds $ARCHIVE; the first build's key is $KEY.
mkcompose() {
	timeout 300 "$PYTHON" "$MKCOMPOSE_PY" "$ARCHIVE" --gnupghome "$GNUPG" \
	    "$@" >"$T/mkcompose.out" 2>&1 ||
		fail "mkcompose.py $*: $(cat "$T/mkcompose.out")"
	[ -f "$KEY" ] || cp "$ARCHIVE/archive-key.gpg" "$KEY"
	step "mkcompose: $(cat "$T/mkcompose.out")"
}

# fixture_set SET FIELD: a root set's FIELD of .fixture.json's closures
# (include, exclude, roots), space-separated.
fixture_set() {
	"$PYTHON" -c 'import json, sys
print(" ".join(json.load(open(sys.argv[1]))["closures"][sys.argv[2]][sys.argv[3]]))' \
	    "$FIXTURE" "$1" "$2"
}

# add_composed NAME INCLUDE [EXCLUDE [MORE_LINES]]: a partial mirror of
# the fixture (stable and stable-security, main, amd64 and arm64, deb and
# deb-src) into $CONF.
add_composed() {
	cat >>"$CONF" <<EOF

Name: $1
Types: deb deb-src
URIs: $UPSTREAM_URL
Suites: ${COMPOSE_SUITES:-stable stable-security}
Components: main
Architectures: ${COMPOSE_ARCHES:-amd64 arm64}
Signed-By: $KEY
Include: $2
EOF
	[ -z "${3:-}" ] || echo "Exclude: $3" >>"$CONF"
	[ -z "${4:-}" ] || printf '%s\n' "$4" >>"$CONF"
}

# add_full NAME: a whole mirror of the fixture (the patch tests' mirror).
add_full() {
	cat >>"$CONF" <<EOF

Name: $1
Types: deb deb-src
URIs: $UPSTREAM_URL
Suites: stable stable-security
Components: main
Architectures: amd64 arm64
Signed-By: $KEY
EOF
}

# mirrord_keyring: mirrord's public key (binary keyring) into $MKEY.
mirrord_keyring() {
	MKEY=$T/mirrord-key.gpg
	mirrord key export >"$MKEY" 2>"$T/key.err" ||
		fail "mirrord key export: $(cat "$T/key.err")"
	[ -s "$MKEY" ] || fail "mirrord key export printed nothing"
}

# composed_fetch URL DIR [SUITES]: composed.py fetch (signature, kept
# Release fields, hashes, upstream's other indices) into DIR. Upstream is
# $FETCH_ARCHIVE (default $ARCHIVE): a patch snapshot keeps its base's.
composed_fetch() {
	[ -n "${MKEY:-}" ] || mirrord_keyring
	rm -rf "$2"
	mkdir -p "$2"
	# shellcheck disable=SC2086
	"$PYTHON" "$COMPOSED_PY" fetch "$1" "$MKEY" "${FETCH_ARCHIVE:-$ARCHIVE}" "$2" \
	    ${3:-stable stable-security} >"$T/fetch.out" 2>&1 ||
		fail "what $1 serves: $(cat "$T/fetch.out")"
	cat "$T/fetch.out"
}

# same_set EXPECTED_FILE GOT_FILE WHAT: equal sets of lines, or a diff.
same_set() {
	sort -u "$1" | sed '/^$/d' >"$1.s"
	sort -u "$2" | sed '/^$/d' >"$2.s"
	if ! cmp -s "$1.s" "$2.s"; then
		diff "$1.s" "$2.s" | sed -n '1,40p' >&2
		fail "$3: not the expected set ('<' expected only, '>' got only)"
	fi
}

# dose_check DIR: dose-distcheck on every Packages file of DIR (composed.py
# fetch's output): each is the foreground, the same architecture's files of
# the other suites the background; every package must be installable.
dose_check() {
	_dir=$1
	for _f in "$_dir"/*/*.packages; do
		_arch=$(basename "$_f" .packages)
		set --
		for _o in "$_dir"/*/"$_arch.packages"; do
			[ "$_o" = "$_f" ] || set -- "$@" --bg "deb://$_o"
		done
		dose-distcheck --deb-native-arch="$_arch" -f -e \
		    --fg "deb://$_f" "$@" >"$T/dose.out" 2>&1 || {
			sed -n '1,40p' "$T/dose.out" >&2
			fail "dose-distcheck: a package of $_f is not installable"
		}
		echo "dose-distcheck $_f: $(grep -E '^(foreground|broken)-packages' \
		    "$T/dose.out" | tr '\n' ' ')"
	done
}

# dose_negative FILE PACKAGE: FILE without PACKAGE (a dependency of another
# package of FILE) must be reported broken: the check can fail.
dose_negative() {
	_arch=$(basename "$1" .packages)
	"$PYTHON" "$COMPOSED_PY" drop "$1" "$2" "$T/dropped.packages" ||
		fail "cannot drop $2 from $1"
	if dose-distcheck --deb-native-arch="$_arch" -f \
	    "deb://$T/dropped.packages" >"$T/dose.out" 2>&1; then
		fail "dose-distcheck found nothing broken without $2"
	fi
	grep -q '^broken-packages: [1-9]' "$T/dose.out" ||
		fail "dose-distcheck failed without a count: $(cat "$T/dose.out")"
}

# apt_channel_box BOX MIRROR CHANNEL: an apt sandbox with the stanza
# `mirrord sources MIRROR CHANNEL` prints (mirrord's key inlined), updated.
apt_channel_box() {
	run mirrord sources "$2" "$3"
	assert_rc 0
	apt_box "$1"
	cp "$T/out" "$1/etc/apt/sources.list.d/$2.sources"
	apt_update_ok "$1"
}

# box_status BOX: BOX's dpkg status: every amd64 package of its lists at
# the highest version there (broken-* left out), "install ok installed".
box_status() {
	"$PYTHON" - "$1" <<-\EOF
	import functools, glob, os, subprocess, sys
	box = sys.argv[1]
	def newer(a, b):
	    return subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0
	best = {}
	for f in glob.glob(os.path.join(box, "var/lib/apt/lists/*binary-amd64_Packages")):
	    for para in open(f).read().split("\n\n"):
	        lines = [l for l in para.split("\n") if l]
	        if not lines:
	            continue
	        f_ = dict(l.split(": ", 1) for l in lines if not l[0].isspace() and ": " in l)
	        n, v = f_["Package"], f_["Version"]
	        if n.startswith("broken-"):
	            continue
	        if n not in best or newer(v, best[n][0]):
	            keep = [l for l in lines if l.split(":")[0] not in
	                    ("Filename", "Size", "MD5sum", "SHA256", "Description-md5")]
	            best[n] = (v, [keep[0], "Status: install ok installed"] + keep[1:])
	with open(os.path.join(box, "var/lib/dpkg/status"), "w") as out:
	    for n in sorted(best):
	        out.write("\n".join(best[n][1]) + "\n\n")
	print("%d packages installed" % len(best))
	EOF
}

# apt_inst BOX ACTION: "name version arch" of each Inst line of apt-get -s.
apt_inst() {
	apt_get "$1" update >"$T/upd.out" 2>&1 || fail "apt-get update: $(cat "$T/upd.out")"
	apt_get "$1" -s "$2" >"$T/inst.out" 2>&1 || fail "apt-get -s $2: $(cat "$T/inst.out")"
	# "Inst NAME [OLD] (NEW ORIGIN:SUITE [ARCH])", maybe followed by " []"
	sed -n 's/^Inst \([^ ]*\) \(\[[^]]*\] \)\{0,1\}(\([^ ]*\) [^[]*\[\([^]]*\)\]).*/\1 \3 \4/p' \
	    "$T/inst.out"
}

# production_gen1_latest_gen2: the fixture's generation 1 synced into
# mirror demo and promoted to production (S1; a copy of that archive in
# $T/gen1), then generation 2 synced (S2, latest). Serves the store.
production_gen1_latest_gen2() {
	mkcompose --generation 1 --no-closures &&
	cp -a "$ARCHIVE" "$T/gen1" &&
	start_upstream &&
	new_conf &&
	add_full demo &&
	start_serve &&
	sync_ok &&
	S1=$SNAP &&
	run mirrord promote demo latest production &&
	assert_rc 0 &&
	mkcompose --generation 2 --no-closures &&
	sleep 1 &&
	sync_ok &&
	S2=$SNAP
}
