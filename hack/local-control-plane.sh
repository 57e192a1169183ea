#!/usr/bin/env bash
# The envtest-style local control plane (no kubelet, no pods): builds what is
# needed (first run: several minutes), starts a real local kube-apiserver
# with every CRD and our config/ installed, runs the real controller in
# process (-controller=false: not) and prints how to use it. Adapter
# Deployments are marked available by that process, since no kubelet runs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

log "building the local control plane binaries (cached in .cache/bin; the first build takes ~10 minutes)"
hack/build-control-plane.sh >/dev/null
build_go_tool "${REPO_ROOT}/hack/tools/kube" k8s.io/kubernetes/cmd/kubectl "${BIN_DIR}/kubectl" "$(kube_version_ldflags)"
exec go run ./test/cmd/local-control-plane "$@"
