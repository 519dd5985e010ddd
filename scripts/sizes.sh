#!/usr/bin/env bash
# Prints what the task page downloads from the release build in $RELEASE_SITE:
# the JS, WASM and CSS, raw, gzip -9 and brotli -q 11.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$CADENCE_ROOT"
have brotli || apt_install brotli >&2
[ -d "$RELEASE_SITE/pkg" ] || { echo "no release build in $RELEASE_SITE: run scripts/serve.sh or scripts/bench.sh first" >&2; exit 1; }
printf '| file | raw | gzip | brotli |\n|---|---:|---:|---:|\n'
# The files the last release build wrote, as its hash.txt names them (older builds' files may linger).
for kind in js wasm css; do
  f="$RELEASE_SITE/pkg/cadence.$(awk -v k="$kind:" '$1 == k { print $2 }' target/release/hash.txt).$kind"
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  br=$(brotli -q 11 -c "$f" | wc -c)
  printf '| %s | %d B | %d B | %d B |\n' "$(basename "$f")" "$raw" "$gz" "$br"
done
