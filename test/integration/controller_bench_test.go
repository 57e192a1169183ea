/*
Copyright 2026 The tekton-step-source Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package integration

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/inprocess"
	"github.com/tektonstep/tekton-step-source/test/procstat"
)

// BenchmarkControllerReconciles500Sources times the real controller (in
// process) bringing new TektonStepSources to Ready on the real apiserver:
// sink resolved, ServiceAccount, Role, RoleBinding, journal and adapter
// Deployment created, status written. The adapter Deployments are marked
// available as a kubelet would (inprocess.SimulateAdapters). Two cases:
// "unthrottled", 500 sources (BENCH_SOURCES) at envtest's client rate,
// which this apiserver never reaches, so what bounds the time is this
// machine; and "shipped-rate", 50 sources (BENCH_SHIPPED_SOURCES) at the
// rate cmd/controller has by default, which bounds it there. hack/bench.sh
// runs it once and prints s/<n>-sources, the requests per source and the
// CPU each process spent.
func BenchmarkControllerReconciles500Sources(b *testing.B) {
	for _, c := range []struct {
		name    string
		sources int
		rate    []clientRate
	}{
		{"unthrottled", benchSize(b, "BENCH_SOURCES", 500), nil},
		{"shipped-rate", benchSize(b, "BENCH_SHIPPED_SOURCES", 50), []clientRate{{inprocess.ShippedQPS, inprocess.ShippedBurst}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			env := startController(b, c.rate...)
			rate := "envtest's, 1000 requests/s, burst 2000"
			if len(c.rate) > 0 {
				rate = c.rate[0].String()
			}
			for i := 0; i < b.N; i++ {
				createSourcesUntilReady(b, env, c.sources, rate)
			}
		})
	}
}

// benchSize is the positive number in the environment variable name, or
// def.
func benchSize(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// createSourcesUntilReady creates sources new sources in a new namespace,
// eight at a time, waits for all to be Ready and reports the time, the
// apiserver requests per source and the CPU spent meanwhile.
func createSourcesUntilReady(b *testing.B, env *controllerEnv, sources int, rate string) {
	const creators = 8
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simulated := make(chan error, 1)
	go func() { simulated <- inprocess.SimulateAdapters(ctx, cp.Config, nil) }()
	defer func() { cancel(); <-simulated }()

	ns := cp.NewNamespace(b)
	requestsBefore, err := requestsByKind(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cpuBefore, err := cpuByProcess()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	names := make(chan string)
	for w := 0; w < creators; w++ {
		wg.Go(func() {
			for name := range names {
				src := newSourceObject(name, duckv1.Destination{URI: apis.HTTP("sink." + ns + ".svc")})
				if _, err := env.sources.SourcesV1alpha1().TektonStepSources(ns).Create(ctx, src, metav1.CreateOptions{}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for n := 0; n < sources; n++ {
		names <- fmt.Sprintf("s%03d", n)
	}
	close(names)
	wg.Wait()
	created := time.Since(start)

	ready := 0
	if err := wait.PollUntilContextTimeout(ctx, time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		list, err := env.sources.SourcesV1alpha1().TektonStepSources(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		ready = 0
		for i := range list.Items {
			if list.Items[i].Status.GetCondition(apis.ConditionReady).IsTrue() {
				ready++
			}
		}
		return ready == sources, nil
	}); err != nil {
		b.Fatalf("%d of %d sources Ready after %s: %v", ready, sources, time.Since(start), err)
	}
	elapsed := time.Since(start)
	cpuAfter, err := cpuByProcess()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(elapsed.Seconds(), fmt.Sprintf("s/%d-sources", sources))
	b.Logf("%d sources created in %s, all Ready after %s (controller client rate: %s)",
		sources, created.Round(time.Millisecond), elapsed.Round(time.Millisecond), rate)
	requestsAfter, err := requestsByKind(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("apiserver requests until then, per source: %s", perSource(requestsBefore, requestsAfter, sources))
	b.Logf("CPU until then (%d cores x %s = %.1f s): %s", runtime.NumCPU(), elapsed.Round(100*time.Millisecond),
		float64(runtime.NumCPU())*elapsed.Seconds(), cpuSpent(cpuBefore, cpuAfter))
	// A controller started later would reconcile these too.
	if err := env.sources.SourcesV1alpha1().TektonStepSources(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		b.Fatal(err)
	}
}

// cpuByProcess is the CPU seconds spent so far by this test process (the
// controller, the benchmark's clients and the simulated kubelet) and by
// each of its children (kube-apiserver, etcd), by name.
func cpuByProcess() (map[string]float64, error) {
	children, err := procstat.Children(os.Getpid())
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for pid, name := range children {
		ticks, err := procstat.CPUTicks(pid)
		if err != nil {
			return nil, err
		}
		out[name] += float64(ticks) / 100
	}
	ticks, err := procstat.CPUTicks(os.Getpid())
	if err != nil {
		return nil, err
	}
	out["this process (controller, benchmark)"] = float64(ticks) / 100
	return out, nil
}

// cpuSpent renders the CPU seconds spent between two readings, most first.
func cpuSpent(before, after map[string]float64) string {
	names := make([]string, 0, len(after))
	for name := range after {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return after[names[i]]-before[names[i]] > after[names[j]]-before[names[j]] })
	parts := make([]string, 0, len(names))
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f s", name, after[name]-before[name]))
	}
	return strings.Join(parts, ", ")
}

// requestsByKind is the apiserver's request count (apiserver_request_total)
// by verb and resource: what the controller asked for, with the
// benchmark's own few creates and lists.
func requestsByKind(ctx context.Context) (map[string]float64, error) {
	metrics, err := controlplane.APIServerMetrics(ctx, cp.Config, "apiserver_request_total")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, s := range metrics["apiserver_request_total"] {
		kind := s.Labels["verb"] + " " + s.Labels["resource"]
		if sub := s.Labels["subresource"]; sub != "" {
			kind += "/" + sub
		}
		out[kind] += s.Value
	}
	return out, nil
}

// perSource renders the requests made between two counts, per source,
// most first.
func perSource(before, after map[string]float64, sources int) string {
	type kind struct {
		name string
		n    float64
	}
	var kinds []kind
	total := 0.0
	for name, n := range after {
		if d := n - before[name]; d >= float64(sources)/10 {
			kinds = append(kinds, kind{name, d})
			total += d
		}
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i].n > kinds[j].n })
	parts := []string{fmt.Sprintf("%.1f in all", total/float64(sources))}
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %.2f", k.name, k.n/float64(sources)))
	}
	return strings.Join(parts, ", ")
}
