#!/usr/bin/env bash
# Fails when generated code or the CRD schema is stale: regenerates into a
# copy of the tree and compares.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
# Copy the tracked and new files (not the cache) and regenerate there.
(cd "${REPO_ROOT}" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "${tmp}")
TSS_CACHE_DIR="${CACHE_DIR}" "${tmp}/hack/update-codegen.sh" >/dev/null

status=0
for path in pkg/client pkg/apis config go.mod go.sum; do
  if ! diff -Nur "${REPO_ROOT}/${path}" "${tmp}/${path}" >"${tmp}/diff.txt" 2>&1; then
    cat "${tmp}/diff.txt" >&2
    echo "ERROR: ${path} is out of date; run hack/update-codegen.sh" >&2
    status=1
  fi
done
[[ ${status} -eq 0 ]] && log "generated code is up to date"
exit ${status}
