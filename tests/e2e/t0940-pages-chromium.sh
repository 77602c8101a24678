#!/bin/sh
# The release manager's pages (issue 16, section 4) as a person sees them:
# headless Chromium renders the channel and mirror pages of a daemon that
# runs a rollout plan (a soak of hours, so it stays where it is), and the
# test reads the text of the DOM Chromium built: staging, promoted with a
# message carrying markup, lacks generation 2's security fixes (sec-a,
# sec-b and their versions, the diff's counts against latest); production
# serves a 50% phase of latest (the ID, the percentage) and has two
# clients, one of which took the new indices; the plan is running. The
# message is a text node "<b>ticket</b>", never a b element. A phone-sized
# screenshot is a PNG 390 pixels wide.
. "$(dirname "$0")/lib.sh"
. "$E2E_DIR/compose-lib.sh"

test_require_prereq CHROMIUM
CHROME=$(command -v chromium || command -v chromium-browser)

# browse URL NAME: Chromium's DOM of URL into $T/NAME.html, its text
# (entities decoded, blanks squeezed) into $T/NAME.txt and its b elements'
# texts, one a line, into $T/NAME.b.
browse() {
	timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu \
	    --user-data-dir="$T/chrome" --dump-dom "$1" \
	    >"$T/$2.html" 2>"$T/chrome.err" ||
		fail "chromium --dump-dom $1: $(tail -n 3 "$T/chrome.err")"
	grep -q "</html>" "$T/$2.html" || fail "no page from chromium for $1"
	"$PYTHON" - "$T/$2" <<'PY'
import html.parser, re, sys
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.b, self.inb, self.style = [], [], 0, False
    def handle_starttag(self, tag, attrs):
        self.style = tag == "style"
        if tag == "b":
            self.inb += 1
            self.b.append("")
        if tag in ("br", "li", "p", "h1", "h2", "tr"):
            self.text.append("\n")
        if tag in ("td", "th"):
            self.text.append(" ")
    def handle_endtag(self, tag):
        self.style = False
        if tag == "b":
            self.inb -= 1
    def handle_data(self, d):
        if self.style:
            return
        self.text.append(d)
        if self.inb:
            self.b[-1] += d
p = P()
p.feed(open(sys.argv[1] + ".html").read())
t = re.sub(r"[ \t]+", " ", "".join(p.text))
open(sys.argv[1] + ".txt", "w").write(re.sub(r"\n\s*", "\n", t))
open(sys.argv[1] + ".b", "w").write("\n".join(p.b) + "\n")
PY
}

# sees NAME TEXT: the page's text has TEXT (fixed string).
sees() {
	grep -qF -- "$2" "$T/$1.txt" ||
		fail "the $1 page does not show '$2': $(cat "$T/$1.txt")"
}

test_expect_success 'production at gen1, latest gen2' production_gen1_latest_gen2

test_expect_success 'staging promoted with a message; production phased at 50%' - <<'EOT'
run mirrord promote -m '<b>ticket</b> "quoted" & more' demo "$S1" staging
assert_rc 0
run mirrord phase demo production latest 50
assert_rc 0
mirrord channel list demo >"$T/chans" || fail "channel list failed"
PH=$(sed -n 's/^production[[:space:]]\{1,\}\([0-9TZ]\{16\}\).*/\1/p' "$T/chans")
[ -n "$PH" ] && [ "$PH" != "$S2" ] || fail "production not at a phase: $(cat "$T/chans")"
echo "$PH" >"$T/phase.id"
mirrord exposure demo staging --json >"$T/expo.json" || fail "exposure failed"
"$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
for i in j["items"]:
    print(i["source"], i["installed"], i["fixed"])' "$T/expo.json" >"$T/expo.txt"
grep -q "^sec-a " "$T/expo.txt" && grep -q "^sec-b " "$T/expo.txt" ||
	fail "staging lacks no sec-a and sec-b: $(cat "$T/expo.txt")"
mirrord snapshot diff demo "$S1" "$S2" --json >"$T/diff.json" || fail "snapshot diff failed"
EOT

test_expect_success 'a daemon with a rollout plan that soaks for hours' - <<'EOT'
stop_serve
set_global Sync-Interval 1h
cat >>"$CONF" <<EOF

