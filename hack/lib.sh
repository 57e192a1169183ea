#!/usr/bin/env bash
# Shared helpers for the hack/ scripts. Source it; do not run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Everything built or downloaded by the scripts lives here (git-ignored), so a
# second run on the same machine is fast and CI can cache one folder.
CACHE_DIR="${TSS_CACHE_DIR:-${REPO_ROOT}/.cache}"
BIN_DIR="${CACHE_DIR}/bin"

KUBE_VERSION="v1.35.4"
ETCD_VERSION="v3.6.5"

# module_dir <module>: the folder of a dependency at the version go.mod pins,
# downloading it into the module cache first if needed (`go list -m` prints
# nothing for a module that is not downloaded yet, as on a fresh machine).
module_dir() {
  local dir
  dir="$(cd "${REPO_ROOT}" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -n "${dir}" ]] || die "module $1 could not be downloaded"
  echo "${dir}"
}

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mERROR:\033[0m %s\n' "$*" >&2; exit 1; }

# build_go_tool <wrapper-module-dir> <package> <output> [ldflags]
# Builds a static binary from a wrapper module under hack/tools, skipping the
# build when the output was built from the same go.mod, go.sum, package and
# ldflags (a stamp of their hash next to it: content, not mtimes, so a cache
# carried over to a fresh clone stays valid).
build_go_tool() {
  local dir="$1" pkg="$2" out="$3" ldflags="${4:-}" stamp
  stamp="$(cat "${dir}/go.mod" "${dir}/go.sum" <(echo "${pkg} ${ldflags} $(go env GOVERSION)") | sha256sum | cut -d' ' -f1)"
  if [[ -x "${out}" && "$(cat "${out}.stamp" 2>/dev/null)" == "${stamp}" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "${out}")"
  log "building $(basename "${out}") from ${pkg} (first time only; this takes minutes)"
  local start=${SECONDS}
  (cd "${dir}" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
      -ldflags "-s -w ${ldflags}" -o "${out}.tmp" "${pkg}") || die "building ${pkg} failed"
  mv "${out}.tmp" "${out}"
  echo "${stamp}" >"${out}.stamp"
  log "built $(basename "${out}") in $((SECONDS - start))s"
}

# kube_version_ldflags stamps the release version into Kubernetes binaries;
# without it they report v0.0.0-master, which knative.dev/pkg's start-up
# version check rejects.
kube_version_ldflags() {
  local v="${KUBE_VERSION}" pkg
  local major minor
  major="$(echo "${v#v}" | cut -d. -f1)"
  minor="$(echo "${v#v}" | cut -d. -f2)"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean ' \
      "${pkg}" "${v}" "${pkg}" "${major}" "${pkg}" "${minor}" "${pkg}"
  done
}

# build_imagetool builds hack/tools/images (image tarballs and layouts, the
# loopback registry). Small and quick: always rebuilt from the working tree.
build_imagetool() {
  mkdir -p "${BIN_DIR}"
  (cd "${REPO_ROOT}/hack/tools/images" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "${BIN_DIR}/imagetool" .) \
    || die "building the image tool failed"
}

# ---------------------------------------------------------------------------
# ko (wrapper module hack/tools/ko) builds our controller and receive adapter
# images from the ko:// references in config/: hack/verify-ko.sh and the
# cluster (build_project_images).
#
# Offline base image: ko's default base (cgr.dev/chainguard/static) cannot be
# pulled here, so the base is a tiny distroless-like image (imagetool -base:
# passwd/group with nonroot 65532, /tmp, CA bundle; user 65532) written as an
# OCI image layout into ko's own cache, KOCACHE/img. ko looks a base image
# named by digest up there before going to its registry, so no process, no
# port and no network is involved. The name points at a closed loopback port
# (like containerd's only registry endpoint): were the digest ever missing,
# ko would fail at once instead of reaching beyond this machine.
KO_CACHE_DIR="${CACHE_DIR}/ko"
KO_BASE_REPO="127.0.0.1:9/tss/static"

build_ko() {
  build_go_tool "${REPO_ROOT}/hack/tools/ko" github.com/google/ko "${BIN_DIR}/ko"
}

# ko_resolve <ko resolve arguments...>: runs `ko resolve` with the offline
# base (rewritten each time; the same inputs give the same digest) for this
# machine's platform. Needs build_ko and build_imagetool; KO_DOCKER_REPO is
# the caller's.
ko_resolve() {
  local digest
  mkdir -p "${KO_CACHE_DIR}"
  digest="$("${BIN_DIR}/imagetool" -oci-layout "${KO_CACHE_DIR}/img" -base -user 65532)" \
    || die "writing ko's base image into ${KO_CACHE_DIR}/img failed"
  # ko refuses --platform together with GOOS/GOARCH from the environment.
  env -u GOOS -u GOARCH -u GOARM KOCACHE="${KO_CACHE_DIR}" KO_DEFAULTBASEIMAGE="${KO_BASE_REPO}@${digest}" \
    "${BIN_DIR}/ko" resolve --platform "linux/$(go env GOHOSTARCH)" "$@"
}

# ---------------------------------------------------------------------------
# The single-node cluster (hack/cluster-up.sh, hack/cluster-down.sh,
# hack/e2e.sh, hack/demo.sh). Everything it writes lives under CLUSTER_DIR,
# except what the tools hard-code (CLUSTER_HOST_PATHS below; see
# hack/cluster-down.sh).

CLUSTER_DIR="${CACHE_DIR}/cluster"
IMAGE_DIR="${CACHE_DIR}/images"
TEKTON_BIN_DIR="${CACHE_DIR}/tekton/bin"
TEKTON_VERSION="v1.15.1"
# Pods live on a bridge in RFC 5737 documentation space that exists only on
# this machine (TEST-NET-2; the host's own interface may already use
# TEST-NET-1, 192.0.2.0/24). The bridge's address is the node address and
# the apiserver's: the first address of the Service range, so the
# `kubernetes` Service IP that in-cluster clients use reaches the apiserver
# without kube-proxy or NAT. Every other Service IP (the rest of the first
# 64 addresses) is added to the bridge by `tss-cluster services`, which
# forwards its ports to the endpoints; pods take the addresses above. Pods
# get no default route: they can reach the bridge, each other and nothing
# else.
CLUSTER_IP="198.51.100.1"
CLUSTER_SUBNET="198.51.100.0/24"
CLUSTER_SERVICE_CIDR="198.51.100.0/26"
CLUSTER_POD_RANGE_START="198.51.100.64"
CLUSTER_POD_RANGE_END="198.51.100.254"
CLUSTER_BRIDGE="tss0"
CLUSTER_NODE="tss-node"
CLUSTER_ETCD_PORT=32379
# Images imported into containerd; pods never pull (containerd's only
# registry endpoint is a closed loopback port).
IMAGE_PAUSE="tss.local/pause:v1"
IMAGE_BUSYBOX="tss.local/busybox:v1"
IMAGE_RECEIVER="tss.local/receiver:v1"
IMAGE_TEKTON_PREFIX="tss.local/tekton"
TEKTON_IMAGES=(controller entrypoint nop workingdirinit sidecarlogresults)
# Knative Eventing and Tekton Triggers (hack/cluster-up.sh --eventing): each
# image is <name>=<package>; the name is the image's and the binary's, the
# package is the ko:// reference their config/ uses.
EVENTING_VERSION="v0.50.0"
EVENTING_BIN_DIR="${CACHE_DIR}/eventing/bin"
IMAGE_EVENTING_PREFIX="tss.local/eventing"
EVENTING_IMAGES=(controller=knative.dev/eventing/cmd/controller
  webhook=knative.dev/eventing/cmd/webhook
  imc-controller=knative.dev/eventing/cmd/in_memory/channel_controller
  imc-dispatcher=knative.dev/eventing/cmd/in_memory/channel_dispatcher
  mt-broker-controller=knative.dev/eventing/cmd/mtchannel_broker
  mt-broker-ingress=knative.dev/eventing/cmd/broker/ingress
  mt-broker-filter=knative.dev/eventing/cmd/broker/filter)
TRIGGERS_VERSION="v0.34.0"
TRIGGERS_BIN_DIR="${CACHE_DIR}/triggers/bin"
IMAGE_TRIGGERS_PREFIX="tss.local/triggers"
TRIGGERS_IMAGES=(controller=github.com/tektoncd/triggers/cmd/controller
  webhook=github.com/tektoncd/triggers/cmd/webhook
  interceptors=github.com/tektoncd/triggers/cmd/interceptors
  eventlistenersink=github.com/tektoncd/triggers/cmd/eventlistenersink)

# The cluster's state: every path under CLUSTER_DIR, named once here.
CLUSTER_KUBECONFIG="${CLUSTER_DIR}/kubeconfig"            # the admin's kubeconfig (a copy of pki/admin.kubeconfig)
CLUSTER_RUN_DIR="${CLUSTER_DIR}/run"                      # <component>.pid (cluster_launch), containerd's sockets
CLUSTER_LOG_DIR="${CLUSTER_DIR}/logs"                     # <component>.log, apt.log, *-apply.log
CLUSTER_PKI_DIR="${CLUSTER_DIR}/pki"                      # CA, certificates, keys, the components' kubeconfigs
CLUSTER_CONTAINERD_SOCK="${CLUSTER_RUN_DIR}/containerd.sock"
CLUSTER_ETCD_DIR="${CLUSTER_DIR}/etcd"
CLUSTER_CONTAINERD_DIR="${CLUSTER_DIR}/containerd"        # config.toml, certs.d, root, state, opt
CLUSTER_RUNC_ROOT="${CLUSTER_DIR}/runc"
CLUSTER_CNI_DIR="${CLUSTER_DIR}/cni"                      # net.d (the network's conflist), ipam (host-local's state)
CLUSTER_KUBELET_DIR="${CLUSTER_DIR}/kubelet"              # the kubelet's --root-dir
CLUSTER_KUBELET_CONFIG="${CLUSTER_DIR}/kubelet-config.yaml"
CLUSTER_RESOLV_CONF="${CLUSTER_DIR}/resolv.conf"          # the pods' resolv.conf: the cluster's DNS
CLUSTER_POD_LOGS_DIR="${CLUSTER_DIR}/pod-logs"
CLUSTER_VOLUME_PLUGIN_DIR="${CLUSTER_DIR}/volume-plugins"
# What the host had before the first hack/cluster-up.sh, so that
# hack/cluster-down.sh removes or restores only what the cluster changed.
CLUSTER_PREEXISTING="${CLUSTER_DIR}/preexisting"          # which of CLUSTER_HOST_PATHS existed
CLUSTER_NETNS_BEFORE="${CLUSTER_DIR}/netns-before"        # the network namespaces in /run/netns
CLUSTER_SYSCTL_BEFORE="${CLUSTER_DIR}/sysctl-before"      # "<tunable> <value>" of the kernel tunables the kubelet sets
CLUSTER_KUBEPODS_BEFORE="${CLUSTER_DIR}/kubepods-before"  # the kubepods cgroups
# Paths some tools write outside CLUSTER_DIR whatever their configuration
# (hack/cluster-down.sh says which tool writes which).
CLUSTER_HOST_PATHS=(/run/containerd /run/netns /var/lib/cni /var/lib/kubelet /var/log/containers)
# The templates of the configuration files hack/cluster-up.sh writes.
CLUSTER_TEMPLATE_DIR="${REPO_ROOT}/hack/cluster"

# render_template <template> <output>: writes the template with each ${NAME}
# (upper case) replaced by the value of the shell variable NAME, which must
# be set. Values go in as they are, never expanded again; nothing else in a
# template is special. (envsubst would do the same, but its package,
# gettext-base, is not on every Debian machine.)
render_template() {
  local tmpl="$1" out="$2" text="" rendered="" placeholder name
  [[ -f "${tmpl}" ]] || die "no template ${tmpl}"
  IFS= read -r -d '' text <"${tmpl}" || true # the whole file, newlines and all
  while [[ "${text}" =~ \$\{([^}]*)\} ]]; do
    placeholder="${BASH_REMATCH[0]}" name="${BASH_REMATCH[1]}"
    [[ "${name}" =~ ^[A-Z_][A-Z0-9_]*$ ]] || die "${tmpl}: ${placeholder} is not a \${NAME} placeholder"
    [[ -v "${name}" ]] || die "${tmpl}: ${name} is not set"
    rendered+="${text%%"${placeholder}"*}${!name}"
    text="${text#*"${placeholder}"}"
  done
  printf '%s' "${rendered}${text}" >"${out}"
}

# --- the cluster's processes ---------------------------------------------
# hack/cluster-up.sh records each component it starts in
# CLUSTER_RUN_DIR/<name>.pid. A recorded PID counts only while its process is
# ours: PIDs are reused, and only our processes' command lines mention the
# state folder.

cluster_pidfile() { echo "${CLUSTER_RUN_DIR}/$1.pid"; }

# cluster_owns <pid>: the process's command line mentions the state folder.
cluster_owns() { [[ -r "/proc/$1/cmdline" ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "${CLUSTER_DIR}"; }

# cluster_running <name>: is the process from <name>.pid alive and ours?
cluster_running() {
  local pidfile
  pidfile="$(cluster_pidfile "$1")"
  [[ -f "${pidfile}" ]] && cluster_owns "$(cat "${pidfile}")"
}

# cluster_launch <name> <command...>: starts a component in its own session
# (it outlives the script that starts it), logging to logs/<name>.log, unless
# it is running already.
cluster_launch() {
  local name="$1"; shift
  if cluster_running "${name}"; then
    return 0
  fi
  log "starting ${name}"
  setsid "$@" >>"${CLUSTER_LOG_DIR}/${name}.log" 2>&1 </dev/null &
  echo $! >"$(cluster_pidfile "${name}")"
}

# cluster_wait_for <what> <seconds> <command...>
cluster_wait_for() {
  local what="$1" secs="$2"; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || die "${what} not ready after ${secs}s; see ${CLUSTER_LOG_DIR}"
    sleep 0.5
  done
}

# cluster_stop <name>: SIGTERM the recorded process, SIGKILL after 15 s.
cluster_stop() {
  local pidfile pid i
  pidfile="$(cluster_pidfile "$1")"
  [[ -f "${pidfile}" ]] || return 0
  pid="$(cat "${pidfile}")"
  if cluster_owns "${pid}"; then
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      cluster_owns "${pid}" || break
      sleep 0.1
    done
    if cluster_owns "${pid}"; then
      kill -KILL "${pid}" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "${pidfile}"
}

# cluster_kubepods_cgroups: the kubepods cgroups that exist now (the
# kubelet's: one under each cgroup v1 hierarchy, or one at the cgroup v2 root).
cluster_kubepods_cgroups() {
  local cg
  for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ ! -d "${cg}" ]] || echo "${cg}"
  done
}

# with_progress <message> <command...>: runs a long command, printing the
# time it has taken every 10 s (every minute when stderr is not a terminal,
# as in CI logs) so a first run that compiles for minutes is visibly alive.
with_progress() {
  local msg="$1"; shift
  log "${msg}"
  "$@" &
  local pid=$! start=${SECONDS} every=60
  [[ ! -t 2 ]] || every=10
  while kill -0 "${pid}" 2>/dev/null; do
    sleep 1
    if (( (SECONDS - start) % every == 0 )); then
      printf '    … %ds\n' "$((SECONDS - start))" >&2
    fi
  done
  wait "${pid}"
}

# build_cluster_binaries builds (once) everything the cluster runs: the
# Kubernetes components and kubectl, etcd, Tekton's controller and step
# binaries, the image tool and the Go helper (tss-cluster).
build_cluster_binaries() {
  local kube="${REPO_ROOT}/hack/tools/kube" ldflags
  ldflags="$(kube_version_ldflags)"
  build_go_tool "${REPO_ROOT}/hack/tools/etcd" go.etcd.io/etcd/server/v3 "${BIN_DIR}/etcd"
  local c
  for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do
    build_go_tool "${kube}" "k8s.io/kubernetes/cmd/${c}" "${BIN_DIR}/${c}" "${ldflags}"
  done
  for c in "${TEKTON_IMAGES[@]}"; do
    build_go_tool "${REPO_ROOT}/hack/tools/tekton" "github.com/tektoncd/pipeline/cmd/${c}" "${TEKTON_BIN_DIR}/${c}"
  done
  build_imagetool
  (cd "${REPO_ROOT}" && CGO_ENABLED=0 go build -trimpath -o "${BIN_DIR}/tss-cluster" ./test/e2e/cmd/tss-cluster \
    && CGO_ENABLED=0 go build -trimpath -o "${IMAGE_DIR}/bin/pause" ./test/images/pause \
    && CGO_ENABLED=0 go build -trimpath -o "${IMAGE_DIR}/bin/receiver" ./test/images/receiver) \
    || die "building the cluster helpers failed"
}

# build_cluster_images writes the docker-archive tarballs of the images the
# cluster needs besides our own (hack/e2e.sh builds those with ko).
build_cluster_images() {
  local tool="${BIN_DIR}/imagetool" bb args=() applet c
  mkdir -p "${IMAGE_DIR}"
  "${tool}" -tag "${IMAGE_PAUSE}" -out "${IMAGE_DIR}/pause.tar" \
    -file "${IMAGE_DIR}/bin/pause=/pause" -entrypoint /pause >/dev/null
  "${tool}" -tag "${IMAGE_RECEIVER}" -out "${IMAGE_DIR}/receiver.tar" -base \
    -file "${IMAGE_DIR}/bin/receiver=/ko-app/receiver" -entrypoint /ko-app/receiver -cmd "-addr :80" >/dev/null
  # busybox-static from Debian: the step image of the tests and Tekton's
  # shell image (it writes step scripts with sh, cat and chmod).
  bb="$(command -v busybox)" || die "busybox not found (the busybox-static package)"
  for applet in $("${bb}" --list); do
    [[ "${applet}" == busybox ]] || args+=(-link "/bin/${applet}=busybox")
  done
  "${tool}" -tag "${IMAGE_BUSYBOX}" -out "${IMAGE_DIR}/busybox.tar" -base \
    -file "${bb}=/bin/busybox:0755" "${args[@]}" -cmd /bin/sh >/dev/null
  # Tekton's images the way its .ko.yaml builds them: the binary at
  # /ko-app/<name> on a static base.
  for c in "${TEKTON_IMAGES[@]}"; do
    args=(-tag "${IMAGE_TEKTON_PREFIX}/${c}:${TEKTON_VERSION}" -out "${IMAGE_DIR}/tekton-${c}.tar" -base
      -file "${TEKTON_BIN_DIR}/${c}=/ko-app/${c}:0755" -entrypoint "/ko-app/${c}" -env KO_DATA_PATH=/var/run/ko)
    [[ "${c}" != controller ]] || args+=(-user 65532)
    "${tool}" "${args[@]}" >/dev/null
  done
}

# cluster_kubectl runs the cluster's own kubectl against the cluster.
cluster_kubectl() { "${BIN_DIR}/kubectl" --kubeconfig "${KUBECONFIG:-${CLUSTER_KUBECONFIG}}" "$@"; }

# cluster_reachable: does KUBECONFIG (or the local cluster's kubeconfig)
# point at an apiserver that answers?
cluster_reachable() {
  local kc="${1:-${KUBECONFIG:-${CLUSTER_KUBECONFIG}}}"
  [[ -f "${kc}" ]] && "${BIN_DIR}/kubectl" --kubeconfig "${kc}" --request-timeout=5s get --raw /readyz >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# Our own images, built by ko (ko_resolve). ko pushes them to a registry that
# lives only while build_project_images runs (imagetool serve-registry: in
# memory, on a free 127.0.0.1 port, stopped on return or when the script
# dies); containerd pulls them from there by digest, so each pod's
# `<repo>@sha256:...` reference exists locally. Pods never pull: a digest
# reference defaults to imagePullPolicy IfNotPresent, and every other
# registry endpoint is a closed port (hack/cluster-up.sh).

PROJECT_IMAGE_DIR="${IMAGE_DIR}/project"

# build_project_images resolves config/ with ko into
# PROJECT_IMAGE_DIR/config.yaml and loads the images into the local cluster's
# containerd. A subshell, so its EXIT trap is its own.
build_project_images() (
  local out="${PROJECT_IMAGE_DIR}" sock="${CLUSTER_CONTAINERD_SOCK}" addr pid ref
  [[ -S "${sock}" ]] || die "no local cluster containerd at ${sock}: images can only be loaded into the cluster of hack/cluster-up.sh"
  build_ko
  build_imagetool
  rm -rf "${out}" && mkdir -p "${out}" || die "cannot create ${out}"
  # The registry exits when its standard input (this subshell's end of the
  # coprocess pipe) closes, however the subshell ends; the trap stops it
  # at once.
  coproc REGISTRY { exec "${BIN_DIR}/imagetool" serve-registry; }
  pid="${REGISTRY_PID}"
  trap "kill ${pid} 2>/dev/null; wait ${pid} 2>/dev/null; true" EXIT
  read -r -t 30 addr <&"${REGISTRY[0]}" && [[ "${addr}" == 127.0.0.1:* ]] \
    || die "the loopback registry did not start"
  KO_DOCKER_REPO="${addr}/tekton-step-source" ko_resolve --base-import-paths \
    --image-refs "${out}/image-refs" -f "${REPO_ROOT}/config" >"${out}/config.yaml" 2>"${out}/ko.log" \
    || die "ko resolve failed; see ${out}/ko.log"
  ! grep -qE '^[^#]*ko://' "${out}/config.yaml" || die "ko left ko:// references in ${out}/config.yaml"
  while read -r ref; do
    ctr -a "${sock}" -n k8s.io images pull --plain-http "${ref}" >>"${out}/pull.log" 2>&1 \
      || die "pulling ${ref} into containerd failed; see ${out}/pull.log"
  done <"${out}/image-refs"
)

# deploy_project builds our images, loads them and applies config/ to the
# cluster of KUBECONFIG, then waits for our controller.
deploy_project() {
  local kc="${KUBECONFIG:-${CLUSTER_KUBECONFIG}}"
  log "building our images with ko (controller, receive adapter) and loading them into containerd"
  build_project_images || exit 1
  log "installing tekton-step-source from config/ (as resolved by ko)"
  "${BIN_DIR}/tss-cluster" apply -kubeconfig "${kc}" -f "${PROJECT_IMAGE_DIR}/config.yaml" \
    >"${CLUSTER_LOG_DIR}/project-apply.log" || die "applying config/ failed; see ${CLUSTER_LOG_DIR}/project-apply.log"
  if grep -qs 'kind: Deployment' "${REPO_ROOT}"/config/*.yaml; then
    "${BIN_DIR}/tss-cluster" wait-deploy -kubeconfig "${kc}" -namespace tekton-step-source -timeout 5m \
      || die "our controller did not become available"
  else
    log "warning: config/ has no Deployment (config/500-controller.yaml runs cmd/controller): not waiting for our controller"
  fi
}

# deploy_receiver runs the CloudEvents receiver (event-display in default,
# the sink of config/samples/uri-source.yaml) and waits for it.
deploy_receiver() {
  local kc="${KUBECONFIG:-${CLUSTER_KUBECONFIG}}"
  # A pod is refused until the controller manager has made the namespace's
  # default ServiceAccount, and its ReplicaSet then retries with a backoff.
  cluster_wait_for "the default ServiceAccount" 120 \
    "${BIN_DIR}/kubectl" --kubeconfig "${kc}" -n default get serviceaccount default
  "${BIN_DIR}/tss-cluster" apply -kubeconfig "${kc}" -f "${REPO_ROOT}/test/e2e/testdata/event-display.yaml" \
    -replace "image: receiver=image: ${IMAGE_RECEIVER}" >/dev/null || die "deploying the receiver failed"
  "${BIN_DIR}/tss-cluster" wait-deploy -kubeconfig "${kc}" -namespace default -name event-display -timeout 5m \
    || die "the receiver did not start"
}

# build_eventing builds (once) Knative Eventing's and Tekton
# Triggers' commands from their wrapper modules (hack/tools/eventing,
# hack/tools/triggers) and writes their images the way their .ko.yaml
# builds them: the binary at /ko-app/<name> on a static base, as nonroot.
build_eventing() {
  local entry name pkg
  build_imagetool
  for entry in "${EVENTING_IMAGES[@]}"; do
    name="${entry%%=*}" pkg="${entry#*=}"
    build_go_tool "${REPO_ROOT}/hack/tools/eventing" "${pkg}" "${EVENTING_BIN_DIR}/${name}"
    build_ko_app_image "${EVENTING_BIN_DIR}/${name}" "${IMAGE_EVENTING_PREFIX}/${name}:${EVENTING_VERSION}" "${IMAGE_DIR}/eventing-${name}.tar"
  done
  for entry in "${TRIGGERS_IMAGES[@]}"; do
    name="${entry%%=*}" pkg="${entry#*=}"
    build_go_tool "${REPO_ROOT}/hack/tools/triggers" "${pkg}" "${TRIGGERS_BIN_DIR}/${name}"
    build_ko_app_image "${TRIGGERS_BIN_DIR}/${name}" "${IMAGE_TRIGGERS_PREFIX}/${name}:${TRIGGERS_VERSION}" "${IMAGE_DIR}/triggers-${name}.tar"
  done
}

# build_ko_app_image <binary> <tag> <tarball>: a docker-archive image with
# the binary at /ko-app/<name> on the static base, run as nonroot, unless
# the tarball is newer than the binary.
build_ko_app_image() {
  local bin="$1" tag="$2" out="$3" name
  name="$(basename "${bin}")"
  [[ ! "${out}" -nt "${bin}" ]] || return 0
  mkdir -p "$(dirname "${out}")"
  "${BIN_DIR}/imagetool" -tag "${tag}" -out "${out}" -base -file "${bin}=/ko-app/${name}:0755" \
    -entrypoint "/ko-app/${name}" -env KO_DATA_PATH=/var/run/ko -user 65532 >/dev/null \
    || die "writing the image ${tag} failed"
}

# install_eventing applies Knative Eventing's config/ (core without the
# optional job sink, ping source adapter and request-reply, plus the
# ConfigMaps naming the integration images its controller's environment
# reads, from its third_party/; the in-memory channel; the multi-tenant
# channel-based broker) and Tekton Triggers'
# config/ (with its core interceptors) to the local cluster, images
# substituted, and waits for their Deployments. The autoscalers are left
# out: the cluster runs no metrics server.
install_eventing() {
  local edir tdir entry name f files=() replaces=()
  edir="$(module_dir knative.dev/eventing)"
  tdir="$(module_dir github.com/tektoncd/triggers)"
  for entry in "${EVENTING_IMAGES[@]}"; do
    name="${entry%%=*}"
    replaces+=(-replace "ko://${entry#*=}=${IMAGE_EVENTING_PREFIX}/${name}:${EVENTING_VERSION}")
  done
  for entry in "${TRIGGERS_IMAGES[@]}"; do
    name="${entry%%=*}"
    replaces+=(-replace "ko://${entry#*=}=${IMAGE_TRIGGERS_PREFIX}/${name}:${TRIGGERS_VERSION}")
  done
  for f in "${edir}"/config/core/{100-namespace,200-*}.yaml "${edir}"/config/core/{configmaps,resources,roles,webhooks}/*.yaml \
      "${edir}"/config/core/deployments/{controller,webhook}.yaml \
      "${edir}"/third_party/eventing-integrations-latest/*.yaml \
      "${edir}"/config/channels/in-memory-channel/{,*/}*.yaml \
      "${edir}"/config/brokers/mt-channel-broker/roles/*.yaml \
      "${edir}"/config/brokers/mt-channel-broker/deployments/{controller,broker-ingress,broker-filter}.yaml; do
    files+=(-f "${f}")
  done
  log "installing Knative Eventing ${EVENTING_VERSION} (controller, webhook, in-memory channel, multi-tenant channel-based broker)"
  # Its five 100m CPU requests would reserve a quarter of a 2-core node
  # that the tests' TaskRuns and adapters share; requests only reserve.
  "${BIN_DIR}/tss-cluster" apply -kubeconfig "${CLUSTER_KUBECONFIG}" "${files[@]}" "${replaces[@]}" -replace "cpu: 100m=cpu: 10m" \
    >"${CLUSTER_LOG_DIR}/eventing-apply.log" || die "applying Knative Eventing's config failed; see ${CLUSTER_LOG_DIR}/eventing-apply.log"
  "${BIN_DIR}/tss-cluster" wait-deploy -kubeconfig "${CLUSTER_KUBECONFIG}" -namespace knative-eventing -timeout 5m \
    || die "Knative Eventing did not become available; see its pods' logs (kubectl -n knative-eventing logs)"
  files=()
  for f in "${tdir}"/config/*.yaml "${tdir}"/config/interceptors/*.yaml; do
    files+=(-f "${f}")
  done
  log "installing Tekton Triggers ${TRIGGERS_VERSION} (controller, webhook, core interceptors)"
  "${BIN_DIR}/tss-cluster" apply -kubeconfig "${CLUSTER_KUBECONFIG}" "${files[@]}" "${replaces[@]}" \
    >"${CLUSTER_LOG_DIR}/triggers-apply.log" || die "applying Tekton Triggers' config failed; see ${CLUSTER_LOG_DIR}/triggers-apply.log"
  "${BIN_DIR}/tss-cluster" wait-deploy -kubeconfig "${CLUSTER_KUBECONFIG}" -namespace tekton-pipelines -timeout 5m \
    || die "Tekton Triggers did not become available; see its pods' logs (kubectl -n tekton-pipelines logs)"
  log "Knative Eventing ${EVENTING_VERSION} and Tekton Triggers ${TRIGGERS_VERSION} are running"
}
