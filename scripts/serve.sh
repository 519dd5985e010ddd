#!/usr/bin/env bash
# Builds Cadence (release) and serves it at http://127.0.0.1:3000 on the
# embedded default: SQLite in ./data/, the in-process event bus.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$CADENCE_ROOT"
ensure_wasm_opt
export LEPTOS_SITE_ROOT="$RELEASE_SITE"
log "building (release)"
cargo leptos build --release "${LEPTOS_LIB_ARGS[@]}"
mkdir -p data
export DATABASE_URL="${DATABASE_URL:-sqlite://data/cadence.db}"
log "serving at http://127.0.0.1:3000 (Ctrl-C stops)"
exec ./target/release/server
