#!/bin/sh
# Access-Log: the daemon writes one line per request there, none in its
# log (Log-File), which keeps its own lines. logrotate's move and a SIGHUP
# while a client keeps requesting: every request has exactly one whole
# line, in the moved file or in the new one. A reload that changes
# Access-Log is a warning, and the lines stay where they were. Then
# `mirrord serve` with Access-Log, reopened on SIGHUP and on SIGUSR1 too;
# and an Access-Log that cannot be written: requests are served, the lost
# lines counted in /metrics and said in the log, once.
. "$(dirname "$0")/lib.sh"

ACC=$T/access.log
LOGF=$T/mirrord.log
access_re='^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} \+0000\] "GET [^ "]+ HTTP/1\.1" [0-9]{3} [0-9]+$'

file_has() {	# FILE ERE
	[ -f "$1" ] && grep -Eq -- "$2" "$1"
}

# requests URL_PREFIX N OUT: N requests for URL_PREFIX<i> on one keep-alive
# connection, a few ms apart; OUT gets "done" at the end.
requests() {
	"$PYTHON" - "$1" "$2" "$3" <<'EOF' &
import http.client, sys, time, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
n, out = int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
for i in range(n):
    c.request("GET", "%s?%s%d" % (u.path, u.query, i))
    c.getresponse().read()
    time.sleep(0.005)
open(out, "w").write("done\n")
EOF
	_pids="$_pids $!"
}

# one_line_each TAG N FILES...: each of the N requests tagged TAG has
# exactly one line in FILES, and every line of FILES is a whole line.
one_line_each() {
	_tag=$1 _n=$2
	shift 2
	cat "$@" >"$T/all"
	if grep -Ev "$access_re" "$T/all" >"$T/bad"; then
		fail "access log lines of no known shape: $(head -n 3 "$T/bad")"
	fi
	_i=0
	while [ "$_i" -lt "$_n" ]; do
		_c=$(grep -c "GET /healthz?$_tag=$_i HTTP" "$T/all" || true)
		[ "$_c" = 1 ] || fail "request $_tag=$_i has $_c lines in $*"
		_i=$((_i + 1))
	done
}

mkarchive --generation 1
start_upstream
write_conf
set_global Sync-Interval 1h
set_global Log-File "$LOGF"
set_global Access-Log "$ACC"
start_daemon

step "the daemon: requests in Access-Log, its own lines in Log-File"
s=$(http_status "$DAEMON_URL/healthz?a=1")
assert_eq 200 "$s" "/healthz"
s=$(http_status "$DAEMON_URL/nothing-here")
assert_eq 404 "$s" "a missing path"
wait_for 5 "the 200 in Access-Log" file_has "$ACC" '"GET /healthz\?a=1 HTTP/1.1" 200 3$'
wait_for 5 "the 404 in Access-Log" file_has "$ACC" '"GET /nothing-here HTTP/1.1" 404 '
wait_for 10 "the daemon's own lines in Log-File" file_has "$LOGF" \
    'Z mirrord: info: serving on '
! grep -q '"GET ' "$LOGF" || fail "access lines in Log-File: $(grep '"GET ' "$LOGF" | head -n 2)"
! grep -q 'mirrord: ' "$ACC" || fail "log lines in Access-Log: $(grep 'mirrord: ' "$ACC" | head -n 2)"

step "logrotate: the file moved, SIGHUP, while a client keeps requesting"
requests "$DAEMON_URL/healthz?r=" 400 "$T/r.done"
sleep 0.5
mv "$ACC" "$ACC.1"
kill -HUP "$MPID"
wait_for 10 "the access log reopened" file_has "$LOGF" \
    "info: access log '.*access.log' reopened"
wait_for 30 "the client's 400 requests" test -s "$T/r.done"
one_line_each r 400 "$ACC.1" "$ACC"
grep -q 'GET /healthz?r=' "$ACC" || fail "no line in the new Access-Log"
grep -q 'GET /healthz?r=' "$ACC.1" || fail "no line in the moved Access-Log"
step "$(grep -c 'GET /healthz?r=' "$ACC.1") lines in the moved file, $(grep -c 'GET /healthz?r=' "$ACC") in the new one"

