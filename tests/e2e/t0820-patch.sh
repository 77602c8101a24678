#!/bin/sh
# `mirrord patch` (issue 15): one fix into production, nothing else. The
# compose fixture's generation 2 updates two sources in stable-security
# (sec-a: sec-a and libsec-a1; sec-b, whose fix needs a new library,
# libneed1) and one in stable (stab-c). production points at the sync of
# generation 1, latest is generation 2. A client whose dpkg status holds
# every package of production at its candidate version (so that `apt-get
# -s upgrade` on production itself shows nothing: the control) must see
# after `patch --from latest sec-a` exactly sec-a's binaries upgraded, and
# after `--security` both fixes (and libneed1) but not stab-c. apt,
# `snapshot diff` and dose-distcheck judge; the expected versions come from
# the fixture.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/compose-lib.sh"

# want_bins ARCH|any SOURCE...: "name version arch" of the binaries of the
# named sources in generation 2's stable-security, plus libneed1 for sec-b.
want_bins() {
	"$PYTHON" - "$FIXTURE" "$@" <<-\EOF
	import json, sys
	fx, arch, srcs = sys.argv[1], sys.argv[2], set(sys.argv[3:])
	for b in json.load(open(fx))["binaries"]:
	    if b["suite"] == "stable-security" and (b["source"] in srcs or
	            (b["source"] == "need" and "sec-b" in srcs)) and \
	            arch in ("any", b["arch"]):
	        print(b["name"], b["version"], b["arch"])
	EOF
}

# diff_check SNAP SOURCE...: `snapshot diff demo $S1 SNAP` names exactly
# the binaries (package, arch) of the patched sources (want_bins), each
# entry with a new version has the fixture's.
diff_check() {
	_snap=$1; shift
	run mirrord snapshot diff demo "$S1" "$_snap" --json
	assert_rc 0
	"$PYTHON" -c 'import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["package"], e["arch"], e["new"] or "-")' "$T/out" >"$T/diff"
	want_bins any "$@" >"$T/want"
	awk '{ print $1, $3 }' "$T/want" >"$T/want.pa"
	awk '{ print $1, $2 }' "$T/diff" >"$T/diff.pa"
	same_set "$T/want.pa" "$T/diff.pa" "(package, arch) of snapshot diff $S1 $_snap"
	awk '$3 != "-" { print $1, $3, $2 }' "$T/diff" | sort -u >"$T/diff.new"
	sort -u "$T/want" >"$T/want.s"
	_bad=$(comm -13 "$T/want.s" "$T/diff.new")
	[ -z "$_bad" ] || fail "snapshot diff: versions the fixture does not have: $_bad"
}

# expect_unchanged TARGET COUNT: production still at TARGET, COUNT snapshots.
expect_unchanged() {
	assert_eq "$1" "$(channel_target production)" "production's target"
	assert_eq "$2" "$(snapshot_count demo)" "snapshots of demo"
}

test_expect_success 'production at generation 1, latest at generation 2' '
	production_gen1_latest_gen2 &&
	assert_eq "$S1" "$(channel_target production)" "production"
'

test_expect_success APT 'control: a client of production is up to date' '
	apt_channel_box "$T/box" demo production &&
	box_status "$T/box" &&
	apt_inst "$T/box" upgrade >"$T/inst" &&
	[ ! -s "$T/inst" ]
'

test_expect_success '--dry-run sec-a: the plan, and nothing changes' '
	run mirrord patch demo production --from latest --dry-run sec-a &&
	assert_rc 0 &&
	assert_out_match "(^|[ /])sec-a(:amd64)? 1\.0-1 -> 1\.0-1\+deb12u1.*\(named\)" &&
	assert_out_match "libsec-a1(:amd64)? 1\.0-1 -> 1\.0-1\+deb12u1.*\(named\)" &&
	! grep -Eq "sec-b|stab-c|libneed1|sec-old" "$T/out" &&
	expect_unchanged "$S1" 2
'

test_expect_success '--dry-run sec-b: libneed1 is pulled, needed by sec-b' '
	run mirrord patch demo production --from latest --dry-run sec-b &&
	assert_rc 0 &&
	assert_out_match "sec-b(:amd64)? 2\.0-1 -> 2\.0-1\+deb12u1.*\(named\)" &&
	assert_out_match "libneed1(:amd64)? \(none\) -> 1\.0-1.*\(needed by sec-b\)" &&
	expect_unchanged "$S1" 2
'

test_expect_success 'not newer in latest, or unknown: an error naming it; nothing changes' '
	for p in deep-l1 sec-old no-such-source; do
		run mirrord patch demo production --from latest $p &&
		[ "$RC" != 0 ] &&
		assert_err_match "$p" &&
		expect_unchanged "$S1" 2 || return 1
	done
'

test_expect_success 'patch --from latest sec-a: a new snapshot, production moves to it' '
	run mirrord patch demo production --from latest -m "sec-a fix" sec-a &&
	assert_rc 0 &&
	P1=$(channel_target production) &&
	[ "$P1" != "$S1" ] && [ "$P1" != "$S2" ] &&
	assert_eq 3 "$(snapshot_count demo)" "snapshots after the patch" &&
	mirrord snapshot list demo | grep -q "$P1" &&
	run mirrord snapshot show demo "$P1" &&
	assert_rc 0 &&
	assert_out_match "patch" &&
	assert_out_match "sec-a" &&
	run mirrord channel log demo production &&
	assert_out_match "sec-a fix"
