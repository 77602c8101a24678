#!/bin/sh
# A partial mirror (Include:, issue 15) of the compose fixture
# (tests/fixtures/mkcompose.py: a 6-level chain with a Pre-Depends,
# alternatives, a virtual package, a versioned Provides, an :any
# dependency, Multi-Arch: foreign, arch-all packages, a binNMU, a
# =${binary:Version} pair, Priority: required). The judges are not mirrord:
# the expected closure is REAL apt's resolution of the same roots against
# the whole fixture (written by mkcompose.py into .fixture.json), apt
# downloads the roots through a channel, dose-distcheck checks that every
# package of every Packages file mirrord wrote is installable, and the
# upstream's request log says which pool files were fetched.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/compose-lib.sh"

test_expect_success 'generation 1 of the compose fixture, served' '
	mkcompose --generation 1 &&
	cp -a "$ARCHIVE" "$T/gen1" &&
	start_upstream &&
	new_conf &&
	add_composed web "$(fixture_set partial include)" &&
	add_composed ex "$(fixture_set exclude include)" "$(fixture_set exclude exclude)" &&
	add_composed rec deep-app "" "Include-Recommends: yes" &&
	printf "# a file of selectors\nwebapp\n\nsection:debug\n" >"$T/sel.list" &&
	add_composed sel "file:$T/sel.list" &&
	start_serve
'

test_expect_success 'a partial sync makes one snapshot' '
	sync_ok web &&
	SNAPW=$SNAP &&
	assert_eq 1 "$(snapshot_count web)" "snapshots of web" &&
	assert_tmp_empty
'

test_expect_success 'snapshot show: a partial snapshot and its recipe' '
	run mirrord snapshot show web "$SNAPW" &&
	assert_rc 0 &&
	assert_out_match "partial" &&
	assert_out_match "deep-app" &&
	assert_out_match "priority:required"
'

test_expect_success 'its ID URL: mirrord-signed, upstream Release fields, upstream Translation and Contents' '
	composed_fetch "$SERVE_URL/web/$SNAPW" "$T/c1"
'

test_expect_success 'Packages hold exactly apt'"'"'s closure, per architecture' '
	for a in amd64 arm64; do
		"$PYTHON" "$COMPOSED_PY" expect "$FIXTURE" partial $a >"$T/want.$a" &&
		"$PYTHON" "$COMPOSED_PY" entries "$T/c1" $a >"$T/got.$a" &&
		same_set "$T/want.$a" "$T/got.$a" "binary-$a of the partial snapshot" ||
		return 1
	done &&
	grep -q "^binnmu-bin 1.0-1+b1 amd64\$" "$T/got.amd64" &&
	! grep -Eq "^(mta-other|vapi-old|rec-extra|broken-|deep-l1-dbg|req-important) " \
	    "$T/got.amd64"
'

test_expect_success 'Sources hold the source packages of the closure (binNMU: its source version)' '
	"$PYTHON" "$COMPOSED_PY" expect "$FIXTURE" partial sources >"$T/want.src" &&
	"$PYTHON" "$COMPOSED_PY" sources "$T/c1" >"$T/got.src" &&
	same_set "$T/want.src" "$T/got.src" "Sources of the partial snapshot" &&
	grep -q "^binnmu 1.0-1\$" "$T/got.src"
'

test_expect_success 'only the closure'"'"'s pool files were fetched, each served with its hash' '
	"$PYTHON" "$COMPOSED_PY" files "$T/c1" | sed "s,^,/debian/," >"$T/want.pool" &&
	awk "\$1 == \"GET\" && \$2 ~ /^\/debian\/pool\// && \$3 == 200 { print \$2 }" \
	    "$T/upstream.log" >"$T/got.pool" &&
	same_set "$T/want.pool" "$T/got.pool" "pool files fetched from upstream" &&
	! grep -q "mta-other" "$T/got.pool" &&
	"$PYTHON" "$COMPOSED_PY" pool "$SERVE_URL/web/$SNAPW" "$T/c1"
'

test_expect_success DOSE 'dose-distcheck: every package of every Packages file installable' '
	dose_check "$T/c1"
'

test_expect_success DOSE 'dose-distcheck negative control: without common-data, something is broken' '
	dose_negative "$T/c1/stable/amd64.packages" common-data
'

