#!/usr/bin/env bash
# The README's first command: a real single-node Kubernetes cluster on this
# machine (hack/cluster-up.sh: no Docker; the first run compiles Kubernetes
# and Tekton, 10-20 minutes on 2 cores, later runs take seconds) with Tekton
# Pipelines, our controller and a CloudEvents receiver; then it runs a
# pipeline in which a step fails and others are skipped and prints the step
# events as the receiver gets them. The cluster keeps running afterwards:
# hack/cluster-down.sh removes it.
#
# --eventing: the cluster also runs Knative Eventing and Tekton Triggers
# (hack/cluster-up.sh --eventing); the step events also go to a Broker, a
# Trigger routes the failed ones to a second receiver, and an EventListener
# starts a follow-up TaskRun for each failed step.
#
# With KUBECONFIG pointing at a reachable cluster from hack/cluster-up.sh,
# that cluster is used. hack/local-control-plane.sh is the lighter
# envtest-style control plane (an apiserver with every CRD, no pods).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

bold() { printf '\033[1m%s\033[0m\n' "$*"; }

with_eventing=false
for arg in "$@"; do
  case "${arg}" in
    --eventing) with_eventing=true ;;
    *) die "unknown option ${arg}" ;;
  esac
done
up_args=()
! ${with_eventing} || up_args+=(--eventing)

if [[ -n "${KUBECONFIG:-}" ]] && [[ -x "${BIN_DIR}/kubectl" ]] && cluster_reachable "${KUBECONFIG}"; then
  log "using the cluster of KUBECONFIG=${KUBECONFIG}"
else
  [[ "$(uname -s)" == Linux && "$(id -u)" == 0 ]] \
    || die "the demo cluster needs Linux and root; without them, hack/local-control-plane.sh starts an apiserver with our CRDs"
  hack/cluster-up.sh "${up_args[@]}"
  export KUBECONFIG="${CLUSTER_KUBECONFIG}"
fi
kubectl() { "${BIN_DIR}/kubectl" "$@"; }

deploy_project
deploy_receiver

log "creating namespace demo: a TektonStepSource and the pipeline shop (test/e2e/testdata/demo.yaml)"
"${BIN_DIR}/tss-cluster" apply -kubeconfig "${KUBECONFIG}" -f test/e2e/testdata/demo.yaml >/dev/null
kubectl -n demo wait --for=condition=Ready tektonstepsource/demo-steps --timeout=3m >/dev/null \
  || die "the TektonStepSource did not become Ready: kubectl -n demo describe tektonstepsource demo-steps"
if ${with_eventing}; then
  [[ "${KUBECONFIG}" != "${CLUSTER_KUBECONFIG}" ]] || hack/cluster-up.sh --eventing
  log "adding a Broker, a Trigger for failed steps and its receiver (test/e2e/testdata/demo-eventing.yaml), and the EventListener recipe"
  "${BIN_DIR}/tss-cluster" apply -kubeconfig "${KUBECONFIG}" -f test/e2e/testdata/demo-eventing.yaml \
    -replace "image: receiver=image: ${IMAGE_RECEIVER}" >/dev/null
  "${BIN_DIR}/tss-cluster" apply -kubeconfig "${KUBECONFIG}" -namespace demo \
    -f config/samples/recipes/eventlistener-step-failed.yaml -replace "namespace: default=namespace: demo" \
    -replace "step-failure-listener-default=step-failure-listener-demo" -replace "image: busybox=image: ${IMAGE_BUSYBOX}" >/dev/null
  for s in demo-to-broker step-failures-to-listener; do
    kubectl -n demo wait --for=condition=Ready "tektonstepsource/${s}" --timeout=3m >/dev/null \
      || die "the TektonStepSource ${s} did not become Ready: kubectl -n demo describe tektonstepsource ${s}"
  done
  kubectl -n demo wait --for=condition=Ready trigger/failed-steps --timeout=3m >/dev/null \
    || die "the Trigger did not become Ready: kubectl -n demo describe trigger failed-steps"
fi

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

if ${with_eventing}; then
  echo
  bold "Failed steps only, as the Broker's Trigger failed-steps routed them to demo/failed-steps:"
  "${BIN_DIR}/tss-cluster" events -kubeconfig "${KUBECONFIG}" -namespace demo -selector app=failed-steps \
    -pipelinerun "demo/${run}" -idle 10s || true
  echo
  bold "Follow-up TaskRuns the EventListener step-failures started, one per failed step:"
  sleep 10
  kubectl -n demo get taskruns -l app.kubernetes.io/part-of=step-failure-listener
fi

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
$(! ${with_eventing} || printf '%s\n' \
'  kubectl -n demo get brokers,triggers,eventlisteners   # --eventing: the real Knative Eventing and Tekton Triggers path' \
'  kubectl -n demo logs deploy/failed-steps     # what the Trigger routed: failed steps only')
  kubectl -n demo create -f - <<<'{"apiVersion":"tekton.dev/v1","kind":"PipelineRun","metadata":{"generateName":"shop-"},"spec":{"pipelineRef":{"name":"shop"}}}'
  ${BIN_DIR}/tss-cluster events -kubeconfig \$KUBECONFIG -only-namespace demo   # follow the events (Ctrl-C stops)
  hack/build-kn-plugin.sh                      # the kn plugin, into ${BIN_DIR}; then, with the events followed:
  kn-source-tektonstep replay demo-steps -n demo --since 1h --name last-hour --wait   # the same ids again, marked (replay last-hour)
                                               # run again it sends nothing (the same replay): give another --name to send again

  hack/cluster-down.sh                         # stop everything and clean up
EOF
