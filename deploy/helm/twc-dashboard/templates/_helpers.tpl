{{/* Names: <release>-twc-dashboard, or the release name when it already holds the chart's. */}}
{{- define "twc.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's name: (list $ "collector"). */}}
{{- define "twc.component" -}}
{{- printf "%s-%s" (include "twc.fullname" (index . 0)) (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "twc.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
{{ include "twc.selectorLabels" . }}
{{- end -}}

{{- define "twc.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ default $root.Chart.Name $root.Values.nameOverride }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "twc.secretName" -}}
{{- default (include "twc.fullname" .) .Values.existingSecret -}}
{{- end -}}

{{- define "twc.tokensSecretName" -}}
{{- default (include "twc.component" (list . "influxdb-tokens")) .Values.influxdbTokens.existingSecret -}}
{{- end -}}

{{- define "twc.influxdbUrl" -}}
{{- if .Values.influxdb.enabled -}}
{{- printf "http://%s:8086" (include "twc.component" (list . "influxdb")) -}}
{{- else -}}
{{- required "externalInfluxdb.url is required when influxdb.enabled is false" .Values.externalInfluxdb.url -}}
{{- end -}}
{{- end -}}

{{- define "twc.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s:6379" (include "twc.component" (list . "redis")) -}}
{{- else -}}
{{- required "externalRedis.url is required when redis.enabled is false" .Values.externalRedis.url -}}
{{- end -}}
{{- end -}}

{{- define "twc.mqttUrl" -}}
{{- if .Values.settings.MQTT_URL -}}
{{- .Values.settings.MQTT_URL -}}
{{- else if .Values.mosquitto.enabled -}}
{{- printf "mqtt://%s:1883" (include "twc.component" (list . "mosquitto")) -}}
{{- else -}}
{{- .Values.externalMqtt.url -}}
{{- end -}}
{{- end -}}

{{- define "twc.image" -}}
{{- $root := index . 0 -}}
{{- $image := index $root.Values.image (index . 1) -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{/*
The keys of the chart's Secret: the generated ones (length as setup.sh makes
them) and the optional ones.
*/}}
{{- define "twc.generatedSecrets" -}}
INFLUXDB_ADMIN_PASSWORD: 32
INFLUXDB_ADMIN_TOKEN: 48
GRAFANA_ADMIN_PASSWORD: 24
JWT_SECRET: 48
API_KEYS: 40
MQTT_PASSWORD: 32
{{- end -}}

{{/*
Container env from the settings, by .env name: (list $ (list "NAME" ...)).
A name that is a key of `secrets` is read from the chart's Secret (absent
keys stay unset); the others take their `settings` value, empty when unset,
which the services treat as "use the default", as docker-compose.yml passes them.
*/}}
{{- define "twc.settingsEnv" -}}
{{- $root := index . 0 -}}
{{- range $name := index . 1 }}
{{- if hasKey $root.Values.secrets $name }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "twc.secretName" $root }}
      key: {{ $name }}
      optional: true
{{- else }}
- name: {{ $name }}
  value: {{ index $root.Values.settings $name | default "" | toString | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* INFLUXDB_* shared by every service (x-influx-env in docker-compose.yml). */}}
{{- define "twc.influxEnv" -}}
- name: INFLUXDB_URL
  value: {{ include "twc.influxdbUrl" . | quote }}
{{- include "twc.settingsEnv" (list . (list "INFLUXDB_ORG" "INFLUXDB_BUCKET_RAW" "INFLUXDB_BUCKET_SESSIONS" "INFLUXDB_BUCKET_PRICES")) }}
{{- end -}}

{{/* REDIS_* shared by the Node services (x-redis-env in docker-compose.yml). */}}
{{- define "twc.redisEnv" -}}
- name: REDIS_URL
  value: {{ include "twc.redisUrl" . | quote }}
{{- include "twc.settingsEnv" (list . (list "REDIS_KEY_PREFIX")) }}
{{- end -}}

{{/* The tokens Secret as files, like the influxdb-tokens volume of docker-compose.yml. */}}
{{- define "twc.tokensVolume" -}}
- name: influxdb-tokens
  secret:
    secretName: {{ include "twc.tokensSecretName" . }}
{{- end -}}

{{- define "twc.pvcSpec" -}}
accessModes: {{ toJson .accessModes }}
{{- if .storageClass }}
storageClassName: {{ .storageClass | quote }}
{{- end }}
resources:
  requests:
    storage: {{ .size }}
{{- end -}}

{{- define "twc.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations: {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "twc.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Runs `node -e` with a fetch of a loopback health endpoint, as the compose healthchecks do. */}}
{{- define "twc.nodeHealthProbe" -}}
exec:
  command:
    - node
    - -e
    - {{ printf "fetch('http://127.0.0.1:%v%s').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" (index . 0) (index . 1) | quote }}
{{- end -}}
