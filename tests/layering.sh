#!/bin/sh
# layering.sh [ROOT]: the house rules of HACKING.md that a compiler does not
# check, over the C sources under ROOT (default: the checkout):
#   1. layers: mirrord/ (the core) includes nothing of sync/, serve/ or cmd/;
#      sync/ and serve/ include each other's nothing and nothing of cmd/;
#   2. each third-party library's header is included by the one file that
#      owns it (the table below); a header neither in that table nor in the
#      list of C/POSIX system headers is an error, so that a new library
#      gets an owner before its first use;
#   3. no C file over MAX_LINES (1,000) lines, no function over MAX_FUNC
#      (120) lines (a function: from a line that starts "name(" at column 0,
#      the house style, to the next "}" at column 0).
# Prints one line per violation, "file:line: what", and exits 1 if any.
# `layering.sh --self-test` plants a violation of each rule in a copy of the
# tree and fails unless each is caught: the check cannot pass by accident.
set -u

MAX_LINES=${MAX_LINES:-1000}
MAX_FUNC=${MAX_FUNC:-120}
here=$(cd "$(dirname "$0")/.." && pwd)

# header (a prefix ending in / matches a directory) -> the file that owns it
OWNERS='
curl/			mirrord/fetch.c
microhttpd.h		serve/http.c
lmdb.h			mirrord/store.c
gpgme.h			mirrord/gpg.c
lzma.h			mirrord/decomp.c
zlib.h			mirrord/decomp.c
openssl/		mirrord/hash.c
systemd/		cmd/daemon.c
dpkg/			mirrord/version.c
json-c/			mirrord/json.c
expat.h			mirrord/s3xml.c
'

# C11 and POSIX (and the few glibc/Linux headers the tree uses): anyone.
SYSTEM='assert.h ctype.h dirent.h errno.h fcntl.h fnmatch.h ftw.h getopt.h
glob.h grp.h inttypes.h libgen.h limits.h locale.h malloc.h math.h netdb.h
poll.h pthread.h pwd.h sched.h setjmp.h signal.h spawn.h stdalign.h
stdarg.h stdatomic.h stdbool.h stddef.h stdint.h stdio.h stdlib.h
stdnoreturn.h string.h strings.h syslog.h termios.h time.h unistd.h
wchar.h arpa/ net/ netinet/ sys/ linux/'

check() {
	root=$1
	cd "$root" || exit 2
	files=$(find mirrord sync serve cmd -name '*.[ch]' 2>/dev/null | sort)
	[ -n "$files" ] || { echo "layering.sh: no sources under $root" >&2; exit 2; }
	# shellcheck disable=SC2086
	awk -v owners="$OWNERS" -v syshdrs="$SYSTEM" \
	    -v max_lines="$MAX_LINES" -v max_func="$MAX_FUNC" '
	BEGIN {
		n = split(owners, o, /[ \t\n]+/)
		for (i = 1; i <= n; i++)
			if (o[i] != "") t[++nt] = o[i]
		for (i = 1; i < nt; i += 2)
			own[t[i]] = t[i + 1]
		m = split(syshdrs, s, /[ \t\n]+/)
		for (i = 1; i <= m; i++)
			if (s[i] != "") sys[s[i]] = 1
		bad = 0
	}
	function say(msg) { print FILENAME ":" FNR ": " msg; bad = 1 }
	function layer(path) { sub(/\/.*/, "", path); return path }
	# the owners entry a header falls under, or ""
	function owner_key(h,   k, d) {
		if (h in own) return h
		for (k in own)
			if (k ~ /\/$/ && index(h, k) == 1) return k
		return ""
	}
	function is_system(h,   d) {
		if (h in sys) return 1
		d = h; sub(/\/.*/, "/", d)
		return (d != h && d in sys)
	}
	FNR == 1 {
		if (NR > 1) end_file()
		me = layer(FILENAME); in_func = 0
	}
	/^#[ \t]*include[ \t]*"/ {
		h = $0; sub(/^#[ \t]*include[ \t]*"/, "", h); sub(/".*/, "", h)
		to = layer(h)
		if (me == "mirrord" && (to == "sync" || to == "serve" || to == "cmd"))
			say("the core includes \"" h "\" of the " to "/ layer above it")
		else if ((me == "sync" || me == "serve") && to != me &&
		    (to == "sync" || to == "serve" || to == "cmd"))
			say(me "/ includes \"" h "\" of " to "/")
	}
	/^#[ \t]*include[ \t]*</ {
		h = $0; sub(/^#[ \t]*include[ \t]*</, "", h); sub(/>.*/, "", h)
		k = owner_key(h)
		if (k != "") {
			if (own[k] != FILENAME)
				say("<" h "> belongs to " own[k] " alone")
		} else if (!is_system(h))
			say("<" h "> is neither a system header nor owned " \
			    "(tests/layering.sh: give the library one owner)")
	}
	/^[A-Za-z_][A-Za-z0-9_]*\(/ && $0 !~ /\);[ \t]*$/ && FILENAME ~ /\.c$/ {
		in_func = 1; fstart = FNR; fname = $0; sub(/\(.*/, "", fname)
	}
	/^}/ && in_func {
		in_func = 0
		if (FNR - fstart + 1 > max_func) {
			print FILENAME ":" fstart ": function " fname "() is " \
			    (FNR - fstart + 1) " lines (at most " max_func ")"
			bad = 1
		}
	}
	function end_file() {
		if (last_fnr > max_lines && last_name ~ /\.c$/) {
			print last_name ": " last_fnr " lines (at most " max_lines ")"
			bad = 1
		}
	}
	{ last_fnr = FNR; last_name = FILENAME }
	END { end_file(); exit bad }
	' $files
}

