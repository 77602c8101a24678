#!/bin/sh
# `mirrord exposure` (issue 16): what production lacks of latest's security
# fixes, and since when. The compose fixture synced four times: generation
# 1 (production), 2 (sec-a's and sec-b's first fixes), 3 (the same indices
# again) and 4 (sec-a's second fix, and sec-d, a source new in stable and
# stable-security: production lacks it, so it is not pending). The
# expected list is computed from each generation's .fixture.json and the
# snapshot times `snapshot list --json` gives: installed = production's
# newest source version, fixed = generation 4's in stable-security,
# since = the time of the oldest snapshot from which every later one has
# that version. Then status, /metrics (and its cache), a patch of every
# fix (nothing pending after), a bad ref.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/compose-lib.sh"

# expected KIND: the exposure of production as the fixtures say it, as
# text lines (KIND text, without the last line) or as JSON items (json).
expected() {
	"$PYTHON" - "$1" "$T" "$S1" "$S2" "$S3" "$S4" <<-\EOF
	import json, subprocess, sys, time
	kind, t, ids = sys.argv[1], sys.argv[2], sys.argv[3:7]
	fx = [json.load(open("%s/fx%d.json" % (t, g))) for g in (1, 2, 3, 4)]
	times = {s["id"]: s["time"] for s in json.load(open(t + "/snaps.json"))}
	def gt(a, b):
	    return subprocess.run(["dpkg", "--compare-versions", a, "gt",
	                           b]).returncode == 0
	def newest(f, suites):
	    best = {}
	    for b in f["binaries"]:
	        if b["suite"] in suites:
	            s, v = b["source"], b["source_version"]
	            if s not in best or gt(v, best[s]):
	                best[s] = v
	    return best
	inst = newest(fx[0], ("stable", "stable-security"))
	sec = [newest(f, ("stable-security",)) for f in fx]
	items = []
	for src in sorted(sec[3]):
	    fixed = sec[3][src]
	    if src not in inst or not gt(fixed, inst[src]):
	        continue
	    g = 3
	    while g > 0 and src in sec[g - 1] and not gt(fixed, sec[g - 1][src]):
	        g -= 1
	    since = times[ids[g]]
	    items.append({"source": src, "installed": inst[src],
	                  "fixed": fixed, "suite": "stable-security",
	                  "since": time.strftime("%Y-%m-%dT%H:%M:%SZ",
	                                         time.gmtime(since)),
	                  "since_snapshot": ids[g], "cves": [],
	                  "advisories": [], "urgency": None})
	if kind == "json":
	    print(json.dumps(items, sort_keys=True))
	    sys.exit(0)
	w = [max(len(i[k]) for i in items) for k in
	     ("source", "installed", "fixed", "suite")]
	for i in items:
	    print("  %-*s  %-*s -> %-*s  %-*s  pending since %sZ" % (
	        w[0], i["source"], w[1], i["installed"], w[2], i["fixed"],
	        w[3], i["suite"], i["since"][:16]))
	EOF
}

# metric NAME CHANNEL: the value of NAME{mirror="demo",channel=CHANNEL}.
metric() {
	sed -n "s/^$1{mirror=\"demo\",channel=\"$2\"} //p" "$T/metrics"
}

scrape() {
	curl -sf --max-time 30 -o "$T/metrics" "$SERVE_URL/metrics" ||
		fail "GET /metrics failed"
}

test_expect_success 'generations 1 (production), 2, 3 and 4 synced; staging at latest' '
	production_gen1_latest_gen2 &&
	cp "$T/gen1/.fixture.json" "$T/fx1.json" &&
	cp "$FIXTURE" "$T/fx2.json" &&
	mkcompose --generation 3 --no-closures &&
	cp "$FIXTURE" "$T/fx3.json" &&
	sleep 1 &&
	sync_ok &&
	S3=$SNAP &&
	mkcompose --generation 4 --no-closures &&
	cp "$FIXTURE" "$T/fx4.json" &&
	sleep 1 &&
	sync_ok &&
	S4=$SNAP &&
	run mirrord promote demo latest staging &&
	assert_rc 0 &&
	mirrord snapshot list demo --json >"$T/snaps.json" &&
	assert_eq 4 "$(snapshot_count demo)" "snapshots" &&
	expected json >"$T/want.json" &&
	step "expected: $(cat "$T/want.json")" &&
	grep -q "\"sec-a\".*\"sec-b\"" "$T/want.json" &&
	! grep -q "sec-d\|sec-old" "$T/want.json"
'

