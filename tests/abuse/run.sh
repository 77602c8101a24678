#!/bin/sh
# run.sh MIRRORD_BINARY: `make abuse`, abusive clients against `mirrord
# serve` while a well-behaved apt client works (issue 5, part 4).
#
# Round 'default' (the default Max-Clients and Client-Timeout), for
# ABUSE_SECONDS (90): 300 idle connections (reopened when closed), 50
# connections trickling an endless header at one byte a second, 10,000
# connection attempts (connect+close, connect+RST, connect+partial
# request), pipelined requests (read whole, or dropped part-way), range
# abuse, huge and malformed headers, and every method but GET/HEAD — see
# abuse.py. Meanwhile `apt-get update` + `apt-get download hello` run in a
# loop in a private sandbox and must succeed every time, with the right
# bytes. The server must stay up, never answer a 5xx (505 to an HTTP/9.9
# or HTTP/2.0 request line aside: RFC 9110 15.6.6), nor wrong bytes, nor
# nothing at all to a complete request), keep its RSS (VmRSS sampled every
# 100 ms) under 150 MB, and be back to ~0 open connections
# (mirrord_http_open_connections) once the abusers are gone.
#
# Round 'max-clients' (Max-Clients: 200, Max-Clients-Per-IP: 50, for
# ABUSE_SECONDS_MC, 45): 300 idle connections from 127.0.0.2, more than
# the limit, and the same checks, except that any abusive request may be
# closed unanswered (--may-close: the server closes connections over a
# limit at once). A well-behaved client on another address must still be
# served every time: the per-address limit keeps slots free for it. (Idle
# abusers spread over more addresses than Max-Clients/Max-Clients-Per-IP
# would still fill every slot: no connection limit can tell them apart.)
#
# Both rounds always run; the exit status is 1 if either failed, and
# every failure is listed at the end. ABUSE_KEEP=1 keeps the temp dir.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 MIRRORD_BINARY" >&2
	exit 2
fi
case $1 in /*) MIRRORD=$1 ;; *) MIRRORD=$(pwd)/$1 ;; esac
export MIRRORD
[ -z "${ABUSE_KEEP:-}" ] || E2E_KEEP=1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
UPSTREAM_PY=$ROOT/tests/e2e/upstream.py
. "$ROOT/tests/abuse/common.sh"

T0=$(date +%s)
abuse_setup
FAILS=""

# Round 1: no per-address limit (Max-Clients-Per-IP as high as Max-Clients),
# every abuser answered.
restart_serve Max-Clients-Per-IP 1024
abuse_round default "${ABUSE_SECONDS:-90}" --idle 300 --trickle 50 \
    --churn 10000 --conc 50
SUM1=$ROUND_SUMMARY
[ -z "$ROUND_FAIL" ] || FAILS="$FAILS
  default: $ROUND_FAIL"

# Round 2: more idle abusers than Max-Clients, from another address
# (127.0.0.2) than the apt client: the default Max-Clients-Per-IP (a
# quarter of Max-Clients) keeps a slot free for it.
restart_serve Max-Clients 200 Max-Clients-Per-IP 50
abuse_round max-clients "${ABUSE_SECONDS_MC:-45}" --may-close --source 127.0.0.2 \
    --idle 300 --trickle 0 --churn 2000 --conc 20
SUM2=$ROUND_SUMMARY
[ -z "$ROUND_FAIL" ] || FAILS="$FAILS
  max-clients (Max-Clients: 200, 300 idle abusers): $ROUND_FAIL"

kill -0 "$SERVE_MPID" 2>/dev/null || fail "mirrord serve died"
stop_serve
echo "# $SUM1"
echo "# $SUM2"
echo "# $(($(date +%s) - T0)) s"
if [ -n "$FAILS" ]; then
	echo "FAIL:$FAILS" >&2
	exit 1
fi
echo "ok"
