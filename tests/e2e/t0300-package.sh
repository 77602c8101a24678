#!/bin/sh
# The Debian package (packaging/debian): builds it with dpkg-buildpackage
# from a copy of the tree (the work tree stays clean), checks its files,
# control fields and maintainer scripts, runs lintian on it (any E: fails),
# unpacks it into a private root with dpkg -x (the host's dpkg database is
# not touched), then runs the packaged binary: --version, a sync of the
# demo archive with the packaged example configuration, fsck, and the
# systemd side of `mirrord daemon` (READY=1, watchdog, SIGHUP, SIGTERM)
# through a NOTIFY_SOCKET of our own, since systemd does not run here, and
# the packaged logrotate entry run by the real logrotate on its access log.
. "$(dirname "$0")/lib.sh"

for tool in dpkg-buildpackage dpkg-deb dh lintian; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "'$tool' is missing: make deps-test installs build-essential debhelper lintian"
done
LOGROTATE=$(command -v logrotate || echo /usr/sbin/logrotate)
[ -x "$LOGROTATE" ] || fail "logrotate is missing: make deps-test installs it"

test_expect_success 'copy the tree, packaging/debian as debian/' - <<'EOT'
SRC=$T/pkg/src
mkdir -p "$SRC"
tar -C "$ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$SRC" -xf -
rm -rf "$SRC/debian"
cp -a "$ROOT/packaging/debian" "$SRC/debian"
EOT

test_expect_success 'dpkg-buildpackage -us -uc -b' - <<'EOT'
# Nothing of an outer `make check SANITIZE=...` may reach the package build.
(
	cd "$SRC" &&
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SANITIZE \
	    -u BUILD -u DESTDIR -u PREFIX -u CFLAGS -u LDFLAGS \
	    DEB_BUILD_OPTIONS="parallel=$(nproc 2>/dev/null || echo 2) noautodbgsym" \
	    timeout 150 dpkg-buildpackage -us -uc -b
) >"$T/build.log" 2>&1 || fail "dpkg-buildpackage failed: $(tail -n 40 "$T/build.log")"

VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
UPSTREAM=${VERSION%-*}
DEB=$(ls "$T/pkg/mirrord_${VERSION}_"*.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] && [ -f "$DEB" ] ||
	fail "no mirrord_${VERSION}_*.deb in $T/pkg: $(ls "$T/pkg")"
step "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"
EOT

test_expect_success 'dpkg -c: the expected files, and nothing from the build machine' - <<'EOT'
dpkg -c "$DEB" >"$T/contents" || fail "dpkg -c failed"
# "MODE OWNER/GROUP SIZE DATE TIME PATH"
awk '{ print $1, $2, $6 }' "$T/contents" >"$T/files"
expect_file() {	# MODE PATH
	grep -qx -- "$1 root/root ./$2" "$T/files" ||
		fail "dpkg -c: no '$1 root/root ./$2'; got: $(cat "$T/files")"
}
expect_file -rwxr-xr-x usr/bin/mirrord
expect_file -rw-r--r-- etc/mirrord/mirrord.conf
expect_file drwxr-xr-x etc/mirrord/mirrors.d/
expect_file -rw-r--r-- lib/systemd/system/mirrord.service
expect_file -rw-r--r-- usr/share/man/man8/mirrord.8.gz
expect_file -rw-r--r-- usr/share/man/man5/mirrord.conf.5.gz
expect_file -rw-r--r-- usr/share/doc/mirrord/copyright
expect_file -rw-r--r-- usr/share/doc/mirrord/mirrord.conf.example
expect_file -rw-r--r-- etc/logrotate.d/mirrord
expect_file drwxr-xr-x var/lib/mirrord/
# Shipped (not only made by the unit's LogsDirectory=): the packaged
# config's Access-Log: is there for `mirrord serve` run by hand too.
expect_file drwxr-xr-x var/log/mirrord/
if grep -Ev ' \./(etc/mirrord|etc/logrotate\.d(/mirrord)?|usr/bin|usr/share/(doc|man|lintian)|lib/systemd/system|var/lib/mirrord|var/log/mirrord)(/|$)' \
    "$T/files" | grep -Ev ' \./((usr|usr/share|usr/share/man|lib|lib/systemd|var|var/lib|var/log|etc)/)?$' \
    >"$T/unexpected"; then
	fail "unexpected files in the package: $(cat "$T/unexpected")"
