#!/bin/sh
# A signed index naming 'Filename: ../../../etc/evil.deb' is refused before
# anything is fetched or written.
. "$(dirname "$0")/lib.sh"

[ ! -e /etc/evil.deb ] || fail "/etc/evil.deb exists before the test"
setup_synced

step "Packages entry with Filename: ../../../etc/evil.deb (hashes signed)"
mkarchive --generation 2 --evil-filename
expect_sync_failure "mirror 'demo'" "stable-updates" "unsafe|path" "evil"
[ ! -e /etc/evil.deb ] || fail "/etc/evil.deb was written"
[ -z "$(find "$T" -name 'evil.deb')" ] || fail "an evil.deb was written: $(find "$T" -name 'evil.deb')"
! grep -q evil "$T/upstream.log" ||
	fail "the evil path was requested: $(grep evil "$T/upstream.log")"
