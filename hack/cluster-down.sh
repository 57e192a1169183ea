#!/usr/bin/env bash
# Tears down the cluster of hack/cluster-up.sh and leaves nothing behind:
# pods are deleted (so the CNI plugins release their addresses and network
# namespaces), then the processes the cluster started are stopped by the
# PIDs it recorded (and container shims and container processes found by the
# cluster's own paths and cgroups), then mounts under the state folder,
# kubelet cgroups, leftover network namespaces, the bridge and the state
# folder go. Built binaries and images stay cached in .cache.
#
# Paths the tools write outside the state folder whatever their
# configuration, removed here when the cluster created them:
#   /run/containerd        containerd 1.6 puts shim sockets in /run/containerd/s
#   /run/netns             the CRI plugin's pod network namespaces
#   /var/lib/cni           libcni's result cache (the IPAM state is in the state folder)
#   /var/lib/kubelet       the kubelet's device-plugin socket folder
#   /var/log/containers    the kubelet's symlinks to container logs
# (CLUSTER_HOST_PATHS in hack/lib.sh) and cgroups named kubepods in each
# cgroup hierarchy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

[[ -d "${CLUSTER_DIR}" ]] || { log "no cluster state in ${CLUSTER_DIR}: nothing to do"; exit 0; }
[[ "$(id -u)" == 0 ]] || die "tearing the cluster down needs root"
start=${SECONDS}

# 1. Delete every pod while the kubelet runs, so each sandbox is stopped
#    the normal way (CNI DEL: address released, veth and netns removed).
if cluster_running kubelet && cluster_running kube-apiserver; then
  log "deleting all pods"
  k() { "${BIN_DIR}/kubectl" --kubeconfig "${CLUSTER_KUBECONFIG}" --request-timeout=10s "$@"; }
  deadline=$((SECONDS + 60))
  while (( SECONDS < deadline )); do
    # Again and again: controllers (ours, Tekton's) may recreate objects
    # until their own Deployments are gone.
    k delete deployments,replicasets,statefulsets,daemonsets,jobs --all --all-namespaces --wait=false >/dev/null 2>&1 || true
    k delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
    for _ in 1 2 3 4 5; do
      if out="$(k get pods -A --no-headers 2>/dev/null)"; then
        pods="$(grep -c . <<<"${out}" || true)"
      else
        pods=1
      fi
      sandboxes="$(ip -o link show master "${CLUSTER_BRIDGE}" 2>/dev/null | grep -c . || true)"
      (( pods == 0 && sandboxes == 0 )) && break 2
      sleep 1
    done
  done
fi

