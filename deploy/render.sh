#!/usr/bin/env bash
# Renders deploy/operator.yaml from the operator's Helm chart with default values.
set -euo pipefail
cd "$(dirname "$0")/.."
HELM=${HELM:-.tools/helm3}
{
	echo "# Rendered from helm/dhg-operator by deploy/render.sh; do not edit by hand."
	"$HELM" template dhg-operator helm/dhg-operator --namespace dhg-system \
		| grep -v '^# Source:' | sed -e '/helm.sh\/chart:/d' -e 's/app.kubernetes.io\/managed-by: Helm/app.kubernetes.io\/managed-by: kustomize/'
}