'

test_expect_success 'latest is still the sync of generation 2' '
	run mirrord snapshot show demo latest &&
	assert_out_match "^id: $S2\$"
'

test_expect_success APT 'apt-get -s upgrade: exactly sec-a'"'"'s binaries' '
	apt_inst "$T/box" upgrade >"$T/inst" &&
	want_bins amd64 sec-a >"$T/want" &&
	same_set "$T/want" "$T/inst" "what apt upgrades after patch sec-a"
'

test_expect_success 'snapshot diff: exactly the patched binaries, at their new versions' '
	diff_check "$P1" sec-a
'

# A suite the patch did not change (stable: sec-a is in stable-security)
# is served as upstream signed it; the one it changed is mirrord'"'"'s. A
# client trusts both keys (mirrord sources): so does this check.
test_expect_success DOSE 'the patched snapshot: signed, every package installable' '
	[ -n "${MKEY:-}" ] || mirrord_keyring
	cat "$MKEY" "$KEY" >"$T/both.gpg" &&
	mkey=$MKEY && MKEY=$T/both.gpg &&
	FETCH_ARCHIVE=$T/gen1 composed_fetch "$SERVE_URL/demo/$P1" "$T/p1" &&
	MKEY=$mkey &&
	curl -sf "$SERVE_URL/demo/$P1/dists/stable/InRelease" >"$T/st.inr" &&
	cmp -s "$T/st.inr" "$T/gen1/dists/stable/InRelease" &&
	curl -sf "$SERVE_URL/demo/$P1/dists/stable-security/InRelease" \
	    >"$T/se.inr" &&
	gpgv --keyring "$MKEY" "$T/se.inr" 2>/dev/null &&
	for f in "$T"/p1/*/*.packages; do
		# the fixture'"'"'s broken chain, broken upstream too
		awk -v RS= -v ORS="\n\n" "!/^Package: broken-/" "$f" >"$f.x" &&
		mv "$f.x" "$f" || return 1
	done &&
	dose_check "$T/p1"
'

test_expect_success 'rollback restores production' '
	run mirrord rollback demo production &&
	assert_rc 0 &&
	expect_unchanged "$S1" 3
'

test_expect_success APT 'after the rollback, the client has nothing to upgrade' '
	apt_inst "$T/box" upgrade >"$T/inst" &&
	[ ! -s "$T/inst" ]
'

test_expect_success '--security --dry-run: both fixes, not stab-c; nothing changes' '
	run mirrord patch demo production --from latest --security --dry-run &&
	assert_rc 0 &&
	assert_out_match "sec-a(:amd64)? 1\.0-1 -> 1\.0-1\+deb12u1" &&
	assert_out_match "sec-b(:amd64)? 2\.0-1 -> 2\.0-1\+deb12u1" &&
	! grep -Eq "stab-c|sec-old" "$T/out" &&
	expect_unchanged "$S1" 3
'

test_expect_success '--security: a new snapshot with both fixes' '
	run mirrord patch demo production --from latest --security &&
	assert_rc 0 &&
	P2=$(channel_target production) &&
	[ "$P2" != "$S1" ] && [ "$P2" != "$P1" ] &&
	assert_eq 4 "$(snapshot_count demo)" "snapshots after --security" &&
	diff_check "$P2" sec-a sec-b
'

test_expect_success APT 'apt-get -s dist-upgrade: the two fixes and libneed1, not stab-c' '
	apt_inst "$T/box" dist-upgrade >"$T/inst" &&
	want_bins amd64 sec-a sec-b >"$T/want" &&
	same_set "$T/want" "$T/inst" "what apt upgrades after --security" &&
	! grep -q "stab-c" "$T/inst"
'

test_expect_success 'latest is still generation 2' '
	run mirrord snapshot show demo latest &&
	assert_out_match "^id: $S2\$"
'

test_expect_success 'gc (Keep-Snapshots: last 1, no grace): latest stays the sync of generation 2; the patched target and all its files stay' '
	MIRRORD_TEST_GC_GRACE_MIN=0 &&
	export MIRRORD_TEST_GC_GRACE_MIN &&
	set_global Keep-Snapshots "last 1" &&
	set_global Gc-Grace 0 &&
	run mirrord gc &&
	assert_rc 0 &&
	mirrord snapshot list demo >"$T/left" &&
	grep -q "$P2" "$T/left" &&
	run mirrord snapshot show demo latest &&
	assert_out_match "^id: $S2\$" &&
	mkey=$MKEY && MKEY=$T/both.gpg &&
	FETCH_ARCHIVE=$T/gen1 composed_fetch "$SERVE_URL/demo/$P2" "$T/p2" &&
	MKEY=$mkey &&
	"$PYTHON" "$COMPOSED_PY" pool "$SERVE_URL/demo/$P2" "$T/p2" &&
	run mirrord fsck &&
	assert_rc 0
'
stop_serve
