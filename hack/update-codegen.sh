#!/usr/bin/env bash
# Regenerates everything derived from the API types: deepcopy, clientset,
# listers, informers, Knative injection (with the genreconciler) and the CRD's
# OpenAPI schema. Works offline: every generator is pinned in go.mod
# (hack/tools.go) and run from the module cache. knative.dev/hack's
# codegen-library.sh is not used because it fetches tools @latest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

MODULE="$(go list -m)"
BOILERPLATE="${REPO_ROOT}/hack/boilerplate/boilerplate.go.txt"
CODEGEN_PKG="$(module_dir k8s.io/code-generator)"
KNATIVE_CODEGEN_PKG="$(module_dir knative.dev/pkg)"
# kube_codegen.sh `go install`s its generators into GOBIN; keep them in our
# cache instead of the user's GOPATH.
export GOBIN="${CACHE_DIR}/codegen-bin"
mkdir -p "${GOBIN}"

source "${CODEGEN_PKG}/kube_codegen.sh"

log "Kubernetes codegen (deepcopy, clientset, listers, informers)"
kube::codegen::gen_helpers --boilerplate "${BOILERPLATE}" "${REPO_ROOT}/pkg/apis"
kube::codegen::gen_client \
  --boilerplate "${BOILERPLATE}" \
  --output-dir "${REPO_ROOT}/pkg/client" \
  --output-pkg "${MODULE}/pkg/client" \
  --with-watch \
  "${REPO_ROOT}/pkg/apis"

log "Knative injection (clients, informers, reconcilers)"
# The script is not executable in the read-only module cache, so run it through bash.
bash "${KNATIVE_CODEGEN_PKG}/hack/generate-knative.sh" injection \
  "${MODULE}/pkg/client" "${MODULE}/pkg/apis" \
  "sources:v1alpha1" \
  --go-header-file "${BOILERPLATE}"

log "CRD schema from the Go types"
"${REPO_ROOT}/hack/update-schema.sh"

log "go mod tidy"
GOFLAGS=-mod=mod go mod tidy