test_expect_success APT 'apt-get install --download-only of the roots through a channel; every .deb verifies' '
	run mirrord promote web latest prod &&
	assert_rc 0 &&
	apt_channel_box "$T/box" web prod &&
	run apt_get "$T/box" install --download-only -y --no-install-recommends \
	    $(fixture_set partial roots) &&
	assert_rc 0 &&
	ls "$T/box/var/cache/apt/archives" | grep "\.deb\$" >"$T/debs" &&
	awk "{ print \$1 \"_\" \$2 \"_\" \$3 \".deb\" }" "$T/want.amd64" >"$T/want.debs" &&
	same_set "$T/want.debs" "$T/debs" "the .debs apt downloaded" &&
	"$PYTHON" - "$FIXTURE" "$T/box/var/cache/apt/archives" <<-\EOF
	import hashlib, json, os, sys
	want = {os.path.basename(b["filename"]): b["sha256"]
	        for b in json.load(open(sys.argv[1]))["binaries"]}
	for n in os.listdir(sys.argv[2]):
	    if n.endswith(".deb"):
	        h = hashlib.sha256(open(os.path.join(sys.argv[2], n), "rb").read()).hexdigest()
	        if want.get(n) != h:
	            sys.exit("%s: sha256 %s, the fixture has %s" % (n, h, want.get(n)))
	EOF
'

test_expect_success 'mirrord resolve: apt'"'"'s closure, from Packages files and from the snapshot' '
	for s in stable stable-security; do
		xz -dc "$ARCHIVE/dists/$s/main/binary-amd64/Packages.xz" >"$T/full-$s.amd64" ||
		return 1
	done &&
	run mirrord resolve --packages "$T/full-stable.amd64" \
	    --packages "$T/full-stable-security.amd64" --arch amd64 \
	    $(fixture_set partial include) &&
	assert_rc 0 &&
	same_set "$T/want.amd64" "$T/out" "mirrord resolve --packages (amd64)" &&
	run mirrord resolve web "$SNAPW" $(fixture_set partial include) &&
	assert_rc 0 &&
	sort -u "$T/want.amd64" "$T/want.arm64" >"$T/want.both" &&
	sort -u "$T/out" >"$T/res" &&
	{ cmp -s "$T/want.amd64.s" "$T/res" ||
	  same_set "$T/want.both" "$T/res" "mirrord resolve web (amd64, or both architectures)"; }
'

