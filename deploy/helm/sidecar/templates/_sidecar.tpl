{{/*
Lockstep agent sidecar. Every template takes the app chart's `lockstep` values block (keys: values.yaml of this
chart); lockstep-sidecar.copyMigrations also works on the same block. Usage in an app's Deployment:

  spec:
    template:
      spec:
        initContainers:
          {{- include "lockstep-sidecar.copyMigrations" .Values.lockstep | nindent 10 }}
        containers:
          - name: app
            readinessProbe:
              {{- include "lockstep-sidecar.readinessProbe" .Values.lockstep | nindent 14 }}
          {{- include "lockstep-sidecar.container" .Values.lockstep | nindent 10 }}
        volumes:
          {{- include "lockstep-sidecar.volumes" .Values.lockstep | nindent 10 }}

With `native: true` the agent goes in initContainers (after copyMigrations) instead of containers.
*/}}

{{/* The folder the migrations are copied to and the agent digests. */}}
{{- define "lockstep-sidecar.migrationsPath" -}}
/lockstep/migrations
{{- end }}

{{- define "lockstep-sidecar.securityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
{{- end }}

{{/* The readiness probe on the agent's GET /ready: for the agent container and for the app container alike. */}}
{{- define "lockstep-sidecar.readinessProbe" -}}
{{- $probe := .probe | default dict -}}
httpGet:
  path: /ready
  port: {{ .readinessPort | default 7071 }}
periodSeconds: {{ $probe.periodSeconds | default 1 }}
failureThreshold: {{ $probe.failureThreshold | default 1 }}
successThreshold: {{ $probe.successThreshold | default 1 }}
timeoutSeconds: {{ $probe.timeoutSeconds | default 1 }}
{{- end }}

{{/* The init container that copies the app image's migrations folder into the shared emptyDir (a list item). */}}
{{- define "lockstep-sidecar.copyMigrations" -}}
{{- $migrations := required "lockstep.migrations is required (image and path)" .migrations -}}
- name: lockstep-copy-migrations
  image: {{ required "lockstep.migrations.image is required: the app's own image" $migrations.image | quote }}
  command: ["sh", "-c", "cp -R \"$0\"/. {{ include "lockstep-sidecar.migrationsPath" . }}/"]
  args: [{{ required "lockstep.migrations.path is required" $migrations.path | quote }}]
  {{- with .resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  # Runs as the app image's user (which may be root); it only reads the image and writes the emptyDir.
  securityContext:
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    capabilities:
      drop: [ALL]
  volumeMounts:
    - name: lockstep-migrations
      mountPath: {{ include "lockstep-sidecar.migrationsPath" . }}
{{- end }}

{{/* The agent container (a list item). */}}
{{- define "lockstep-sidecar.container" -}}
- name: lockstep-agent
  image: {{ .image | default "lockstep-agent:0.1.0" | quote }}
  imagePullPolicy: {{ .imagePullPolicy | default "IfNotPresent" }}
  {{- if .native }}
  # A native sidecar: starts before the app container, stops after it; its readiness counts for the pod's.
  restartPolicy: Always
  {{- end }}
  env:
    - name: LOCKSTEP_COORDINATOR
      value: {{ required "lockstep.coordinator is required: the coordinators' URL" .coordinator | quote }}
    - name: LOCKSTEP_SERVICE
      value: {{ required "lockstep.service is required" .service | quote }}
    # The app's revision; the agent id defaults to the host name, which in a pod is the pod's name.
    - name: LOCKSTEP_REVISION
      value: {{ required "lockstep.revision is required: the app's revision, e.g. its image tag" .revision | quote }}
    - name: LOCKSTEP_AGENT_TOKEN
      valueFrom:
        secretKeyRef:
          name: {{ .tokenSecret.name | default "lockstep-agent-token" }}
          key: {{ .tokenSecret.key | default "token" }}
    - name: LOCKSTEP_READINESS_PORT
      value: {{ .readinessPort | default 7071 | quote }}
    - name: LOCKSTEP_MIGRATIONS
      value: {{ include "lockstep-sidecar.migrationsPath" . }}
  ports:
    - name: lockstep-ready
      containerPort: {{ .readinessPort | default 7071 }}
      protocol: TCP
  readinessProbe:
    {{- include "lockstep-sidecar.readinessProbe" . | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /live
      port: {{ .readinessPort | default 7071 }}
    periodSeconds: 10
    failureThreshold: 3
  {{- with .resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- include "lockstep-sidecar.securityContext" . | nindent 4 }}
  volumeMounts:
    - name: lockstep-migrations
      mountPath: {{ include "lockstep-sidecar.migrationsPath" . }}
      readOnly: true
    - name: lockstep-tmp
      mountPath: /tmp
{{- end }}

{{/* The pod volumes the two containers share (list items). */}}
{{- define "lockstep-sidecar.volumes" -}}
- name: lockstep-migrations
  emptyDir:
    sizeLimit: 64Mi
- name: lockstep-tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}