self_test() {
	tmp=$(mktemp -d) || exit 2
	trap 'rm -rf "$tmp"' EXIT
	fails=0
	base=$( (check "$here") 2>&1)
	# plant NAME FILE LINE...: a copy of the tree with LINE(s) appended to
	# FILE must fail the check, naming FILE.
	plant() {
		name=$1 file=$2; shift 2
		rm -rf "$tmp/t" && mkdir -p "$tmp/t"
		(cd "$here" && tar cf - mirrord sync serve $(ls -d cmd 2>/dev/null)) |
		    tar -C "$tmp/t" -xf -
		mkdir -p "$tmp/t/$(dirname "$file")"
		printf '%s\n' "$@" >>"$tmp/t/$file"
		out=$( (check "$tmp/t") 2>&1)
		rc=$?
		# what the plant added to the report of the tree as it is
		new=$(printf '%s\n' "$out" | grep "^$file" |
		    grep -vxF "$base" | head -1)
		if [ "$rc" -ne 0 ] && [ -n "$new" ]; then
			echo "ok - planted: $name: $new"
		else
			echo "not ok - planted: $name: not caught"
			fails=$((fails + 1))
		fi
	}
	plant "core includes sync/" mirrord/log.c '#include "sync/sync.h"'
	plant "core includes cmd/" mirrord/log.c '#include "cmd/cmd.h"'
	plant "serve includes sync/" serve/respond.c '#include "sync/sync.h"'
	plant "sync includes serve/" sync/release.c '#include "serve/serve.h"'
	plant "libcurl outside its owner" serve/respond.c '#include <curl/curl.h>'
	plant "lmdb outside its owner" mirrord/snap.c '#include <lmdb.h>'
	plant "an unowned library" mirrord/log.c '#include <yaml.h>'
	long=$(awk 'BEGIN { for (i = 0; i < 130; i++) printf "\tx();\n" }')
	plant "a long function" mirrord/log.c 'static void' 'planted(void)' '{' "$long" '}'
	many=$(awk 'BEGIN { for (i = 0; i < 1001; i++) print "/* */" }')
	plant "a long file" mirrord/log.c "$many"
	if (check "$here") >/dev/null 2>&1; then
		echo "ok - the tree itself passes"
	else
		echo "not ok - the tree itself fails"
		fails=$((fails + 1))
	fi
	[ "$fails" -eq 0 ]
}

case ${1:-} in
--self-test) self_test ;;
"") check "$here" ;;
*) check "$1" ;;
esac
