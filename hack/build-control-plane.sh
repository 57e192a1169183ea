#!/usr/bin/env bash
# Builds kube-apiserver and etcd from their Go modules into .cache/bin (skipped
# when already built) and prints the folder, which is what envtest's
# KUBEBUILDER_ASSETS expects. Needs only Go and the Go module proxy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_go_tool "${REPO_ROOT}/hack/tools/etcd" go.etcd.io/etcd/server/v3 "${BIN_DIR}/etcd"
build_go_tool "${REPO_ROOT}/hack/tools/kube" k8s.io/kubernetes/cmd/kube-apiserver \
  "${BIN_DIR}/kube-apiserver" "$(kube_version_ldflags)"
echo "${BIN_DIR}"
