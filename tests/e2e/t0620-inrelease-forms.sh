#!/bin/sh
# The forms an InRelease can take, each judged by the real apt first (apt
# 2.6 in a sandbox, straight against the fixture upstream): `mirrord sync`
# must accept exactly what apt accepts. What it accepts must also promote:
# the channel's Release keeps upstream's index hashes and apt-get update
# against the channel URL succeeds. Forms: CRLF (signed as CRLF, and LF
# signed then turned CRLF), blank lines before the BEGIN line, text after
# the signature, a blank line after it, two signature blocks, every line
# dash-escaped, trailing blanks on signed lines, an extra armor header, a
# second signed message appended, and one inside the signed text (after
# the Release paragraph, dash-escaped by gpg).
#
# Each form is its own mirror (its own copy of the archive, suite 'stable'
# only, without Release and Release.gpg, so that apt and mirrord both have
# to go by the InRelease alone; but crlf-release, whose Release and
# Release.gpg are CRLF like its InRelease).
. "$(dirname "$0")/lib.sh"

FORMS="lf crlf crlf-after crlf-release blank-before trailing-text
trailing-blank two-sigs dash-escaped trailing-ws armor-header second-block
nested-block"

mkarchive --generation 1
start_upstream
new_conf

# make_form FORM DIR: writes DIR/InRelease of FORM for $ARCHIVE's stable
# Release, signed with $GNUPG's key (and DIR/Release{,.gpg} for
# crlf-release).
make_form() {
	"$PYTHON" - "$GNUPG" "$ARCHIVE/dists/stable/Release" \
	    "$ARCHIVE/dists/stable/InRelease" "$1" "$2" <<'EOF'
import subprocess, sys
home, rel_path, inr_path, form, out = sys.argv[1:6]
rel = open(rel_path, "rb").read()
inr = open(inr_path, "rb").read()

def sign(text, how):
    return subprocess.run(
        ["gpg", "--batch", "--quiet", "--no-tty", "--homedir", home,
         "--pinentry-mode", "loopback", "--passphrase", "",
         "--digest-algo", "SHA512", "--armor", how, "--output", "-"],
        input=text, stdout=subprocess.PIPE, check=True).stdout

def clearsign(text):
    return sign(text, "--clearsign")

def split(m):
    """(armor header lines, text lines, signature block lines), LF only."""
    lines = m.split(b"\n")
    blank = lines.index(b"")
    sig = lines.index(b"-----BEGIN PGP SIGNATURE-----")
    return lines[:blank], lines[blank + 1:sig], lines[sig:]

hdr, text, sig = split(inr)
if form == "lf":
    r = inr
elif form == "crlf":
    r = clearsign(rel.replace(b"\n", b"\r\n"))
    assert b"\r\n" in r
elif form == "crlf-release":
    r = clearsign(rel.replace(b"\n", b"\r\n"))
    open(out + "/Release", "wb").write(rel.replace(b"\n", b"\r\n"))
    open(out + "/Release.gpg", "wb").write(
        sign(rel.replace(b"\n", b"\r\n"), "--detach-sign"))
elif form == "crlf-after":
    r = inr.replace(b"\n", b"\r\n")
elif form == "blank-before":
    r = b"\n\n" + inr
elif form == "trailing-text":
    r = inr + b"this line is not signed\n"
elif form == "trailing-blank":
    r = inr + b"\n"
elif form == "two-sigs":
    r = inr + b"\n".join(split(clearsign(rel))[2])
elif form == "dash-escaped":
    r = b"\n".join(hdr + [b""] + [b"- " + l for l in text] + sig)
elif form == "trailing-ws":
    r = b"\n".join(hdr + [b""] + [l + b" \t " for l in text] + sig)
elif form == "armor-header":
    r = b"\n".join(hdr + [b"Comment: not signed", b""] + text + sig)
elif form == "second-block":
    r = inr + clearsign(rel)
elif form == "nested-block":
    r = clearsign(rel + b"\n" + inr)
    assert b"\n- -----BEGIN PGP SIGNED MESSAGE-----\n" in r
else:
    sys.exit("unknown form " + form)
open(out + "/InRelease", "wb").write(r)
EOF
}

step "the forms, each a mirror of its own"
for f in $FORMS; do
	d=$SRV/$f
	mkdir -p "$d"
	cp -a "$ARCHIVE/pool" "$ARCHIVE/dists" "$d/"
	rm -f "$d"/dists/stable/Release "$d"/dists/stable/Release.gpg
	make_form "$f" "$d/dists/stable" ||
		fail "cannot make the '$f' InRelease"
	add_mirror "$f" "http://127.0.0.1:$UPSTREAM_PORT/$f" stable
