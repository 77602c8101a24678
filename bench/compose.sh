#!/bin/bash
# bench/compose.sh MIRRORD — composed snapshots (issue 15) against aptly on the real bookworm
# main amd64 metadata (63,440 packages), in one run, as ratios.  See bench/README.md.
#
#   (a) closure of nginx openssh-server postgresql-15: `mirrord resolve` (against the stored
#       snapshot, and --packages against the index file) vs `aptly snapshot filter -with-deps`;
#       time and peak RSS, medians of 3 runs.  Target: >= 5x faster, RSS <= 1/4.  Both sets are compared with
#       REAL apt's (`apt-get -s install --no-install-recommends` in a sandbox, empty status).
#   (b) one source package (COMPOSE_SOURCE, default openssl) patched into a channel whose suite
#       holds the full index, published and signed: `mirrord patch` vs `aptly snapshot pull` +
#       `aptly publish switch` of the same change.  Target: >= 10x faster.
#
# Upstream: generation 1 is bench/mkupstream.py's bookworm shape (cached in
# BENCH_DIR/upstream-bookworm, shared with run.sh); generation 2 (cached in
# BENCH_DIR/upstream-bookworm-patch) is the same archive with every binary of COMPOSE_SOURCE
# at version +bench1 (new stand-in pool files), re-signed with the same key.  nginx serves both
# (aptly mirrors each; aptly has no file:// mirrors); mirrord syncs them from file:// through a
# symlink switched from generation 1 to 2, as one mirror whose latest is generation 2.
#
# Without a mirrord binary, or one without `resolve`/`patch`, the aptly side runs alone and
# mirrord's cells are n/a.  Environment: BENCH_DIR (default build/bench), COMPOSE_SOURCE,
# BENCH_KEEP=1 keeps the aptly root and the store.  About 10 minutes on 2 CPUs (aptly
# downloads 63,440 stand-in files once).
set -u -o pipefail

# here, top, MIRRORD, BDIR, LISTS_GLOB; measure, calc
. "$(dirname "$0")/lib.sh"
SRC=${COMPOSE_SOURCE:-openssl}
ROOTS="nginx openssh-server postgresql-15"

say() { printf 'compose bench: %s\n' "$*" >&2; }
die() { printf 'compose bench: error: %s\n' "$*" >&2; exit 1; }

for t in aptly nginx lz4 python3 gpg apt-get; do
	command -v "$t" >/dev/null || die "'$t' is not installed (make deps-bench)"
done
[ -x /usr/bin/time ] || die "'/usr/bin/time' is not installed (apt-get install time)"
lists=
for f in $LISTS_GLOB; do [ -f "$f" ] && lists=$f; done
[ -n "$lists" ] || die "no $LISTS_GLOB (apt-get update on a bookworm system)"

mkdir -p "$BDIR" || die "cannot create '$BDIR'"
BDIR=$(cd "$BDIR" && pwd)
RUN=$BDIR/compose
RES=$BDIR/compose-results.txt
rm -rf "$RUN"
mkdir -p "$RUN/www"
HAVE_M=0
if [ -x "$MIRRORD" ] && "$MIRRORD" help resolve >/dev/null 2>&1 &&
    "$MIRRORD" help patch >/dev/null 2>&1; then
	cp "$MIRRORD" "$RUN/mirrord" || die "cannot copy '$MIRRORD'"
	MDESC="'$MIRRORD' built $(stat -c '%y' "$MIRRORD" | cut -c1-19)"
	MIRRORD=$RUN/mirrord
	HAVE_M=1
else
	MDESC="'$MIRRORD': missing, or without resolve/patch (issue 15 not built): n/a"
fi
say "mirrord: $MDESC"

# tm NAME CMD...: measure (lib.sh), and say what it measured.
tm() {
	measure "$@"
	say "$1: exit $RC, ${SECS}s, $KB KB"
}

# med3 NAME CMD...: tm three times (an @I@ in CMD becomes 1, 2, 3); SECS and KB are the
# medians, RC the last non-zero status (0 if none), NAME.out and .err the first run's.
med3() {
	local name=$1 i rc=0 s=() k=()
	shift
	for i in 1 2 3; do
		tm "$name-$i" "${@//@I@/$i}"
		[ "$RC" = 0 ] || rc=$RC
		s+=("$SECS")
		k+=("$KB")
	done
	cp "$RUN/$name-1.out" "$RUN/$name.out"
	cp "$RUN/$name-1.err" "$RUN/$name.err"
	RC=$rc
	SECS=$(printf '%s\n' "${s[@]}" | sort -g | sed -n 2p)
	KB=$(printf '%s\n' "${k[@]}" | sort -g | sed -n 2p)
}

