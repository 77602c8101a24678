# tests/cache/lib.sh: nginx as a shared cache in front of mirrord, for
# tests sourced after tests/e2e/lib.sh (its $T, _pids, free_port, fail).
# The config is tests/cache/nginx.conf.in, the one docs/caching.md shows.

CACHE_DIR=$(cd "$(dirname "$0")/../cache" && pwd)

# start_cache HOST:PORT: nginx on 127.0.0.1:<a free port> caching for the
# mirrord at HOST:PORT, waited for until it answers. Sets CACHE_PORT,
# CACHE_URL, CACHE_PID and CACHE_RUN ($T/nginx: its config, access.log
# and cache).
start_cache() {
	CACHE_RUN=$T/nginx
	mkdir -p "$CACHE_RUN/cache"
	_try=0
	while :; do
		_try=$((_try + 1))
		CACHE_PORT=$(free_port)
		CACHE_URL=http://127.0.0.1:$CACHE_PORT
		sed -e "s|@RUN@|$CACHE_RUN|g" -e "s|@PORT@|$CACHE_PORT|g" \
		    -e "s|@UPSTREAM@|$1|g" -e "s|@USER@|$(id -un)|g" \
		    "$CACHE_DIR/nginx.conf.in" >"$CACHE_RUN/nginx.conf"
		: >"$CACHE_RUN/error.log"
		# timeout: never outlives a test that died without cleanup;
		# it passes our SIGTERM on to nginx's master.
		timeout -k 5 600 nginx -p "$CACHE_RUN" -e "$CACHE_RUN/error.log" \
		    -c "$CACHE_RUN/nginx.conf" >"$CACHE_RUN/stdout.log" 2>&1 &
		CACHE_PID=$!
		_pids="$_pids $CACHE_PID"
		_i=0
		while kill -0 "$CACHE_PID" 2>/dev/null; do
			if curl -s --max-time 2 -o /dev/null "$CACHE_URL/healthz" &&
			    kill -0 "$CACHE_PID" 2>/dev/null; then
				step "nginx cache on $CACHE_URL (pid $CACHE_PID)"
				return 0
			fi
			_i=$((_i + 1))
			[ "$_i" -le 100 ] || fail "nginx: no answer after 10 s:" \
			    "$(tail -n 5 "$CACHE_RUN/error.log")"
			sleep 0.1
		done
		wait "$CACHE_PID" 2>/dev/null || true
		forget_pid "$CACHE_PID"
		if [ "$_try" -lt 5 ] &&
		    grep -q 'in use' "$CACHE_RUN/error.log"; then
			continue
		fi
		fail "nginx exited at start: $(cat "$CACHE_RUN/error.log")"
	done
}

# stop_cache: SIGTERM to nginx (through timeout); it must be gone in 10 s.
stop_cache() {
	kill "$CACHE_PID" 2>/dev/null || true
	_i=0
	while kill -0 "$CACHE_PID" 2>/dev/null; do
		_i=$((_i + 1))
		[ "$_i" -le 100 ] || fail "nginx still running 10 s after SIGTERM"
		sleep 0.1
	done
	wait "$CACHE_PID" 2>/dev/null || true
	forget_pid "$CACHE_PID"
}
