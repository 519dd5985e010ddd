#!/usr/bin/env bash
# Runs every Cadence test: formatting and lints, domain unit and property
# tests, the store contract suite on SQLite and PostgreSQL, the HTTP
# integration tests, and the browser tests in Chromium.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$CADENCE_ROOT"
ensure_browser_tools
ensure_postgres
# cargo-leptos builds debug binaries with this flag; using it for every step
# lets clippy, the tests and the site build share one set of artifacts.
export RUSTFLAGS="--cfg erase_components"
WASM_FLAGS=(--target wasm32-unknown-unknown)
if [ -n "$CADENCE_BUILD_STD" ]; then WASM_FLAGS+=("$CADENCE_BUILD_STD"); fi

start=$SECONDS
step() { log "[$((SECONDS - start))s] $*"; }

step "format"
if cargo fmt --version >/dev/null 2>&1; then
  cargo fmt --all -- --check
else
  RUSTUP_TOOLCHAIN=stable cargo fmt --all -- --check
fi

step "clippy (ssr)"
cargo clippy -p domain -p server --all-targets --locked -- -D warnings
step "clippy (hydrate, wasm32)"
cargo clippy -p frontend -p app "${WASM_FLAGS[@]}" --features app/hydrate --locked -- -D warnings

step "unit, property, contract and HTTP integration tests"
# One invocation, so app is tested with the ssr features server gives it and
# the server binary built here is the one the browser tests run.
cargo test -p domain -p app -p server --locked

step "HTTP integration tests again, on PostgreSQL"
# The contract and replica suites name their backends themselves.
CADENCE_TEST_BACKEND=postgres cargo test -p server --test api --locked -- --skip contract:: --skip time_contract:: --skip replicas::

step "Dapr manifests (schemas, typos rejected, subscriptions match the app's)"
bash scripts/check-dapr.sh

step "GitHub Actions workflows (actionlint, the workflow schema, broken copies refused)"
bash scripts/check-workflows.sh

step "Helm chart (lint, Kubernetes 1.33 schemas, Dapr resources, bad values refused)"
bash scripts/check-chart.sh

step "building the site (WASM, JS, CSS) for the browser tests"
LEPTOS_SITE_ROOT="$TEST_SITE" cargo leptos build --frontend-only "${LEPTOS_LIB_ARGS[@]}"

# After the site build: the image check runs the server with the site it serves.
step "container image (hadolint; the runtime image's files run as UID 65532 and answer /readyz)"
bash scripts/check-image.sh

step "browser tests (Chromium)"
snapshot="$(mktemp -d)"
trap 'rm -rf "$snapshot"' EXIT
copy_browser_build target/debug "$TEST_SITE" "$snapshot"
if ! run_browser_tests "$snapshot"; then
  log "browser tests failed; the site they were served:"
  ls -lR "$snapshot/site" >&2
  cat "$snapshot/hash.txt" >&2
  exit 1
fi

step "all tests passed"
