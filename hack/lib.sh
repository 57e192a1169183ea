#!/usr/bin/env bash
# Shared helpers for the hack/ scripts. Source it; do not run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Everything built or downloaded by the scripts lives here (git-ignored), so a
# second run on the same machine is fast and CI can cache one folder.
CACHE_DIR="${TSS_CACHE_DIR:-${REPO_ROOT}/.cache}"
BIN_DIR="${CACHE_DIR}/bin"

KUBE_VERSION="v1.35.4"
ETCD_VERSION="v3.6.5"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31mERROR:\033[0m %s\n' "$*" >&2; exit 1; }

# build_go_tool <wrapper-module-dir> <package> <output> [ldflags]
# Builds a static binary from a wrapper module under hack/tools, skipping the
# build when the output exists and is newer than the wrapper's go.mod/go.sum.
build_go_tool() {
  local dir="$1" pkg="$2" out="$3" ldflags="${4:-}"
  if [[ -x "${out}" && "${out}" -nt "${dir}/go.sum" && "${out}" -nt "${dir}/go.mod" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "${out}")"
  log "building $(basename "${out}") from ${pkg} (first time only; this takes minutes)"
  local start=${SECONDS}
  (cd "${dir}" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
      -ldflags "-s -w ${ldflags}" -o "${out}.tmp" "${pkg}") || die "building ${pkg} failed"
  mv "${out}.tmp" "${out}"
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
