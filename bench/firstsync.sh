#!/bin/bash
# bench/firstsync.sh MIRRORD — the first sync over file:// against a reference writer.
#
# How close to the disk's limit is a first sync? The peer is bench/refwriter.c: it creates
# the very files a first sync stores (same names blobs/ab/<sha256>, same sizes, the bytes
# read from the same upstream files) and calls syncfs once, nothing else. The upstream is
# the bookworm shape of mkupstream.py (63,440 pool files, cached as for run.sh); the blob
# list is every upstream file but the by-hash copies, plus the plain Packages a sync keeps
# decompressed, and the first round checks that mirrord's store holds exactly those files.
#
# BENCH_RUNS rounds (default 5): refwriter into an empty directory and `mirrord sync` of
# file://UPSTREAM into an empty store, the order swapped every round. Each run writes into a
# new ext4 file system of its own (a loop device; BENCH_FRESH_FS=0, or not root: a new
# directory of $BENCH_DIR instead, whose file system is then the same for every run): on one
# file system, ext4's inode allocator pays for the earlier runs' deletes (its
# recently_deleted() reads the inode table), which made the same run take 2.5 s or 21 s here.
# Prints the medians and the median of the rounds' ratios, saved to
# $BENCH_DIR/firstsync-results.txt; target: mirrord at most 1.2x refwriter's time.
set -u -o pipefail

# here, top, MIRRORD, BDIR, LISTS_GLOB; measure, calc, median, bookworm_upstream
. "$(dirname "$0")/lib.sh"
say() { printf 'firstsync: %s\n' "$*" >&2; }
die() { printf 'firstsync: error: %s\n' "$*" >&2; exit 1; }

ROUNDS=${BENCH_RUNS:-5}
[ -x "$MIRRORD" ] || die "'$MIRRORD' is not an executable"
[ -x /usr/bin/time ] || die "'/usr/bin/time' is not installed (apt-get install time)"
command -v cc >/dev/null || die "no C compiler"
lists=
for f in $LISTS_GLOB; do
	[ -f "$f" ] && { lists=$f; break; }
done
[ -n "$lists" ] || die "the bookworm shape needs $LISTS_GLOB (run apt-get update)"
mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
RUN=$BDIR/firstsync-run
RES=$BDIR/firstsync-results.txt
rm -rf "$RUN"
mkdir -p "$RUN" || die "cannot create '$RUN'"
cp "$MIRRORD" "$RUN/mirrord" || die "cannot copy '$MIRRORD'"
MIRRORD_DESC="'$MIRRORD' built $(stat -c '%y' "$MIRRORD" | cut -c1-19)"
MIRRORD=$RUN/mirrord

bookworm_upstream "$lists"	# sets UP and UP_STAMP
# shellcheck disable=SC1091
. "$UP/shape.env"
SRC=$UP/www/debian

# listing DIR: its blob files and their sizes, sorted.
listing() { (cd "$1/blobs" && find . -type f -printf '%P %s\n' | sort); }

cc -O2 -std=c11 -Wall -Wextra -Werror -o "$RUN/refwriter" "$here/refwriter.c" ||
    die "cannot build bench/refwriter.c"

# The blob list, "sha256 size path" (cached with the upstream it describes).
LIST=$BDIR/firstsync-blobs-$UP_STAMP.list
if [ ! -s "$LIST" ]; then
	say "listing the blobs of '$SRC'"
	python3 - "$SRC" "$BDIR/firstsync-plain-$UP_STAMP" "$LIST.tmp" <<'EOF' ||
import hashlib, lzma, os, sys
src, plain_dir, out = sys.argv[1:4]
os.makedirs(plain_dir, exist_ok=True)
blobs = {}
def add(path, name):
    data = open(path, "rb").read()
    blobs.setdefault(hashlib.sha256(data).hexdigest(), (len(data), name))
for d, dirs, files in os.walk(src):
    dirs[:] = sorted(x for x in dirs if x != "by-hash")
    for f in sorted(files):
        p = os.path.join(d, f)
        add(p, os.path.relpath(p, src))
        if f == "Packages.xz":  # the plain text a sync keeps (an absolute path)
            plain = os.path.join(plain_dir,
                                 os.path.relpath(p, src).replace("/", "_")[:-3])
            with open(plain, "wb") as o:
                o.write(lzma.decompress(open(p, "rb").read()))
            add(plain, plain)
