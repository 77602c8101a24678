#!/bin/sh
# mirrord daemon and its configuration: retention after each sync; systemd
# notifications (READY, STATUS, WATCHDOG, STOPPING); SIGHUP with a new
# mirror starts syncing and serving it; SIGHUP with a broken configuration
# is logged and the running one kept (serving and syncing go on); a new
# Listen: is a warning; a removed mirror is no longer synced nor served;
# Log-File set, reopened after logrotate, unset. Then SIGTERM during two
# large downloads: the one that fits the bound completes, the other is
# closed cleanly, and the daemon exits 0 in time.
. "$(dirname "$0")/lib.sh"

# status_is CODE URL: a GET of URL answers CODE.
status_is() {
	[ "$(http_status "$2")" = "$1" ]
}

# ------------------------------------------------------------ the test

mkarchive --generation 1
start_upstream
write_conf
set_global Sync-Interval 3s
set_global Keep-Snapshots "last 2"

# systemd's side of sd_notify: a datagram socket; each message one line.
"$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
while True:
    m = s.recv(4096).decode(errors="replace").replace("\n", "|")
    with open(sys.argv[2], "a") as f:
        f.write(m + "\n")' "$T/notify.sock" "$T/notify.log" &
_pids="$_pids $!"
wait_for_file() {
	[ -S "$T/notify.sock" ] && [ -f "$T/notify.log" ]
}
MPID=$$
wait_for 10 "the notify socket" wait_for_file
NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=2000000
export NOTIFY_SOCKET WATCHDOG_USEC
start_daemon
unset NOTIFY_SOCKET WATCHDOG_USEC
notified() {	# ERE: a message matches
	grep -Eq -- "$1" "$T/notify.log"
}
wait_for 10 "READY=1 sent to systemd" notified '^READY=1$'
wait_for 10 "a STATUS line" notified "^STATUS=serving on 127.0.0.1:[0-9]+; "
pinged_twice() {
	[ "$(grep -c '^WATCHDOG=1$' "$T/notify.log")" -ge 2 ]
}
wait_for 10 "watchdog pings" pinged_twice
wait_for 30 "a first snapshot of demo" snapshots_at_least demo 1

step "retention after each sync (Keep-Snapshots: last 2)"
SU=dists/stable-updates
for g in 2 3; do
	mkarchive --generation "$g"
	wait_for 30 "demo's latest serving generation $g" served_is \
	    "$DAEMON_URL/demo/latest/$SU/InRelease" "$ARCHIVE/$SU/InRelease"
done
wait_for 10 "retention logged" log_has \
    "info: mirror 'demo': retention: 1 snapshots dropped"
assert_eq 2 "$(snapshot_count demo)" "snapshots kept by 'last 2'"
cp "$CONF" "$T/conf.one"

step "SIGHUP with a second mirror: it is synced and served"
s=$(http_status "$DAEMON_URL/second/latest/dists/stable/InRelease")
assert_eq 404 "$s" "status of second's InRelease before the reload"
add_mirror second "$UPSTREAM_URL" stable
mark=$(log_lines)
kill -HUP "$MPID"
wait_for 10 "the reload logged" since_at_least "$mark" 1 \
    "info: reload: mirror 'second' added"
wait_for 30 "a snapshot of second" snapshots_at_least second 1
wait_for 10 "second's latest served" served_is \
    "$DAEMON_URL/second/latest/dists/stable/InRelease" \
    "$ARCHIVE/dists/stable/InRelease"
s=$(http_status "$DAEMON_URL/")
assert_eq 200 "$s" "status of /"
grep -q "second" "$T/b" || fail "the root page does not list 'second'"
cp "$CONF" "$T/conf.two"

step "SIGHUP with a broken configuration: logged, the running one kept"
set_global Bogus-Key yes
mark=$(log_lines)
kill -HUP "$MPID"
wait_for 10 "the rejected reload logged" since_at_least "$mark" 1 \
    "error: reload: .*keeping the running configuration"
tail -n "+$((mark + 1))" "$T/daemon.log" | grep -i 'bogus-key' |
    grep -q 'error: reload' ||
	fail "the reload error does not name the unknown key"
kill -0 "$MPID" 2>/dev/null || fail "the daemon died on a broken config"
s=$(http_status "$DAEMON_URL/healthz")
assert_eq 200 "$s" "/healthz after a rejected reload"
served_is "$DAEMON_URL/second/latest/dists/stable/InRelease" \
    "$ARCHIVE/dists/stable/InRelease" ||
	fail "second is not served after a rejected reload"
mark=$(log_lines)
wait_for 20 "syncs of both mirrors after a rejected reload" \
    since_at_least "$mark" 2 "mirror '(demo|second)': no change"