fi
EOT

test_expect_success 'control fields' - <<'EOT'
dpkg-deb -f "$DEB" Package Version Architecture Maintainer Depends \
    Built-Using >"$T/control" || fail "dpkg-deb -f failed"
sed 's/^/#   /' "$T/control"
field() {
	dpkg-deb -f "$DEB" "$1"
}
assert_eq mirrord "$(field Package)" "Package"
assert_eq 0.1.0-1 "$(field Version)" "Version"
assert_eq "$(dpkg --print-architecture)" "$(field Architecture)" "Architecture"
assert_eq "mirrord developers <mirrord@example.org>" "$(field Maintainer)" \
    "Maintainer"
# Depends: from shlibs (versioned, whatever the library package's name on
# this release, t64 or not), plus what is not a linked library.
field Depends | tr ',' '\n' | sed 's/^ *//; s/ *$//' >"$T/depends"
for re in 'libc6 \(>= ' 'libcurl[0-9]*(-gnutls|t64)? \(>= ' \
    'libgpgme[0-9]+(t64)? \(>= ' 'liblmdb0 \(>= ' \
    'libmicrohttpd[0-9]+(t64)? \(>= ' 'liblzma5 \(>= ' 'zlib1g \(>= ' \
    'libssl[0-9.]+(t64)? \(>= ' '^adduser$' '^gpg$' '^gpg-agent$'; do
	grep -Eq -- "$re" "$T/depends" ||
		fail "Depends has nothing matching /$re/: $(field Depends)"
done
# The logrotate entry works only where logrotate is.
assert_eq logrotate "$(field Recommends)" "Recommends"
# libdpkg is linked statically: its source must be named.
field Built-Using | grep -Eq '^dpkg \(= [^)]+\)$' ||
	fail "Built-Using should name dpkg: '$(field Built-Using)'"
EOT

test_expect_success 'conffiles and maintainer scripts' - <<'EOT'
dpkg-deb -e "$DEB" "$T/control.d" || fail "dpkg-deb -e failed"
for f in /etc/mirrord/mirrord.conf /etc/logrotate.d/mirrord; do
	grep -qx "$f" "$T/control.d/conffiles" ||
		fail "$f is not a conffile: $(cat "$T/control.d/conffiles" 2>&1)"
done
for s in postinst postrm prerm; do
	[ -f "$T/control.d/$s" ] || continue
	sh -n "$T/control.d/$s" || fail "$s: syntax error"
	! grep -q '#DEBHELPER#' "$T/control.d/$s" ||
		fail "$s: #DEBHELPER# was not replaced"
done
grep -q 'adduser --system' "$T/control.d/postinst" ||
	fail "postinst does not create the mirrord system user"
grep -q 'chown mirrord:mirrord /var/log/mirrord' "$T/control.d/postinst" ||
	fail "postinst does not give /var/log/mirrord to mirrord"
# The unit is installed disabled (no mirror is configured yet) but is
# known to deb-systemd-helper, so upgrades restart it once enabled.
grep -q 'deb-systemd-helper' "$T/control.d/postinst" ||
	fail "postinst has no dh_installsystemd snippet"
EOT

test_expect_success 'lintian' - <<'EOT'
# Exit 1 is "tags at the fail-on level" (checked below, E: only); more is
# lintian failing to run.
lrc=0
lintian --tag-display-limit 0 --show-overrides "$DEB" >"$T/lintian.out" 2>&1 ||
    lrc=$?
sed 's/^/#   /' "$T/lintian.out"
[ "$lrc" -le 1 ] || fail "lintian failed to run (exit $lrc)"
if grep -q '^E:' "$T/lintian.out"; then
	fail "lintian errors: $(grep '^E:' "$T/lintian.out")"
fi
EOT

test_expect_success 'dpkg -x into a private root' - <<'EOT'
PKGROOT=$T/root
dpkg -x "$DEB" "$PKGROOT" || fail "dpkg -x failed"
MIRRORD=$PKGROOT/usr/bin/mirrord
[ -x "$MIRRORD" ] || fail "no executable $MIRRORD"
EOT

