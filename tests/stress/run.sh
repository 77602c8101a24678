#!/bin/sh
# run.sh MIRRORD_BINARY: `make stress`, the concurrency run (issue 5,
# part 6; tests/stress/concurrency.sh says what it does and checks) for
# CONC_SECONDS (45) of load. `make check` runs a 10 s sample of it,
# tests/e2e/t0530-concurrency-sample.sh. Prints the named steps as TAP;
# exits 1 if one failed, 77 if a prerequisite (mdb_stat) is missing.
# STRESS_KEEP=1 keeps the temp dir; the output of every step is shown.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 MIRRORD_BINARY" >&2
	exit 2
fi
case $1 in /*) MIRRORD=$1 ;; *) MIRRORD=$(pwd)/$1 ;; esac
export MIRRORD
[ -z "${STRESS_KEEP:-}" ] || E2E_KEEP=1
CONC_SECONDS=${CONC_SECONDS:-45}
E2E_VERBOSE=${E2E_VERBOSE:-1}	# the run's figures, step by step
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/e2e/lib.sh"
UPSTREAM_PY=$ROOT/tests/e2e/upstream.py	# lib.sh looks beside $0
. "$ROOT/tests/stress/concurrency.sh"
