#!/bin/sh
# `snapshot diff` lists exactly what the fixture changed between
# generations. The expected lists are derived from the fixture itself: the
# binary package entries of each generation's Packages.xz indices (a
# package is (suite, name, Architecture), standing for its highest version
# in the suite), compared with dpkg's version ordering.
. "$(dirname "$0")/lib.sh"

# expect_diff OLD_DIR NEW_DIR OUT: the expected text output into OUT.
expect_diff() {
	fixture_packages "$1" >"$T/old.pkgs"
	fixture_packages "$2" >"$T/new.pkgs"
	"$PYTHON" - "$T/old.pkgs" "$T/new.pkgs" >"$3" <<'EOF' ||
import functools, subprocess, sys
def cmp(a, b):
    if a == b:
        return 0
    lt = subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0
    return -1 if lt else 1
def load(path):
    pk = {}
    for line in open(path):
        suite, name, arch, ver = line.split()[:4]
        k = (suite, name, arch)
        if k not in pk or cmp(ver, pk[k]) > 0:
            pk[k] = ver
    return pk
old, new = load(sys.argv[1]), load(sys.argv[2])
for k in sorted(set(old) | set(new)):
    s, n, a = k
    if k not in old:
        print("added %s %s %s %s" % (s, n, a, new[k]))
    elif k not in new:
        print("removed %s %s %s %s" % (s, n, a, old[k]))
    elif old[k] != new[k]:
        print("%s %s %s %s %s -> %s" % ("upgraded" if cmp(old[k], new[k]) < 0
              else "downgraded", s, n, a, old[k], new[k]))
EOF
		fail "cannot derive the expected diff"
}

# check_diff REF1 REF2 EXPECTED_FILE: text and --json output.
check_diff() {
	run mirrord snapshot diff demo "$1" "$2"
	assert_rc 0
	if ! cmp -s "$3" "$T/out"; then
		echo "expected:" >&2; sed 's/^/  | /' "$3" >&2
		fail "snapshot diff demo $1 $2 differs from the fixture's changes"
	fi
	run mirrord snapshot diff demo "$1" "$2" --json
	assert_rc 0
	"$PYTHON" - "$T/out" "$3" <<'EOF' || fail "snapshot diff --json is wrong"
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except ValueError as e:
    print("not JSON: %s" % e); sys.exit(1)
got = []
for e in j:
    if set(e) != {"change", "suite", "package", "arch", "old", "new"}:
        print("keys of %s" % e); sys.exit(1)
    c = e["change"]
    if c == "added" and e["old"] is None:
        got.append("added %s %s %s %s" % (e["suite"], e["package"], e["arch"], e["new"]))
    elif c == "removed" and e["new"] is None:
        got.append("removed %s %s %s %s" % (e["suite"], e["package"], e["arch"], e["old"]))
    elif c in ("upgraded", "downgraded") and e["old"] and e["new"]:
        got.append("%s %s %s %s %s -> %s" % (c, e["suite"], e["package"],
                                            e["arch"], e["old"], e["new"]))
    else:
        print("bad entry %s" % e); sys.exit(1)
want = open(sys.argv[2]).read().splitlines()
if got != want:
    print("--json says:\n  %s\nexpected:\n  %s" % ("\n  ".join(got), "\n  ".join(want)))
    sys.exit(1)
EOF
}

test_expect_success 'three syncs, generations 1, 2 and 3' '
	setup_synced
	cp -a "$ARCHIVE" "$T/gen1"
	mkarchive --generation 2
	sync_ok
	SNAP2=$SNAP
	cp -a "$ARCHIVE" "$T/gen2"
	mkarchive --generation 3
	sync_ok
	SNAP3=$SNAP
'

# mkarchive.py: generation 2 gives hello and libhello1 (both built for
# amd64 and arm64) a new version in stable-updates, and nothing else.
test_expect_success 'generation 1 -> 2' '
	expect_diff "$T/gen1" "$T/gen2" "$T/want12"
	[ "$(cut -d " " -f 1-4 "$T/want12" | tr "\n" ,)" = \
	    "upgraded stable-updates hello amd64,upgraded stable-updates hello arm64,upgraded stable-updates libhello1 amd64,upgraded stable-updates libhello1 arm64," ] ||
		fail "unexpected fixture changes 1 -> 2: $(cat "$T/want12")"
	check_diff "$SNAP1" "$SNAP2" "$T/want12"
	step "$(wc -l <"$T/want12" | tr -d " ") changes"
'

test_expect_success 'generation 2 -> 1: downgrades' '
	expect_diff "$T/gen2" "$T/gen1" "$T/want21"
	grep -q "^downgraded " "$T/want21" || fail "no downgrade derived for 2 -> 1"
	check_diff "$SNAP2" "$SNAP1" "$T/want21"
'

test_expect_success 'generation 2 -> 3: an added package, an arch-all upgrade' '
	expect_diff "$T/gen2" "$ARCHIVE" "$T/want23"
	grep -q "^added stable-updates newtool " "$T/want23" ||
		fail "no newtool derived for 2 -> 3"
	check_diff "$SNAP2" "$SNAP3" "$T/want23"
'

test_expect_success 'generation 3 -> 1: removals, by refs other than IDs' '
	run mirrord promote demo "$SNAP1" production
	assert_rc 0
	expect_diff "$ARCHIVE" "$T/gen1" "$T/want31"
	grep -q "^removed stable-updates newtool " "$T/want31" ||
		fail "no removal derived for 3 -> 1"
	check_diff latest production "$T/want31"
'

test_expect_success 'a snapshot against itself: nothing' '
	: >"$T/empty"
	check_diff "$SNAP2" "$SNAP2" "$T/empty"
'

test_expect_success 'errors: an unknown snapshot, an unknown mirror' '
	run mirrord snapshot diff demo "$SNAP1" 19990101T000000Z
	assert_rc 1
	run mirrord snapshot diff nosuchmirror "$SNAP1" "$SNAP2"
	assert_rc 1
'
