#!/usr/bin/env bash
# Checks the Dapr manifests in dapr/ without a cluster or a Dapr runtime:
#  1. every manifest (dapr/*.yaml, dapr/components/, dapr/subscriptions/)
#     against the JSON Schema for its `kind` in dapr/schemas/;
#  2. copies with a misspelt key or a wrong type are refused (a schema that
#     let them through would be checking nothing);
#  3. the names the manifests use for each other resolve
#     (scripts/check_dapr_refs.py);
#  4. the declarative Subscriptions say what the worker's programmatic
#     GET /dapr/subscribe list says (scripts/check_dapr_subscriptions.py).
# The list comes from `CADENCE_ROLE=worker CADENCE_BUS=dapr $CADENCE_SERVER_BIN
# dapr subscriptions` (default target/debug/server, which must exist). For
# testing this script only, CADENCE_DAPR_SUBSCRIPTIONS_JSON=FILE reads the list
# from FILE instead of running the server.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CADENCE_ROOT"

CHECK_JSONSCHEMA_VERSION="0.39.0"
PYYAML_VERSION="6.0.4"
SCHEMAS="dapr/schemas"

# --- tools: check-jsonschema and PyYAML, in the checks' shared venv ----------
ensure_py_tools "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "PyYAML==$PYYAML_VERSION"
PY="$PY_DIR/bin/python"
CHECK_JSONSCHEMA="$PY_DIR/bin/check-jsonschema"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT


# The worker's programmatic subscriptions, read first so that a missing server
# fails before anything else runs.
programmatic="$tmp/programmatic.json"
if [ -n "${CADENCE_DAPR_SUBSCRIPTIONS_JSON:-}" ]; then
  log "dapr: reading the worker's subscriptions from $CADENCE_DAPR_SUBSCRIPTIONS_JSON (testing override), not from the server"
  cp "$CADENCE_DAPR_SUBSCRIPTIONS_JSON" "$programmatic"
else
  server="${CADENCE_SERVER_BIN:-target/debug/server}"
  if [ ! -x "$server" ]; then
    echo "check-dapr: $server does not exist or is not executable: build the server first (cargo build -p server)," >&2
    echo "  or set CADENCE_SERVER_BIN to a built server binary; its 'dapr subscriptions' command is what the" >&2
    echo "  declarative subscriptions are checked against." >&2
    exit 1
  fi
  if ! CADENCE_ROLE=worker CADENCE_BUS=dapr timeout 60 "$server" dapr subscriptions >"$programmatic" 2>"$tmp/server.err"; then
    echo "check-dapr: '$server dapr subscriptions' failed:" >&2
    cat "$tmp/server.err" >&2
    exit 1
  fi
fi

schema_for_kind() {
  case "$1" in
    Component) echo "$SCHEMAS/component.schema.json" ;;
    Subscription) echo "$SCHEMAS/subscription.schema.json" ;;
    Resiliency) echo "$SCHEMAS/resiliency.schema.json" ;;
    Configuration) echo "$SCHEMAS/configuration.schema.json" ;;
    *) return 1 ;;
  esac
}

