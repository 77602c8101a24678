#!/bin/sh
# CLI conventions (issue 13): every command answers --help with its usage
# on stdout (exit 0); options stand anywhere (before or after the command
# and its arguments); a usage error says what was wrong in one line, with
# one prefix, before the usage (exit 2); every synopsis in mirrord(8)
# is what the binary's --help says.
. "$(dirname "$0")/lib.sh"

M=$MIRRORD
test_expect_success 'a synced mirror' 'setup_synced'

# name|one valid set of arguments (for the option-position checks)
COMMANDS='sync|
status|
snapshot list|demo
snapshot show|demo latest
snapshot diff|demo latest latest
snapshot pin|demo latest note
snapshot unpin|demo latest
snapshot drop|demo latest
fetch|demo latest
promote|demo latest production
rollback|demo production
channel list|demo
channel log|demo production
channel delete|demo production
channel rename|demo production prod
sources|demo production
key export|
serve|
daemon|
gc|
fsck|
index-parse|FILE
resolve|nginx
patch|--from latest demo production
phase|demo production latest 50
exposure|demo production
rollout list|
rollout show|weekly
rollout pause|weekly
rollout resume|weekly
rollout advance|weekly
rollout abort|weekly
version|
help|'

# cli_checks CMD ARGS: --help, an unknown option, an argument too many or
# missing, for one command.
cli_checks() {
	cmd=$1
	args=$2
	step "$cmd: --help, before and after the other options"
	# shellcheck disable=SC2086
	run "$M" $cmd --help -c "$CONF"
	assert_rc 0
	[ ! -s "$T/err" ] || fail "$cmd --help wrote to stderr"
	head -n 1 "$T/out" >"$T/help1"
	grep -q "^usage: mirrord $cmd\( \|\$\)" "$T/help1" ||
		fail "$cmd --help: first line is '$(cat "$T/help1")'"
	sed "s/^usage: mirrord //" "$T/help1" >>"$T/synopses"
	cp "$T/out" "$T/help.a"
	# shellcheck disable=SC2086
	run "$M" -c "$CONF" -h $cmd
	assert_rc 0
	cmp -s "$T/out" "$T/help.a" || fail "'-h $cmd' differs from '$cmd --help'"
	# shellcheck disable=SC2086
	run "$M" help $cmd
	assert_rc 0
	cmp -s "$T/out" "$T/help.a" || fail "'help $cmd' differs from '$cmd --help'"

	step "$cmd: an unknown option is a usage error, said once, then the usage"
	# shellcheck disable=SC2086
	run "$M" -c "$CONF" $cmd --no-such-option $args
	assert_rc 2
	assert_out_empty
	first=$(head -n 1 "$T/err")
	assert_eq "mirrord: error: unknown option '--no-such-option' for '$cmd'" \
	    "$first" "$cmd: first line of a usage error"
	sed -n 2p "$T/err" | grep -q "^usage: mirrord $cmd" ||
		fail "$cmd: the usage does not follow the error"
	assert_eq 1 "$(grep -c 'error' "$T/err")" "$cmd: error lines"

	step "$cmd: one argument too many is a usage error"
	case $(cat "$T/help1") in
	*...*) ;;	# takes any number
	*)
		# shellcheck disable=SC2086
		run "$M" $cmd $args extra-arg -c "$CONF"
		assert_rc 2
		assert_err_match "^mirrord: error: '$cmd': unexpected argument 'extra-arg'\$"
		;;
	esac
	case $args in
	?*)
		step "$cmd: a missing argument names what is missing"
		# shellcheck disable=SC2086
		run "$M" -c "$CONF" $cmd
		assert_rc 2
		assert_err_match "^mirrord: error: '$cmd' needs [A-Z]"
		;;
	esac
}

echo "$COMMANDS" >"$T/commands"
while IFS='|' read -r cmd args; do
	[ -n "$cmd" ] || continue
	test_expect_success "$cmd: --help, usage errors" 'cli_checks "$cmd" "$args"'
done <"$T/commands"

