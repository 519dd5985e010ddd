#!/usr/bin/env bash
# Runs the browser suite N times in a row (default 20), each run on a freshly
# copied snapshot of the server binary and site that the last
# `bash scripts/test.sh` built, and prints a line per run with the load
# average. A flaky browser test shows up here before it shows up in CI.
# RUST_LOG (e.g. `warn,tower_http=debug`) passes the server's log into each
# run's log file. Not part of the tests.
set -u
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$CADENCE_ROOT"
N="${1:-20}"
[ -x target/debug/server ] && [ -d "$TEST_SITE/pkg" ] || { echo "run scripts/test.sh first" >&2; exit 1; }
LOGS="$(mktemp -d)"
source_snap="$(mktemp -d)"
trap 'rm -rf "$source_snap"' EXIT
copy_browser_build target/debug "$TEST_SITE" "$source_snap"
pass=0
for i in $(seq 1 "$N"); do
  snap="$(mktemp -d)"
  copy_browser_build "$source_snap" "$source_snap/site" "$snap"
  if run_browser_tests "$snap" >"$LOGS/run-$i.log" 2>&1; then
    pass=$((pass + 1))
    echo "run $i: pass (load $(cut -d' ' -f1-3 /proc/loadavg))"
  else
    echo "run $i: FAIL, see $LOGS/run-$i.log"
    grep -E "✘|Error:|Failed to load" "$LOGS/run-$i.log" | head -10
  fi
  rm -rf "$snap"
done
echo "passed $pass of $N (logs in $LOGS)"
[ "$pass" -eq "$N" ]
