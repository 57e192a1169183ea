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
#
# Options: --no-tekton  only the cluster.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

with_tekton=true
for arg in "$@"; do
  case "${arg}" in
    --no-tekton) with_tekton=false ;;
    *) die "unknown option ${arg}" ;;
  esac
done

[[ "$(uname -s)" == Linux ]] || die "the local cluster needs Linux"
[[ "$(id -u)" == 0 ]] || die "the local cluster needs root (containerd, kubelet, network namespaces)"

start=${SECONDS}
RUN_DIR="${CLUSTER_DIR}/run"
LOG_DIR="${CLUSTER_DIR}/logs"
PKI_DIR="${CLUSTER_DIR}/pki"
CONTAINERD_SOCK="${RUN_DIR}/containerd.sock"
mkdir -p "${RUN_DIR}" "${LOG_DIR}"
(( ${#CONTAINERD_SOCK} < 100 )) || die "the state folder path is too long for a unix socket: set TSS_CACHE_DIR to a shorter folder"

# Paths some tools write outside the state folder whatever their
# configuration; remember which existed before, so teardown removes only
# what the cluster created.
if [[ ! -f "${CLUSTER_DIR}/preexisting" ]]; then
  for p in /run/containerd /run/netns /var/lib/cni /var/lib/kubelet /var/log/containers; do
    [[ ! -e "${p}" ]] || echo "${p}"
  done >"${CLUSTER_DIR}/preexisting"
fi

[[ -f "${CLUSTER_DIR}/netns-before" ]] || ls /run/netns >"${CLUSTER_DIR}/netns-before" 2>/dev/null || true

# The kubelet sets the kernel tunables it expects (setupKernelTunables:
# vm.overcommit_memory, vm.panic_on_oom, kernel.panic, kernel.panic_on_oops,
# kernel.keys.root_maxkeys and root_maxbytes); teardown puts the host's
# values back. Likewise it creates kubepods cgroups: teardown removes only
# those that were not there before.
if [[ ! -f "${CLUSTER_DIR}/sysctl-before" ]]; then
  for t in vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops \
      kernel/keys/root_maxkeys kernel/keys/root_maxbytes; do
    [[ ! -r "/proc/sys/${t}" ]] || echo "${t} $(cat "/proc/sys/${t}")"
  done >"${CLUSTER_DIR}/sysctl-before"
fi
if [[ ! -f "${CLUSTER_DIR}/kubepods-before" ]]; then
  for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ ! -d "${cg}" ]] || echo "${cg}"
  done >"${CLUSTER_DIR}/kubepods-before"
fi

# --- packages ---------------------------------------------------------------
missing=()
command -v containerd >/dev/null || missing+=(containerd)
command -v runc >/dev/null || missing+=(runc)
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(containernetworking-plugins)
command -v busybox >/dev/null || missing+=(busybox-static)
command -v ip >/dev/null || missing+=(iproute2)
if (( ${#missing[@]} )); then
  log "installing Debian packages: ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >"${LOG_DIR}/apt.log" 2>&1; then
    apt-get update >>"${LOG_DIR}/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >>"${LOG_DIR}/apt.log" 2>&1 \
      || die "apt-get install failed; see ${LOG_DIR}/apt.log"
  fi
fi

# --- binaries and images ----------------------------------------------------
with_progress "building Kubernetes ${KUBE_VERSION}, etcd ${ETCD_VERSION} and Tekton ${TEKTON_VERSION} (cached in ${BIN_DIR}; the first build takes 10-20 minutes on 2 cores)" \
  build_cluster_binaries
build_cluster_images

# --- processes --------------------------------------------------------------
# running <name>: is the process from <name>.pid alive and ours (its command
# line mentions the state folder)?
running() {
  local pidfile="${RUN_DIR}/$1.pid" pid
  [[ -f "${pidfile}" ]] || return 1
  pid="$(cat "${pidfile}")"
  [[ -r "/proc/${pid}/cmdline" ]] && tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF "${CLUSTER_DIR}"
}

# launch <name> <command...>: starts a component in its own session (it
# outlives this script), logging to logs/<name>.log.
launch() {
  local name="$1"; shift
  if running "${name}"; then
    return 0
  fi
  log "starting ${name}"
  setsid "$@" >>"${LOG_DIR}/${name}.log" 2>&1 </dev/null &
  echo $! >"${RUN_DIR}/${name}.pid"
}

# wait_for <what> <seconds> <command...>
wait_for() {
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || die "${what} not ready after ${secs}s; see ${LOG_DIR}"
    sleep 0.5
  done
}

# --- network ----------------------------------------------------------------
if ! ip link show "${CLUSTER_BRIDGE}" >/dev/null 2>&1; then
  log "creating bridge ${CLUSTER_BRIDGE} (${CLUSTER_IP}, ${CLUSTER_SUBNET})"
  ip link add "${CLUSTER_BRIDGE}" type bridge
fi
ip addr show dev "${CLUSTER_BRIDGE}" | grep -qF " ${CLUSTER_IP}/" \
  || ip addr add "${CLUSTER_IP}/${CLUSTER_SUBNET#*/}" dev "${CLUSTER_BRIDGE}"
ip link set "${CLUSTER_BRIDGE}" up

# --- certificates -----------------------------------------------------------
"${BIN_DIR}/tss-cluster" pki -dir "${PKI_DIR}" -ip "${CLUSTER_IP}" -port 443 -node "${CLUSTER_NODE}"
cp "${PKI_DIR}/admin.kubeconfig" "${CLUSTER_KUBECONFIG}"

# --- control plane ----------------------------------------------------------
launch etcd "${BIN_DIR}/etcd" --name tss --data-dir "${CLUSTER_DIR}/etcd" \
  --listen-client-urls "http://127.0.0.1:${CLUSTER_ETCD_PORT}" \
  --advertise-client-urls "http://127.0.0.1:${CLUSTER_ETCD_PORT}" \
  --listen-peer-urls "http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
  --initial-advertise-peer-urls "http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
  --initial-cluster "tss=http://127.0.0.1:$((CLUSTER_ETCD_PORT + 1))" \
  --unsafe-no-fsync --log-level warn
wait_for etcd 30 "${BIN_DIR}/kubectl" --request-timeout=2s get --raw /health -s "http://127.0.0.1:${CLUSTER_ETCD_PORT}"

launch kube-apiserver "${BIN_DIR}/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:${CLUSTER_ETCD_PORT}" \
  --bind-address "${CLUSTER_IP}" --advertise-address "${CLUSTER_IP}" --secure-port 443 \
  --service-cluster-ip-range "${CLUSTER_SERVICE_CIDR}" \
  --client-ca-file "${PKI_DIR}/ca.crt" \
  --tls-cert-file "${PKI_DIR}/apiserver.crt" --tls-private-key-file "${PKI_DIR}/apiserver.key" \
  --kubelet-client-certificate "${PKI_DIR}/apiserver-kubelet-client.crt" \
  --kubelet-client-key "${PKI_DIR}/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "${PKI_DIR}/ca.crt" \
  --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "${PKI_DIR}/sa.pub" \
  --service-account-signing-key-file "${PKI_DIR}/sa.key" \
  --authorization-mode Node,RBAC --allow-privileged=true --profiling=false \
  --enable-priority-and-fairness=false
wait_for kube-apiserver 120 "${BIN_DIR}/kubectl" --kubeconfig "${CLUSTER_KUBECONFIG}" --request-timeout=2s get --raw /readyz

launch kube-controller-manager "${BIN_DIR}/kube-controller-manager" \
  --kubeconfig "${PKI_DIR}/controller-manager.kubeconfig" \
  --authentication-kubeconfig "${PKI_DIR}/controller-manager.kubeconfig" \
  --authorization-kubeconfig "${PKI_DIR}/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file "${PKI_DIR}/sa.key" --root-ca-file "${PKI_DIR}/ca.crt" \
  --cluster-signing-cert-file "${PKI_DIR}/ca.crt" --cluster-signing-key-file "${PKI_DIR}/ca.key" \
  --allocate-node-cidrs=false --configure-cloud-routes=false --profiling=false

launch kube-scheduler "${BIN_DIR}/kube-scheduler" \
  --kubeconfig "${PKI_DIR}/scheduler.kubeconfig" \
  --authentication-kubeconfig "${PKI_DIR}/scheduler.kubeconfig" \
  --authorization-kubeconfig "${PKI_DIR}/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --leader-elect=false --profiling=false

launch cluster-dns "${BIN_DIR}/tss-cluster" dns -listen "${CLUSTER_IP}:53" -kubeconfig "${PKI_DIR}/admin.kubeconfig"

# --- containerd ---------------------------------------------------------------
mkdir -p "${CLUSTER_DIR}/cni/net.d" "${CLUSTER_DIR}/containerd/certs.d/_default"
cat >"${CLUSTER_DIR}/cni/net.d/10-tss.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "tss-pods",
  "plugins": [{
    "type": "bridge",
    "bridge": "${CLUSTER_BRIDGE}",
    "isGateway": false,
    "isDefaultGateway": false,
    "ipMasq": false,
    "hairpinMode": true,
    "ipam": {
      "type": "host-local",
      "dataDir": "${CLUSTER_DIR}/cni/ipam",
      "ranges": [[{"subnet": "${CLUSTER_SUBNET}", "rangeStart": "${CLUSTER_POD_RANGE_START}", "rangeEnd": "${CLUSTER_POD_RANGE_END}"}]]
    }
  }]
}
EOF
# Every registry resolves to a closed loopback port: an image that was not
# imported fails to start instead of being fetched from the internet.
cat >"${CLUSTER_DIR}/containerd/certs.d/_default/hosts.toml" <<EOF
server = "http://127.0.0.1:9"
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
EOF
cat >"${CLUSTER_DIR}/containerd/config.toml" <<EOF
version = 2
root = "${CLUSTER_DIR}/containerd/root"
state = "${CLUSTER_DIR}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${CONTAINERD_SOCK}"
[ttrpc]
  address = "${CONTAINERD_SOCK}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${CLUSTER_DIR}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${IMAGE_PAUSE}"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "${CLUSTER_DIR}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${CLUSTER_DIR}/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${CLUSTER_DIR}/containerd/certs.d"
EOF
launch containerd containerd --config "${CLUSTER_DIR}/containerd/config.toml"
wait_for containerd 30 ctr -a "${CONTAINERD_SOCK}" version

log "importing images into containerd"
for tar in "${IMAGE_DIR}"/*.tar; do
  ctr -a "${CONTAINERD_SOCK}" -n k8s.io images import "${tar}" >/dev/null \
    || die "importing ${tar} failed"
done

# --- kubelet ------------------------------------------------------------------
cat >"${CLUSTER_DIR}/resolv.conf" <<EOF
nameserver ${CLUSTER_IP}
EOF
mkdir -p "${CLUSTER_DIR}/kubelet" "${CLUSTER_DIR}/pod-logs" "${CLUSTER_DIR}/volume-plugins"
cat >"${CLUSTER_DIR}/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${CLUSTER_IP}
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
containerRuntimeEndpoint: unix://${CONTAINERD_SOCK}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${PKI_DIR}/ca.crt
authorization:
  mode: Webhook
tlsCertFile: ${PKI_DIR}/kubelet-serving.crt
tlsPrivateKeyFile: ${PKI_DIR}/kubelet-serving.key
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
makeIPTablesUtilChains: false
clusterDomain: cluster.local
clusterDNS: [${CLUSTER_IP}]
resolvConf: ${CLUSTER_DIR}/resolv.conf
podLogsDir: ${CLUSTER_DIR}/pod-logs
volumePluginDir: ${CLUSTER_DIR}/volume-plugins
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
serializeImagePulls: false
registerNode: true
EOF
launch kubelet "${BIN_DIR}/kubelet" --config "${CLUSTER_DIR}/kubelet-config.yaml" \
  --kubeconfig "${PKI_DIR}/kubelet.kubeconfig" --root-dir "${CLUSTER_DIR}/kubelet" \
  --hostname-override "${CLUSTER_NODE}" --node-ip "${CLUSTER_IP}" --v 1

"${BIN_DIR}/tss-cluster" wait-node -kubeconfig "${CLUSTER_KUBECONFIG}" -node "${CLUSTER_NODE}" -timeout 3m \
  || die "the node did not become Ready; see ${LOG_DIR}/kubelet.log"
log "node ${CLUSTER_NODE} is Ready"

# --- Tekton Pipelines -----------------------------------------------------------
if ${with_tekton}; then
  tekton_dir="$(module_dir github.com/tektoncd/pipeline)"
  log "installing Tekton Pipelines ${TEKTON_VERSION} (controller only: see README, The local cluster)"
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
    >"${LOG_DIR}/tekton-apply.log" || die "applying Tekton's config failed; see ${LOG_DIR}/tekton-apply.log"
  "${BIN_DIR}/tss-cluster" wait-deploy -kubeconfig "${CLUSTER_KUBECONFIG}" -namespace tekton-pipelines -timeout 3m \
    || die "Tekton's controller did not become available"
  log "Tekton Pipelines ${TEKTON_VERSION} is running"
fi

log "cluster up in $((SECONDS - start))s: export KUBECONFIG=${CLUSTER_KUBECONFIG}"
