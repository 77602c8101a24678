#!/bin/sh
# The command line on refs and channels (issue 13): `sources` refuses a
# channel that does not exist, a wildcard Listen without Base-URL, and
# takes --arch; `snapshot show` and `snapshot pin` take every ref promote
# takes; a ref that is nothing says so; each error names its mirror once.
. "$(dirname "$0")/lib.sh"

setup_synced
run mirrord promote demo latest production
assert_rc 0

# no_double_prefix: no stderr line repeats "mirror 'demo'".
no_double_prefix() {
	if grep -q "mirror 'demo'.*mirror 'demo'" "$T/err"; then
		fail "an error names its mirror twice"
	fi
}

step "sources for a channel that does not exist: refused, channels listed"
run mirrord sources demo nosuch
assert_rc 1
assert_out_empty
assert_err_match "mirror 'demo' has no channel 'nosuch' \(channels: production\)"

step "sources for 'latest' and a snapshot ID: refused (not mirrord-signed)"
run mirrord sources demo latest
assert_rc 1
assert_out_empty
assert_err_match "'latest' is not a channel.*channels: production"
run mirrord sources demo "$SNAP1"
assert_rc 1
assert_err_match "'$SNAP1' is not a channel"
no_double_prefix

step "sources for a real channel: no Architectures: line by default"
run mirrord sources demo production
assert_rc 0
assert_out_match '^URIs: http://127\.0\.0\.1:[0-9]+/demo/production$'
if grep -q '^Architectures:' "$T/out"; then
	fail "sources without --arch printed an Architectures: line"
fi

step "sources --arch: repeatable and comma lists, mirror's arches only"
run mirrord sources --arch arm64 demo production
assert_rc 0
assert_out_match '^Architectures: arm64$'
run mirrord sources demo production --arch amd64,arm64 --arch=amd64
assert_rc 0
assert_out_match '^Architectures: amd64 arm64$'
run mirrord sources --arch i386 demo production
assert_rc 1
assert_out_empty
assert_err_match "mirror 'demo' has no architecture 'i386' \(architectures: amd64 arm64\)"
run mirrord sources demo production --arch
assert_rc 2
run mirrord sources --bogus demo production
assert_rc 2

step "sources with a wildcard Listen and no Base-URL: refused"
set_global Listen 0.0.0.0:8080
run mirrord sources demo production
assert_rc 1
assert_out_empty
assert_err_match "'Base-URL' is not set"
set_global Listen '[::]:8080'
run mirrord sources demo production
assert_rc 1
assert_err_match "'Base-URL' is not set"
set_global Base-URL http://mirror.example.org
run mirrord sources demo production
assert_rc 0
assert_out_match '^URIs: http://mirror\.example\.org/demo/production$'

step "snapshot show takes a channel"
run mirrord snapshot show demo production
assert_rc 0
assert_out_match "^id: $SNAP1\$"
run mirrord snapshot show demo production --json
assert_rc 0
assert_out_match "\"id\":\"$SNAP1\""

step "snapshot pin takes latest, a channel, a timestamp; prints the ID"
run mirrord snapshot pin demo latest "keep it"
assert_rc 0
assert_out_match "^pinned $SNAP1\$"
run mirrord snapshot unpin demo production
assert_rc 0
assert_out_match "^unpinned $SNAP1\$"
run mirrord snapshot pin demo 29991231T235959Z "a timestamp"
assert_rc 0
assert_out_match "^pinned $SNAP1\$"

step "a ref that is nothing says what it could have been, once"
run mirrord promote demo deadbeef prod
assert_rc 1
assert_err_match "^mirrord: error: mirror 'demo': 'deadbeef' is neither a snapshot ID, a timestamp, 'latest' nor a channel\$"
run mirrord snapshot show demo deadbeef
assert_rc 1
assert_err_match "'deadbeef' is neither a snapshot ID, a timestamp, 'latest' nor a channel"
run mirrord snapshot pin demo deadbeef note
assert_rc 1
assert_err_match "'deadbeef' is neither"

step "errors carry one mirror prefix"
for args in "promote demo 19990101T000000Z prod" "rollback demo nochan" \
    "snapshot diff demo nochan latest" \
    "snapshot diff demo 19990101T000000Z latest" \
    "snapshot pin demo 19990101T000000Z note" \
    "snapshot show demo 19990101T000000Z"; do
	# shellcheck disable=SC2086
	run mirrord $args
	assert_rc 1
	assert_err_match "mirror 'demo'"
	no_double_prefix
done