# ---------------------------------------------------------------- the two generations
bookworm_upstream "$lists"
stamp=$UP_STAMP
UP2=$BDIR/upstream-bookworm-patch
stamp2=$( (echo "$stamp $SRC"; sed -n '/^# gen2 begin/,/^# gen2 end/p' "$0") | sha256sum | cut -c1-16)
if [ "$(cat "$UP2/.stamp" 2>/dev/null)" != "$stamp2" ]; then
	say "building generation 2 ($SRC +bench1) in '$UP2'"
	rm -rf "$UP2"
	mkdir -p "$UP2/www"
	cp -al "$UP/www/debian" "$UP2/www/debian" || die "cannot link '$UP' into '$UP2'"
	rm -rf "$UP2/www/debian/dists"         # rewritten, never the linked files
# gen2 begin
	BENCH_HERE=$here python3 - "$UP" "$UP2" "$SRC" <<'PY' || die "generation 2 failed"
import hashlib, lzma, os, re, subprocess, sys, time
from email.utils import formatdate
up, up2, src = sys.argv[1:4]
sys.dont_write_bytecode = True     # no __pycache__ in the tree
sys.path.insert(0, os.environ["BENCH_HERE"])
import mkupstream as mk
www2 = os.path.join(up2, "www", "debian")
d1 = os.path.join(up, "www", "debian", "dists", "bookworm")
d2 = os.path.join(www2, "dists", "bookworm")
text = lzma.decompress(open(os.path.join(d1, "main/binary-amd64/Packages.xz"), "rb")
                       .read()).decode("utf-8", "surrogateescape")
pool = mk.Pool(www2, 2, 1024, 2048)
paras, n = [], 0
for para in text.split("\n\n"):
    if not para.strip():
        continue
    f = dict(l.split(": ", 1) for l in para.split("\n") if ": " in l and l[0] != " ")
    if f.get("Source", f["Package"]).split(" ")[0] != src:
        paras.append(para.strip("\n") + "\n")
        continue
    ver = f["Version"] + "+bench1"
    fn = "%s/%s_%s_%s.deb" % (os.path.dirname(f["Filename"]), f["Package"],
                              ver.split(":")[-1], f["Architecture"])
    size, md5, sha = pool.add(fn)
    new = {"Version": ver, "Filename": fn, "Size": str(size), "MD5sum": md5, "SHA256": sha}
    # and "(= ${binary:Version})" between the source's binaries follows
    paras.append("\n".join(re.sub(r"^(Version|Filename|Size|MD5sum|SHA256): .*$",
                                  lambda m: "%s: %s" % (m.group(1), new[m.group(1)]), l)
                           .replace("(= %s)" % f["Version"], "(= %s)" % ver)
                           for l in para.strip("\n").split("\n")) + "\n")
    n += 1
if not n:
    sys.exit("no binary of source '%s' in the index" % src)
entries = []
mk.write_index(d2, "main", "amd64", paras, entries)
head = open(os.path.join(d1, "Release")).read().split("\nMD5Sum:")[0]
rel = [re.sub(r"(?m)^Date: .*$", "Date: " + formatdate(time.time(), usegmt=True), head)]
for field, fn in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
    rel.append(field + ":")
    rel += [" %s %16d %s" % (fn(b).hexdigest(), len(b), p) for p, b, _ in entries]
release = ("\n".join(rel) + "\n").encode()
open(os.path.join(d2, "Release"), "wb").write(release)
home = os.path.join(up, "gnupg")
open(os.path.join(d2, "InRelease"), "wb").write(
    mk.gpg(home, "--clearsign", "--digest-algo", "SHA256", inp=release))
open(os.path.join(d2, "Release.gpg"), "wb").write(
    mk.gpg(home, "--armor", "--detach-sign", "--digest-algo", "SHA256", inp=release))
