#!/usr/bin/env bash
# Event-to-toast latency in Chromium against the release build (builds it
# first if it is missing): BENCH_EVENTS reminders (100 by default), each
# timed from its due instant to its toast. Not part of the tests.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$CADENCE_ROOT"
ensure_browser_tools
if [ ! -x target/release/server ] || [ ! -d "$RELEASE_SITE/pkg" ]; then
  ensure_wasm_opt
  LEPTOS_SITE_ROOT="$RELEASE_SITE" cargo leptos build --release "${LEPTOS_LIB_ARGS[@]}"
fi
CADENCE_BENCH_DB="$(mktemp -d)/cadence.db"
export CADENCE_BENCH_DB
cd end2end
npx playwright test --config bench.config.ts