test_expect_success 'the unit runs the packaged binary, sandboxed' - <<'EOT'
UNIT=$PKGROOT/lib/systemd/system/mirrord.service
for line in 'Type=notify' 'NotifyAccess=main' 'User=mirrord' \
    'LogsDirectory=mirrord' 'LogsDirectoryMode=0750' \
    'ExecStart=/usr/bin/mirrord -c /etc/mirrord/mirrord.conf daemon' \
    'ExecReload=/bin/kill -HUP $MAINPID' 'ProtectSystem=strict' \
    'ReadWritePaths=/var/lib/mirrord' 'StateDirectory=mirrord' \
    'NoNewPrivileges=yes' 'PrivateTmp=yes' 'CapabilityBoundingSet=' \
    'SystemCallFilter=@system-service' 'MemoryDenyWriteExecute=yes'; do
	grep -qxF -- "$line" "$UNIT" || fail "mirrord.service lacks '$line'"
done
! grep -q '^AmbientCapabilities=' "$UNIT" ||
	fail "mirrord.service grants capabilities by default"
# systemd's own parser, where it is installed (it does not need to run):
# "FILE:LINE: ..." is an unknown key or a bad value. (It also says that
# /usr/bin/mirrord is not installed on this host, which is expected.)
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify --man=no "$UNIT" >"$T/verify.out" 2>&1 || true
	if grep -E 'mirrord\.service:[0-9]+:' "$T/verify.out"; then
		fail "systemd-analyze verify: $(cat "$T/verify.out")"
	fi
fi
EOT

test_expect_success 'the packaged mirrord.conf: the example, with the access log in /var/log/mirrord' - <<'EOT'
diff "$PKGROOT/usr/share/doc/mirrord/mirrord.conf.example" \
    "$PKGROOT/etc/mirrord/mirrord.conf" >"$T/conf.diff" && fail "no difference"
grep '^[<>]' "$T/conf.diff" >"$T/conf.lines"
printf '%s\n' '< #Access-Log: /var/log/mirrord/access.log' \
    '> Access-Log: /var/log/mirrord/access.log' >"$T/conf.want"
cmp -s "$T/conf.want" "$T/conf.lines" ||
	fail "/etc/mirrord/mirrord.conf differs from the example by more (or less) than Access-Log: $(cat "$T/conf.diff")"
EOT

test_expect_success 'mirrord --version' - <<'EOT'
run "$MIRRORD" --version
assert_rc 0
assert_eq "mirrord $UPSTREAM" "$(cat "$T/out")" "mirrord --version"
run "$MIRRORD" version
assert_rc 0
assert_eq "mirrord $UPSTREAM" "$(cat "$T/out")" "mirrord version"
EOT

test_expect_success 'sync the demo archive with the packaged configuration' - <<'EOT'
mkarchive --generation 1
start_upstream
# The packaged mirrord.conf, with only its Store moved here, and the demo
# mirror in mirrors.d/, as an admin would set it up.
mkdir -p "$T/etc/mirrors.d"
CONF=$T/etc/mirrord.conf
# The packaged mirrord.conf, with its Store and access log moved here.
LOGDIR=$T/log
mkdir -p "$LOGDIR"
sed -e "s|^Store: .*|Store: $STORE|" \
    -e "s|^Access-Log: /var/log/mirrord/|Access-Log: $LOGDIR/|" \
    "$PKGROOT/etc/mirrord/mirrord.conf" >"$CONF"
grep -qx "Store: $STORE" "$CONF" || fail "the packaged mirrord.conf has no Store: line"
grep -qx "Access-Log: $LOGDIR/access.log" "$CONF" ||
	fail "the packaged mirrord.conf has no Access-Log: line"