subprocess.run(["gpgconf", "--homedir", home, "--kill", "gpg-agent"], check=False)
print("generation 2: %d binaries of %s at +bench1" % (n, src), file=sys.stderr)
PY
# gen2 end
	echo "$stamp2" >"$UP2/.stamp"
fi
KEY=$UP/archive-key.gpg
FPR=$(GNUPGHOME=$UP/gnupg gpg --batch --with-colons --list-secret-keys 2>/dev/null |
    awk -F: '$1 == "fpr" { print $10; exit }')
[ -n "$FPR" ] || die "no secret key in '$UP/gnupg'"
NBIN=$(xz -dc "$UP2/www/debian/dists/bookworm/main/binary-amd64/Packages.xz" | grep -c '+bench1$')

# ---------------------------------------------------------------- nginx: /gen1 and /gen2
ln -s "$UP/www" "$RUN/www/gen1"
ln -s "$UP2/www" "$RUN/www/gen2"
start_nginx "$RUN/www" /gen2/debian/dists/bookworm/InRelease

# ---------------------------------------------------------------- apt: the judge of (a)
say "apt: the closure of $ROOTS against the same metadata"
box=$RUN/apt
mkdir -p "$box/repo" "$box/etc/apt/apt.conf.d" "$box/var/lib/apt/lists/partial" \
    "$box/var/cache/apt/archives/partial" "$box/var/lib/dpkg"
: >"$box/var/lib/dpkg/status"
lz4 -dc "$lists" >"$box/repo/Packages" || die "cannot read '$lists'"
(cd "$box/repo" && apt-ftparchive release . >Release) || die "apt-ftparchive failed"
echo "deb [trusted=yes] file:$box/repo ./" >"$box/sources.list"
printf 'Dir::Etc::parts "%s/etc/apt/apt.conf.d";\n' "$box" >"$box/apt.conf"
aptg() {
	APT_CONFIG=$box/apt.conf apt-get -o Dir="$box" -o Dir::Etc::sourcelist="$box/sources.list" \
	    -o Dir::State::status="$box/var/lib/dpkg/status" -o Debug::NoLocking=1 \
	    -o APT::Sandbox::User=root -o Acquire::Languages=none -o APT::Architecture=amd64 \
	    -o APT::Architectures=amd64 "$@"
}
aptg update >"$RUN/apt-update.out" 2>&1 || die "apt-get update: $(tail -n 3 "$RUN/apt-update.out")"
# shellcheck disable=SC2086
aptg -s install --no-install-recommends $ROOTS >"$RUN/apt-install.out" 2>&1 ||
    die "apt-get -s install: $(tail -n 3 "$RUN/apt-install.out")"
sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*\[\([^]]*\)\]).*/\1 \2 \3/p' "$RUN/apt-install.out" |
    sort -u >"$RUN/set.apt"
say "apt: $(wc -l <"$RUN/set.apt") packages"

# ---------------------------------------------------------------- aptly
export GNUPGHOME=$UP/gnupg
cat >"$RUN/aptly.conf" <<EOF
{ "rootDir": "$RUN/aptly", "downloadConcurrency": 8, "architectures": ["amd64"],
  "gpgDisableSign": false, "gpgDisableVerify": false, "gpgProvider": "gpg",
  "downloadSourcePackages": false, "skipLegacyPool": true, "skipContentsPublishing": true }
EOF
A() { aptly -config="$RUN/aptly.conf" "$@"; }
for g in 1 2; do
	say "aptly: mirror of generation $g (not measured)"
	A mirror create -keyring="$KEY" bw$g "http://127.0.0.1:$PORT/gen$g/debian" bookworm main \
	    >"$RUN/aptly-create$g.out" 2>&1 || die "aptly mirror create: $(tail -n 3 "$RUN/aptly-create$g.out")"
	A mirror update -keyring="$KEY" bw$g >"$RUN/aptly-update$g.out" 2>&1 ||
	    die "aptly mirror update: $(tail -n 3 "$RUN/aptly-update$g.out")"
	A snapshot create s$g from mirror bw$g >/dev/null || die "aptly snapshot create s$g"
done
med3 aptly-filter aptly -config="$RUN/aptly.conf" snapshot filter -with-deps s1 web@I@ \
    "nginx | openssh-server | postgresql-15"
