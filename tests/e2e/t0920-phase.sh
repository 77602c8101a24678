#!/bin/sh
# Server-side phasing (issue 16): `mirrord phase demo production latest N`
# serves generation 2 to N% of production's machines through apt's own
# phased updates. Eight sandboxed apt clients, each with its own
# APT::Machine-ID and every package of generation 1 installed, run
# `apt-get -s dist-upgrade`: at 0% none takes stab-c 3.0-2 (the stable
# update), at 50% some do and some do not, at 100% all do; the security
# fixes (sec-a, sec-b) are never phased: every client takes them at once.
# The real apt decides, from the Packages files mirrord serves.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/compose-lib.sh"

NBOX=8

# boxes_upgrade: for each box, "BOX stab-c" if dist-upgrade takes stab-c;
# fails unless every box takes every security fix.
boxes_upgrade() {
	_i=1
	while [ "$_i" -le "$NBOX" ]; do
		apt_inst "$T/box$_i" dist-upgrade >"$T/inst$_i" || return 1
		for _p in sec-a libsec-a1 sec-b libneed1; do
			grep -q "^$_p " "$T/inst$_i" || {
				cat "$T/inst.out" >&2
				fail "box $_i: the security fix $_p is held back"
			}
		done
		grep -q '^stab-c 3\.0-2 ' "$T/inst$_i" && echo "box$_i stab-c"
		_i=$((_i + 1))
	done
}

# phase_ok PERCENT: production to latest at PERCENT; TO gets its target.
phase_ok() {
	run mirrord phase demo production latest "$1"
	assert_rc 0
	TO=$(channel_target production)
	[ -n "$TO" ] || fail "production has no target"
}

# served_field SUITE PACKAGE: the Phased-Update-Percentage of PACKAGE's
# amd64 paragraph in the Packages box1 got for SUITE ("-" without one).
served_field() {
	"$PYTHON" - "$T/box1" "$1" "$2" <<-\EOF
	import glob, os, sys
	box, suite, pkg = sys.argv[1:]
	got = []
	for f in glob.glob(os.path.join(box, "var/lib/apt/lists",
	                                "*_dists_%s_main_binary-amd64_Packages" % suite)):
	    for para in open(f).read().split("\n\n"):
	        fields = dict(l.split(": ", 1) for l in para.split("\n") if ": " in l and not l[0].isspace())
	        if fields.get("Package") == pkg:
	            got.append(fields.get("Phased-Update-Percentage", "-"))
	print(" ".join(got) or "absent")
	EOF
}

test_expect_success 'production at generation 1, latest at generation 2' '
	production_gen1_latest_gen2 &&
	assert_eq "$S1" "$(channel_target production)" "production"
'

test_expect_success APT "$NBOX clients of production, each its own machine-id" '
	i=1 &&
	while [ "$i" -le "$NBOX" ]; do
		apt_channel_box "$T/box$i" demo production &&
		box_status "$T/box$i" >/dev/null &&
		# apt skips phasing in a chroot (ischroot): these boxes are
		# machines of their own, whatever the test host is.
		printf "APT::Machine-ID \"%032x\";\nDir::Bin::ischroot \"/bin/false\";\n" \
		    "$((i * 7919 + 104729))" >"$T/box$i/etc/apt/apt.conf.d/50machine" &&
		apt_inst "$T/box$i" dist-upgrade >"$T/inst" &&
		[ ! -s "$T/inst" ] || return 1
		i=$((i + 1))
	done
'

test_expect_success 'a bad percentage: an error naming it; production stays' '
	for p in 101 -1 ten; do
		run mirrord phase demo production latest "$p" &&
		[ "$RC" != 0 ] &&
		assert_err_match "$p" &&
		assert_eq "$S1" "$(channel_target production)" "production" ||
		return 1
	done
'

test_expect_success 'phase 0: a new snapshot of kind phase; latest is still generation 2' '
	phase_ok 0 &&
	# stab-c and libstab-c2 (new in generation 2), amd64 and arm64
	assert_out_match "^production -> $TO \\(4 packages at 0%\\)$" &&
	[ "$TO" != "$S2" ] && [ "$TO" != "$S1" ] &&
	run mirrord snapshot show demo "$TO" &&
	assert_rc 0 &&
	assert_out_match "phase" &&
	assert_out_match "target $S2" &&
	assert_out_match "over $S1" &&
	run mirrord snapshot show demo latest --json &&
	assert_out_match "\"$S2\""
'

test_expect_success APT 'phase 0: the stable update phased at 0, nothing else; no client takes it' '
	boxes_upgrade >"$T/took" &&
	assert_eq "0" "$(served_field stable stab-c)" "stab-c'"'"'s field" &&
	assert_eq "0" "$(served_field stable libstab-c2)" "libstab-c2'"'"'s field" &&
	assert_eq "-" "$(served_field stable deep-app)" "deep-app (unchanged)" &&
	assert_eq "-" "$(served_field stable-security sec-a)" "sec-a (security)" &&
	[ ! -s "$T/took" ] || fail "clients took stab-c at 0%: $(cat "$T/took")"
'

test_expect_success APT 'phase 50: some clients take stab-c, some do not' '
	phase_ok 50 &&
	boxes_upgrade >"$T/took" &&
	assert_eq "50" "$(served_field stable stab-c)" "stab-c'"'"'s field" &&
	n=$(wc -l <"$T/took") &&
	echo "$n of $NBOX clients take stab-c at 50%" &&
	[ "$n" -gt 0 ] && [ "$n" -lt "$NBOX" ]
'

test_expect_success 'phase 50 again: no new snapshot, no error' '
	before=$(snapshot_count demo) &&
	was=$(channel_target production) &&
	run mirrord phase demo production latest 50 &&
	assert_rc 0 &&
	assert_eq "$was" "$(channel_target production)" "production" &&
	assert_eq "$before" "$(snapshot_count demo)" "snapshots of demo"
'

test_expect_success APT 'phase 100: production is generation 2 itself; every client takes it' '
	phase_ok 100 &&
	assert_eq "$S2" "$TO" "production at 100%" &&
	boxes_upgrade >"$T/took" &&
	assert_eq "$NBOX" "$(wc -l <"$T/took" | tr -d " ")" "clients taking stab-c" &&
	assert_eq "-" "$(served_field stable stab-c)" "stab-c'"'"'s field at 100%"
'

test_expect_success 'channel log: each phase a move, with why' '
	run mirrord channel log demo production --json &&
	assert_rc 0 &&
	"$PYTHON" -c "import json, sys
log = json.load(open(sys.argv[1]))
msgs = [e.get(\"message\") or \"\" for e in log]
print(msgs)
assert any(\"at 0%\" in m for m in msgs), msgs
assert any(\"at 50%\" in m for m in msgs), msgs
assert log[-1][\"to\"] == sys.argv[2], log[-1]" "$T/out" "$S2"
'

test_expect_success 'the store is consistent' '
	run mirrord fsck &&
	assert_rc 0
'
