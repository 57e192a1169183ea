#!/usr/bin/env bash
# The README's first command: a real single-node Kubernetes cluster on this
# machine (hack/cluster-up.sh: no Docker; the first run compiles Kubernetes
# and Tekton, 10-20 minutes on 2 cores, later runs take seconds) with Tekton
# Pipelines, our controller and a CloudEvents receiver; then it runs a
# pipeline in which a step fails and others are skipped and prints the step
# events as the receiver gets them. The cluster keeps running afterwards:
# hack/cluster-down.sh removes it.
#
# With KUBECONFIG pointing at a reachable cluster from hack/cluster-up.sh,
# that cluster is used. hack/local-control-plane.sh is the lighter
# envtest-style control plane (an apiserver with every CRD, no pods).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

bold() { printf '\033[1m%s\033[0m\n' "$*"; }

if [[ -n "${KUBECONFIG:-}" ]] && [[ -x "${BIN_DIR}/kubectl" ]] && cluster_reachable "${KUBECONFIG}"; then
  log "using the cluster of KUBECONFIG=${KUBECONFIG}"
else
  [[ "$(uname -s)" == Linux && "$(id -u)" == 0 ]] \
    || die "the demo cluster needs Linux and root; without them, hack/local-control-plane.sh starts an apiserver with our CRDs"
  hack/cluster-up.sh
  export KUBECONFIG="${CLUSTER_KUBECONFIG}"
fi
kubectl() { "${BIN_DIR}/kubectl" "$@"; }

deploy_project
deploy_receiver

log "creating namespace demo: a TektonStepSource and the pipeline shop (test/e2e/testdata/demo.yaml)"
"${BIN_DIR}/tss-cluster" apply -kubeconfig "${KUBECONFIG}" -f test/e2e/testdata/demo.yaml >/dev/null
kubectl -n demo wait --for=condition=Ready tektonstepsource/demo-steps --timeout=3m >/dev/null \
  || die "the TektonStepSource did not become Ready: kubectl -n demo describe tektonstepsource demo-steps"

run="shop-$(date +%H%M%S)"
echo
bold "PipelineRun demo/${run}: build (checkout, compile, sign: skipped by its when) → test (lint: fails, continues; unit-tests: fails; coverage, publish-report: skipped)"
bold "Step events, as the receiver (default/event-display) gets them:"
"${BIN_DIR}/tss-cluster" events -kubeconfig "${KUBECONFIG}" -pipelinerun "demo/${run}" -idle 5s &
printer=$!
trap 'kill ${printer} 2>/dev/null || true' EXIT
kubectl create -f - >/dev/null <<EOF
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: ${run}
  namespace: demo
spec:
  pipelineRef:
    name: shop
EOF
wait "${printer}" || true
trap - EXIT

echo
kubectl -n demo get pipelinerun "${run}"
cat <<EOF

$(bold "The cluster keeps running. Try:")
  export KUBECONFIG=${KUBECONFIG}
  export PATH=${BIN_DIR}:\$PATH   # kubectl ${KUBE_VERSION}, built with the cluster
  kubectl get tektonstepsources -A             # also: kubectl get sources
  kubectl -n demo describe tektonstepsource demo-steps
  kubectl -n demo get taskruns,pods
  kubectl -n demo logs ${run}-test-pod -c step-unit-tests
  kubectl get deployments -A                   # Tekton, our controller, the source's receive adapter
  kubectl logs deploy/event-display            # every event, one JSON line each
  kubectl -n demo create -f - <<<'{"apiVersion":"tekton.dev/v1","kind":"PipelineRun","metadata":{"generateName":"shop-"},"spec":{"pipelineRef":{"name":"shop"}}}'
  ${BIN_DIR}/tss-cluster events -kubeconfig \$KUBECONFIG -only-namespace demo   # follow the events (Ctrl-C stops)
  hack/build-kn-plugin.sh                      # the kn plugin, into ${BIN_DIR}; then, with the events followed:
  kn-source-tektonstep replay demo-steps -n demo --since 1h --name last-hour --wait   # the same ids again, marked (replay last-hour)

  hack/cluster-down.sh                         # stop everything and clean up
EOF
