#!/usr/bin/env bash
# Benchmarks the receive adapter against Knative's ApiServerSource adapter
# (TaskRuns, Resource mode) and a bare informer on one real kube-apiserver,
# and prints a table. `--quick` is a small run that CI uses so the benchmark
# cannot rot; other flags: -taskruns, -steps, -rate, -cached.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"
hack/build-control-plane.sh >/dev/null
exec go run ./test/bench "$@"