[ "$RC" = 0 ] || die "aptly snapshot filter: $(tail -n 3 "$RUN/aptly-filter.err")"
a_f_s=$SECS a_f_kb=$KB
A snapshot show -with-packages web1 | sed -n '/^Packages:/,$p' | sed 1d |
    sed 's/^ *\(.*\)_\([^_]*\)_\([^_]*\)$/\1 \2 \3/' | sed '/^$/d' | sort -u >"$RUN/set.aptly"
tm aptly-publish aptly -config="$RUN/aptly.conf" publish snapshot -batch -gpg-key="$FPR" \
    -distribution=bookworm s1
[ "$RC" = 0 ] || die "aptly publish snapshot: $(tail -n 3 "$RUN/aptly-publish.err")"
a_pub_s=$SECS
tm aptly-pull aptly -config="$RUN/aptly.conf" snapshot pull s1 s2 s1p "\$Source ($SRC)"
[ "$RC" = 0 ] || die "aptly snapshot pull: $(tail -n 3 "$RUN/aptly-pull.err")"
a_pull_s=$SECS a_pull_kb=$KB
tm aptly-switch aptly -config="$RUN/aptly.conf" publish switch -batch -gpg-key="$FPR" bookworm s1p
[ "$RC" = 0 ] || die "aptly publish switch: $(tail -n 3 "$RUN/aptly-switch.err")"
a_patch_s=$(calc '%.2f' "$a_pull_s + $SECS")
a_patch_kb=$(( KB > a_pull_kb ? KB : a_pull_kb ))
a_pulled=$(zcat "$RUN/aptly/public/dists/bookworm/main/binary-amd64/Packages.gz" |
    grep -c '^Version: .*+bench1$')
unset GNUPGHOME

# ---------------------------------------------------------------- mirrord
m_r_s= m_r_kb= m_rp_s= m_rp_kb= m_p_s= m_p_kb= m_patched=
FAIL=()
if [ "$HAVE_M" = 1 ]; then
	ln -s "$UP/www" "$RUN/current"
	cat >"$RUN/mirrord.conf" <<EOF
Store: $RUN/store

Name: bw
Types: deb
URIs: file://$RUN/current/debian
Suites: bookworm
Components: main
Architectures: amd64
Signed-By: $KEY
EOF
	M() { "$MIRRORD" -q -c "$RUN/mirrord.conf" "$@"; }
	say "mirrord: sync generation 1, production -> it, sync generation 2 (not measured)"
	M sync >"$RUN/m-sync1.out" 2>&1 || die "mirrord sync: $(tail -n 3 "$RUN/m-sync1.out")"
	S1=$(M snapshot list bw | tail -n 1 | cut -d ' ' -f 1)
	M promote bw "$S1" production >/dev/null || die "mirrord promote failed"
	ln -sfn "$UP2/www" "$RUN/current"
	sleep 1
	M sync >"$RUN/m-sync2.out" 2>&1 || die "mirrord sync: $(tail -n 3 "$RUN/m-sync2.out")"
	# shellcheck disable=SC2086
	med3 m-resolve "$MIRRORD" -q -c "$RUN/mirrord.conf" resolve bw production $ROOTS
	if [ "$RC" = 0 ]; then
		m_r_s=$SECS m_r_kb=$KB
		sort -u "$RUN/m-resolve.out" >"$RUN/set.mirrord"
	else
		FAIL+=("resolve: exit $RC: $(tail -n 2 "$RUN/m-resolve.err" | tr '\n' ' ')")
	fi
	# shellcheck disable=SC2086
	med3 m-resolve-packages "$MIRRORD" -q -c "$RUN/mirrord.conf" resolve \
	    --packages "$box/repo/Packages" --arch amd64 $ROOTS
	if [ "$RC" = 0 ]; then
		m_rp_s=$SECS m_rp_kb=$KB
		sort -u "$RUN/m-resolve-packages.out" | cmp -s - "$RUN/set.apt" ||
		    FAIL+=("resolve --packages: not apt's set (see $RUN/m-resolve-packages.out)")
	else
		FAIL+=("resolve --packages: exit $RC: $(tail -n 2 "$RUN/m-resolve-packages.err" | tr '\n' ' ')")
	fi
	tm m-patch "$MIRRORD" -q -c "$RUN/mirrord.conf" patch bw production --from latest "$SRC"
	if [ "$RC" = 0 ]; then
		m_p_s=$SECS m_p_kb=$KB
		m_patched=$("$MIRRORD" -c "$RUN/mirrord.conf" snapshot diff bw "$S1" production |
		    grep -c '+bench1')
	else
		FAIL+=("patch: exit $RC: $(tail -n 2 "$RUN/m-patch.err" | tr '\n' ' ')")
	fi
