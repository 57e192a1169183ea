#!/usr/bin/env bash
# Brings up a real single-node Kubernetes cluster on this machine, without
# Docker: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# containerd (Debian's, with runc and the CNI plugins) and a kubelet, plus
# Tekton Pipelines' controller running as a pod. Builds what is missing
# first (the first run compiles Kubernetes and Tekton: several minutes on 2
# cores) and installs the Debian packages it needs. Idempotent: a second run
# starts only what is not running. Needs root on Linux.
#
# State (etcd data, containerd root and state, runc root, kubelet root,
# pod logs, CNI state, certificates, logs) lives in .cache/cluster; the
# kubeconfig is .cache/cluster/kubeconfig. hack/cluster-down.sh undoes it all.
# The paths and the process helpers are in hack/lib.sh, the configuration
# files it writes are rendered from the templates in hack/cluster/.
#
# Options: --no-tekton  only the cluster.
#          --eventing   also Knative Eventing (controller, webhook, the
#                       in-memory channel, the multi-tenant channel-based
#                       broker) and Tekton Triggers (controller, webhook, core
#                       interceptors, the EventListener sink image), built
#                       from the modules go.mod pins (hack/tools/eventing,
#                       hack/tools/triggers).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

with_tekton=true with_eventing=false
for arg in "$@"; do
  case "${arg}" in
    --no-tekton) with_tekton=false ;;
    --eventing) with_eventing=true ;;
    *) die "unknown option ${arg}" ;;
  esac
done

[[ "$(uname -s)" == Linux ]] || die "the local cluster needs Linux"
[[ "$(id -u)" == 0 ]] || die "the local cluster needs root (containerd, kubelet, network namespaces)"

