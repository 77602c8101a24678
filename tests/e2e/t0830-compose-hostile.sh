#!/bin/sh
# Hostile metadata for the resolver (issue 15): the compose fixture's
# 'hostile' suite (mkcompose.py --hostile, signed like the rest): a
# Depends line over 1 MiB, a dependency cycle through a Pre-Depends, a
# Provides loop, a package that Provides and Depends on itself, 10,000
# alternatives with only the last satisfiable, and 10,000 with none.
# apt 2.6 refuses that Packages file outright; mirrord may too, but
# clearly. For each root, a partial sync (and `mirrord resolve --packages`)
# must end within a generous bound (60 s: a hang or an exponential search,
# not a speed target) with a peak RSS under 500 MB, and either make a
# snapshot holding exactly the expected closure (written by construction
# in .fixture.json "hostile_expect") or fail (status 1, not a usage error)
# with an error line and make no snapshot. Which happened is printed.
# `resolve --packages` runs on the hostile index and on it without hx-big
# (so that one oversized paragraph cannot stand for every answer).
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/compose-lib.sh"

test_lazy_prereq TIME 'test -x /usr/bin/time' "no /usr/bin/time: package time"
test_require_prereq TIME

BOUND=60		# seconds
RSS_CAP=512000		# KB

# bounded NAME CMD...: CMD under timeout and /usr/bin/time; sets RC and KB
# (peak RSS); fails on a timeout, a signal or RSS over the cap.
bounded() {
	_name=$1; shift
	LAST="$*"
	set +e
	timeout -k 5 "$BOUND" /usr/bin/time -f %M -o "$T/rss.$_name" "$@" \
	    >"$T/out" 2>"$T/err"
	RC=$?
	set -e
	[ "$RC" != 124 ] && [ "$RC" != 137 ] ||
		fail "$_name: not finished within $BOUND s"
	[ "$RC" -lt 128 ] || fail "$_name: killed by signal $((RC - 128))"
	KB=$(tail -n 1 "$T/rss.$_name")
	[ "$KB" -le "$RSS_CAP" ] ||
		fail "$_name: peak RSS $KB KB, over $RSS_CAP KB"
}

# expected ROOT: the closure's names, one a line.
expected() {
	"$PYTHON" -c 'import json, sys
print("\n".join(json.load(open(sys.argv[1]))["hostile_expect"][sys.argv[2]]))' \
	    "$FIXTURE" "$1"
}

# judge_sync ROOT: the sync of mirror ROOT (Include: ROOT) is a correct
# snapshot or a clear error; says which (on the test's stdout).
judge_sync() {
	_m=$1
	bounded "sync-$_m" "$MIRRORD" -c "$CONF" sync "$_m"
	if [ "$RC" = 0 ]; then
		_snap=$(cut -d " " -f 2 "$T/out" | tail -n 1)
		composed_fetch "$SERVE_URL/$_m/$_snap" "$T/c-$_m" hostile
		"$PYTHON" "$COMPOSED_PY" entries "$T/c-$_m" amd64 |
		    cut -d " " -f 1 >"$T/got-$_m"
		expected "$_m" >"$T/want-$_m"
		same_set "$T/want-$_m" "$T/got-$_m" "the snapshot of $_m"
		echo "# $_m: a correct snapshot ($KB KB peak)" >&7
	else
		[ "$RC" = 1 ] && grep -q "error: " "$T/err" ||
			fail "$_m: exit $RC without an error line"
		assert_eq 0 "$(snapshot_count "$_m")" "snapshots of $_m"
		echo "# $_m: a clear error ($KB KB peak): $(grep -i error "$T/err" |
		    head -n 1 | cut -c 1-160)" >&7
	fi
}

test_expect_success 'the hostile suite, served; one partial mirror per root' '
	mkcompose --generation 1 --hostile --no-closures &&
	start_upstream &&
	new_conf &&
	for r in hx-big hx-cyc-a hx-ploop-a hx-self hx-alts hx-alts-none; do
		COMPOSE_SUITES=hostile COMPOSE_ARCHES=amd64 add_composed "$r" "$r" ||
		return 1
	done &&
	start_serve &&
	[ "$(xz -dc "$ARCHIVE/dists/hostile/main/binary-amd64/Packages.xz" |
	    grep "^Depends: hx-leaf" | wc -c)" -gt 1048576 ]
'

for r in hx-big hx-cyc-a hx-ploop-a hx-self hx-alts; do
	test_expect_success "$r: bounded; the exact closure or a clear error" "
		judge_sync $r
	"
done

test_expect_success 'hx-alts-none (10,000 unsatisfiable alternatives): bounded, an error naming it and saying why' '
	bounded sync-none "$MIRRORD" -c "$CONF" sync hx-alts-none &&
	[ "$RC" != 0 ] &&
	assert_err_match "hx-alts-none" &&
	assert_err_match ": not in " &&
	assert_eq 0 "$(snapshot_count hx-alts-none)" "snapshots of hx-alts-none"
'

# judge_resolve FILE ROOT: `resolve --packages FILE ROOT` is bounded and
# exact, or status 1 with an error line.
judge_resolve() {
	bounded "resolve-$2" "$MIRRORD" resolve --packages "$1" --arch amd64 "$2"
	if [ "$RC" = 0 ]; then
		cut -d " " -f 1 "$T/out" >"$T/got"
		expected "$2" >"$T/want"
		same_set "$T/want" "$T/got" "mirrord resolve $2 ($(basename "$1"))"
		echo "# resolve $2 ($(basename "$1")): exact ($KB KB peak)" >&7
	else
		[ "$RC" = 1 ] && grep -q "error: " "$T/err" ||
			fail "resolve $2: exit $RC: $(head -n 2 "$T/err")"
		echo "# resolve $2 ($(basename "$1")): an error ($KB KB peak):" \
		    "$(grep "error: " "$T/err" | head -n 1 | cut -c 1-120)" >&7
	fi
}

test_expect_success 'mirrord resolve --packages, the hostile index: bounded, exact or an error' '
	xz -dc "$ARCHIVE/dists/hostile/main/binary-amd64/Packages.xz" >"$T/hostile.packages" &&
	for r in hx-big hx-cyc-a hx-ploop-a hx-self hx-alts; do
		judge_resolve "$T/hostile.packages" $r || return 1
	done
'

test_expect_success 'mirrord resolve --packages, without hx-big: bounded, exact or an error' '
	"$PYTHON" "$COMPOSED_PY" drop "$T/hostile.packages" hx-big "$T/no-big.packages" &&
	for r in hx-cyc-a hx-ploop-a hx-self hx-alts; do
		judge_resolve "$T/no-big.packages" $r || return 1
	done &&
	bounded resolve-none "$MIRRORD" resolve --packages "$T/no-big.packages" \
	    --arch amd64 hx-alts-none &&
	[ "$RC" = 1 ] &&
	assert_err_match "hx-alts-none" &&
	assert_err_match ": not in "
'

test_expect_success 'the store is sound after all that' '
	run mirrord fsck &&
	assert_rc 0
'
stop_serve
