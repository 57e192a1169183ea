#!/usr/bin/env bash
# The envtest-based local control plane (no kubelet, no pods): builds what is needed (first run: several
# minutes), starts a real local kube-apiserver with every CRD installed and
# prints how to use it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

log "building the local control plane binaries (cached in .cache/bin; the first build takes ~10 minutes)"
hack/build-control-plane.sh >/dev/null
exec go run ./test/cmd/local-control-plane "$@"