start=${SECONDS}
mkdir -p "${CLUSTER_RUN_DIR}" "${CLUSTER_LOG_DIR}"
(( ${#CLUSTER_CONTAINERD_SOCK} < 100 )) || die "the state folder path is too long for a unix socket: set TSS_CACHE_DIR to a shorter folder"

# Paths some tools write outside the state folder whatever their
# configuration; remember which existed before, so teardown removes only
# what the cluster created.
if [[ ! -f "${CLUSTER_PREEXISTING}" ]]; then
  for p in "${CLUSTER_HOST_PATHS[@]}"; do
    [[ ! -e "${p}" ]] || echo "${p}"
  done >"${CLUSTER_PREEXISTING}"
fi

[[ -f "${CLUSTER_NETNS_BEFORE}" ]] || ls /run/netns >"${CLUSTER_NETNS_BEFORE}" 2>/dev/null || true

# The kubelet sets the kernel tunables it expects (setupKernelTunables:
# vm.overcommit_memory, vm.panic_on_oom, kernel.panic, kernel.panic_on_oops,
# kernel.keys.root_maxkeys and root_maxbytes); teardown puts the host's
# values back. Likewise it creates kubepods cgroups: teardown removes only
# those that were not there before.
if [[ ! -f "${CLUSTER_SYSCTL_BEFORE}" ]]; then
  for t in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops \
      kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
    [[ ! -r "/proc/sys/${t}" ]] || echo "${t} $(cat "/proc/sys/${t}")"
  done >"${CLUSTER_SYSCTL_BEFORE}"
fi
[[ -f "${CLUSTER_KUBEPODS_BEFORE}" ]] || cluster_kubepods_cgroups >"${CLUSTER_KUBEPODS_BEFORE}"

# --- packages ---------------------------------------------------------------
missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
command -v busybox >/dev/null || missing+=(busybox-static)
command -v ip >/dev/null || missing+=(iproute2)
if (( ${#missing[@]} )); then
  log "installing Debian packages: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"${CLUSTER_LOG_DIR}/apt.log" 2>&1; then
    apt-get update >>"${CLUSTER_LOG_DIR}/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"${CLUSTER_LOG_DIR}/apt.log" 2>&1 \
      || die "apt-get install failed; see ${CLUSTER_LOG_DIR}/apt.log"
  fi
fi

# --- binaries and images ----------------------------------------------------
with_progress "building Kubernetes ${KUBE_VERSION}, etcd ${ETCD_VERSION} and Tekton ${TEKTON_VERSION} (cached in ${BIN_DIR}; the first build takes 10-20 minutes on 2 cores)" \
  build_cluster_binaries
build_cluster_images
if ${with_eventing}; then
  with_progress "building Knative Eventing ${EVENTING_VERSION} and Tekton Triggers ${TRIGGERS_VERSION} (cached in ${CACHE_DIR}; the first build takes several minutes)" \
    build_eventing
fi

# --- network ----------------------------------------------------------------
if ! ip link show "${CLUSTER_BRIDGE}" >/dev/null 2>&1; then
  log "creating bridge ${CLUSTER_BRIDGE} (${CLUSTER_IP}, ${CLUSTER_SUBNET})"
  ip link add "${CLUSTER_BRIDGE}" type bridge
fi
ip addr show dev "${CLUSTER_BRIDGE}" | grep -qF " ${CLUSTER_IP}/" \
  || ip addr add "${CLUSTER_IP}/${CLUSTER_SUBNET#*/}" dev "${CLUSTER_BRIDGE}"
ip link set "${CLUSTER_BRIDGE}" up

# --- certificates -----------------------------------------------------------
"${BIN_DIR}/tss-cluster" pki -dir "${CLUSTER_PKI_DIR}" -ip "${CLUSTER_IP}" -port 443 -node "${CLUSTER_NODE}"
cp "${CLUSTER_PKI_DIR}/admin.kubeconfig" "${CLUSTER_KUBECONFIG}"

# --- control plane ----------------------------------------------------------
cluster_launch etcd "${BIN_DIR}/etcd" --name tss --data-dir "${CLUSTER_ETCD_DIR}" \
  --listen-client-urls "http://127.0.0.1:${CLUSTER_ETCD_PORT}" \
  --advertise-client-urls "http://127.0.0.1:${CLUSTER_ETCD_PORT}" \
  --listen-peer-urls "http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
  --initial-advertise-peer-urls "http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
  --initial-cluster "tss=http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
  --unsafe-no-fsync --log-level warn
cluster_wait_for etcd 30 "${BIN_DIR}/kubectl" --request-timeout=2s get --raw /health -s "http://127.0.0.1:${CLUSTER_ETCD_PORT}"

cluster_launch kube-apiserver "${BIN_DIR}/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:${CLUSTER_ETCD_PORT}" \
  --bind-address "${CLUSTER_IP}" --advertise-address "${CLUSTER_IP}" --secure-port 443 \
  --service-cluster-ip-range "${CLUSTER_SERVICE_CIDR}" \
  --client-ca-file "${CLUSTER_PKI_DIR}/ca.crt" \
  --tls-cert-file "${CLUSTER_PKI_DIR}/apiserver.crt" --tls-private-key-file "${CLUSTER_PKI_DIR}/apiserver.key" \
  --kubelet-client-certificate "${CLUSTER_PKI_DIR}/apiserver-kubelet-client.crt" \
  --kubelet-client-key "${CLUSTER_PKI_DIR}/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "${CLUSTER_PKI_DIR}/ca.crt" \
  --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "${CLUSTER_PKI_DIR}/sa.pub" \
  --service-account-signing-key-file "${CLUSTER_PKI_DIR}/sa.key" \
  --authorization-mode Node,RBAC --allow-privileged=true --profiling=false \
  --enable-priority-and-fairness=false
cluster_wait_for kube-apiserver 120 "${BIN_DIR}/kubectl" --kubeconfig "${CLUSTER_KUBECONFIG}" --request-timeout=2s get --raw /readyz

cluster_launch kube-controller-manager "${BIN_DIR}/kube-controller-manager" \
  --kubeconfig "${CLUSTER_PKI_DIR}/controller-manager.kubeconfig" \
  --authentication-kubeconfig "${CLUSTER_PKI_DIR}/controller-manager.kubeconfig" \
  --authorization-kubeconfig "${CLUSTER_PKI_DIR}/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file "${CLUSTER_PKI_DIR}/sa.key" --root-ca-file "${CLUSTER_PKI_DIR}/ca.crt" \
  --cluster-signing-cert-file "${CLUSTER_PKI_DIR}/ca.crt" --cluster-signing-key-file "${CLUSTER_PKI_DIR}/ca.key" \
  --allocate-node-cidrs=false --configure-cloud-routes=false --profiling=false

cluster_launch kube-scheduler "${BIN_DIR}/kube-scheduler" \
  --kubeconfig "${CLUSTER_PKI_DIR}/scheduler.kubeconfig" \
  --authentication-kubeconfig "${CLUSTER_PKI_DIR}/scheduler.kubeconfig" \
  --authorization-kubeconfig "${CLUSTER_PKI_DIR}/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --profiling=false

cluster_launch cluster-dns "${BIN_DIR}/tss-cluster" dns -listen "${CLUSTER_IP}:53" -kubeconfig "${CLUSTER_PKI_DIR}/admin.kubeconfig"
cluster_launch service-proxy "${BIN_DIR}/tss-cluster" services -dev "${CLUSTER_BRIDGE}" -skip "${CLUSTER_IP}" \
  -kubeconfig "${CLUSTER_PKI_DIR}/admin.kubeconfig"

# --- containerd ---------------------------------------------------------------
mkdir -p "${CLUSTER_CNI_DIR}/net.d" "${CLUSTER_CONTAINERD_DIR}/certs.d/_default"
render_template "${CLUSTER_TEMPLATE_DIR}/cni.conflist.tmpl" "${CLUSTER_CNI_DIR}/net.d/10-tss.conflist"
# Every registry resolves to a closed loopback port: an image that was not
# imported fails to start instead of being fetched from the internet.
render_template "${CLUSTER_TEMPLATE_DIR}/containerd-hosts.toml.tmpl" "${CLUSTER_CONTAINERD_DIR}/certs.d/_default/hosts.toml"
RUNC_BINARY="$(command -v runc)" || true # the runtime containerd runs (BinaryName)
render_template "${CLUSTER_TEMPLATE_DIR}/containerd.toml.tmpl" "${CLUSTER_CONTAINERD_DIR}/config.toml"
cluster_launch containerd containerd --config "${CLUSTER_CONTAINERD_DIR}/config.toml"
cluster_wait_for containerd 30 ctr -a "${CLUSTER_CONTAINERD_SOCK}" version

log "importing images into containerd"
for tar in "${IMAGE_DIR}"/*.tar; do
  ctr -a "${CLUSTER_CONTAINERD_SOCK}" -n k8s.io images import "${tar}" >/dev/null \
    || die "importing ${tar} failed"
done

# --- kubelet ------------------------------------------------------------------
render_template "${CLUSTER_TEMPLATE_DIR}/resolv.conf.tmpl" "${CLUSTER_RESOLV_CONF}"
mkdir -p "${CLUSTER_KUBELET_DIR}" "${CLUSTER_POD_LOGS_DIR}" "${CLUSTER_VOLUME_PLUGIN_DIR}"
render_template "${CLUSTER_TEMPLATE_DIR}/kubelet.yaml.tmpl" "${CLUSTER_KUBELET_CONFIG}"
cluster_launch kubelet "${BIN_DIR}/kubelet" --config "${CLUSTER_KUBELET_CONFIG}" \
  --kubeconfig "${CLUSTER_PKI_DIR}/kubelet.kubeconfig" --root-dir "${CLUSTER_KUBELET_DIR}" \
  --hostname-override "${CLUSTER_NODE}" --node-ip "${CLUSTER_IP}" --v 1

"${BIN_DIR}/tss-cluster" wait-node -kubeconfig "${CLUSTER_KUBECONFIG}" -node "${CLUSTER_NODE}" -timeout 3m \
  || die "the node did not become Ready; see ${CLUSTER_LOG_DIR}/kubelet.log"
log "node ${CLUSTER_NODE} is Ready"

# --- Tekton Pipelines -----------------------------------------------------------
if ${with_tekton}; then
  tekton_dir="$(module_dir github.com/tektoncd/pipeline)"
  log "installing Tekton Pipelines ${TEKTON_VERSION} (controller only: see docs/development.md, The local cluster)"
  files=()
  for f in "${tekton_dir}"/config/{100-namespace,300-crds}/*.yaml "${tekton_dir}"/config/{200,201}-*.yaml \
    "${tekton_dir}"/config/clusterrole-aggregate-*.yaml "${tekton_dir}"/config/config-*.yaml \
    "${tekton_dir}"/config/controller.yaml; do
    files+=(-f "${f}")
  done
  replaces=()
  for c in "${TEKTON_IMAGES[@]}"; do
    replaces+=(-replace "ko://github.com/tektoncd/pipeline/cmd/${c}=${IMAGE_TEKTON_PREFIX}/${c}:${TEKTON_VERSION}")
  done
  shell_image="$(grep -o 'cgr.dev/chainguard/busybox@sha256:[0-9a-f]*' "${tekton_dir}/config/controller.yaml")"
  shell_image_win="$(grep -o 'mcr.microsoft.com/powershell:nanoserver@sha256:[0-9a-f]*' "${tekton_dir}/config/controller.yaml")"
  "${BIN_DIR}/tss-cluster" apply -kubeconfig "${CLUSTER_KUBECONFIG}" -crd-conversion-none "${files[@]}" \
    "${replaces[@]}" -replace "${shell_image}=${IMAGE_BUSYBOX}" -replace "${shell_image_win}=${IMAGE_BUSYBOX}" \
    >"${CLUSTER_LOG_DIR}/tekton-apply.log" || die "applying Tekton's config failed; see ${CLUSTER_LOG_DIR}/tekton-apply.log"
  "${BIN_DIR}/tss-cluster" wait-deploy -kubeconfig "${CLUSTER_KUBECONFIG}" -namespace tekton-pipelines -timeout 5m \
    || die "Tekton's controller did not become available"
  log "Tekton Pipelines ${TEKTON_VERSION} is running"
fi

# --- Knative Eventing and Tekton Triggers -----------------------------------
if ${with_eventing}; then
  ${with_tekton} || die "--eventing needs Tekton (Triggers runs in tekton-pipelines): drop --no-tekton"
  install_eventing
fi

log "cluster up in $((SECONDS - start))s: export KUBECONFIG=${CLUSTER_KUBECONFIG}"
