{{/* Names, labels and the rendered Dapr resources shared by the templates. */}}

{{- define "cadence.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cadence.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* selectorLabels: pass (dict "root" $ "role" "web") */}}
{{- define "cadence.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "cadence.image" -}}
{{- printf "%s:%s" .Values.image.repository (required "image.tag is required (the git SHA of the image)" .Values.image.tag) -}}
{{- end -}}

{{/* The host of publicUrl, for the Ingress and the HTTPRoute. */}}
{{- define "cadence.host" -}}
{{- (urlParse (required "publicUrl is required" .Values.publicUrl)).host -}}
{{- end -}}

{{/*
cadence.daprFile: one file of files/dapr/ (a verbatim copy of dapr/, checked by
scripts/check-chart.sh) as a hook resource in the release namespace.
Pass (dict "root" $ "path" "components/pubsub.yaml").
Placeholders are replaced structurally (fromYaml), and a placeholder that is
no longer in the file fails the render rather than being silently skipped.
*/}}
{{- define "cadence.daprFile" -}}
{{- $root := .root -}}
{{- $raw := $root.Files.Get (printf "files/dapr/%s" .path) -}}
{{- if not $raw }}{{ fail (printf "files/dapr/%s is missing from the chart" .path) }}{{ end -}}
{{- $doc := fromYaml $raw -}}
{{- if hasKey $doc "Error" }}{{ fail (printf "files/dapr/%s: %s" .path $doc.Error) }}{{ end -}}
{{- $v := $root.Values.dapr -}}
{{- if eq .path "components/pubsub.yaml" -}}
  {{- $seen := dict -}}
  {{- range $doc.spec.metadata -}}
    {{- if eq .name "brokers" }}{{ $_ := set . "value" $v.kafka.brokers }}{{ $_ := set $seen "brokers" true }}{{ end -}}
    {{- if eq .name "consumerGroup" }}{{ $_ := set . "value" $v.kafka.consumerGroup }}{{ $_ := set $seen "consumerGroup" true }}{{ end -}}
    {{- if hasKey . "secretKeyRef" }}{{ $_ := set .secretKeyRef "name" $v.kafka.secretName }}{{ $_ := set $seen "secret" true }}{{ end -}}
  {{- end -}}
  {{- range list "brokers" "consumerGroup" "secret" -}}
    {{- if not (hasKey $seen .) }}{{ fail (printf "files/dapr/components/pubsub.yaml no longer has the %s placeholder: update templates/_helpers.tpl" .) }}{{ end -}}
  {{- end -}}
{{- end -}}
{{- if eq .path "config.yaml" -}}
  {{- if not (and $doc.spec.tracing $doc.spec.tracing.otel) }}{{ fail "files/dapr/config.yaml no longer has spec.tracing.otel: update templates/_helpers.tpl" }}{{ end -}}
  {{- $_ := set $doc.spec.tracing.otel "endpointAddress" $v.otel.endpointAddress -}}
  {{- $_ := set $doc.spec.tracing.otel "isSecure" $v.otel.isSecure -}}
  {{- /* With the app tracing, the sidecars sample at the same ratio. */ -}}
  {{- if $root.Values.tracing.otlpEndpoint -}}
  {{- $_ := set $doc.spec.tracing "samplingRate" (include "cadence.sampleRatio" $root) -}}
  {{- end -}}
{{- end -}}
{{- $_ := set $doc.metadata "namespace" $root.Release.Namespace -}}
{{- $_ := set $doc.metadata "labels" (include "cadence.labels" $root | fromYaml) -}}
{{- /* Hooks so the resources exist before the migration Job (weight 0) and
       the pods; before-hook-creation replaces them on every upgrade. */ -}}
{{- $_ := set $doc.metadata "annotations" (dict "helm.sh/hook" "pre-install,pre-upgrade" "helm.sh/hook-weight" "-10" "helm.sh/hook-delete-policy" "before-hook-creation") -}}
{{- toYaml $doc -}}
{{- end -}}

{{/* Every Dapr resource the chart renders, as one multi-document string. */}}
{{- define "cadence.daprResources" -}}
{{- $files := list -}}
{{- range $path, $_ := .Files.Glob "files/dapr/components/*.yaml" }}{{ $files = append $files (trimPrefix "files/dapr/" $path) }}{{ end -}}
{{- $files = concat $files (list "resiliency.yaml" "config.yaml") -}}
{{- if .Values.dapr.declarativeSubscriptions -}}
{{- range $path, $_ := .Files.Glob "files/dapr/subscriptions/*.yaml" }}{{ $files = append $files (trimPrefix "files/dapr/" $path) }}{{ end -}}
{{- end -}}
{{- range $files }}
---
# Source: files/dapr/{{ . }} (a copy of dapr/{{ . }})
{{ include "cadence.daprFile" (dict "root" $ "path" .) }}
{{- end }}
{{- end -}}

{{/* tracing.sampleRatio as a plain decimal ("0.1", "1", never "1e-05"), for
     OTEL_TRACES_SAMPLER_ARG and Dapr's samplingRate. */}}
{{- define "cadence.sampleRatio" -}}
{{- regexReplaceAll "\\.?0+$" (printf "%.6f" (float64 .Values.tracing.sampleRatio)) "" -}}
{{- end -}}

{{/* The port of tracing.otlpEndpoint (443 or 80 when the URL has none), for
     the NetworkPolicy's egress. */}}
{{- define "cadence.otlpPort" -}}
{{- $u := urlParse .Values.tracing.otlpEndpoint -}}
{{- $hostPort := splitList ":" $u.host -}}
{{- if gt (len $hostPort) 1 }}{{ last $hostPort }}{{ else if eq $u.scheme "https" }}443{{ else }}80{{ end -}}
{{- end -}}