wait_for 20 "a sync of second after a rejected reload" \
    since_at_least "$mark" 1 "mirror 'second': no change"
wait_for 20 "a sync of demo after a rejected reload" \
    since_at_least "$mark" 1 "mirror 'demo': no change"
cp "$T/conf.two" "$CONF"

step "SIGHUP with a new Listen: a warning; serving goes on where it was"
set_global Listen 127.0.0.1:1
mark=$(log_lines)
kill -HUP "$MPID"
wait_for 10 "the Listen warning" since_at_least "$mark" 1 \
    "warning: reload: Listen: '127.0.0.1:1' takes a restart"
s=$(http_status "$DAEMON_URL/healthz")
assert_eq 200 "$s" "/healthz on the old address after a new Listen:"
cp "$T/conf.two" "$CONF"

step "SIGHUP without second: no longer synced nor served"
cp "$T/conf.one" "$CONF"
mark=$(log_lines)
kill -HUP "$MPID"
wait_for 10 "the removal logged" since_at_least "$mark" 1 \
    "info: reload: mirror 'second' removed"
wait_for 10 "second no longer served" status_is 404 \
    "$DAEMON_URL/second/latest/dists/stable/InRelease"
wait_for 20 "two syncs of demo" since_at_least "$mark" 2 \
    "mirror 'demo': no change"
sleep 1
[ "$(log_count_since "$mark" "mirror 'second': sync started")" = 0 ] ||
	fail "'second' was synced after its removal"

step "Log-File: set by a reload, reopened on SIGHUP (logrotate), unset"
LOGF=$T/mirrord.log
file_has() {	# FILE ERE
	[ -f "$1" ] && grep -Eq -- "$2" "$1"
}
set_global Log-File "$LOGF"
kill -HUP "$MPID"
wait_for 10 "the log in Log-File" file_has "$LOGF" \
    "Z mirrord: info: reload: configuration reloaded"
wait_for 10 "a sync logged in Log-File" file_has "$LOGF" \
    "Z mirrord: info: mirror 'demo': no change"
s=$(http_status "$DAEMON_URL/healthz")
wait_for 5 "the access log in Log-File" file_has "$LOGF" '"GET /healthz HTTP'
mv "$LOGF" "$LOGF.1"
kill -HUP "$MPID"
wait_for 10 "a new Log-File after SIGHUP" file_has "$LOGF" \
    "Z mirrord: info: reload: configuration reloaded"
wait_for 10 "a sync logged in the new Log-File" file_has "$LOGF" \
    "Z mirrord: info: mirror 'demo': no change"
# Every line: a log line with its time and level, or an access log line.
line_re='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z mirrord: (info|warning|error|debug): '
access_re='^127\.0\.0\.1 - - \['
if grep -Ev "$line_re|$access_re" "$LOGF" "$LOGF.1" >"$T/badlines"; then
	fail "Log-File lines of no known shape: $(head -n 3 "$T/badlines")"
fi
cp "$T/conf.one" "$CONF"
mark=$(log_lines)
kill -HUP "$MPID"
wait_for 10 "the log back on stderr" since_at_least "$mark" 1 \
    "info: reload: configuration reloaded"

step "a 50 MB package upstream, mirrored by the daemon"
BIGSIZE=$((50 * 1024 * 1024))
"$PYTHON" - "$ROOT/tests/fixtures" "$SRV/big" "$GNUPG" "$BIGSIZE" \
    >"$T/big.sha" 2>"$T/big.err" <<'PY' || fail "big archive: $(cat "$T/big.err")"