BOOKWORM_LISTS=$(ls /var/lib/apt/lists/*debian_dists_bookworm_main_binary-amd64_Packages.lz4 \
    2>/dev/null | head -n 1)
test_lazy_prereq BOOKWORM 'test -n "$BOOKWORM_LISTS" && command -v lz4 &&
    command -v apt-ftparchive' \
    "no apt lists of bookworm main amd64 (lz4), or no lz4 or apt-ftparchive"

test_expect_success BOOKWORM,APT 'the real bookworm index: mirrord resolve gives apt'"'"'s set' '
	apt_box "$T/bw" &&
	mkdir -p "$T/bw/repo" &&
	lz4 -dc "$BOOKWORM_LISTS" >"$T/bw/repo/Packages" &&
	(cd "$T/bw/repo" && apt-ftparchive release . >Release) &&
	echo "deb [trusted=yes] file:$T/bw/repo ./" >"$T/bw/etc/apt/sources.list" &&
	apt_update_ok "$T/bw" &&
	run apt_get "$T/bw" -s install --no-install-recommends nginx openssh-server postgresql-15 &&
	assert_rc 0 &&
	sed -n "s/^Inst \([^ ]*\) (\([^ ]*\) [^[]*\[\([^]]*\)\]).*/\1 \2 \3/p" "$T/out" >"$T/bw.want" &&
	[ "$(wc -l <"$T/bw.want")" -gt 50 ] &&
	run mirrord resolve --packages "$T/bw/repo/Packages" --arch amd64 \
	    nginx openssh-server postgresql-15 &&
	assert_rc 0 &&
	same_set "$T/bw.want" "$T/out" "closure of nginx openssh-server postgresql-15 (bookworm)"
'

test_expect_success 'Exclude: drops what it matches' '
	sync_ok ex &&
	composed_fetch "$SERVE_URL/ex/$SNAP" "$T/cx" &&
	"$PYTHON" "$COMPOSED_PY" expect "$FIXTURE" exclude amd64 >"$T/want.x" &&
	"$PYTHON" "$COMPOSED_PY" entries "$T/cx" amd64 >"$T/got.x" &&
	same_set "$T/want.x" "$T/got.x" "binary-amd64 with Exclude: *-dbg" &&
	! grep -q "^deep-l1-dbg " "$T/got.x"
'

# apt_vs_mirror MIRROR APT_ARGS...: MIRROR's new snapshot, binary-amd64,
# against apt's resolution (mkcompose.py --closure APT_ARGS).
apt_vs_mirror() {
	_m=$1; shift
	sync_ok "$_m"
	composed_fetch "$SERVE_URL/$_m/$SNAP" "$T/c-$_m" >/dev/null
	"$PYTHON" "$MKCOMPOSE_PY" --closure "$ARCHIVE" "$@" >"$T/want-$_m" ||
		fail "apt: cannot resolve $*"
	"$PYTHON" "$COMPOSED_PY" entries "$T/c-$_m" amd64 >"$T/got-$_m"
	same_set "$T/want-$_m" "$T/got-$_m" "binary-amd64 of $_m"
}

test_expect_success 'Include-Recommends: yes: apt'"'"'s closure with Recommends' '
	apt_vs_mirror rec --recommends deep-app &&
	grep -q "^rec-extra " "$T/got-rec"
'

test_expect_success 'file: and section: selectors (a comment, a blank line)' '
	apt_vs_mirror sel webapp deep-l1-dbg &&
	grep -q "^deep-l1-dbg " "$T/got-sel"
'

test_expect_success 'an unsatisfiable dependency: sync fails naming the chain; no snapshot' '
	cp "$CONF" "$T/conf.good" &&
	add_composed bad "broken-root" &&
	run mirrord sync bad &&
	[ "$RC" != 0 ] &&
	assert_err_match "broken-root -> broken-mid -> broken-leaf \(>= 2\)" &&
	assert_err_match "not in stable" &&
	assert_eq 0 "$(snapshot_count bad)" "snapshots of bad" &&
	assert_eq 1 "$(snapshot_count web)" "snapshots of web" &&
	[ ! -s "$T/out" ]
'

test_expect_success 'Include-Unsatisfied: warn: a snapshot, and a warning naming the chain' '
	cp "$T/conf.good" "$CONF" &&
	add_composed warned "broken-root" "" "Include-Unsatisfied: warn" &&
	run mirrord sync warned &&
	assert_rc 0 &&
	assert_err_match "broken-root -> broken-mid -> broken-leaf \(>= 2\)" &&
	assert_eq 1 "$(snapshot_count warned)" "snapshots of warned"
'

test_expect_success 'a selector matching nothing: an error naming it; no snapshot' '
	cp "$T/conf.good" "$CONF" &&
	add_composed none "deep-app no-such-package-zz" &&
	run mirrord sync none &&
	[ "$RC" != 0 ] &&
	assert_err_match "no-such-package-zz" &&
	assert_eq 0 "$(snapshot_count none)" "snapshots of none"
'

test_expect_success 'generation 2: the next sync re-resolves' '
	cp "$T/conf.good" "$CONF" &&
	mkcompose --generation 2 &&
	sleep 1 &&
	sync_ok web &&
	SNAPW2=$SNAP &&
	composed_fetch "$SERVE_URL/web/$SNAPW2" "$T/c2" &&
	"$PYTHON" "$COMPOSED_PY" expect "$FIXTURE" partial amd64 >"$T/want2" &&
	"$PYTHON" "$COMPOSED_PY" entries "$T/c2" amd64 >"$T/got2" &&
	same_set "$T/want2" "$T/got2" "binary-amd64 of generation 2" &&
	grep -q "^libstab-c2 3.0-2 amd64\$" "$T/got2" &&
	! grep -q "^libstab-c1 " "$T/got2" &&
	run mirrord snapshot diff web "$SNAPW" "$SNAPW2" &&
	assert_rc 0 &&
	assert_out_match "stab-c" &&
	run mirrord snapshot show web latest &&
	assert_out_match "$SNAPW2"
'

test_expect_success DOSE 'dose-distcheck on generation 2' '
	dose_check "$T/c2"
'

test_expect_success 'fsck is clean' '
	run mirrord fsck &&
	assert_rc 0
'
stop_serve