step "a reload with another Access-Log: a warning, lines stay"
set_global Access-Log "$T/other.log"
mark=$(wc -l <"$LOGF")
kill -HUP "$MPID"
moved_warned() {
	tail -n "+$((mark + 1))" "$LOGF" | grep -q "warning: reload: Access-Log: '.*other.log' takes a restart"
}
wait_for 10 "the warning" moved_warned
s=$(http_status "$DAEMON_URL/healthz?after=1")
wait_for 5 "the line in the running Access-Log" file_has "$ACC" 'GET /healthz\?after=1 '
[ ! -e "$T/other.log" ] || fail "the new Access-Log was opened without a restart"
stop_daemon

step "mirrord serve: Access-Log, reopened on SIGHUP"
set_global Access-Log "$ACC"
rm -f "$ACC" "$ACC.1"
start_serve
SPID=$(ps -o pid= --ppid "$SERVE_PID" | tr -d ' ')
[ -n "$SPID" ] || fail "no mirrord under pid $SERVE_PID"
MPID=$SPID	# what wait_for watches
requests "$SERVE_URL/healthz?s=" 200 "$T/s.done"
sleep 0.3
mv "$ACC" "$ACC.1"
kill -HUP "$SPID"
wait_for 30 "the client's 200 requests" test -s "$T/s.done"
kill -0 "$SPID" || fail "mirrord serve died of SIGHUP"
one_line_each s 200 "$ACC.1" "$ACC"
grep -q 'GET /healthz?s=' "$ACC" || fail "no line in serve's new Access-Log"
! grep -q '"GET ' "$T/serve.log" || fail "access lines on serve's stderr"

step "mirrord serve: SIGUSR1 reopens it too (the packaged logrotate's signal)"
reopened() {	# N: the serve log says "reopened" more than N times
	[ "$(grep -c "info: access log '.*access.log' reopened" "$T/serve.log")" -gt "$1" ]
}
n=$(grep -c "info: access log '.*access.log' reopened" "$T/serve.log" || true)
mv "$ACC" "$ACC.2"
kill -USR1 "$SPID"
wait_for 10 "the reopening" reopened "$n"
s=$(http_status "$SERVE_URL/healthz?usr1=1")
assert_eq 200 "$s" "/healthz after SIGUSR1"
wait_for 5 "the line in the new file" file_has "$ACC" 'GET /healthz\?usr1=1 '
! grep -q 'usr1=1' "$ACC.2" || fail "a line after SIGUSR1 went to the moved file"
stop_serve

step "an access log that cannot be written (/dev/full): served all the same, counted, said"
set_global Access-Log /dev/full
start_serve
for i in 1 2 3; do
	s=$(http_status "$SERVE_URL/healthz?full=$i")
	assert_eq 200 "$s" "/healthz with a full access log"
done
lost_said() {
	grep -Eq "warning: access log '/dev/full': [0-9]+ lines? not written \([0-9]+ in all\): No space left on device" "$T/serve.log"
}
MPID=$(ps -o pid= --ppid "$SERVE_PID" | tr -d ' ')	# what wait_for watches
wait_for 5 "the warning in the log" lost_said
# A line is written once its response is sent: the third may still be
# on its way when /metrics is asked for on another connection.
lost_counted() {
	curl -s --max-time 5 -o "$T/metrics" "$SERVE_URL/metrics" || return 1
	n=$(awk '$1 == "mirrord_http_access_log_lost_total" { print $2 }' "$T/metrics")
	[ -n "$n" ] && [ "$n" -ge 3 ]
}
wait_for 5 "mirrord_http_access_log_lost_total >= 3" lost_counted
[ "$(grep -c "access log '/dev/full'" "$T/serve.log")" = 1 ] ||
	fail "lost lines said more than once a minute: $(grep "access log '/dev/full'" "$T/serve.log")"
stop_serve
