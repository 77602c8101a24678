#!/bin/sh
# tests/fuzz/run.sh: builds and runs mirrord's libFuzzer targets.
#
#   tests/fuzz/run.sh [TARGET...]            build with clang + libFuzzer into
#                                            build/fuzz/, run each target for
#                                            FUZZ_SECONDS (default 600)
#   tests/fuzz/run.sh --build [TARGET...]    only build them
#   tests/fuzz/run.sh --regress [TARGET...]  build with gcc (no libFuzzer),
#                                            ASan+UBSan, and feed every file of
#                                            tests/fuzz/corpus/<t>/ and
#                                            tests/fuzz/regress/<t>/ once
#
# Targets: deb822 release index path route conf confval clearsign pkgset
# advisory s3xml: all
# if none.
# Environment: FUZZ_SECONDS (600), FUZZ_PARALLEL (1: how many targets run
# at once), FUZZ_OUT (build/fuzz), CLANG (clang), CC (gcc, for --regress),
# FUZZ_ARGS (extra libFuzzer flags), FUZZ_LIB (with --regress: link this
# archive of the core, e.g. build/san-address-undefined/libmirrord.a from
# `make SANITIZE=address,undefined`, instead of compiling the core here).
#
# While fuzzing, new inputs go to build/fuzz/corpus/<t>/ (the checked-in
# seeds in tests/fuzz/corpus/<t>/ are only read), crashers to
# build/fuzz/crashes/<t>-*, logs to build/fuzz/logs/<t>.log. To keep a
# crasher as a regression test: minimise it
#   build/fuzz/bin/fuzz_<t> -minimize_crash=1 -runs=100000 \
#       -exact_artifact_path=tests/fuzz/regress/<t>/<name> CRASHER
# and `tests/fuzz/run.sh --regress <t>` runs it from then on.
set -eu

cd "$(dirname "$0")/../.."

ALL_TARGETS="deb822 release index path route conf confval clearsign pkgset advisory s3xml"
OUT=${FUZZ_OUT:-build/fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-600}
FUZZ_PARALLEL=${FUZZ_PARALLEL:-1}
CLANG=${CLANG:-clang}
GCC=${CC:-gcc}
PKGS="libcurl libmicrohttpd gpgme lmdb liblzma zlib libcrypto libdpkg libsystemd json-c expat"

mode=fuzz
case "${1:-}" in
--regress) mode=regress; shift ;;
--build) mode=build; shift ;;
-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
esac
targets=${*:-$ALL_TARGETS}
for t in $targets; do
	[ -f "tests/fuzz/fuzz_$t.c" ] || { echo "run.sh: no target '$t'" >&2; exit 2; }
done

PKG_CFLAGS=$(pkg-config --cflags $PKGS)
PKG_LIBS=$(pkg-config --libs $PKGS)
CORE_SRC=$(ls mirrord/*.c sync/*.c serve/*.c | grep -v '^mirrord/main\.c$')
HEADERS=$(ls mirrord/*.h sync/*.h serve/*.h)
NEWEST_H=$(ls -t $HEADERS | head -n 1)
WARN="-Wall -Wextra -Wshadow -Wformat=2 -Wpointer-arith -Wstrict-prototypes \
 -Wmissing-prototypes -Wvla -Wno-unused-parameter"

if [ "$mode" = regress ]; then
	cc=$GCC
	dir=$OUT/regress
	san="-fsanitize=address,undefined -fno-sanitize-recover=all"
	cflags="-std=c11 -O1 -g -fno-omit-frame-pointer $san"
	link_san=$san
	harness_extra="tests/fuzz/driver.c"
else
	cc=$CLANG
	dir=$OUT
	san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
	cflags="-std=c11 -O1 -g -fno-omit-frame-pointer $san -fsanitize=fuzzer-no-link"
	link_san="$san -fsanitize=fuzzer"
	harness_extra=
fi
mkdir -p "$dir/obj" "$dir/bin"

# The core objects, rebuilt when their source or any header is newer.
objs=
[ "$mode" = regress ] && [ -n "${FUZZ_LIB:-}" ] && { objs=$FUZZ_LIB; CORE_SRC=; }
for src in $CORE_SRC; do
	obj=$dir/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$NEWEST_H" -nt "$obj" ]; then
		echo "  CC $src"
		# Not $WARN: the core is held to it by the Makefile build.
		$cc $cflags -I. $PKG_CFLAGS -D_FILE_OFFSET_BITS=64 -c -o "$obj" "$src"
	fi
	objs="$objs $obj"
done

for t in $targets; do
	bin=$dir/bin/fuzz_$t
	echo "  LD $bin"
	# The harness itself must be warning-free.
	$cc $cflags $WARN -Werror -I. $PKG_CFLAGS -D_FILE_OFFSET_BITS=64 \
	    $link_san -o "$bin" "tests/fuzz/fuzz_$t.c" $harness_extra $objs \
	    $PKG_LIBS -pthread
done

[ "$mode" = build ] && exit 0

if [ "$mode" = regress ]; then
	fail=0
	n=0
	for t in $targets; do
		n=$((n + 1))
		if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
		    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		    "$dir/bin/fuzz_$t" "tests/fuzz/corpus/$t" "tests/fuzz/regress/$t" \
		    >"$dir/$t.out" 2>&1; then
			echo "ok $n - fuzz regress $t: $(tail -n 1 "$dir/$t.out" | sed 's/.*: //')"
		else
			echo "not ok $n - fuzz regress $t (see $dir/$t.out)"
			tail -n 40 "$dir/$t.out" | sed 's/^/#   /'
			fail=1
		fi
	done
	echo "1..$n"
	exit $fail
fi

# The largest input worth trying, per target.
max_len() {
	case $1 in
	deb822) echo 16384 ;;
	release) echo 16384 ;;
	index) echo 65536 ;;
	path) echo 1100 ;;
	route) echo 2048 ;;
	conf) echo 8192 ;;
	confval) echo 4096 ;;
	pkgset) echo 65536 ;;
	advisory) echo 65536 ;;
	s3xml) echo 65536 ;;
	esac
}

mkdir -p "$OUT/crashes" "$OUT/logs"
run_one() {
	t=$1
	mkdir -p "$OUT/corpus/$t"
	dict=
	[ -f "tests/fuzz/dict/$t.dict" ] && dict="-dict=tests/fuzz/dict/$t.dict"
	echo "fuzzing $t for ${FUZZ_SECONDS}s (log: $OUT/logs/$t.log)"
	rc=0
	"$OUT/bin/fuzz_$t" -max_total_time="$FUZZ_SECONDS" \
	    -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$OUT/crashes/$t-" \
	    $dict ${FUZZ_ARGS:-} "$OUT/corpus/$t" "tests/fuzz/corpus/$t" \
	    >"$OUT/logs/$t.log" 2>&1 || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/logs/$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$OUT/logs/$t.log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		echo "ok - fuzz $t: ${execs:-?} executions, $cov"
	else
		echo "not ok - fuzz $t: exit $rc after ${execs:-?} executions; crashers:"
		ls "$OUT/crashes/" | grep "^$t-" | sed 's/^/#   /' || true
	fi
	return $rc
}

fail=0
set -- $targets
while [ $# -gt 0 ]; do
	pids=
	i=0
	while [ $# -gt 0 ] && [ $i -lt "$FUZZ_PARALLEL" ]; do
		run_one "$1" &
		pids="$pids $!"
		shift
		i=$((i + 1))
	done
	for p in $pids; do
		wait "$p" || fail=1
	done
done
exit $fail
