#!/bin/sh
# tests/s3/swift.sh start DIR PORT | stop DIR: a one-node OpenStack Swift with
# its S3 API on 127.0.0.1, for the S3 blob backend's tests (issue 18; work in
# progress: nothing runs this yet).
#
# start: makes DIR (configs, rings, one device directory), starts memcached
# (tempauth refuses S3 requests without it), the account, container and
# object servers and the proxy (PORT: S3 and Swift; the others PORT+1..+4),
# waits for /healthcheck, and writes every PID into DIR/pids. The S3 access
# key is "test:tester", the secret "testing", region us-east-1. Needs the
# Debian packages swift-proxy swift-object swift-container swift-account
# memcached. stop: kills DIR/pids' processes (those only) and waits.
#
# Found while writing it: swift.conf is read from each server's swift_dir
# (not /etc/swift); curl 7.88's SigV4 sends no x-amz-content-sha256, which
# s3api requires: a client must add it (the payload's SHA-256 or
# UNSIGNED-PAYLOAD); tempauth's access key holds a colon, so a libcurl client
# sets CURLOPT_USERNAME and CURLOPT_PASSWORD apart.
set -eu

usage() { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }

stop() {
	[ -f "$1/pids" ] || return 0
	for p in $(cat "$1/pids"); do kill "$p" 2>/dev/null || true; done
	for p in $(cat "$1/pids"); do
		i=0
		while kill -0 "$p" 2>/dev/null && [ "$i" -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -f "$1/pids"
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
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth proxy-logging proxy-server
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
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
EOC
	: >"$D/pids"
	memcached -u "$(id -un)" -l 127.0.0.1 -p $((P + 4)) -m 16 \
	    >"$D/log/memcached.log" 2>&1 &
	echo $! >>"$D/pids"
	for r in account container object proxy; do
		"swift-$r-server" "$D/etc/$r-server.conf" >"$D/log/$r.log" 2>&1 &
		echo $! >>"$D/pids"
	done
	# The proxy answers /healthcheck before its backends listen: wait for
	# every port (any HTTP answer), then for the proxy's health.
	i=0
	for port in $((P + 1)) $((P + 2)) $((P + 3)) $P; do
		until curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; do
			i=$((i + 1))
			[ "$i" -le 100 ] || break
			sleep 0.1
		done
	done
	until curl -sf "http://127.0.0.1:$P/healthcheck" >/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then
			echo "swift.sh: the proxy does not answer on $P" >&2
			tail -n 5 "$D"/log/*.log >&2
			stop "$D"
			exit 1
		fi
		sleep 0.1
	done
}

case ${1:-} in
start) [ $# = 3 ] || usage; start "$2" "$3" ;;
stop) [ $# = 2 ] || usage; stop "$2" ;;
*) usage ;;
esac
