#!/usr/bin/env bash
# Resolves config/ with real ko, offline: `ko resolve --push=false -f config/`
# builds our controller and receive adapter images (nothing is pushed or
# contacted) and must turn every ko:// reference into an image reference by
# digest, including the controller's TEKTON_STEP_SOURCE_RA_IMAGE (the image
# of every receive adapter). Builds ko (hack/tools/ko) when needed and uses
# the offline base image of hack/lib.sh (ko_resolve). hack/test.sh runs it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

repo="tss.local/tekton-step-source"
build_ko
build_imagetool

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
resolved="${work}/resolved.yaml"
if ! KO_DOCKER_REPO="${repo}" ko_resolve --push=false -f config/ >"${resolved}" 2>"${work}/ko.log"; then
  cat "${work}/ko.log" >&2
  die "ko resolve --push=false -f config/ failed"
fi

# (Comments keep their text: ko:// before a # only.)
if grep -nE '^[^#]*ko://' "${resolved}" >&2; then
  die "ko resolve left the ko:// references above unresolved"
fi

re() { sed 's/[].[\*^$()+?{}|]/\\&/g' <<<"$1"; }
# [:tag]@sha256:<digest>
digest_re='(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?@sha256:[0-9a-f]{64}'

# ko's image name for an import path: <KO_DOCKER_REPO>/<last element>-<md5 of the path>.
ko_name() { printf '%s/%s-%s' "${repo}" "$(basename "$1")" "$(printf %s "$1" | md5sum | cut -d' ' -f1)"; }

mapfile -t paths < <(sed 's/#.*//' config/*.yaml | grep -oE 'ko://[A-Za-z0-9_./-]+' | sort -u)
((${#paths[@]} > 0)) || die "no ko:// references in config/*.yaml"
for p in "${paths[@]}"; do
  name="$(ko_name "${p#ko://}")"
  grep -qE "[: ]$(re "${name}")${digest_re}\$" "${resolved}" \
    || die "${p} was not resolved to ${name}@sha256:..."
done

# The controller Deployment's adapter image: the only TEKTON_STEP_SOURCE_RA_IMAGE.
ra_name="$(ko_name "github.com/tektonstep/tekton-step-source/cmd/receive_adapter")"
mapfile -t ra < <(awk '
  /^[[:space:]]*kind: Deployment[[:space:]]*$/ { deploy = 1 }
  /^---/ { deploy = 0 }
  deploy && /^[[:space:]]*- name: TEKTON_STEP_SOURCE_RA_IMAGE[[:space:]]*$/ {
    getline
    if ($0 ~ /^[[:space:]]*value:/) { sub(/^[[:space:]]*value:[[:space:]]*/, ""); gsub(/["\047[:space:]]/, ""); print }
    else print "(not a literal value)"
  }' "${resolved}")
((${#ra[@]} == 1)) || die "want one TEKTON_STEP_SOURCE_RA_IMAGE value in the controller Deployment, got ${#ra[@]}: ${ra[*]:-}"
[[ "${ra[0]}" =~ ^$(re "${ra_name}")${digest_re}$ ]] \
  || die "TEKTON_STEP_SOURCE_RA_IMAGE is ${ra[0]}, not an image reference ${ra_name}@sha256:..."

log "ko resolved ${#paths[@]} images; the controller's TEKTON_STEP_SOURCE_RA_IMAGE is ${ra[0]}"
