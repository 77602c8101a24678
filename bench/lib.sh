# bench/lib.sh: sourced (bash) by bench/run.sh, compose.sh and ondemand.sh, with the sourcing
# script's arguments ("$1" = the mirrord binary).  Sets here (bench/), top (the tree),
# MIRRORD (absolute), BDIR (BENCH_DIR, default build/bench) and LISTS_GLOB (apt's bookworm
# main amd64 index); measure needs RUN, the script's log directory; bookworm_upstream
# needs the sourcing script's say and die.

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
MIRRORD=${1:-$top/build/mirrord}
case $MIRRORD in /*) ;; *) MIRRORD=$PWD/$MIRRORD ;; esac
BDIR=${BENCH_DIR:-$top/build/bench}
LISTS_GLOB='/var/lib/apt/lists/*debian_dists_bookworm_main_binary-amd64_Packages.lz4'

# measure NAME CMD...: run CMD under /usr/bin/time; sets RC, SECS, KB (peak RSS) and CPU
# (user + system seconds); CMD's output in $RUN/NAME.out and .err.
measure() {
	local name=$1
	shift
	sync
	/usr/bin/time -f '%e %M %U %S' -o "$RUN/$name.time" "$@" > "$RUN/$name.out" 2> "$RUN/$name.err"
	RC=$?
	# /usr/bin/time prefixes "Command exited with non-zero status N" on failure.
	read -r SECS KB USR SYS < <(tail -n1 "$RUN/$name.time")
	CPU=$(calc '%.2f' "$USR + $SYS")
}
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# median: the median of the numbers on stdin, one a line (the lower middle of an even count).
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# bookworm_upstream LISTS: the bookworm shape of mkupstream.py (from LISTS, apt's index), built
# into $BDIR/upstream-bookworm unless a build from this mkupstream.py is there.  Sets UP and
# UP_STAMP (what the build depends on, for caches derived from it); exits through die.
bookworm_upstream() {
	UP=$BDIR/upstream-bookworm
	UP_STAMP=$( (cat "$here/mkupstream.py"; echo "bookworm ${BENCH_PACKAGES:-20000}") |
	    sha256sum | cut -c1-16)
	[ "$(cat "$UP/.stamp" 2>/dev/null)" = "$UP_STAMP" ] && return
	say "building the bookworm upstream in '$UP'"
	python3 "$here/mkupstream.py" "$UP" --shape bookworm --lists "$1" ||
	    die "mkupstream.py failed"
	echo "$UP_STAMP" > "$UP/.stamp"
}

# free_port: print a TCP port of 127.0.0.1 that nothing listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_nginx ROOT PROBE [TEMPLATE]: nginx (TEMPLATE, default nginx.conf.in) serving ROOT on a
# free 127.0.0.1 port, in the background, killed on exit; waits until GET PROBE (a path)
# answers.  Sets PORT, PORT2 (a second free port, for a template's @PORT2@) and NGINX_PID;
# its files under $RUN/nginx.
start_nginx() {
	mkdir -p "$RUN/nginx/client_body" "$RUN/nginx/proxy"
	PORT=$(free_port)
	PORT2=$(free_port)
	while [ "$PORT2" = "$PORT" ]; do PORT2=$(free_port); done
	sed -e "s|@ROOT@|$1|g" -e "s|@PORT@|$PORT|g" -e "s|@PORT2@|$PORT2|g" \
	    -e "s|@RUN@|$RUN/nginx|g" -e "s|@USER@|$(id -un)|g" "${3:-$here/nginx.conf.in}" \
	    > "$RUN/nginx/nginx.conf"
	nginx -p "$RUN/nginx" -e "$RUN/nginx/error.log" -c "$RUN/nginx/nginx.conf" \
	    > "$RUN/nginx/stdout.log" 2>&1 &
	NGINX_PID=$!
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	for _ in $(seq 50); do
		curl -sf -o /dev/null "http://127.0.0.1:$PORT$2" && break
		kill -0 "$NGINX_PID" 2>/dev/null || die "nginx did not start: $(cat "$RUN/nginx/error.log")"
		sleep 0.1
	done
	curl -sf -o /dev/null "http://127.0.0.1:$PORT$2" || die "nginx does not answer on port $PORT"
}
nginx_stop() {
	if [ -n "${NGINX_PID:-}" ]; then
		kill "$NGINX_PID" 2>/dev/null
		wait "$NGINX_PID" 2>/dev/null
	fi
}

# Fresh file systems. On one file system, ext4's inode allocator pays for the deletes of
# earlier runs (its recently_deleted() reads the inode table): the same first sync took
# 2.5 s or 21 s here, depending on what was deleted before.  So each measured run that
# creates tens of thousands of files gets a new ext4 of its own, on a loop device, when
# root (BENCH_FRESH_FS=0: no; then every run uses $BDIR's file system and the figures
# carry its history).
FRESH=${BENCH_FRESH_FS:-1}
if [ "$FRESH" = 1 ] && { [ "$(id -u)" != 0 ] || ! command -v mkfs.ext4 >/dev/null; }; then
	FRESH=0
fi
FRESH_MOUNTS=()
# fresh_fs DIR: DIR made the mount point of a new, empty ext4 when FRESH=1 (else an empty
# directory); the one before is unmounted first, and the last on exit. All are made in one
# image, $BDIR/fresh-fs.img (BENCH_FS_SIZE, default 4G), kept for the next run and made anew
# without discarding its blocks: one mount at a time, on blocks already allocated, gave the
# steadiest figures here (a new sparse image per run made the same run take 2.3 s or 3.8 s).
fresh_fs() {
	local img=$BDIR/fresh-fs.img
	fresh_fs_release
	rm -rf "$1"
	mkdir -p "$1" || die "cannot create '$1'"
	[ "$FRESH" = 1 ] || return 0
	{ [ -f "$img" ] || truncate -s "${BENCH_FS_SIZE:-4G}" "$img"; } &&
	    mkfs.ext4 -q -F -E nodiscard "$img" && mount -o loop "$img" "$1" ||
	    die "cannot make a file system in '$img'"
	FRESH_MOUNTS=("$1")
	trap bench_cleanup EXIT
}
# fresh_fs_note: a line for the results saying where the runs wrote.
fresh_fs_note() {
	if [ "$FRESH" = 1 ]; then echo "each measured run on a new ext4 file system (loop device, ${BENCH_FS_SIZE:-4G})"
	else echo "every run on the file system of $BDIR (BENCH_FRESH_FS=0 or not root)"; fi
}
# fresh_fs_release: the last fresh file system unmounted (another script may make its own).
fresh_fs_release() {
	local m
	for m in "${FRESH_MOUNTS[@]}"; do
		mountpoint -q "$m" && umount "$m"
	done
	FRESH_MOUNTS=()
	return 0
}
bench_cleanup() {
	nginx_stop
	fresh_fs_release
}
