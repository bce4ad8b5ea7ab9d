#!/usr/bin/env bash
# `make demo`: the main job. Generates a chart from examples/shop with the dhg engine and shows
# it: the file tree, Chart.yaml, values.yaml and what `helm template` renders.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${DHG_BUILD:-$ROOT/build}
HELM=$ROOT/.tools/helm3
OUT=$(mktemp -d "${TMPDIR:-/tmp}/dhg-demo.XXXXXX")
trap 'rm -rf "$OUT"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "dhg generate -f examples/shop -o $OUT/shop --chart-name shop"
"$BUILD/dhg" generate -f examples/shop -o "$OUT/shop" --chart-name shop --chart-version 0.1.0

step "the chart's files"
(cd "$OUT" && find shop -type f | sort)

step "Chart.yaml"
cat "$OUT/shop/Chart.yaml"

step "values.yaml (first 60 lines)"
head -n 60 "$OUT/shop/values.yaml"

step "helm lint --strict"
"$HELM" lint --strict "$OUT/shop"

step "helm template shop --namespace shop --set web.deployment.replicas=4 (Deployments only)"
"$HELM" template shop "$OUT/shop" --namespace shop --set secrets.apiDb.DATABASE_URL=x --set secrets.apiDb.STRIPE_KEY=y 2>/dev/null \
	| awk '/^# Source:/{show = ($0 ~ /deployment/)} show' | head -n 80 || true

step "done: the chart was generated in a temporary directory and removed"
