# shellcheck shell=bash
# Sourced by every script here: the repository's paths and build folders,
# logging, and installing Debian and PyPI packages only when missing. It
# touches no toolchain, so the offline checks (check-*.sh) source only this;
# setup.sh adds the Rust, WASM and browser tools on top.

set -euo pipefail

CADENCE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$CADENCE_ROOT/.tools"
# Each build keeps its own site (JS, WASM, CSS), so the tests' debug build never
# pulls the hashed files from under a release server that serve.sh started.
RELEASE_SITE="target/site-release"
TEST_SITE="target/site-test"
export PATH="$HOME/.cargo/bin:$TOOLS_DIR/node_modules/.bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
APT_UPDATED=""
apt_install() {
  if ! have apt-get; then
    echo "Please install these packages with your package manager: $*" >&2
    exit 1
  fi
  if [ -z "$APT_UPDATED" ]; then
    log "apt-get update"
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# The venv the offline checks share; each pins its tools with ensure_py_tools.
PY_DIR="$TOOLS_DIR/py"

# ensure_py_tools NAME==VERSION...: installs those PyPI packages into $PY_DIR,
# creating it first if need be, each only when that exact version is missing,
# and never removing another check's tools.
ensure_py_tools() {
  if [ ! -x "$PY_DIR/bin/pip" ]; then
    have python3 || apt_install python3 python3-venv
    # Debian's python3 makes venvs only with python3-venv (ensurepip) installed.
    python3 -m venv "$PY_DIR" >/dev/null 2>&1 || {
      apt_install python3-venv
      python3 -m venv "$PY_DIR"
    }
  fi
  local missing=() req have_version
  for req in "$@"; do
    have_version="$("$PY_DIR/bin/pip" show "${req%%==*}" 2>/dev/null | sed -n "s/^Version: //p" || true)"
    [ "$have_version" = "${req##*==}" ] || missing+=("$req")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} into $PY_DIR"
    "$PY_DIR/bin/pip" install -q --disable-pip-version-check "${missing[@]}"
  fi
}

# quiet CMD...: runs CMD, showing its output only if it fails.
quiet() {
  local out
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" >&2
    return 1
  fi
}