cat >"$T/etc/mirrors.d/demo.sources" <<EOF
Name: demo
Types: deb deb-src
URIs: $UPSTREAM_URL
Suites: stable stable-updates
Components: main contrib
Architectures: amd64 arm64
Signed-By: $KEY
EOF
sync_ok
assert_lines 1
assert_out_match '^demo [0-9]{8}T[0-9]{6}Z$'
check_pool_blobs "$ARCHIVE"
assert_tmp_empty
run mirrord snapshot show demo latest
assert_rc 0
assert_out_match "^id: $SNAP\$"
run mirrord fsck
assert_rc 0
run mirrord sync
assert_rc 0
assert_out_empty

# ------------------------------------------------------------ the daemon
EOT

test_expect_success 'mirrord daemon under a NOTIFY_SOCKET of ours' - <<'EOT'
# The package's unit runs `mirrord daemon`: a binary without it is a
# broken package, not a reason to skip what follows.
"$MIRRORD" help 2>&1 | grep -q '^ *daemon' ||
	fail "this mirrord has no 'daemon' command, which mirrord.service runs"
# A stand-in for systemd's notification socket: every datagram, one a
# line, into notify.log.
NOTIFY=$T/notify.sock
: >"$T/notify.log"
timeout 300 "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("bound", flush=True)
with open(sys.argv[2], "a") as log:
    while True:
        m = s.recv(4096).decode(errors="replace")
        log.write(m.replace("\n", " ") + "\n")
        log.flush()' "$NOTIFY" "$T/notify.log" >"$T/notify.out" 2>&1 &
NOTIFY_PID=$!
_pids="$_pids $NOTIFY_PID"
_i=0
until grep -q bound "$T/notify.out"; do
	_i=$((_i + 1))
	[ "$_i" -le 100 ] || fail "notify listener did not start: $(cat "$T/notify.out")"
	sleep 0.1
done

set_global Listen "127.0.0.1:$(free_port)"
DAEMON_URL=http://$(sed -n 's/^Listen: *//p' "$CONF" | head -n 1)
# What systemd sets for Type=notify with WatchdogSec= (2 s here, not 60):
# WATCHDOG_PID is the daemon's own PID (sh's, which execs it).
# shellcheck disable=SC2016
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=2000000 \
    timeout -k 5 120 sh -c 'WATCHDOG_PID=$$; export WATCHDOG_PID
	exec "$0" -c "$1" daemon' "$MIRRORD" "$CONF" \
    >"$T/daemon.out" 2>"$T/daemon.log" &
DAEMON_PID=$!	# timeout's; signals go to the daemon's own (MPID)
_pids="$_pids $DAEMON_PID"

# wait_notify ERE SECONDS: a notification matching ERE arrives in time.
wait_notify() {
	_i=0
	until grep -Eq -- "$1" "$T/notify.log"; do
		kill -0 "$DAEMON_PID" 2>/dev/null ||
			fail "mirrord daemon exited: $(tail -n 20 "$T/daemon.log")"
		_i=$((_i + 1))
		[ "$_i" -le $(($2 * 10)) ] || fail "no /$1/ from mirrord daemon" \
		    "in $2 s; got: $(cat "$T/notify.log"); log: $(tail -n 20 "$T/daemon.log")"
		sleep 0.1
	done
}
wait_notify '(^| )READY=1' 30
MPID=$(ps -o pid= --ppid "$DAEMON_PID" | tr -d ' ')
[ -n "$MPID" ] || fail "no mirrord under pid $DAEMON_PID"
step "READY=1 (pid $MPID)"
http_status "$DAEMON_URL/healthz" >"$T/code"
assert_eq 200 "$(cat "$T/code")" "GET /healthz of the daemon"
EOT

test_expect_success 'WATCHDOG=1 within WATCHDOG_USEC' - <<'EOT'
: >"$T/notify.log"
wait_notify '(^| )WATCHDOG=1' 3
EOT

test_expect_success 'SIGHUP reloads, the daemon goes on' - <<'EOT'
kill -HUP "$MPID"
sleep 1
kill -0 "$MPID" 2>/dev/null ||
	fail "mirrord daemon died on SIGHUP: $(tail -n 20 "$T/daemon.log")"
http_status "$DAEMON_URL/healthz" >"$T/code"
assert_eq 200 "$(cat "$T/code")" "GET /healthz after SIGHUP"
EOT

