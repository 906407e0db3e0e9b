{{/* The chart's name, or nameOverride. */}}
{{- define "lockstep.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object names: the release name, or release-chart when the release name does not contain the chart's. */}}
{{- define "lockstep.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "lockstep.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lockstep.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: coordinator
{{- end }}

{{- define "lockstep.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "lockstep.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
lockstep.dev/service: {{ .Values.service | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Refuses values that would start a coordinator that exits at once (exit 2), with the reason. */}}
{{- define "lockstep.checkValues" -}}
{{- if not (has .Values.engine.name (list "flyway" "alembic")) }}
{{- fail (printf "engine.name is %q: it must be flyway or alembic" .Values.engine.name) }}
{{- end }}
{{- if and (eq .Values.engine.name "alembic") (not .Values.engine.alembicConfig) }}
{{- fail "engine.name is alembic: set engine.alembicConfig to the project's alembic.ini inside the image" }}
{{- end }}
{{- if and (eq .Values.engine.name "flyway") .Values.engine.alembicConfig }}
{{- fail "engine.alembicConfig is set, but engine.name is flyway: set engine.name to alembic" }}
{{- end }}
{{- if and (eq .Values.engine.name "alembic") .Values.migrations.enabled }}
{{- fail "migrations.enabled is Flyway's folder; with engine.name alembic the default set is the versions folder of engine.alembicConfig's project: set migrations.enabled to false" }}
{{- end }}
{{- if not .Values.service }}
{{- fail "service is empty: set it to the name the agents report with LOCKSTEP_SERVICE" }}
{{- end }}
{{- if not (has .Values.podAntiAffinity (list "soft" "hard")) }}
{{- fail (printf "podAntiAffinity is %q: it must be soft or hard" .Values.podAntiAffinity) }}
{{- end }}
{{- end }}
