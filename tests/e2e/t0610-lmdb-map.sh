#!/bin/sh
# e2e: alone (tests/e2e/run.sh: it counts on timing or load, so no other test runs beside it)
# The index's map follows the data. `mirrord serve` started under ulimit -v
# maps only 256 MiB of the index (store_open halves the map while mmap
# fails); another process then grows the data file beyond that (a write of
# ~300 MiB by mdb_load, standing in for a big sync). The server must map
# the grown file and keep answering 200 (it answered 500 to every request,
# "MDB_MAP_RESIZED", while /healthz said ok); a server whose address space
# cannot hold the grown index must say so on /healthz (503 and the reason)
# rather than "ok".
#
# A sanitizer build (ASan reserves terabytes of shadow memory) cannot run
# under ulimit -v: it starts server A with MIRRORD_TEST_MAPSIZE (a tests-only
# knob: the first map store_open tries) at 256 MiB instead, and skips
# server B, which needs the limit.
. "$(dirname "$0")/lib.sh"

command -v mdb_load >/dev/null || fail "no mdb_load (package lmdb-utils)"

# map_mib PID: the size of PID's mapping of the index, in MiB (0: none).
map_mib() {
	"$PYTHON" - "$1" <<'EOF'
import sys
n = 0
for l in open("/proc/%s/maps" % sys.argv[1]):
    if l.rstrip().endswith("/index/data.mdb"):
        a, b = l.split()[0].split("-")
        n = max(n, (int(b, 16) - int(a, 16)) >> 20)
print(n)
EOF
}

vm_kib() {
	awk '/^VmSize:/ { print $2 }' "/proc/$1/status"
}

SANITIZED=
if ldd "$MIRRORD" 2>/dev/null | grep -q 'libasan'; then
	SANITIZED=1
fi

# serve_limited KIB: start_serve under ulimit -v KIB, with one malloc arena
# (glibc reserves 64 MiB of address space per thread arena otherwise, up to
# whatever the limit leaves: the room a remap needs would be gone).
serve_limited() {
	if [ -n "$SANITIZED" ]; then
		_lim="MIRRORD_TEST_MAPSIZE=$((256 << 20)); export MIRRORD_TEST_MAPSIZE"
	else
		_lim="ulimit -v $1"
	fi
	cat >"$T/mirrord-limited" <<EOF
#!/bin/sh
$_lim
MALLOC_ARENA_MAX=1 exec "$REAL" "\$@"
EOF
	chmod +x "$T/mirrord-limited"
	MIRRORD=$T/mirrord-limited
	start_serve
	MIRRORD=$REAL
	# SERVE_PID is timeout(1)'s; the server is its child.
	SERVER=$(pgrep -P "$SERVE_PID" | head -n 1)
	[ -n "$SERVER" ] || fail "no server process under pid $SERVE_PID"
}

setup_synced
REAL=$MIRRORD
run mirrord promote demo latest production
assert_rc 0
fixture_packages "$ARCHIVE" | awk '$3 == "amd64" { print $1, $5; exit }' \
    >"$T/pkg"
read -r suite deb <"$T/pkg" || fail "no amd64 package in the fixture"

# check_urls WANT: every URL of a snapshot's tree answers WANT, twice (the
# second time from the thread's caches, if any).
check_urls() {
	for _u in "/demo/$SNAP1/dists/$suite/InRelease" \
	    "/demo/production/$deb" "/demo/latest/dists/$suite/Release" \
	    "/demo/$SNAP1/$deb" "/"; do
		for _n in 1 2; do
			_s=$(curl -s -o /dev/null -w '%{http_code}' \
			    "$SERVE_URL$_u")
			assert_eq "$1" "$_s" "GET $_u (try $_n)"
		done
	done
}

step "serve under ulimit -v${SANITIZED:+ (sanitizer build: MIRRORD_TEST_MAPSIZE)}: the index is mapped in 256 MiB"
# Enough for the binary, its threads and a 256 MiB map, not for 512 MiB.
serve_limited 450000
A_PID=$SERVER
A_URL=$SERVE_URL
assert_eq 256 "$(map_mib "$A_PID")" "server A's map (MiB)"
check_urls 200
A_VM=$(vm_kib "$A_PID")
step "server A uses $A_VM KiB of address space"

if [ -z "$SANITIZED" ]; then
	step "server B: room for its 256 MiB map and no more"
	serve_limited $((A_VM + 16384))
	B_PID=$SERVER
	B_TIMEOUT=$SERVE_PID
	B_URL=$SERVE_URL
	assert_eq 256 "$(map_mib "$B_PID")" "server B's map (MiB)"
	check_urls 200
fi

test_expect_success 'another process grows the index to ~300 MiB' - <<'EOT'
"$PYTHON" - >"$T/junk.dump" <<'EOF'
import sys
w = sys.stdout.write
w("VERSION=3\nformat=print\ntype=btree\nmapsize=4294967296\nHEADER=END\n")
v = "x" * (1 << 20)
for i in range(300):
    w(" junk%04d\n %s\n" % (i, v))
w("DATA=END\n")
EOF
mdb_load -s junk -f "$T/junk.dump" "$STORE/index" ||
	fail "mdb_load could not write into the index"
rm -f "$T/junk.dump"
data_mib=$(( $(stat -c %s "$STORE/index/data.mdb") >> 20 ))
[ "$data_mib" -gt 256 ] || fail "the data file is only $data_mib MiB"
step "data.mdb is $data_mib MiB"
EOT

test_expect_success 'server A maps the grown index and answers 200' - <<'EOT'
SERVE_URL=$A_URL
check_urls 200
s=$(curl -s -o "$T/hz" -w '%{http_code}' "$A_URL/healthz")
assert_eq 200 "$s" "A's /healthz: $(cat "$T/hz")"
m=$(map_mib "$A_PID")
[ "$m" -ge "$data_mib" ] || fail "A's map is $m MiB, the data $data_mib MiB"
step "server A's map: $m MiB"
EOT

# ASan reserves terabytes of shadow memory: no sanitizer build runs under
# ulimit -v, so server B (which needs the limit) was not started.
test_lazy_prereq UNSANITIZED '[ -z "$SANITIZED" ]' \
    "a sanitizer build cannot run under ulimit -v"
test_expect_success UNSANITIZED 'server B cannot map it: /healthz is 503 with the reason' - <<'EOT'
s=$(curl -s -o "$T/hz" -w '%{http_code}' "$B_URL/healthz")
assert_eq 503 "$s" "B's /healthz ($(cat "$T/hz"))"
grep -q "cannot map the index" "$T/hz" ||
	fail "B's /healthz does not say why: $(cat "$T/hz")"
s=$(curl -s -o /dev/null -w '%{http_code}' "$B_URL/demo/$SNAP1/$deb")
assert_eq 500 "$s" "B's answer to a request"
kill "$B_TIMEOUT"
wait "$B_TIMEOUT" 2>/dev/null || true
forget_pid "$B_TIMEOUT"
EOT

test_expect_success 'server A sees the next commit (a promotion by another process)' - <<'EOT'
run mirrord promote demo latest staging
assert_rc 0
SERVE_URL=$A_URL
s=$(curl -s -o /dev/null -w '%{http_code}' "$A_URL/demo/staging/$deb")
assert_eq 200 "$s" "GET /demo/staging/$deb from A"
check_urls 200
EOT
