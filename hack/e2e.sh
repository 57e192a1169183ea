#!/usr/bin/env bash
# End-to-end tests on a real cluster: brings up the single-node cluster of
# hack/cluster-up.sh (building what is missing; first run: many minutes),
# installs Tekton Pipelines, Knative Eventing and Tekton Triggers, our controller and receive adapter images and
# config/, and a CloudEvents receiver, runs `go test -tags e2e ./test/e2e/...`
# and tears the cluster down again.
#
# A local cluster that is already running (hack/demo.sh) is used and left
# running. With KUBECONFIG pointing at a reachable cluster, that cluster is
# used instead and left running (it must be able to run our images: the images
# are loaded into the local cluster's containerd, so in practice it is a
# cluster from hack/cluster-up.sh). TSS_KEEP_CLUSTER=1 keeps the cluster
# this script started. Extra arguments go to go test (e.g. -run Retries -v).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

start=${SECONDS}
if [[ -n "${KUBECONFIG:-}" ]] && [[ -x "${BIN_DIR}/kubectl" ]] && cluster_reachable "${KUBECONFIG}"; then
  log "using the cluster of KUBECONFIG=${KUBECONFIG}"
elif [[ -x "${BIN_DIR}/kubectl" ]] && cluster_reachable "${CLUSTER_KUBECONFIG}"; then
  log "using the running local cluster (left running)"
  export KUBECONFIG="${CLUSTER_KUBECONFIG}"
else
  hack/cluster-up.sh --eventing
  export KUBECONFIG="${CLUSTER_KUBECONFIG}"
  if [[ -z "${TSS_KEEP_CLUSTER:-}" ]]; then
    # A teardown that leaves something behind fails the run.
    trap 'rc=$?; hack/cluster-down.sh || rc=1; exit "${rc}"' EXIT
  fi
fi

if ! "${BIN_DIR}/kubectl" get crd taskruns.tekton.dev brokers.eventing.knative.dev eventlisteners.triggers.tekton.dev >/dev/null 2>&1; then
  # The local cluster, started without --eventing (or with --no-tekton):
  # install what is missing. Any other cluster must have Tekton Pipelines,
  # Knative Eventing and Tekton Triggers already.
  [[ "${KUBECONFIG}" == "${CLUSTER_KUBECONFIG}" ]] || die "Tekton Pipelines, Knative Eventing or Tekton Triggers is not installed in the cluster of KUBECONFIG"
  hack/cluster-up.sh --eventing
fi

deploy_project
deploy_receiver

log "go vet (e2e)"
go vet -tags e2e ./test/e2e/...
log "end-to-end tests"
E2E_STEP_IMAGE="${IMAGE_BUSYBOX}" E2E_RECEIVER_IMAGE="${IMAGE_RECEIVER}" go test -tags e2e -count=1 -p 1 -parallel 4 -timeout 30m "$@" ./test/e2e/...
log "end-to-end tests passed in $((SECONDS - start))s"
