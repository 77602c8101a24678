#!/bin/sh
# The independent judge of mirrord's dependency closure: on the real
# Debian bookworm metadata of this machine (/var/lib/apt/lists, as `apt-get
# update` left it), `mirrord resolve` of nginx openssh-server postgresql-15
# must give exactly the packages (names and versions) that apt itself
# installs on an empty system: `apt-get -s install --no-install-recommends`
# in a sandbox whose lists are copies of the same files and whose dpkg
# status is empty. bookworm-updates and bookworm-security are used too when
# present, as apt would see them.
#
# Nothing is taken off apt's set: with an empty status apt does not add
# the Essential packages by itself for `install`; those it installs are
# needed by the roots, and mirrord pulls them for the same reason.
. "$(dirname "$0")/lib.sh"

LISTS=${MIRRORD_APT_LISTS:-/var/lib/apt/lists}
ROOTS="nginx openssh-server postgresql-15"

test_lazy_prereq BOOKWORM 'ls "$LISTS"/*_dists_bookworm_main_binary-amd64_Packages*' \
    "no bookworm main amd64 Packages in $LISTS (run apt-get update on a bookworm host)"
test_lazy_prereq LZ4 'command -v lz4' "no lz4: package lz4"

# The lists apt would read: bookworm, bookworm-updates, bookworm-security
# main amd64. For mirrord, decompressed under their apt names (resolve
# reads the suite and component from them); for apt, copied as they are.
test_expect_success BOOKWORM,LZ4,APT 'the bookworm lists, decompressed' '
	mkdir -p "$T/lists" &&
	apt_box "$T/box" &&
	: >"$T/box/etc/apt/sources.list" &&
	PKGS="" &&
	for suite in bookworm bookworm-updates bookworm-security; do
		f=$(ls "$LISTS"/*_dists_${suite}_main_binary-amd64_Packages* \
		    2>/dev/null | head -n 1)
		[ -n "$f" ] || continue
		base=$(basename "$f")
		plain=${base%.lz4}
		case $base in
		*.lz4) lz4 -dc "$f" >"$T/lists/$plain" ;;
		*) cp "$f" "$T/lists/$plain" ;;
		esac
		cp "$f" "$T/box/var/lib/apt/lists/"
		rel=${base%%_main_binary-amd64_Packages*}
		cp "$LISTS/${rel}_InRelease" "$T/box/var/lib/apt/lists/" \
		    2>/dev/null || true
		# deb.debian.org_debian-security_dists_bookworm-security
		site=${rel%%_dists_*}
		echo "deb [trusted=yes] http://$(echo "$site" | tr _ /) $suite main" \
		    >>"$T/box/etc/apt/sources.list"
		PKGS="$PKGS --packages $T/lists/$plain"
	done &&
	cat "$T/box/etc/apt/sources.list" &&
	test -n "$PKGS"
'

test_expect_success BOOKWORM,LZ4,APT 'mirrord resolves the roots' '
	run timeout 120 "$MIRRORD" resolve $PKGS $ROOTS &&
	assert_rc 0 &&
	awk "{ print \$1, \$2 }" "$T/out" | sort >"$T/mirrord.set" &&
	test -s "$T/mirrord.set"
'

test_expect_success BOOKWORM,LZ4,APT 'apt resolves them on an empty system' '
	run apt_get "$T/box" -s install --no-install-recommends $ROOTS &&
	assert_rc 0 &&
	sed -n "s/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p" "$T/out" |
	    sort >"$T/apt.set" &&
	test -s "$T/apt.set"
'

test_expect_success BOOKWORM,LZ4,APT 'the same packages, the same versions' '
	echo "# mirrord: $(wc -l <"$T/mirrord.set") packages," \
	    "apt: $(wc -l <"$T/apt.set")" >&7 &&
	if ! cmp -s "$T/apt.set" "$T/mirrord.set"; then
		diff "$T/apt.set" "$T/mirrord.set" | sed "s/^/apt vs mirrord: /"
		fail "mirrord and apt disagree"
	fi
'

test_expect_success BOOKWORM,LZ4,APT 'a dependency excluded: the chain' '
	run timeout 120 "$MIRRORD" resolve $PKGS --exclude libssl3 nginx &&
	assert_rc 1 &&
	grep -E "^mirrord: error: resolve: nginx -> .*libssl3 \(>= [^)]*\): not in bookworm[a-z,-]* main amd64$" "$T/err" ||
	    fail "no chain to libssl3 in: $(cat "$T/err")"
'
