#!/bin/sh
# Snapshots around composed ones (issue 15). Pool membership is stored as
# intervals of snapshot sequence numbers, so every snapshot states its
# difference against the one just before it, whatever either is: a sync
# after a patch must take back what the patch changed, a mirror that
# becomes partial (or whole again) must drop (or regain) what it no
# longer (or again) lists. After each step, every snapshot still serves
# every pool file its own Packages and Sources name, with the right
# bytes, and fsck is clean.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/compose-lib.sh"

# pool_check REF: every pool file REF's indices list is served at REF.
pool_check() {
	rm -rf "$T/pc" && mkdir -p "$T/pc"
	for _s in stable stable-security; do
		mkdir -p "$T/pc/$_s"
		for _i in binary-amd64/Packages binary-arm64/Packages \
		    source/Sources; do
			_u=$SERVE_URL/demo/$1/dists/$_s/main/$_i
			_o=$T/pc/$_s/$(echo "$_i" | tr / _)
			if curl -sf --max-time 10 -o "$_o.xz" "$_u.xz"; then
				xz -dc "$_o.xz" >"$_o" || return 1
			elif curl -sf --max-time 10 -o "$_o.gz" "$_u.gz"; then
				gzip -dc "$_o.gz" >"$_o" || return 1
			else
				fail "$1: no $_s/main/$_i(.xz|.gz)"
			fi
			rm -f "$_o.xz" "$_o.gz"
		done
	done
	"$PYTHON" "$COMPOSED_PY" pool "$SERVE_URL/demo/$1" "$T/pc" \
	    >"$T/pc.out" 2>&1 || fail "$1: $(cat "$T/pc.out")"
	step "$1: $(wc -l <"$T/pc.out") pool files checked"
}

fsck_clean() {
	run mirrord fsck
	assert_rc 0
}

test_expect_success 'gen 1 synced and in production, gen 2 synced, sec-a patched in' '
	production_gen1_latest_gen2 &&
	run mirrord patch demo production --from latest sec-a &&
	assert_rc 0 &&
	P=$(sed -n "s/^production -> //p" "$T/out") &&
	[ -n "$P" ] &&
	for r in "$S1" "$S2" "$P"; do pool_check "$r" || return 1; done &&
	fsck_clean
'

test_expect_success 'a sync after the patch: upstream again, every snapshot whole' '
	mkcompose --generation 3 --no-closures &&
	sleep 1 &&
	sync_ok &&
	S3=$SNAP &&
	run mirrord snapshot show demo latest &&
	assert_out_match "^id: $S3" &&
	assert_out_match "^kind: sync" &&
	run mirrord snapshot diff demo "$S2" "$S3" &&
	assert_rc 0 &&
	[ ! -s "$T/out" ] &&
	for r in "$S1" "$S2" "$P" "$S3"; do pool_check "$r" || return 1; done &&
	fsck_clean
'

test_expect_success 'the mirror becomes partial: only the closure, the rest let go' '
	sed -i "/^Name: demo$/a Include: deep-app" "$CONF" &&
	sync_ok &&
	S4=$SNAP &&
	run mirrord snapshot show demo "$S4" &&
	assert_out_match "^kind: partial" &&
	pool_check "$S4" &&
	grep -q "deep-l5" "$T/pc/stable/binary-amd64_Packages" &&
	! grep -q "^Package: sec-a$" "$T/pc/stable-security/binary-amd64_Packages" &&
	for r in "$S1" "$P" "$S3"; do pool_check "$r" || return 1; done &&
	fsck_clean &&
	n=$(snapshot_count demo) &&
	run mirrord sync &&
	assert_rc 0 &&
	assert_eq "$n" "$(snapshot_count demo)" "snapshots after a sync with nothing new"
'

test_expect_success 'whole again: every package back, served' '
	sed -i "/^Include: deep-app$/d" "$CONF" &&
	sync_ok &&
	S5=$SNAP &&
	run mirrord snapshot diff demo "$S3" "$S5" &&
	assert_rc 0 &&
	[ ! -s "$T/out" ] &&
	for r in "$S4" "$S5"; do pool_check "$r" || return 1; done &&
	fsck_clean
'

stop_serve