test_expect_success 'exposure demo production: the list, exactly, and the count' '
	run mirrord exposure demo production &&
	assert_rc 0 &&
	expected text >"$T/want.txt" &&
	head -n -1 "$T/out" >"$T/got.txt" &&
	if ! cmp -s "$T/want.txt" "$T/got.txt"; then
		diff "$T/want.txt" "$T/got.txt" >&2
		fail "exposure text differs from the fixtures"
	fi &&
	assert_lines 3 &&
	tail -n 1 "$T/out" | grep -Eq "^  2 security updates pending, oldest [0-9]+ (minute|hour|day)s?$" ||
		fail "last line: $(tail -n 1 "$T/out")"
'

test_expect_success 'exposure --json: target, latest, items exactly, pending, oldest_seconds' '
	before=$(date +%s) &&
	run mirrord exposure demo production --json &&
	after=$(date +%s) &&
	assert_rc 0 &&
	"$PYTHON" - "$T/out" "$T/want.json" "$S1" "$S4" "$before" "$after" "$T/snaps.json" <<-\EOF
	import json, sys
	j = json.load(open(sys.argv[1]))
	want = json.load(open(sys.argv[2]))
	s1, s4, before, after = sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
	times = {s["id"]: s["time"] for s in json.load(open(sys.argv[7]))}
	assert j["target"] == s1, j["target"]
	assert j["latest"] == s4, j["latest"]
	assert j["items"] == want, "items: %s\nwant:  %s" % (j["items"], want)
	assert j["pending"] == 2, j["pending"]
	oldest = min(times[i["since_snapshot"]] for i in want)
	assert before - oldest <= j["oldest_seconds"] <= after - oldest, \
	    (j["oldest_seconds"], before - oldest, after - oldest)
	assert j["warnings"] == [], j["warnings"]
	EOF
'

test_expect_success 'the history walk: generation 3 has generation 2 security indices, not loaded again' '
	run mirrord -v exposure demo production &&
	assert_rc 0 &&
	assert_err_match "exposure: demo: 2 pending, 2 of 3 snapshots loaded"
'

test_expect_success 'a report, not a check: exit 0; --fail-pending exits 1; staging has every fix' '
	run mirrord exposure --fail-pending demo production &&
	assert_rc 1 &&
	assert_out_match "^  2 security updates pending" &&
	run mirrord exposure demo staging --fail-pending &&
	assert_rc 0 &&
	assert_eq "  no security update pending" "$(cat "$T/out")" "staging" &&
	run mirrord exposure demo latest --json &&
	assert_rc 0 &&
	assert_out_match "\"items\":\[\],\"pending\":0,\"oldest_seconds\":0"
'

test_expect_success 'status: the counts per channel, text and JSON' '
	run mirrord status &&
	assert_rc 0 &&
	grep -A1 "production *-> $S1" "$T/out" | grep -Eq "security: 2 updates pending, oldest [0-9]+[smhd] ago" ||
		fail "status: production: $(cat "$T/out")" &&
	grep -A1 "staging *-> $S4" "$T/out" | grep -q "security: no update pending" ||
		fail "status: staging: $(cat "$T/out")" &&
	run mirrord status --json &&
	assert_rc 0 &&
	"$PYTHON" -c "import json, sys
