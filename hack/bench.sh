#!/usr/bin/env bash
# Benchmarks the receive adapter against Knative's ApiServerSource adapter
# (TaskRuns, Resource mode) and a bare informer (alone, and sending one event
# per update) on one real kube-apiserver, and prints a table
# (docs/benchmarks.md); also over many namespaces (against ApiServerSource)
# and with 1, 2 and 4 replicas. `--quick` is a small run with short
# settle times (about two minutes with a warm build cache) that hack/test.sh runs
# so the benchmark cannot rot; it fails when a contender does not deliver every
# expected event, never on a missed performance target. Other flags:
# -taskruns, -steps, -rate, -concurrent, -rounds, -cached, -settle,
# -rss-settle, -timeout, -contenders, -namespaces, -namespace-taskruns,
# -replicas; BENCH_PPROF=<dir> saves the adapters' CPU and heap profiles
# (over many namespaces: heap and goroutine profiles and MemStats);
# BENCH_APISERVER_PPROF=<dir> a CPU profile of kube-apiserver while the
# controller brings its sources to Ready.
# Then (not with --quick) the namespace churn and sink outage fault tests at
# full size, and it times the controller bringing 500 sources (50 with
# --quick) to Ready, and 50 (10) at its shipped client rate, and counts its
# SubjectAccessReviews.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"
hack/build-control-plane.sh >/dev/null
go run ./test/bench "$@"

quick=false
for arg in "$@"; do
  [[ "${arg}" != --quick && "${arg}" != -quick ]] || quick=true
done

# The churn and outage fault tests (test/fault, run small by hack/test.sh)
# at the benchmark's sizes: 100 namespaces joining and leaving while a
# workload runs, and a 5 minute sink outage with 2,000 running TaskRuns
# (the adapter's RSS before, during and after).
if [[ "${quick}" == false ]]; then
  log "namespace churn (100 namespaces) and a 5 min sink outage with 2,000 running TaskRuns"
  TSS_CHURN_NAMESPACES=100 TSS_OUTAGE_RUNNING=2000 TSS_OUTAGE=5m go test -count=1 -timeout 40m -v \
    -run '^(TestNamespaceChurnWhileTheWorkloadRuns|TestSinkOutageWithRunningTaskRuns)$' ./test/fault |
    grep -E '(churn|outage)_test.go|^(--- |ok|FAIL)'
fi

# The controller, on a control plane of its own: the time to bring 500 new
# sources to Ready unthrottled and 50 at the client rate cmd/controller
# ships with (50 and 10 with --quick), the apiserver requests and the CPU
# that took; the SubjectAccessReviews for a source over 1,000 namespaces
# (20 with --quick) with a user-provided account.
sources=500 shipped=50 namespaces=1000
[[ "${quick}" == false ]] || sources=50 shipped=10 namespaces=20
log "controller: ${sources} new TektonStepSources to Ready (${shipped} at the shipped client rate); reviews for a source over ${namespaces} namespaces"
BENCH_SOURCES="${sources}" BENCH_SHIPPED_SOURCES="${shipped}" BENCH_NAMESPACES="${namespaces}" go test -count=1 -timeout 30m -run '^$' \
  -bench '^(BenchmarkControllerReconciles500Sources|BenchmarkControllerSubjectAccessReviews)$' \
  -benchtime 1x ./test/integration |
  grep -E '^(Benchmark|ok|FAIL|---)|sources created|requests until then|CPU until then|SubjectAccessReviews until'

