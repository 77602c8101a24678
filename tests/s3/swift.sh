#!/bin/sh
# tests/s3/swift.sh start DIR PORT [BUCKET...] | stop DIR: a one-node
# OpenStack Swift with its S3 API on 127.0.0.1, for the S3 blob client's and
# backend's tests (issue 18: tests/unit/t_s3.c).
#
# start: refuses if any of PORT..PORT+4 is taken, makes DIR (configs,
# rings, one device directory), starts memcached (tempauth refuses S3
# requests without it), the account, container and object servers and the
# proxy (PORT: S3 and Swift; the others PORT+1..+4), writes every PID into
# DIR/pids as it starts it, waits (bounded: about 20 s) for every port and
# /healthcheck, and creates each BUCKET (a Swift container, through
# tempauth's token: curl's --aws-sigv4 cannot say a user holding a colon).
# The S3 access key is "test:tester", the secret "testing", region
# us-east-1. Needs the Debian packages swift-proxy swift-object
# swift-container swift-account memcached. Exit 1 (after stopping what it
# started) if it cannot. stop: kills DIR/pids' processes, those only and
# only if their command line is still the one started, and waits.
#
# Found while writing it: swift.conf is read from each server's swift_dir
# (not /etc/swift); curl 7.88's SigV4 sends no x-amz-content-sha256, which
# s3api requires: a client must add it (the payload's SHA-256 or
# UNSIGNED-PAYLOAD); tempauth's access key holds a colon, so a libcurl client
# sets CURLOPT_USERNAME and CURLOPT_PASSWORD apart.
set -eu

usage() { echo "usage: $0 start DIR PORT [BUCKET...] | stop DIR" >&2; exit 2; }

# Whether PID is still the process we started (its command line names
# WHAT): a PID reused by another process is left alone.
ours() {	# PID WHAT
	[ -r "/proc/$1/cmdline" ] &&
	    tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

stop() {
	[ -f "$1/pids" ] || return 0
	live=
	while read -r p what; do
		if ours "$p" "$what"; then
			kill "$p" 2>/dev/null || true
			live="$live $p"
		fi
	done <"$1/pids"
	# Those were ours a moment ago (a server shutting down may retitle
	# itself): wait for them by PID, then kill what lingers.
	for p in $live; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -f "$1/pids"
}

# Whether every process started still runs (a server that could not bind
# its port has exited: no use waiting for it).
all_alive() {
	while read -r p what; do
		ours "$p" "$what" || return 1
	done <"$D/pids"
}

# Fails (after stopping what started) with a message and the logs' tails.
die() {
	echo "swift.sh: $1" >&2
	tail -n 5 "$D"/log/*.log >&2 2>/dev/null || true
	stop "$D"
	exit 1
}

# Whether something answers TCP on 127.0.0.1:PORT (curl's 7: refused).
port_taken() {
	curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/"
	[ $? != 7 ]
}

# A Swift container (an S3 bucket) through tempauth's token.
make_bucket() {	# BUCKET
	h=$(curl -sf -D - -o /dev/null --max-time 10 \
	    -H "X-Auth-User: test:tester" -H "X-Auth-Key: testing" \
	    "http://127.0.0.1:$P/auth/v1.0" | tr -d '\r') ||
	    die "tempauth gives no token"
	tok=$(echo "$h" | sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p')
	url=$(echo "$h" | sed -n 's/^[Xx]-[Ss]torage-[Uu]rl: //p')
	[ -n "$tok" ] && [ -n "$url" ] || die "tempauth gives no token"
	curl -sf -o /dev/null --max-time 10 -X PUT -H "X-Auth-Token: $tok" \
	    "$url/$1" || die "cannot create bucket '$1'"
}

server_conf() {	# NAME PORT
	cat <<EOC
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $2
devices = $D/node
mount_check = false
swift_dir = $D/etc
workers = 0
log_name = $1
[pipeline:main]
pipeline = $1-server
[app:$1-server]
use = egg:swift#$1
EOC
}

start() {
	D=$(mkdir -p "$1" && cd "$1" && pwd)
	P=$2
	for port in $P $((P + 1)) $((P + 2)) $((P + 3)) $((P + 4)); do
		if port_taken "$port"; then
			echo "swift.sh: port $port is taken" >&2
			exit 1
		fi
	done
	mkdir -p "$D/etc" "$D/node/d1" "$D/log"
	cat >"$D/etc/swift.conf" <<EOC
[swift-hash]
swift_hash_path_suffix = mirrordtest
swift_hash_path_prefix = mirrordtest
[storage-policy:0]
name = gold
default = yes
EOC
	n=1
	for r in account container object; do
		rm -f "$D/etc/$r.builder"
		swift-ring-builder "$D/etc/$r.builder" create 0 1 1 >/dev/null
		swift-ring-builder "$D/etc/$r.builder" add \
		    "r1z1-127.0.0.1:$((P + n))/d1" 1 >/dev/null
		swift-ring-builder "$D/etc/$r.builder" rebalance >/dev/null
		server_conf "$r" $((P + n)) >"$D/etc/$r-server.conf"
		n=$((n + 1))
	done
	cat >"$D/etc/proxy-server.conf" <<EOC
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $P
swift_dir = $D/etc
workers = 0
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$((P + 4))
[filter:proxy-logging]
use = egg:swift#proxy_logging
EOC
	# The filters whose section is only their egg.
	for f in copy slo dlo catch_errors gatekeeper healthcheck \
	    listing_formats; do
		printf '[filter:%s]\nuse = egg:swift#%s\n' "$f" "$f"
	done >>"$D/etc/proxy-server.conf"
	: >"$D/pids"
	memcached -u "$(id -un)" -l 127.0.0.1 -p $((P + 4)) -m 16 \
	    >"$D/log/memcached.log" 2>&1 &
	echo "$! -p $((P + 4)) " >>"$D/pids"
	for r in account container object proxy; do
		"swift-$r-server" "$D/etc/$r-server.conf" >"$D/log/$r.log" 2>&1 &
		echo "$! $D/etc/$r-server.conf" >>"$D/pids"
	done
	# The proxy answers /healthcheck before its backends listen: wait for
	# every port (any HTTP answer), then for the proxy's health.
	i=0
	for port in $((P + 1)) $((P + 2)) $((P + 3)) $P; do
		until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; do
			all_alive || die "a server exited (port $port taken?)"
			i=$((i + 1))
			[ "$i" -le 100 ] || break
			sleep 0.1
		done
	done
	until curl -sf --max-time 1 "http://127.0.0.1:$P/healthcheck" \
	    >/dev/null; do
		all_alive || die "a server exited"
		i=$((i + 1))
		[ "$i" -le 200 ] || die "the proxy does not answer on $P"
		sleep 0.1
	done
	shift 2
	for b in "$@"; do make_bucket "$b"; done
}

case ${1:-} in
start) [ $# -ge 3 ] || usage; shift; start "$@" ;;
stop) [ $# = 2 ] || usage; stop "$2" ;;
*) usage ;;
esac
