#!/usr/bin/env bash
# The project's test command (README, CI): static checks, generated-code
# check, `ko resolve` of config/ (offline), then every Go test, including the
# ones against a real kube-apiserver, which this script builds first if needed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${REPO_ROOT}"

start=${SECONDS}
# step <what>: a log line with the time since the start.
step() { log "[$((SECONDS - start))s] $*"; }
step "control plane binaries"
hack/build-control-plane.sh >/dev/null

step "gofmt"
unformatted="$(gofmt -l $(git ls-files -co --exclude-standard '*.go'))"
[[ -z "${unformatted}" ]] || die "gofmt needed on: ${unformatted}"

step "go vet"
go vet ./...

step "generated code"
hack/verify-codegen.sh

step "ko resolve"
hack/verify-ko.sh

step "go test"
# Two cores: one package at a time keeps the apiserver-backed tests from
# starving each other.
go test -count=1 -p 1 -timeout 30m "$@" ./...

step "fuzzing (short, fixed executions; seeds in testdata/fuzz and the f.Add calls)"
# Counts, not durations (about 15 s each here): with a -fuzztime duration,
# Go's fuzzing coordinator up to 1.26 may report "context deadline
# exceeded" as a failure when the time is up (golang/go#75804, fixed in
# Go 1.27), which is no finding. FUZZ_TIME overrides each (e.g. 10m).
go test -run '^$' -fuzz '^FuzzForTaskRun$' -fuzztime "${FUZZ_TIME:-30000x}" ./pkg/adapter/transitions
go test -run '^$' -fuzz '^FuzzNew$' -fuzztime "${FUZZ_TIME:-75000x}" ./pkg/adapter/events
go test -run '^$' -fuzz '^FuzzTail$' -fuzztime "${FUZZ_TIME:-20000x}" ./pkg/adapter/masking

if [[ "$(uname -s)" == Linux ]]; then
  # A real single-node cluster (needs root): Tekton runs real pods, our
  # controller and adapter run as pods. KUBECONFIG is ignored here so the
  # tests never touch a cluster of the caller's.
  step "end-to-end tests (hack/e2e.sh)"
  env -u KUBECONFIG hack/e2e.sh
fi

step "benchmark (quick)"
hack/bench.sh --quick

log "all tests passed in $((SECONDS - start))s"
