#!/bin/sh
# tests/valgrind/run.sh MIRRORD [E2E-TEST...]: `make check` under valgrind's
# memcheck. Every unit test program and every mirrord process the end-to-end
# tests start (through a wrapper named mirrord, first in the tests' view)
# runs under memcheck, each writing build/valgrind/logs/<pid>.log; the run
# fails if any log reports an error or a definitely/indirectly lost block.
# --child-silent-after-fork: gpgme forks (and its intermediate child exits)
# in a thread of a multi-threaded mirrord; memcheck would report, for that
# one-thread child, everything the other threads own as lost.
# Tests are slower under valgrind: a test that fails only on time is listed
# separately from memcheck's findings (which are what this target judges).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$(dirname "$here")")
[ $# -ge 1 ] || { echo "usage: $0 MIRRORD [TEST...]" >&2; exit 2; }
real=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
out=$top/build/valgrind
rm -rf "$out"
mkdir -p "$out/logs" "$out/bin"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }

VG="valgrind -q --tool=memcheck --child-silent-after-fork=yes --leak-check=full
    --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --num-callers=30
    --suppressions=$here/mirrord.supp"
cat > "$out/bin/mirrord" <<WRAP
#!/bin/sh
exec $(echo "$VG" | tr '\n' ' ') --log-file="$out/logs/%p.log" "$real" "\$@"
WRAP
chmod +x "$out/bin/mirrord"

rc=0
echo "# unit tests under memcheck"
for t in "$top"/build/unit/t_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	# shellcheck disable=SC2086
	if ! $VG --log-file="$out/logs/unit-$n.log" "$t" > "$out/logs/unit-$n.out" 2>&1; then
		echo "not ok - unit $n (see $out/logs/unit-$n.out)"
		rc=1
	else
		echo "ok - unit $n"
	fi
done

echo "# end-to-end tests, every mirrord under memcheck"
E2E_TEST_TIMEOUT=${E2E_TEST_TIMEOUT:-1200} MIRRORD_TIMEOUT=600 "$top/tests/e2e/run.sh" "$out/bin/mirrord" "$@" \
    > "$out/e2e.out" 2>&1
e2e_rc=$?
grep -E '^(ok|not ok|#)' "$out/e2e.out" | tail -n 60

# memcheck's findings: with -q it writes only errors (definite and indirect
# leaks count as errors here), so any log with something in it is one.
bad=0
for l in "$out"/logs/*.log; do
	[ -s "$l" ] || continue
	echo "memcheck: $l:"
	sed 's/^/#   /' "$l" | head -n 40
	bad=$((bad + 1))
done
echo "# $(ls "$out"/logs/*.log 2>/dev/null | wc -l) processes checked, $bad with memcheck findings"
[ "$bad" = 0 ] || rc=1
[ "$e2e_rc" = 0 ] || echo "# some end-to-end tests failed under valgrind (see $out/e2e.out); memcheck judged above"
exit $rc
