#!/usr/bin/env bash
# Benchmarks the receive adapter against Knative's ApiServerSource adapter
# (TaskRuns, Resource mode) and a bare informer (alone, and sending one event
# per update) on one real kube-apiserver, and prints a table
# (docs/benchmarks.md). `--quick` is a small run with short
# settle times (about a minute with a warm build cache) that hack/test.sh runs
# so the benchmark cannot rot; it fails when a contender does not deliver every
# expected event, never on a missed performance target. Other flags:
# -taskruns, -steps, -rate, -concurrent, -rounds, -cached, -settle,
# -rss-settle, -timeout, -contenders; BENCH_PPROF=<dir> saves the adapters' CPU and heap profiles.
# Then it times the controller bringing 500 sources (50 with --quick) to Ready.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"
hack/build-control-plane.sh >/dev/null
go run ./test/bench "$@"

# The controller: the time to bring 500 new sources to Ready (50 with
# --quick), on a control plane of its own.
sources=500
for arg in "$@"; do
  [[ "${arg}" != --quick && "${arg}" != -quick ]] || sources=50
done
log "controller: ${sources} new TektonStepSources to Ready"
BENCH_SOURCES="${sources}" go test -count=1 -run '^$' -bench '^BenchmarkControllerReconciles500Sources$' \
  -benchtime 1x ./test/integration | grep -E '^(Benchmark|ok|FAIL|---)|sources created'

