#!/usr/bin/env bash
# Writes the OpenAPI v3 schema of TektonStepSource, generated from the Go types
# by the project's own schema generator (hack/schema: reflection over the
# types, descriptions from their doc comments; Knative's knative.dev/hack/schema
# cannot handle these types, see hack/schema/main.go), into the CRD in config/,
# between the "# schema:begin" and "# schema:end" markers. Everything outside
# the markers (labels, annotations, printer columns, CEL rules) is maintained
# by hand.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

crd="config/300-tektonstepsource.yaml"
schema="$(mktemp)"
trap 'rm -f "${schema}" "${schema}.crd"' EXIT
go run ./hack/schema > "${schema}"

# Indentation of the begin marker = indentation of the schema body.
indent="$(grep -E '^ *# schema:begin' "${crd}" | sed -E 's/# schema:begin.*//')"
[[ -n "${indent}" ]] || die "${crd} has no '# schema:begin' marker"
awk -v indent="${indent}" -v schema="${schema}" '
  /# schema:begin/ { print; while ((getline line < schema) > 0) if (line != "") print indent line; skip = 1; next }
  /# schema:end/   { skip = 0 }
  !skip            { print }
' "${crd}" > "${schema}.crd"
mv "${schema}.crd" "${crd}"
