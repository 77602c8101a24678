#!/bin/sh
# run.sh MIRRORD [FAULTS_MIRRORD]: the crash suite (`make crash`).
#
# Kill -9 loop over sync, promote, rollback and gc against a churning
# upstream, every fault-injection case (needs a -DMIRRORD_FAULTS build:
# the second argument or $MIRRORD_FAULTS_BIN), and the full-disk cases
# (injected ENOSPC; a real small tmpfs when mount(8) is permitted).
# Then tests/crash/compose.py: kills during a partial sync and a `patch`
# (COMPOSE_ITERS timed kills of each, default 20, and the kill points).
# See tests/crash/crash.py and compose.py for the checks.
#
# Environment: CRASH_SEED (default: random, printed), CRASH_ITERS (kill
# iterations, default 200), CRASH_ARGS (more crash.py options, e.g.
# "--faults quick --keep"). A failure prints the seed and the iteration:
#   CRASH_SEED=S CRASH_ITERS=I tests/crash/run.sh ...   replays it.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 MIRRORD [FAULTS_MIRRORD]" >&2
	exit 2
fi
FB=${2:-${MIRRORD_FAULTS_BIN:-}}
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
HERE=$(cd "$(dirname "$0")" && pwd)

BIN=$1
set -- --mirrord "$BIN" --iters "${CRASH_ITERS:-200}"
[ -n "${CRASH_SEED:-}" ] && set -- "$@" --seed "$CRASH_SEED"
[ -n "$FB" ] && set -- "$@" --faults-bin "$FB"
rc=0
# shellcheck disable=SC2086
"$PYTHON" "$HERE/crash.py" "$@" ${CRASH_ARGS:-} || rc=$?

# Composed snapshots (issue 15): kills during a partial sync and a patch.
set -- --mirrord "$BIN" --iters "${COMPOSE_ITERS:-20}"
[ -n "${CRASH_SEED:-}" ] && set -- "$@" --seed "$CRASH_SEED"
[ -n "$FB" ] && set -- "$@" --faults-bin "$FB"
"$PYTHON" "$HERE/compose.py" "$@" || { r=$?; [ "$rc" != 0 ] || rc=$r; }
exit "$rc"