test_expect_success 'a group without its command, an unknown command, no command' - <<'EOT'
run "$M" -c "$CONF" snapshot
assert_rc 2
assert_err_match "^mirrord: error: 'snapshot' needs a command\$"
run "$M" -c "$CONF" channel frob demo
assert_rc 2
assert_err_match "^mirrord: error: unknown channel command 'frob'\$"
run "$M" frobnicate
assert_rc 2
assert_err_match "^mirrord: error: unknown command 'frobnicate'\$"
run "$M"
assert_rc 2
run "$M" --help
assert_rc 0
assert_out_match '^usage: mirrord'
run "$M" snapshot --help
assert_rc 0
assert_out_match '^  snapshot drop MIRROR ID'
run "$M" --version
assert_rc 0
assert_out_match '^mirrord [0-9]'
EOT

test_expect_success 'options anywhere: -c, --json, -q before and after' - <<'EOT'
run "$M" -c "$CONF" status --json
assert_rc 0
cp "$T/out" "$T/status.a"
"$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/status.a" ||
	fail "status --json is not JSON"
for form in "--json -c $CONF status" "status -c $CONF --json" \
    "--json status -c $CONF" "status --json --config=$CONF"; do
	# shellcheck disable=SC2086
	run "$M" $form
	assert_rc 0
	# Times in the report are relative to now: compare the shape.
	"$PYTHON" -c 'import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
assert a["mirrors"][0]["snapshots"] == b["mirrors"][0]["snapshots"]' \
	    "$T/status.a" "$T/out" || fail "'$form' differs"
done
run "$M" snapshot list demo -c "$CONF"
assert_rc 0
assert_out_match "^$SNAP1\$"
run "$M" snapshot list --json demo -c "$CONF"
assert_rc 0
assert_out_match "\"id\":\"$SNAP1\""
run "$M" sync -q -c "$CONF"
assert_rc 0
assert_out_empty
[ ! -s "$T/err" ] || fail "sync -q (no change) wrote to stderr: $(cat "$T/err")"
run "$M" -c "$CONF" sync
assert_rc 0
assert_err_match "no change"
run "$M" sync --json -c "$CONF"
assert_rc 2
assert_err_match "^mirrord: error: 'sync' has no JSON output\$"
run "$M" promote demo latest production -c "$CONF" -m "first"
assert_rc 0
run "$M" channel log demo production --json -c "$CONF"
assert_out_match '"message":"first"'
run "$M" sources demo production --arch=amd64 -c "$CONF"
assert_rc 0
assert_out_match '^Architectures: amd64$'
run "$M" promote -m
assert_rc 2
assert_err_match "^mirrord: error: option '-m' needs a value\$"
EOT

test_expect_success 'every synopsis in mirrord(8) is what --help says' - <<'EOT'
"$PYTHON" - "$ROOT/docs/mirrord.8" "$T/synopses" <<'PY' || fail "mirrord(8) and --help disagree"
import re, sys
man, syn = open(sys.argv[1]).read(), open(sys.argv[2]).read().split("\n")
sec = man.split(".SH SYNOPSIS\n", 1)[1].split("\n.SH ", 1)[0]
def render(block):
    out = []
    for line in block.strip().split("\n"):
        m = re.match(r"\.(B|I|RB|IR|BR|RI)\s+(.*)", line)
        if not m:
            continue
        toks = re.findall(r'"[^"]*"|\S+', m.group(2))
        out.append("".join(t.strip('"') for t in toks) if len(m.group(1)) == 2
                   else " ".join(t.strip('"') for t in toks))
    s = " ".join(out).replace("\\-", "-")
    return re.sub(r"^mirrord (\[-c conf\] )?", "", s)
manset = set(render(b).lower() for b in sec.split("\n.br\n"))
bad = 0
for s in syn:
    if s and s.lower() not in manset:
        print("--help says '%s'; mirrord(8) has no such synopsis" % s)
        bad = 1
helpset = set(s.lower() for s in syn if s)
for s in sorted(manset):
    if s.startswith(("[-", "--version", "[command]")) or s in helpset:
        continue
    print("mirrord(8) says '%s'; no command's --help does" % s)
    bad = 1
sys.exit(bad)
PY
EOT
