#!/usr/bin/env bash
# Regenerates the Kubernetes JSON schemas in this folder (run by hand; the tests only read the output).
#
# Where they come from: the npm packages kubernetes-models 5.1.0 and @kubernetes-models/prometheus-operator 6.0.0
# (tommy351/kubernetes-models-ts) are TypeScript declarations generated from the Kubernetes OpenAPI specification
# (kubernetes-models' changelog: "Update to Kubernetes v1.36.0" in 5.0.0) and from the prometheus-operator's CRDs.
# ts-json-schema-generator 2.9.0 turns those declarations into draft-07 JSON schemas, strict: every object has
# "additionalProperties": false, so a misspelt field fails validation as `kubeconform -strict` would.
# Nothing here needs a cluster or any network besides the npm registry.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent kubernetes-models@5.1.0 @kubernetes-models/prometheus-operator@6.0.0 \
  ts-json-schema-generator@2.9.0 >/dev/null
cat > tsconfig.json <<'JSON'
{"compilerOptions": {"module": "nodenext", "moduleResolution": "nodenext", "strict": true, "skipLibCheck": true,
  "target": "es2022"}, "files": ["kinds.ts"]}
JSON
cat > kinds.ts <<'TS'
export type { IDeployment as Deployment } from "kubernetes-models/apps/v1/Deployment";
export type { IDeploymentStrategy as DeploymentStrategy } from "kubernetes-models/apps/v1/DeploymentStrategy";
export type { IService as Service } from "kubernetes-models/v1/Service";
export type { IConfigMap as ConfigMap } from "kubernetes-models/v1/ConfigMap";
export type { IContainer as Container } from "kubernetes-models/v1/Container";
export type { IProbe as Probe } from "kubernetes-models/v1/Probe";
export type { IEnvVar as EnvVar } from "kubernetes-models/v1/EnvVar";
export type { IVolume as Volume } from "kubernetes-models/v1/Volume";
export type { IVolumeMount as VolumeMount } from "kubernetes-models/v1/VolumeMount";
export type { IPodDisruptionBudget as PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
export type { IServiceMonitor as ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
TS
for kind in Deployment DeploymentStrategy Service ConfigMap Container Probe EnvVar Volume VolumeMount \
    PodDisruptionBudget ServiceMonitor; do
  npx ts-json-schema-generator --path kinds.ts --tsconfig tsconfig.json --type "$kind" --no-type-check \
    -o "$out/$kind.json"
done
echo "wrote $(ls "$out"/*.json | wc -l) schemas to $out"