fi

# ---------------------------------------------------------------- report
# setdiff A B: "N (missing M, extra E)" of set B against apt's set A.
setdiff() {
	[ -f "$2" ] || { echo n/a; return; }
	echo "$(wc -l <"$2") ($(comm -23 "$1" "$2" | wc -l) of apt's missing, $(comm -13 "$1" "$2" | wc -l) extra)"
}
ratio() { # ratio PEER MIRRORD TARGET_X: "Nx" and whether >= TARGET_X
	[ -n "$2" ] || { echo "n/a n/a"; return; }
	local r
	r=$(calc '%.1f' "$1 / ($2 < 0.01 ? 0.01 : $2)")
	echo "${r}x $(calc '%s' "($r >= $3) ? \"yes\" : \"no\"")"
}
{
	echo "mirrord composed-snapshot benchmark, $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(nproc) CPUs"
	echo "metadata: $lists ($(grep -c '^Package: ' "$box/repo/Packages") packages); patched source: $SRC ($NBIN binaries)"
	echo "peer: $(aptly version | head -n 1); mirrord: $MDESC"
	echo
	printf '%-40s|%12s|%12s|%12s|%8s|%4s\n' metric aptly mirrord ratio target met
	read -r r met < <(ratio "$a_f_s" "$m_r_s" 5)
	printf '%-40s|%12s|%12s|%12s|%8s|%4s\n' "closure time (s, median of 3)" "$a_f_s" "${m_r_s:-n/a}" "$r" ">= 5x" "$met"
	if [ -n "$m_r_kb" ]; then
		r=$(calc '%.3f' "$m_r_kb / $a_f_kb")
		met=$(calc '%s' "($r <= 0.25) ? \"yes\" : \"no\"")
	else
		r=n/a met=n/a
	fi
	printf '%-40s|%12s|%12s|%12s|%8s|%4s\n' "closure peak RSS (MB, median of 3)" "$(calc '%.1f' "$a_f_kb / 1024")" \
	    "$( [ -n "$m_r_kb" ] && calc '%.1f' "$m_r_kb / 1024" || echo n/a)" "$r" "<= 0.25" "$met"
	printf '%-40s|%12s|%12s|%12s|%8s|%4s\n' "  resolve --packages FILE (s; MB)" "-" \
	    "${m_rp_s:-n/a}; $( [ -n "$m_rp_kb" ] && calc '%.1f' "$m_rp_kb / 1024" || echo n/a)" "-" "-" "-"
	read -r r met < <(ratio "$a_patch_s" "$m_p_s" 10)
	printf '%-40s|%12s|%12s|%12s|%8s|%4s\n' "patch 1 source, published+signed (s)" "$a_patch_s" \
	    "${m_p_s:-n/a}" "$r" ">= 10x" "$met"
	printf '%-40s|%12s|%12s|%12s|%8s|%4s\n' "  of which aptly pull / switch (s)" "$a_pull_s / $(calc '%.2f' "$a_patch_s - $a_pull_s")" "-" "-" "-" "-"
	printf '%-40s|%12s|%12s|%12s|%8s|%4s\n' "  aptly publish of the full snapshot (s)" "$a_pub_s" "-" "-" "-" "-"
	echo
	echo "closure sets against apt's $(wc -l <"$RUN/set.apt") packages: aptly $(setdiff "$RUN/set.apt" "$RUN/set.aptly"), mirrord $(setdiff "$RUN/set.apt" "$RUN/set.mirrord")"
	echo "patched binaries published: aptly $a_pulled, mirrord ${m_patched:-n/a} (of $NBIN)"
	for f in "${FAIL[@]}"; do echo "MIRRORD FAILURE: $f"; done
	echo "logs: $RUN"
} >"$RES.tmp"
mv "$RES.tmp" "$RES"
cat "$RES"
if [ "${BENCH_KEEP:-0}" != 1 ]; then
	rm -rf "$RUN/aptly" "$RUN/store"
fi
