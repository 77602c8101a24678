#!/bin/sh
# Commands run as root on a store another user owns (the package's
# mirrord user) run as that user: after `mirrord sync`, `promote` and
# `key export` run as root, every file of the store belongs to the owner,
# and `mirrord serve` run as the owner (as the systemd unit runs it)
# serves the channel. Another user is refused with the command to run.
# Needs root (useradd, runuser); the user is removed on exit.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "not root: cannot make a store owner"
for tool in useradd userdel runuser setpriv; do
	command -v "$tool" >/dev/null 2>&1 || skip_all "no $tool"
done

OWNER=mrdt$$
useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --user-group "$OWNER" ||
	fail "useradd $OWNER failed"
# userdel first, then lib.sh's cleanup with the test's exit status.
trap '_rc0=$?; userdel "$OWNER" >/dev/null 2>&1 || true
	groupdel "$OWNER" >/dev/null 2>&1 || true; (exit $_rc0); _cleanup' EXIT
step "store owner: $OWNER ($(id -u "$OWNER"))"

mkarchive --generation 1
start_upstream
write_conf
# The owner must reach its store and read the Signed-By keyring; the
# configuration is read before the switch, as root.
chmod 0755 "$T"
chmod 0644 "$KEY"
mkdir "$STORE"
chown "$OWNER:$OWNER" "$STORE"
chmod 0750 "$STORE"

# not_owned: the store's files that are not the owner's, or are not in
# its group.
not_owned() {
	find "$STORE" \( ! -user "$OWNER" -o ! -group "$OWNER" \) -printf '%u:%g %p\n'
}

step "mirrord sync, as root"
sync_ok
SNAP1=$SNAP
[ -z "$(not_owned)" ] || fail "after sync, not the owner's: $(not_owned | head -n 10)"

step "mirrord promote demo latest production, as root"
run mirrord promote demo latest production
assert_rc 0
assert_out_match "^production -> $SNAP1\$"
[ -f "$STORE/signing-key.asc" ] || fail "promote made no signing key"
[ -z "$(not_owned)" ] || fail "after promote, not the owner's: $(not_owned | head -n 10)"
assert_eq "-rw-------" "$(stat -c %A "$STORE/signing-key.asc")" \
    "mode of signing-key.asc"

step "status, channel log, key export, gc, fsck, as root"
for c in status "channel log demo production" "key export" gc fsck; do
	# shellcheck disable=SC2086
	run mirrord $c
	assert_rc 0
done
[ -z "$(not_owned)" ] || fail "after the other commands, not the owner's: $(not_owned | head -n 10)"
# The channel log says who ran it (root here, not the store's owner).
run mirrord channel log demo production
assert_out_match ' root@[^ ]*$'

step "mirrord serve as the owner (runuser), as the unit runs it"
PORT=$(free_port)
set_global Listen "127.0.0.1:$PORT"
chmod 0644 "$CONF"
runuser -u "$OWNER" -- timeout 120 "$MIRRORD" -c "$CONF" serve \
    >"$T/serve.out" 2>"$T/serve.err" &
SPID=$!
_pids="$_pids $SPID"
URL=http://127.0.0.1:$PORT
_i=0
until [ "$(http_status "$URL/healthz")" = 200 ]; do
	kill -0 "$SPID" 2>/dev/null || fail "serve as $OWNER exited: $(cat "$T/serve.err")"
	_i=$((_i + 1))
	[ "$_i" -le 200 ] || fail "serve as $OWNER did not answer in 20 s"
	sleep 0.1
done
code=$(http_status "$URL/demo/production/dists/stable/InRelease")
assert_eq 200 "$code" "GET the channel's InRelease from the owner's server"
code=$(http_status "$URL/keyring.gpg")
assert_eq 200 "$code" "GET /keyring.gpg from the owner's server"
kill "$SPID"
wait "$SPID" 2>/dev/null || true
forget_pid "$SPID"
! grep -qi 'permission denied' "$T/serve.err" ||
	fail "serve as the owner: $(cat "$T/serve.err")"

step "a second sync and a rollback as root, then the owner again"
mkarchive --generation 2
sync_ok
run mirrord promote demo latest production
assert_rc 0
run mirrord rollback demo production
assert_rc 0
[ -z "$(not_owned)" ] || fail "after sync and rollback, not the owner's: $(not_owned | head -n 10)"
run runuser -u "$OWNER" -- timeout 60 "$MIRRORD" -c "$CONF" fsck
assert_rc 0

step "another user is refused with the command to run"
run setpriv --reuid=nobody --regid=nogroup --clear-groups \
    timeout 60 "$MIRRORD" -c "$CONF" promote demo latest production
assert_rc 1
assert_err_match "store '$STORE' belongs to '$OWNER': run it as that user: sudo -u $OWNER mirrord -c $CONF promote demo latest production\$"
[ -z "$(not_owned)" ] || fail "the refused command left files: $(not_owned)"

step "ok"