import os, sys, time
sys.path.insert(0, sys.argv[1])
import mkarchive as mk
out, home, size = sys.argv[2], sys.argv[3], int(sys.argv[4])
deb = "pool/main/b/big/big_1.0_amd64.deb"
data = os.urandom(size)
mk.write_file(os.path.join(out, deb), data)
pkg = mk.paragraph([
    ("Package", "big"), ("Version", "1.0"), ("Architecture", "amd64"),
    ("Maintainer", mk.MAINTAINER), ("Installed-Size", str(size // 1024)),
    ("Filename", deb), ("Size", str(size)), ("SHA256", mk.sha256(data)),
    ("Section", "misc"), ("Priority", "optional"),
    ("Description", "a large package for mirrord's tests"),
]).encode()
files = {"main/binary-amd64/Packages": pkg,
         "main/binary-amd64/Packages.xz": mk.xz(pkg)}
# As on Debian's mirrors: the uncompressed index is listed, not stored.
mk.write_file(os.path.join(out, "dists/big/main/binary-amd64/Packages.xz"),
              files["main/binary-amd64/Packages.xz"])
release = mk.paragraph([
    ("Origin", "Test"), ("Label", "Test"), ("Suite", "big"),
    ("Codename", "big"), ("Date", mk.rfc2822(int(time.time()) - 60)),
    ("No-Support-for-Architecture-all", "Packages"),
    ("Architectures", "amd64"), ("Components", "main"),
    ("SHA256", "".join("\n %s %8d %s" % (mk.sha256(d), len(d), r)
                       for r, d in sorted(files.items()))),
]).encode()
rel = os.path.join(out, "dists/big/Release")
mk.write_file(rel, release)
fpr = mk.ensure_key(home)
try:
    inrel = mk.gpg(home, ["--local-user", fpr + "!", "--digest-algo",
                          "SHA512", "--clearsign", "--output", "-", rel])
finally:
    mk.stop_agent(home)
mk.write_file(os.path.join(out, "dists/big/InRelease"), inrel)
print(mk.sha256(data))
PY
BIGFILE=$SRV/big/pool/main/b/big/big_1.0_amd64.deb
cat >>"$CONF" <<CONF

Name: big
Types: deb
URIs: http://127.0.0.1:$UPSTREAM_PORT/big
Suites: big
Components: main
Architectures: amd64
Signed-By: $KEY
CONF
mark=$(log_lines)
kill -HUP "$MPID"
wait_for 60 "a snapshot of big" snapshots_at_least big 1
BIG_URL=$DAEMON_URL/big/latest/pool/main/b/big/big_1.0_amd64.deb
s=$(http_status "$BIG_URL" -I)
assert_eq 200 "$s" "HEAD of the big package"
assert_eq "$BIGSIZE" "$(header Content-Length)" "its Content-Length"

step "SIGTERM during two large downloads"
# fast: done in ~5 s, within the server's 10 s bound; slow: would take 25 s.
curl -s --limit-rate 10M --max-time 60 -o "$T/fast.deb" "$BIG_URL" &
fast=$!
curl -s --limit-rate 2M --max-time 60 -o "$T/slow.deb" "$BIG_URL" &
slow=$!
_pids="$_pids $fast $slow"
got_some() {
	[ -f "$T/fast.deb" ] && [ -f "$T/slow.deb" ] &&
	    [ "$(stat -c %s "$T/fast.deb")" -ge 262144 ] &&
	    [ "$(stat -c %s "$T/slow.deb")" -ge 262144 ]
}
wait_for 10 "both downloads under way" got_some
stop_daemon 16
# Both transfers end soon after: the slow client still reads what the
# socket buffers hold (a few MB on loopback), then sees the close.
_t0=$(now_ms)
while kill -0 "$fast" 2>/dev/null || kill -0 "$slow" 2>/dev/null; do
	[ $(($(now_ms) - _t0)) -lt 20000 ] ||
		fail "a download still runs 20 s after the daemon exited"
	sleep 0.1
done
step "the downloads ended $(($(now_ms) - _t0)) ms after the daemon"
rc_fast=0
wait "$fast" || rc_fast=$?
rc_slow=0
wait "$slow" || rc_slow=$?
forget_pid "$fast"
forget_pid "$slow"
fast_size=$(stat -c %s "$T/fast.deb")
slow_size=$(stat -c %s "$T/slow.deb")
step "fast: curl $rc_fast, $fast_size bytes; slow: curl $rc_slow," \
    "$slow_size bytes; stop took $STOP_MS ms"
assert_eq 0 "$rc_fast" "curl's status for the download that fits the bound"
cmp -s "$T/fast.deb" "$BIGFILE" || fail "the completed download differs"
case $rc_slow in
0)	cmp -s "$T/slow.deb" "$BIGFILE" ||
		fail "the slow download ended well but differs" ;;
18)	[ "$slow_size" -lt "$BIGSIZE" ] ||
		fail "curl says partial, yet got $slow_size bytes"
	cmp -s -n "$slow_size" "$T/slow.deb" "$BIGFILE" ||
		fail "the cut download is not a prefix of the file" ;;
*)	fail "the slow download ended with curl status $rc_slow (want 0 or" \
	    "18: complete, or closed by the server)" ;;
esac
[ "$STOP_MS" -ge 4000 ] ||
	fail "the daemon stopped in $STOP_MS ms: it did not wait for the" \
	    "responses in flight"
log_has "info: stopped" || fail "no 'stopped' line in the daemon's log"
notified '^STOPPING=1$' || fail "no STOPPING=1 sent to systemd"
grep -Eq "^STATUS=serving on [^;]*; (syncing|next sync of) '(demo|second|big)'" \
    "$T/notify.log" || fail "no STATUS naming a mirror: $(tail -n 5 "$T/notify.log")"
if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' "$T/daemon.log"; then
	fail "sanitizer report in the daemon's log"
fi