with open(out, "w") as o:
    for h, (size, name) in blobs.items():
        o.write("%s %d %s\n" % (h, size, name))
EOF
	    die "cannot list the blobs"
	mv "$LIST.tmp" "$LIST"
fi
nblobs=$(wc -l < "$LIST")

cat > "$RUN/mirrord.conf.in" <<EOF
Store: @STORE@
Connections: ${BENCH_CONNECTIONS:-8}
Retries: 3

Name: bench
Types: deb
URIs: file://$SRC
Suites: $CODENAME
Components: $COMPONENTS
Architectures: $ARCHS
Signed-By: $UP/archive-key.gpg
EOF

# Neither pays for a cold page cache of the upstream.
find "$UP/www" -type f -print0 | xargs -0 cat > /dev/null

run_ref() {	# run_ref ROUND
	local dir
	dir=$RUN/ref-$1
	fresh_fs "$dir"
	measure "ref-$1" "$RUN/refwriter" "$LIST" "$SRC" "$dir"
	[ "$RC" = 0 ] || die "refwriter failed: $(tail -n 3 "$RUN/ref-$1.err")"
	r_s+=("$SECS")
	[ "$1" = 1 ] && listing "$dir" > "$RUN/ref-1.list"
}
run_mirrord() {	# run_mirrord ROUND
	local dir
	dir=$RUN/store-$1
	fresh_fs "$dir"
	sed "s|@STORE@|$dir|" "$RUN/mirrord.conf.in" > "$RUN/mirrord-$1.conf"
	measure "mirrord-$1" "$MIRRORD" -q -c "$RUN/mirrord-$1.conf" sync
	[ "$RC" = 0 ] || die "mirrord sync failed: $(tail -n 3 "$RUN/mirrord-$1.err")"
	m_s+=("$SECS")
	m_kb+=("$KB")
	[ "$1" = 1 ] && listing "$dir" > "$RUN/store-1.list"
}
r_s=() m_s=() m_kb=() ratios=()
for i in $(seq "$ROUNDS"); do
	if [ $((i % 2)) = 1 ]; then run_ref "$i"; run_mirrord "$i"
	else run_mirrord "$i"; run_ref "$i"; fi
	ratios+=("$(calc '%.3f' "${m_s[-1]} / (${r_s[-1]} < 0.01 ? 0.01 : ${r_s[-1]})")")
	say "round $i: refwriter ${r_s[-1]} s, mirrord ${m_s[-1]} s, ratio ${ratios[-1]}"
	if [ "$i" = 1 ]; then
		diff "$RUN/store-1.list" "$RUN/ref-1.list" > "$RUN/files.diff" ||
		    die "mirrord's blobs and refwriter's files differ: $(head -n 5 "$RUN/files.diff")"
	fi
done
r_med=$(printf '%s\n' "${r_s[@]}" | median)
m_med=$(printf '%s\n' "${m_s[@]}" | median)
ratio=$(printf '%s\n' "${ratios[@]}" | median)
met=$(calc '%s' "($ratio <= 1.2) ? \"yes\" : \"no\"")
{
	echo "first sync over file:// against the reference writer, $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(nproc) CPUs"
	echo "upstream: bookworm shape, $nblobs blobs ($POOL_FILES pool files), file://$SRC"
	fresh_fs_note
	echo "mirrord: $MIRRORD_DESC"
	echo "refwriter runs (s): ${r_s[*]}"
	echo "mirrord runs (s):   ${m_s[*]} (peak RSS KB: ${m_kb[*]})"
	echo "ratios mirrord/refwriter by round: ${ratios[*]}"
	echo "median: refwriter $r_med s, mirrord $m_med s, ratio of the rounds ${ratio}x (target <= 1.2x): $met"
} > "$RES"
cat "$RES"
bench_cleanup
rm -rf "$RUN"/ref-* "$RUN"/store-*
