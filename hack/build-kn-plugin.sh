#!/usr/bin/env bash
# Builds the kn plugin kn-source-tektonstep. kn runs any executable named
# kn-* on the PATH as a plugin, so with the output folder on the PATH,
# `kn source tektonstep ...` runs it (it also works on its own).
#
#   hack/build-kn-plugin.sh            # -> .cache/bin/kn-source-tektonstep
#   hack/build-kn-plugin.sh ~/bin      # -> ~/bin/kn-source-tektonstep
#   export PATH=$PWD/.cache/bin:$PATH && kn source tektonstep --help
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

out_dir="${1:-${BIN_DIR}}"
mkdir -p "${out_dir}"
out="$(cd "${out_dir}" && pwd)/kn-source-tektonstep"
go build -o "${out}" ./cmd/kn-source-tektonstep
log "built ${out}; put $(dirname "${out}") on your PATH and run: kn source tektonstep --help"
echo "${out}"