Rollout: weekly
Mirror: demo
Steps: canary 6h, production
EOF
start_daemon
target_canary() {
	mirrord channel list demo 2>/dev/null | grep -Eq "^canary[[:space:]]+$S2"
}
wait_for 60 "canary at $S2" target_canary
EOT

test_expect_success 'two clients update production; one takes the new indices' - <<'EOT'
U=$DAEMON_URL/demo/production/dists/stable
curl -sf --max-time 10 -o "$T/InRelease" "$U/InRelease" ||
	fail "GET InRelease failed"
curl -sf --max-time 10 --interface 127.0.0.2 -o /dev/null "$U/InRelease" ||
	fail "GET InRelease from 127.0.0.2 failed"
h=$(sed -n '/^SHA256:/,/^[A-Z]/s#^ \([0-9a-f]\{64\}\) *[0-9]\{1,\} main/binary-amd64/Packages.*#\1#p' \
    "$T/InRelease" | head -n 1)
[ -n "$h" ] || fail "no Packages in production's InRelease"
curl -sf --max-time 10 -o /dev/null "$U/main/binary-amd64/by-hash/SHA256/$h" ||
	fail "GET of the Packages by hash failed"
EOT

test_expect_success 'the channel page of production: phase, adoption, rollout' - <<'EOT'
PH=$(cat "$T/phase.id")
browse "$DAEMON_URL/demo/production/" prod
sees prod "serves $PH (phase)"
sees prod "a phase of $S2 at 50%"
sees prod "2 clients in the window; 1 (50%) took the new indices; 0 (0%) upgraded"
sees prod "plan weekly: running, step 1 of 2, snapshot $S2"
sees prod "next: canary's soak ends at "
sees prod "Security updates pending: 0"
EOT

test_expect_success 'the channel page of staging: fixes, escaped message, diff' - <<'EOT'
browse "$DAEMON_URL/demo/staging/" staging
sees staging "Security updates pending: 2"
while read -r src inst fixed; do
	sees staging "$src $inst $fixed stable-security"
done <"$T/expo.txt"
sees staging "promote (none) → $S1 by "
sees staging ': <b>ticket</b> "quoted" & more'
! grep -qx "ticket" "$T/staging.b" || fail "the message became markup: a b element 'ticket'"
grep -q '&lt;b&gt;ticket&lt;/b&gt;' "$T/staging.html" ||
	fail "the DOM has no escaped text node for the message"
want=$("$PYTHON" -c 'import json, sys
j = json.load(open(sys.argv[1]))
e = j["changes"] if isinstance(j, dict) else j
n = {k: 0 for k in ("added", "removed", "upgraded", "downgraded")}
for c in e:
    n[c["change"] if "change" in c else c["kind"]] += 1
print("%(added)d added, %(removed)d removed, %(upgraded)d upgraded, %(downgraded)d downgraded" % n)' "$T/diff.json") ||
	fail "cannot read snapshot diff --json: $(head -c 300 "$T/diff.json")"
sees staging "latest is $S2: $want"
# Again: the diff now comes from the server's cache of (target, latest).
browse "$DAEMON_URL/demo/staging/" staging2
sees staging2 "latest is $S2: $want"
EOT

test_expect_success 'the mirror page: a row per channel' - <<'EOT'
browse "$DAEMON_URL/demo/" mirror
sees mirror "staging → $S1"
sees mirror "security: 2 pending"
sees mirror "(phase 50%)"
sees mirror "rollout weekly: running, step 1 of 2"
sees mirror "fleet: 2 clients, 1 (50%) new indices, 0 (0%) upgraded"
EOT

test_expect_success 'on a phone: a PNG 390 pixels wide' - <<'EOT'
rm -f "$T/phone.png"
timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu \
    --user-data-dir="$T/chrome" --window-size=390,844 \
    --screenshot="$T/phone.png" "$DAEMON_URL/demo/staging/" \
    >/dev/null 2>"$T/chrome.err" ||
	fail "chromium --screenshot: $(tail -n 3 "$T/chrome.err")"
"$PYTHON" -c 'import struct, sys
d = open(sys.argv[1], "rb").read(24)
assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", d[16:24])
assert w == 390, "width %d" % w
print(w, h)' "$T/phone.png" || fail "the screenshot is not a 390 px PNG"
stop_daemon
EOT