test_expect_success 'the packaged logrotate entry, run by logrotate: moved, SIGUSR1, reopened' - <<'EOT'
# The entry as shipped, but for this directory, this user (the package's
# is mirrord) and a kill in place of `systemctl kill`.
sed -e "s|/var/log/mirrord/|$LOGDIR/|" \
    -e "s|^\([[:space:]]*\)su mirrord mirrord\$|\1su $(id -un) $(id -gn)|" \
    -e "s|^\([[:space:]]*\)systemctl kill --kill-whom=main --signal=USR1 mirrord.service .*|\1kill -USR1 $MPID|" \
    "$PKGROOT/etc/logrotate.d/mirrord" >"$T/logrotate.conf"
chmod 0644 "$T/logrotate.conf"
for re in "^$LOGDIR/\\*\\.log {\$" "su $(id -un) $(id -gn)\$" "kill -USR1 $MPID\$"; do
	grep -q -- "$re" "$T/logrotate.conf" ||
		fail "the logrotate entry changed shape (no /$re/): $(cat "$PKGROOT/etc/logrotate.d/mirrord")"
done
# acc_line FILE TAG: FILE has the access line of /healthz?TAG.
acc_line() {
	[ -f "$1" ] && grep -q "\"GET /healthz?$2 HTTP/1.1\" 200 " "$1"
}
# rotate: a forced rotation (the daily one, now) and the reopening.
rotate() {
	_mark=$(wc -l <"$T/daemon.log")
	"$LOGROTATE" -f -s "$T/logrotate.state" "$T/logrotate.conf" \
	    >"$T/logrotate.out" 2>&1 ||
		fail "logrotate failed: $(cat "$T/logrotate.out")"
	# The signal is taken at once; the server's loop reopens the access
	# log at its next tick, and says so: lines go to the new file after.
	_i=0
	until tail -n "+$((_mark + 1))" "$T/daemon.log" |
	    grep -q "info: access log '$LOGDIR/access.log' reopened"; do
		_i=$((_i + 1))
		[ "$_i" -le 100 ] || fail "no reopening in the log: $(tail -n 5 "$T/daemon.log")"
		sleep 0.1
	done
	tail -n "+$((_mark + 1))" "$T/daemon.log" |
	    grep -q 'info: received SIGUSR1: reopening the logs' ||
		fail "no SIGUSR1 in the log: $(tail -n 5 "$T/daemon.log")"
	! tail -n "+$((_mark + 1))" "$T/daemon.log" | grep -q 'reloading' ||
		fail "SIGUSR1 reloaded the configuration"
}
http_status "$DAEMON_URL/healthz?before" >/dev/null
wait_for 5 "the access line in $LOGDIR/access.log" acc_line "$LOGDIR/access.log" before
! grep -q '"GET ' "$T/daemon.log" || fail "access lines on the daemon's stderr"
rotate
acc_line "$LOGDIR/access.log.1" before || fail "access.log.1 lacks the line logged before"
http_status "$DAEMON_URL/healthz?after" >/dev/null
wait_for 5 "the next line in a new access.log" acc_line "$LOGDIR/access.log" after
! acc_line "$LOGDIR/access.log.1" after || fail "a line after the reopening went to access.log.1"
rotate
[ -f "$LOGDIR/access.log.2.gz" ] || fail "no access.log.2.gz: $(ls "$LOGDIR")"
gzip -dc "$LOGDIR/access.log.2.gz" >"$T/acc2" || fail "access.log.2.gz is no gzip file"
acc_line "$T/acc2" before || fail "access.log.2.gz lacks the first line"
acc_line "$LOGDIR/access.log.1" after || fail "access.log.1 lacks the second line (delaycompress)"
EOT

test_expect_success 'SIGTERM stops it, exit 0' - <<'EOT'
kill -TERM "$MPID"
_i=0
while kill -0 "$DAEMON_PID" 2>/dev/null; do
	_i=$((_i + 1))
	[ "$_i" -le 300 ] || fail "mirrord daemon still running 30 s after SIGTERM"
	sleep 0.1
done
_drc=0
wait "$DAEMON_PID" || _drc=$?
forget_pid "$DAEMON_PID"
assert_eq 0 "$_drc" "exit status of mirrord daemon after SIGTERM"
EOT
