#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# Three apt clients run `apt-get update` in a loop on channel 'production'
# for ~20 s while the channel flips between two snapshots (promote, then
# rollback) every ~0.5 s. Every client run must succeed: no "Hash Sum
# mismatch", no missing index, exit 0, no warning.
. "$(dirname "$0")/lib.sh"

DURATION=${FLIP_SECONDS:-20}
NCLIENTS=3

setup_synced
mkarchive --generation 2
sync_ok
SNAP2=$SNAP
start_serve
run mirrord promote demo "$SNAP1" production
assert_rc 0
run mirrord sources demo production
assert_rc 0
cp "$T/out" "$T/x.sources"
i=1
while [ "$i" -le "$NCLIENTS" ]; do
	apt_box "$T/box$i"
	cp "$T/x.sources" "$T/box$i/etc/apt/sources.list.d/x.sources"
	i=$((i + 1))
done

end=$(($(date +%s) + DURATION))

# client N: apt-get update in box N until $end; every failed run's output
# is kept as $T/cN.fail.RUN, the number of runs goes to $T/cN.runs.
client() {
	_n=0
	while [ "$(date +%s)" -lt "$end" ]; do
		_n=$((_n + 1))
		_log=$T/c$1.run
		if apt_get "$T/box$1" update >"$_log" 2>&1; then
			_rc=0
		else
			_rc=$?
		fi
		if [ "$_rc" != 0 ] ||
		    grep -Eq '^(W|E|Err):|Hash Sum|[Mm]ismatch' "$_log"; then
			{ echo "client $1 run $_n: exit $_rc"; cat "$_log"; } \
			    >"$T/c$1.fail.$_n"
		fi
	done
	echo "$_n" >"$T/c$1.runs"
}

step "$NCLIENTS clients updating for ${DURATION}s while production flips"
cpids=""
i=1
while [ "$i" -le "$NCLIENTS" ]; do
	client "$i" &
	cpids="$cpids $!"
	_pids="$_pids $!"
	i=$((i + 1))
done

flips=0
fliperr=""
while [ "$(date +%s)" -lt "$end" ]; do
	t0=$(now_ms)
	if [ $((flips % 2)) = 0 ]; then
		run mirrord promote demo "$SNAP2" production
		want=$SNAP2
	else
		run mirrord rollback demo production
		want=$SNAP1
	fi
	if [ "$RC" != 0 ] || ! grep -q "^production -> $want\$" "$T/out"; then
		fliperr="flip $flips: '$LAST' exit $RC: $(cat "$T/out" "$T/err")"
		break
	fi
	flips=$((flips + 1))
	# the next flip 0.5 s after this one began (at once if it took longer)
	left=$((500 - ($(now_ms) - t0)))
	[ "$left" -le 0 ] || sleep "$(printf '0.%03d' "$left")"
done

for p in $cpids; do
	wait "$p" || true
	forget_pid "$p"
done
[ -z "$fliperr" ] || fail "$fliperr"

runs=0
i=1
while [ "$i" -le "$NCLIENTS" ]; do
	[ -f "$T/c$i.runs" ] || fail "client $i did not finish"
	runs=$((runs + $(cat "$T/c$i.runs")))
	i=$((i + 1))
done
step "$flips flips, $runs client runs"
# A flip takes ~0.4 s alone, 1-3 s beside three busy apt clients.
[ "$flips" -ge 4 ] || fail "only $flips flips in ${DURATION}s"
[ "$runs" -ge "$NCLIENTS" ] || fail "only $runs client runs"
# What a client that read the channel's InRelease just before a move
# fetches next: an index by-hash, named by the previous target's hash.
byhash_after_move() {
	_rel=stable-updates/main/binary-amd64/Packages.xz
	_s=$(http_status "$SERVE_URL/demo/production/dists/stable-updates/InRelease")
	[ "$_s" = 200 ] || { echo "GET production's InRelease: $_s"; return; }
	_h=$(awk '/^SHA256:/ { f = 1; next } /^[^ ]/ { f = 0 }
	    f && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$T/b")
	_cur=$(mirrord channel list demo | awk '$1 == "production" { print $2 }')
	_to=$SNAP1
	[ "$_cur" != "$SNAP1" ] || _to=$SNAP2
	run mirrord promote demo "$_to" production
	[ "$RC" = 0 ] || { echo "promote failed: $(cat "$T/err")"; return; }
	echo "$_to" >"$T/final"
	sleep 1.1	# past any resolution cache: the move is visible
	_u=/demo/production/dists/${_rel%/*}/by-hash/SHA256/$_h
	_s=$(http_status "$SERVE_URL$_u")
	if [ "$_s" != 200 ]; then
		echo "GET $_u after production moved away from it: $_s," \
		    "expected 200 (the index its InRelease named)"
	elif [ "$(file_sha256 "$T/b")" != "$_h" ]; then
		echo "GET $_u after a move: a body of another hash"
	fi
}
diag=$(byhash_after_move)
[ -z "$diag" ] || step "by-hash after a move: $diag"

nfail=$(ls "$T" | grep -c '^c[0-9]*\.fail\.' || true)
if [ "$nfail" != 0 ]; then
	for f in $(ls "$T" | grep '^c[0-9]*\.fail\.' | head -n 3); do
		sed 's/^/  | /' "$T/$f" | grep -Ev '^  \| (Get|Hit|Ign|Reading|Fetched)' |
		    head -n 8 >&2
	done
	fail "$nfail of $runs client runs failed (above: the first ones)"
fi
[ -z "$diag" ] || fail "by-hash after a move: $diag"

step "after the flips, every client follows the channel"
final=$(cat "$T/final" 2>/dev/null || true)	# the probe's promotion
run mirrord channel list demo
assert_rc 0
assert_out_match "^production $final "
sleep 1.1		# past any short resolution cache of the server
v=$(http_status "$SERVE_URL/demo/$final/dists/stable-updates/main/binary-amd64/Packages.xz")
assert_eq 200 "$v" "status of the final snapshot's Packages.xz"
want=$(xz -dc "$T/b" | awk '/^Package: hello$/ { p = 1 }
    p && /^Version:/ { print $2; exit }')
i=1
while [ "$i" -le "$NCLIENTS" ]; do
	apt_update_ok "$T/box$i"
	assert_eq "$want" "$(apt_candidate "$T/box$i" hello)" \
	    "client $i's candidate of hello"
	i=$((i + 1))
done
stop_serve
step "ok"
