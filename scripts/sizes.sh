#!/usr/bin/env bash
# Prints what the task page downloads from the release build in target/site:
# the JS, WASM and CSS, raw, gzip -9 and brotli -q 11.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$CADENCE_ROOT"
have brotli || apt_install brotli >&2
[ -d target/site/pkg ] || { echo "no release build in target/site: run scripts/serve.sh or scripts/bench.sh first" >&2; exit 1; }
printf '| file | raw | gzip | brotli |\n|---|---:|---:|---:|\n'
for f in target/site/pkg/*.js target/site/pkg/*.wasm target/site/pkg/*.css; do
  raw=$(stat -c %s "$f")
  gz=$(gzip -9 -c "$f" | wc -c)
  br=$(brotli -q 11 -c "$f" | wc -c)
  printf '| %s | %d B | %d B | %d B |\n' "$(basename "$f")" "$raw" "$gz" "$br"
done