# --- 1. every manifest against its kind's schema ----------------------------
shopt -s nullglob
manifests=(dapr/*.yaml dapr/*.yml dapr/components/*.y*ml dapr/subscriptions/*.y*ml)
if [ "${#manifests[@]}" -eq 0 ]; then
  echo "check-dapr: no manifests found in dapr/" >&2
  exit 1
fi
quiet "$CHECK_JSONSCHEMA" --check-metaschema "$SCHEMAS"/*.schema.json

declare -A files_of_schema=()
for file in "${manifests[@]}"; do
  # One resource per file, so the file's kind picks its schema.
  if [ "$(grep -c '^---' "$file")" -gt 1 ] || { [ "$(grep -c '^---' "$file")" -eq 1 ] && [ "$(head -c3 "$file")" != "---" ]; }; then
    echo "check-dapr: $file holds more than one YAML document; keep one resource per file" >&2
    exit 1
  fi
  kind="$(sed -n -E 's/^kind:[[:space:]]*["'\'']?([A-Za-z]+)["'\'']?[[:space:]]*(#.*)?$/\1/p' "$file")"
  if ! schema="$(schema_for_kind "$kind")"; then
    echo "check-dapr: $file: no schema for kind '${kind:-<none>}' (known: Component, Subscription, Resiliency, Configuration)" >&2
    exit 1
  fi
  files_of_schema[$schema]+="$file"$'\n'
done
invalid=0
for schema in "${!files_of_schema[@]}"; do
  mapfile -t files < <(printf '%s' "${files_of_schema[$schema]}")
  quiet "$CHECK_JSONSCHEMA" --schemafile "$schema" "${files[@]}" || invalid=1
done
if [ "$invalid" != 0 ]; then exit 1; fi
log "dapr: ${#manifests[@]} manifests match their schemas"

# --- 2. broken copies must be refused ---------------------------------------
# mutate ID FILE SED-SCRIPT: writes $tmp/ID/<the same path> with the edit made,
# beside unchanged copies of the other manifests, and fails if the edit did
# not apply (a case that changes nothing would pass for the wrong reason).
mutate() {
  local id="$1" file="$2" script="$3" dir="$tmp/$1"
  mkdir -p "$dir"
  local m
  for m in "${manifests[@]}"; do
    mkdir -p "$dir/$(dirname "$m")"
    cp "$m" "$dir/$m"
  done
  sed -i -e "$script" "$dir/$file"
  if cmp -s "$file" "$dir/$file"; then
    echo "check-dapr: negative case $id did not change $file; fix its sed script" >&2
    exit 1
  fi
}

# shellcheck disable=SC2016 # the sed scripts are meant literally
# Schema cases: ID|FILE|SED-SCRIPT|text the refusal must mention (the key or
# value at fault, or the JSON path to it), so a copy refused for some other
# reason does not count.
schema_cases=(
  'sub-typo-key|dapr/subscriptions/task-events.yaml|s/deadLetterTopic:/deadLeterTopic:/|deadLeterTopic'
  'sub-v1-route|dapr/subscriptions/reminders.yaml|s/^    default: /    route: /|route'
  'sub-case|dapr/subscriptions/reminders.yaml|s/pubsubname:/pubSubName:/|pubSubName'
  'sub-kind|dapr/subscriptions/reminders.yaml|s/^kind: Subscription/kind: Subscripton/|$.kind'
  'sub-no-scope|dapr/subscriptions/task-events.yaml|/^scopes:/,$d|scopes'
  'kafka-typo-name|dapr/components/pubsub.yaml|s/name: saslMechanism/name: saslMechnism/|saslMechnism'
  'kafka-typo-type|dapr/components/pubsub.yaml|s/type: pubsub.kafka/type: pubsub.kafak/|pubsub.kafak'
  'kafka-auth-case|dapr/components/pubsub.yaml|s/^  secretStore:/  secretstore:/|secretstore'
  'kafka-unquoted-template|dapr/components/pubsub.yaml|s/"{appID}"/{appID}/|$.spec.metadata[1]'
  'kafka-tls-off|dapr/components/pubsub.yaml|/name: initialOffset/i\    - name: disableTls\n      value: "true"|$.spec.metadata[3].value'
  'kafka-plain-password|dapr/components/pubsub.yaml|/name: saslPassword/,/key: password/c\    - name: saslPassword\n      value: "hunter2"|$.spec.metadata[7]'
  'kafka-bad-offset|dapr/components/pubsub.yaml|s/value: "oldest"/value: "earliest"/|earliest'
  'kafka-no-auth|dapr/components/pubsub.yaml|/^auth:/,/secretStore:/d|auth'
  'store-typo-name|dapr/components/secretstore.yaml|s/metadata: \[\]/metadata:\n    - name: defaultNamspace\n      value: cadence/|defaultNamspace'
  'res-string-int|dapr/resiliency.yaml|s/maxRetries: 10/maxRetries: "10"/|$.spec.policies.retries.appDelivery.maxRetries'
  'res-unbounded|dapr/resiliency.yaml|s/maxRetries: 10/maxRetries: -1/|$.spec.policies.retries.appDelivery.maxRetries'
  'res-typo-key|dapr/resiliency.yaml|s/maxInterval: 30s/maxInteval: 30s/|maxInteval'
  'res-typo-section|dapr/resiliency.yaml|s/^    circuitBreakers:/    circuitBreaker:/|circuitBreaker'
  'res-inbound-breaker|dapr/resiliency.yaml|/retry: appDelivery$/a\          circuitBreaker: broker|circuitBreaker'
  'res-bad-duration|dapr/resiliency.yaml|s/appDelivery: 15s/appDelivery: 15 seconds/|15 seconds'
  'cfg-number-rate|dapr/config.yaml|s/samplingRate: "0.1"/samplingRate: 0.1/|$.spec.tracing.samplingRate'
  'cfg-typo-key|dapr/config.yaml|s/endpointAddress:/endpointAdress:/|endpointAdress'
  'cfg-string-bool|dapr/config.yaml|s/isSecure: false/isSecure: "false"/|$.spec.tracing.otel.isSecure'
  'cfg-old-metric|dapr/config.yaml|s/^  metrics:/  metric:/|metric'
)
declare -A negatives_of_schema=()
refused=0
for case in "${schema_cases[@]}"; do
  IFS='|' read -r id file script expect <<<"$case"
  mutate "$id" "$file" "$script"
  schema="$(schema_for_kind "$(sed -n -E 's/^kind:[[:space:]]*([A-Za-z]+).*/\1/p' "$file")")"
  negatives_of_schema[$schema]+="$tmp/$id/$file"$'\t'"$expect"$'\n'
done
for schema in "${!negatives_of_schema[@]}"; do
  mapfile -t cases < <(printf '%s' "${negatives_of_schema[$schema]}")
  files=()
  for c in "${cases[@]}"; do files+=("${c%%$'\t'*}"); done
  report="$tmp/report.json"
  "$CHECK_JSONSCHEMA" -o json --schemafile "$schema" "${files[@]}" >"$report" || true
  # Each copy must have a schema error (not a YAML parse error) that names
  # what was broken.
  printf '%s\n' "${cases[@]}" | "$PY" -c '
import json, sys
report = json.load(open(sys.argv[1]))
errors = {}
for e in report.get("errors", []):
    errors.setdefault(e["filename"], []).append(e["path"] + " " + e["message"])
failed = False
for line in sys.stdin.read().splitlines():
    path, expect = line.split("\t")
    found = errors.get(path, [])
    if not any(expect in text for text in found):
        failed = True
        what = "; ".join(found) or "accepted"
        print(f"check-dapr: {path} should be refused for {expect!r}, got: {what}", file=sys.stderr)
sys.exit(1 if failed else 0)
' "$report" || refused=1
done
if [ "$refused" != 0 ]; then exit 1; fi

# Reference cases: each copied set must fail scripts/check_dapr_refs.py.
refs_cases=(
  'ref-target|dapr/resiliency.yaml|s/^      cadence-pubsub:/      cadence-pubsb:/'
  'ref-policy|dapr/resiliency.yaml|s/retry: appDelivery$/retry: appDelivry/'
  'ref-pubsub|dapr/subscriptions/task-events.yaml|s/pubsubname: cadence-pubsub/pubsubname: cadence-pubsb/'
  'ref-store|dapr/components/pubsub.yaml|s/secretStore: kubernetes/secretStore: k8s/'
  'ref-scope|dapr/components/pubsub.yaml|/^  - cadence-worker$/d'
)
for case in "${refs_cases[@]}"; do
  IFS='|' read -r id file script <<<"$case"
  mutate "$id" "$file" "$script"
  if (cd "$tmp/$id" && "$PY" "$CADENCE_ROOT/scripts/check_dapr_refs.py" "${manifests[@]}" 2>/dev/null); then
    echo "check-dapr: the reference check accepted negative case $id ($file: $script)" >&2
    exit 1
  fi
done
log "dapr: ${#schema_cases[@]} broken copies refused by the schemas, ${#refs_cases[@]} by the reference check"

# --- 3. names that point at other manifests ---------------------------------
"$PY" scripts/check_dapr_refs.py "${manifests[@]}"

# --- 4. declarative subscriptions = the worker's programmatic list ----------
subscriptions=(dapr/subscriptions/*.y*ml)
if [ "${#subscriptions[@]}" -eq 0 ]; then
  echo "check-dapr: no Subscription files in dapr/subscriptions/ to compare with the worker's list" >&2
  exit 1
fi
"$PY" scripts/check_dapr_subscriptions.py --programmatic "$programmatic" --app-id cadence-worker "${subscriptions[@]}"

# The comparison must also see a difference when there is one.
subs_cases=(
  'subs-dlq|dapr/subscriptions/task-events.yaml|s/deadLetterTopic: task-events-dlq/deadLetterTopic: task-events-dead/'
  'subs-route|dapr/subscriptions/reminders.yaml|s#default: /dapr/topics/reminders#default: /dapr/topics/reminder#'
  'subs-scope|dapr/subscriptions/reminders.yaml|s/^  - cadence-worker$/  - cadence-web/'
  'subs-missing|dapr/subscriptions/reminders.yaml|s/^  topic: reminders$/  topic: task-events/'
)
for case in "${subs_cases[@]}"; do
  IFS='|' read -r id file script <<<"$case"
  mutate "$id" "$file" "$script"
  if (cd "$tmp/$id" && "$PY" "$CADENCE_ROOT/scripts/check_dapr_subscriptions.py" \
    --programmatic "$programmatic" --app-id cadence-worker "${subscriptions[@]}" >/dev/null 2>&1); then
    echo "check-dapr: the subscription comparison accepted negative case $id ($file: $script)" >&2
    exit 1
  fi
done
log "dapr: the comparison caught all ${#subs_cases[@]} altered subscriptions"