j = json.load(open(sys.argv[1]))
ch = {c[\"name\"]: c for m in j[\"mirrors\"] for c in m[\"channels\"]}
assert ch[\"production\"][\"security_pending\"] == 2, ch
assert ch[\"production\"][\"security_oldest_pending_seconds\"] > 0, ch
assert ch[\"staging\"][\"security_pending\"] == 0, ch
assert ch[\"staging\"][\"security_oldest_pending_seconds\"] == 0, ch" "$T/out"
'

test_expect_success '/metrics: the counts per channel, computed once per target' '
	scrape &&
	assert_eq 2 "$(metric mirrord_channel_security_pending production)" "production pending" &&
	assert_eq 0 "$(metric mirrord_channel_security_pending staging)" "staging pending" &&
	assert_eq 0 "$(metric mirrord_channel_security_oldest_pending_seconds staging)" "staging oldest" &&
	old=$(metric mirrord_channel_security_oldest_pending_seconds production) &&
	[ "$old" -gt 0 ] || fail "production oldest: $old" &&
	grep -q "^mirrord_exposure_computed_total 2$" "$T/metrics" ||
		fail "computed: $(grep computed "$T/metrics")" &&
	scrape && scrape &&
	grep -q "^mirrord_exposure_computed_total 2$" "$T/metrics" ||
		fail "two more scrapes computed again: $(grep computed "$T/metrics")"
'

# tracker JSON: Debian's security tracker format (source -> CVE ->
# releases -> codename -> status, fixed_version, urgency) for the fixture's
# release (stable-security's Codename bookworm-security: "bookworm").
write_tracker() {
	cat >"$T/tracker.json" <<-EOF
	{"sec-a": {
	  "CVE-2026-1001": {"description": "first", "scope": "remote",
	    "releases": {"bookworm": {"status": "resolved",
	      "repositories": {"bookworm": "1.0-1"},
	      "fixed_version": "1.0-1+deb12u1", "urgency": "medium"}}},
	  "CVE-2026-1002": {"releases": {"bookworm": {"status": "resolved",
	      "fixed_version": "1.0-1+deb12u2", "urgency": "high"}}},
	  "CVE-2019-0001": {"releases": {"bookworm": {"status": "resolved",
	      "fixed_version": "0.9-1", "urgency": "low"}}},
	  "CVE-2026-1003": {"releases": {"bullseye": {"status": "resolved",
	      "fixed_version": "1.0-1+deb11u1", "urgency": "high"}}}},
	 "sec-b": {
	  "CVE-2026-2001": {"releases": {"bookworm": {"status": "open",
	      "urgency": "high"}}},
	  "CVE-2026-2002": {"releases": {"bookworm": {"status": "resolved",
	      "fixed_version": "2.0-1+deb12u1", "urgency": "low"}}}},
	 "stab-c": {
	  "CVE-2026-3001": {"releases": {"bookworm": {"status": "resolved",
	      "fixed_version": "3.0-2", "urgency": "high"}}}}}
	EOF
}

test_expect_success 'Security-Tracker: each pending fix with the CVEs it closes' '
	write_tracker &&
	echo "Security-Tracker: $T/tracker.json" >>"$CONF" &&
	run mirrord exposure demo production &&
	assert_rc 0 &&
	assert_out_match "^  sec-a .*pending since [0-9TZ:-]+  CVE-2026-1001, CVE-2026-1002 \\(high\\)$" &&
	assert_out_match "^  sec-b .*pending since [0-9TZ:-]+  CVE-2026-2002 \\(low\\)$" &&
	! grep -q "CVE-2019-0001\|CVE-2026-1003\|CVE-2026-2001\|stab-c" "$T/out" &&
	run mirrord exposure demo production --json &&
	"$PYTHON" -c "import json, sys
j = json.load(open(sys.argv[1]))
by = {i[\"source\"]: i for i in j[\"items\"]}
assert by[\"sec-a\"][\"cves\"] == [\"CVE-2026-1001\", \"CVE-2026-1002\"], by
assert by[\"sec-a\"][\"urgency\"] == \"high\", by
assert by[\"sec-b\"][\"cves\"] == [\"CVE-2026-2002\"], by
assert j[\"warnings\"] == [], j" "$T/out"
'

test_expect_success 'a broken feed: a warning naming it and the field; the exposure stands' '
	printf "{\"sec-a\": {\"CVE-2026-1001\": {\"releases\": []}}}" >"$T/tracker.json" &&
	run mirrord exposure demo production --json &&
	assert_rc 0 &&
	assert_err_match "tracker.json" &&
	assert_err_match "releases" &&
	"$PYTHON" -c "import json, sys
j = json.load(open(sys.argv[1]))
assert j[\"pending\"] == 2, j
assert all(i[\"cves\"] == [] for i in j[\"items\"]), j
assert any(\"tracker.json\" in w for w in j[\"warnings\"]), j" "$T/out" &&
	rm "$T/tracker.json" &&
	run mirrord exposure demo production &&
	assert_rc 0 &&
	assert_err_match "tracker.json" &&
	assert_lines 3
'

test_expect_success 'patch --from latest --security: production has nothing pending' '
	run mirrord patch demo production --from latest --security &&
	assert_rc 0 &&
	run mirrord exposure demo production --fail-pending &&
	assert_rc 0 &&
	assert_eq "  no security update pending" "$(cat "$T/out")" "production" &&
	scrape &&
	assert_eq 0 "$(metric mirrord_channel_security_pending production)" "production pending" &&
	grep -q "^mirrord_exposure_computed_total 3$" "$T/metrics" ||
		fail "computed after the move: $(grep computed "$T/metrics")"
'

test_expect_success 'a bad ref, a bad mirror: errors naming them' '
	run mirrord exposure demo nosuch &&
	assert_rc 1 &&
	assert_err_match "nosuch" &&
	assert_out_empty &&
	run mirrord exposure nomirror production &&
	assert_rc 1 &&
	assert_err_match "nomirror"
'

stop_serve