# 2. Stop the kubelet first (it would restart containers), then kill what
#    is left in containerd through containerd itself.
cluster_stop kubelet
if cluster_running containerd; then
  for id in $(ctr -a "${CLUSTER_CONTAINERD_SOCK}" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr -a "${CLUSTER_CONTAINERD_SOCK}" -n k8s.io tasks kill -s SIGKILL "${id}" >/dev/null 2>&1 || true
  done
  sleep 0.5
  for id in $(ctr -a "${CLUSTER_CONTAINERD_SOCK}" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr -a "${CLUSTER_CONTAINERD_SOCK}" -n k8s.io tasks delete -f "${id}" >/dev/null 2>&1 || true
  done
fi
for c in service-proxy cluster-dns kube-scheduler kube-controller-manager kube-apiserver etcd containerd; do
  cluster_stop "${c}"
done

# 3. Container shims (their command line has our containerd socket) and any
#    process still in the kubelet's cgroups.
for pid in $(pgrep -f containerd-shim 2>/dev/null || true); do
  if cluster_owns "${pid}"; then kill -KILL "${pid}" 2>/dev/null || true; fi
done
kubepods=()
while read -r cg; do
  grep -qxF "${cg}" "${CLUSTER_KUBEPODS_BEFORE}" 2>/dev/null || kubepods+=("${cg}")
done < <(cluster_kubepods_cgroups)
for cg in "${kubepods[@]}"; do
  while read -r procs; do
    for pid in $(cat "${procs}" 2>/dev/null); do kill -KILL "${pid}" 2>/dev/null || true; done
  done < <(find "${cg}" -name cgroup.procs 2>/dev/null)
done
sleep 0.5
for cg in "${kubepods[@]}"; do
  # Deepest first; a cgroup folder is removed with rmdir, never rm.
  find "${cg}" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  [[ ! -d "${cg}" ]] || log "warning: could not remove cgroup ${cg}"
done

# The host's kernel tunables, as they were before the kubelet set its own.
if [[ -f "${CLUSTER_SYSCTL_BEFORE}" ]]; then
  while read -r tunable value; do
    if [[ "$(cat "/proc/sys/${tunable}")" != "${value}" ]]; then
      echo "${value}" >"/proc/sys/${tunable}" || log "warning: could not restore ${tunable//\//.} to ${value}"
    fi
  done <"${CLUSTER_SYSCTL_BEFORE}"
fi

# 4. Network: namespaces the CRI plugin left (the sandboxes whose CNI DEL
#    did not run), veths on our bridge, the bridge.
preexisting="$(cat "${CLUSTER_PREEXISTING}" 2>/dev/null || true)"
if [[ -f "${CLUSTER_NETNS_BEFORE}" ]]; then
  for ns in $(ls /run/netns 2>/dev/null); do
    if [[ "${ns}" == cni-* ]] && ! grep -qx "${ns}" "${CLUSTER_NETNS_BEFORE}"; then
      umount "/run/netns/${ns}" 2>/dev/null || true
      rm -f "/run/netns/${ns}"
    fi
  done
fi
for link in $(ip -o link show master "${CLUSTER_BRIDGE}" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
  ip link delete "${link}" 2>/dev/null || true
done
ip link delete "${CLUSTER_BRIDGE}" 2>/dev/null || true

# 5. Mounts under the state folder (the kubelet's bind mount of its root,
#    volumes, container root filesystems, sandbox /dev/shm), deepest first.
for i in 1 2 3; do
  mapfile -t mounts < <(awk -v d="${CLUSTER_DIR}" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r)
  (( ${#mounts[@]} )) || break
  for m in "${mounts[@]}"; do
    umount "${m}" 2>/dev/null || umount -l "${m}" 2>/dev/null || true
  done
done

# 6. Paths outside the state folder: the kubelet's legacy log symlinks
#    first (only those into our state folder), then folders we created.
find /var/log/containers -maxdepth 1 -type l -lname "${CLUSTER_DIR}/*" -delete 2>/dev/null || true
for p in "${CLUSTER_HOST_PATHS[@]}"; do
  if grep -qx "${p}" <<<"${preexisting}"; then
    case "${p}" in
      /var/lib/cni) rm -f /var/lib/cni/results/tss-pods-* 2>/dev/null || true ;;
    esac
    continue
  fi
  if [[ "${p}" == /run/netns || "${p}" == /var/log/containers ]] && [[ -n "$(ls -A "${p}" 2>/dev/null)" ]]; then
    continue # someone else's
  fi
  [[ ! -e "${p}" ]] || rm -rf "${p}"
done

# 7. Nothing of the cluster may be left: no process of its own, no mount,
#    no bridge, the host's kernel tunables as they were.
left=()
for p in /proc/[0-9]*; do
  pid="${p#/proc/}"
  [[ "${pid}" == "$$" || "${pid}" == "${BASHPID}" ]] || ! cluster_owns "${pid}" || left+=("${pid}")
done
(( ${#left[@]} == 0 )) || die "processes of the cluster remain: $(ps -o pid=,args= -p "$(IFS=,; echo "${left[*]}")" 2>/dev/null | head -5)"
! ip link show "${CLUSTER_BRIDGE}" >/dev/null 2>&1 || die "the bridge ${CLUSTER_BRIDGE} remains"
if [[ -f "${CLUSTER_SYSCTL_BEFORE}" ]]; then
  while read -r tunable value; do
    [[ "$(cat "/proc/sys/${tunable}")" == "${value}" ]] || die "${tunable//\//.} is not back to ${value}"
  done <"${CLUSTER_SYSCTL_BEFORE}"
fi
if awk -v d="${CLUSTER_DIR}" 'index($5, d) == 1 {found = 1} END {exit !found}' /proc/self/mountinfo; then
  die "mounts remain under ${CLUSTER_DIR}; not removing it (see /proc/self/mountinfo)"
fi
rm -rf --one-file-system "${CLUSTER_DIR}"
log "cluster down in $((SECONDS - start))s"