done
cmp -s "$ARCHIVE/dists/stable/InRelease" "$SRV/lf/dists/stable/InRelease" ||
	fail "the 'lf' form is not the fixture's InRelease"

# apt_verdict BOX: accept if `apt-get update` exits 0 and prints no W:, E:
# or Err: line, else reject.
apt_verdict() {
	run apt_get "$1" update
	if [ "$RC" = 0 ] && ! grep -Eq '^(W|E|Err):' "$T/out" "$T/err"; then
		echo accept
	else
		echo reject
	fi
}

# first_para FILE: the first paragraph of a Release, without CRs: what
# apt reads of it.
first_para() {
	tr -d '\r' <"$1" | awk '/^$/ { exit } { print }'
}

# index_hashes FILE: the SHA256 lines of a Release, sorted.
index_hashes() {
	first_para "$1" | awk '/^[^ ]/ { in256 = ($0 == "SHA256:") }
	    in256 && /^ / { print }' | sort
}
index_hashes "$ARCHIVE/dists/stable/Release" >"$T/hashes.want"
[ -s "$T/hashes.want" ] || fail "no SHA256 lines in the fixture's Release"

: >"$T/verdicts"
for f in $FORMS; do
	A=$T/box-$f
	apt_box "$A"
	echo "deb [signed-by=$KEY] http://127.0.0.1:$UPSTREAM_PORT/$f stable" \
	    "main" >"$A/etc/apt/sources.list"
	want=$(apt_verdict "$A")
	[ "$want" = accept ] ||
		step "$f: apt: $(grep -Eh '^(W|E|Err):' "$T/out" "$T/err" |
		    head -n 2 | tr '\n' ' ')"

	run mirrord sync "$f"
	if [ "$RC" = 0 ]; then got=accept; else got=reject; fi
	[ "$got" = accept ] || step "$f: mirrord: $(head -n 2 "$T/err" |
	    tr '\n' ' ')"
	step "$f: apt says $want, mirrord says $got"
	[ "$want" = "$got" ] ||
		fail "form '$f': apt would $want it, mirrord sync would $got it"
	echo "$f $want" >>"$T/verdicts"
	if [ "$got" = accept ]; then
		assert_out_match "^$f [0-9]{8}T[0-9]{6}Z\$"
		run mirrord promote "$f" latest production
		assert_rc 0
		assert_out_match '^production -> [0-9]{8}T[0-9]{6}Z$'
	else
		assert_eq 0 "$(snapshot_count "$f")" "snapshots of '$f'"
	fi
done

# The oracle must have said something: the baseline is accepted and at
# least one form refused (TESTING.md: apt refuses text after the signature).
grep -qx 'lf accept' "$T/verdicts" || fail "apt refused the plain InRelease"
grep -q ' reject$' "$T/verdicts" || fail "apt accepted every form"

step "each accepted form's channel: same index hashes, apt-get update ok"
start_serve
while read -r f v; do
	[ "$v" = accept ] || continue
	s=$(http_status "$SERVE_URL/$f/production/dists/stable/Release")
	[ "$s" = 200 ] || fail "$f: GET the channel's Release: status $s"
	index_hashes "$T/b" >"$T/hashes.got"
	cmp -s "$T/hashes.want" "$T/hashes.got" ||
		fail "$f: the channel's Release lists other index hashes:" \
		    "$(diff "$T/hashes.want" "$T/hashes.got" | head -n 6)"
	# Every form says the same: the same channel Release but its Date
	# (and the line ends of crlf-release's Release, kept byte for byte,
	# and the paragraph nested-block adds, which apt does not read).
	first_para "$T/b" | grep -v '^Date:' >"$T/channel-$f"
	cmp -s "$T/channel-lf" "$T/channel-$f" ||
		fail "$f: the channel's Release differs from lf's:" \
		    "$(diff "$T/channel-lf" "$T/channel-$f" | head -n 6)"
	run mirrord sources "$f" production
	assert_rc 0
	B=$T/box-channel-$f
	apt_box "$B"
	sed -n '/^Types:/,$p' "$T/out" | sed '/^Suites:/c\Suites: stable' \
	    >"$B/etc/apt/sources.list.d/x.sources"
	apt_update_ok "$B"
	step "$f: the channel updates"
done <"$T/verdicts"
stop_serve
step "ok"
