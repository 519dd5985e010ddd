# shellcheck shell=bash
# Sourced by serve.sh and test.sh: installs what building Cadence needs, each
# piece only when it is missing, and exports the build environment.
# Works on an ordinary machine with rustup and internet, and on Debian machines
# where `rustup target add` cannot download (see ../shared/toolchain.md there).

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
WASM_BINDGEN_VERSION="0.2.130" # must equal the wasm-bindgen crate version in Cargo.lock
CARGO_LEPTOS_VERSION="0.3.11"
BINARYEN_VERSION="132"

# --- Rust and the wasm32 target -------------------------------------------
# Debian's rustc-web (1.96), linked into rustup as the `web` toolchain. The
# first argument lists the files the caller needs besides rustc and cargo; the
# rest are the packages to install when any of them is missing.
use_rustc_web() {
  local needed="$1" path
  shift
  local ready=1
  /usr/bin/rustc --version 2>/dev/null | grep -q '^rustc 1\.9[6-9]' || ready=""
  for path in /usr/bin/cargo $needed; do [ -e "$path" ] || ready=""; done
  [ -n "$ready" ] || apt_install "$@" >&2
  rustup toolchain list | grep -q '^web' || rustup toolchain link web /usr >&2
}
if ! have rustup; then
  echo "Cadence needs rustup (https://rustup.rs)." >&2
  exit 1
fi
LEPTOS_LIB_ARGS=()
# CADENCE_WASM_PATH=web forces the Debian route (to test it where rustup works).
if [ "${CADENCE_WASM_PATH:-}" != "web" ] && {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
    || timeout 300 rustup target add wasm32-unknown-unknown >/dev/null 2>&1
}; then
  log "wasm32: using rustup's toolchain"
else
  # No downloadable wasm32 std: build it from Debian's rustc-web sources.
  log "wasm32: rustup cannot provide it; using Debian's rustc-web with -Zbuild-std"
  use_rustc_web "/usr/bin/wasm-ld-22 /usr/bin/clippy-driver /usr/lib/rustlib/src" \
    rustc-web cargo-web rust-web-src lld-22 rust-web-clippy
  export RUSTUP_TOOLCHAIN=web RUSTC_BOOTSTRAP=1
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-22
  LEPTOS_LIB_ARGS=(--lib-cargo-args=-Zbuild-std=std,panic_abort)
  export CADENCE_BUILD_STD="-Zbuild-std=std,panic_abort"
fi
export CADENCE_BUILD_STD="${CADENCE_BUILD_STD:-}"

# --- cargo-leptos and wasm-bindgen ----------------------------------------
# The tools' own lockfiles need rustc 1.96 or newer. When the default toolchain
# is older, install them with Debian's rustc-web (1.96) rather than touching
# the user's toolchain.
tool_toolchain() {
  local minor
  minor="$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')"
  if [ "${RUSTUP_TOOLCHAIN:-}" = "web" ] || [ "$minor" -ge 96 ]; then
    echo "${RUSTUP_TOOLCHAIN:-}"
    return
  fi
  log "rustc 1.$minor is too old to build cargo-leptos; building the tools with Debian's rustc-web"
  use_rustc_web "" rustc-web cargo-web
  echo web
}
install_tool() {
  local toolchain
  toolchain="$(tool_toolchain)"
  if [ -n "$toolchain" ]; then
    RUSTUP_TOOLCHAIN="$toolchain" cargo install "$@"
  else
    cargo install "$@"
  fi
}
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (a debug build: minutes, not an hour)"
  install_tool --debug --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION"
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  install_tool --debug --force wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# wasm-opt, for release builds. Debian's binaryen is too old; npm's works.
ensure_wasm_opt() {
  if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
    have npm || apt_install nodejs npm
    log "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm"
    mkdir -p "$TOOLS_DIR"
    npm install --prefix "$TOOLS_DIR" --no-save --silent "binaryen@$BINARYEN_VERSION" >/dev/null
  fi
}

# Chromium, its driver-free Playwright runner, and PostgreSQL: for the tests only.
ensure_browser_tools() {
  if [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi
  have npm || apt_install nodejs npm
  if [ ! -d "$CADENCE_ROOT/end2end/node_modules/@playwright/test" ]; then
    log "installing Playwright (without its browser download)"
    (cd "$CADENCE_ROOT/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
  fi
}

# copy_browser_build BIN_DIR SITE_DIR DEST: copies a debug server with its
# hash.txt, the Dapr sidecar simulator (BIN_DIR/examples/dapr-sim, or
# BIN_DIR/dapr-sim in a snapshot) and a site into DEST (as server, hash.txt,
# dapr-sim, site/), so the browser tests run a snapshot that a `cargo leptos
# watch` rebuilding target/ meanwhile cannot pull files from under.
copy_browser_build() {
  cp "$1/server" "$1/hash.txt" "$3/"
  if [ -x "$1/examples/dapr-sim" ]; then cp "$1/examples/dapr-sim" "$3/"; else cp "$1/dapr-sim" "$3/"; fi
  cp -r "$2" "$3/site"
}

# run_browser_tests DIR: the Playwright suite against the snapshot in DIR.
run_browser_tests() {
  (cd "$CADENCE_ROOT/end2end" && CADENCE_SERVER_BIN="$1/server" CADENCE_DAPR_SIM_BIN="$1/dapr-sim" \
    CADENCE_SITE_ROOT="$1/site" npx playwright test)
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_postgres() {
  if port_open 5432; then
    return
  fi
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then apt_install postgresql; fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  log "starting PostgreSQL $version"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || $SUDO pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
  # Debian's cluster wants a password over TCP; give the superuser a local-only one for the tests.
  if [ -z "${CADENCE_TEST_PG_URL:-}" ]; then
    (cd / && $SUDO -u postgres psql -q -c "ALTER USER postgres PASSWORD 'cadence-test'") 2>/dev/null \
      || (cd / && su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'cadence-test'\"")
    export CADENCE_TEST_PG_URL="postgres://postgres:cadence-test@127.0.0.1:5432/postgres"
  fi
}
