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
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"sigs.k8s.io/yaml"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
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
// rate config/500-controller.yaml gives the controller, which bounds it on
// a cluster. hack/bench.sh runs it once and prints s/<n>-sources, the
// requests per source and the CPU each process spent;
// BENCH_APISERVER_PPROF=<dir> also saves a CPU profile of kube-apiserver
// during each case.
func BenchmarkControllerReconciles500Sources(b *testing.B) {
	for _, c := range []struct {
		name    string
		sources int
		rate    []clientRate
	}{
		{"unthrottled", benchSize(b, "BENCH_SOURCES", 500), nil},
		{"shipped-rate", benchSize(b, "BENCH_SHIPPED_SOURCES", 50), []clientRate{shippedClientRate(b)}},
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

// shippedClientRate is the controller's client rate in
// config/500-controller.yaml (KUBE_API_QPS, KUBE_API_BURST).
func shippedClientRate(b *testing.B) clientRate {
	data, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "500-controller.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.Unmarshal(data, &d); err != nil {
		b.Fatal(err)
	}
	env := map[string]string{}
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			env[e.Name] = e.Value
		}
	}
	qps, err := strconv.ParseFloat(env["KUBE_API_QPS"], 32)
	if err != nil {
		b.Fatalf("KUBE_API_QPS in config/500-controller.yaml: %v", err)
	}
	burst, err := strconv.Atoi(env["KUBE_API_BURST"])
	if err != nil {
		b.Fatalf("KUBE_API_BURST in config/500-controller.yaml: %v", err)
	}
	return clientRate{float32(qps), burst}
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
	// Ready is seen as the status arrives, by a watch: polling would add
	// up to its interval to the figure, and list 500 sources each time.
	allReady := make(chan error, 1)
	go func() {
		lw := cache.NewListWatchFromClient(env.sources.SourcesV1alpha1().RESTClient(), "tektonstepsources", ns, fields.Everything())
		ready := map[string]bool{}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Minute)
		defer wcancel()
		_, err := watchtools.UntilWithSync(wctx, lw, &v1alpha1.TektonStepSource{}, nil, func(e watch.Event) (bool, error) {
			if src, ok := e.Object.(*v1alpha1.TektonStepSource); ok {
				ready[src.Name] = e.Type != watch.Deleted && src.Status.GetCondition(apis.ConditionReady).IsTrue()
			}
			n := 0
			for _, r := range ready {
				if r {
					n++
				}
			}
			return n == sources, nil
		})
		allReady <- err
	}()
	start := time.Now()
	if dir := os.Getenv("BENCH_APISERVER_PPROF"); dir != "" {
		go profileAPIServer(ctx, b, filepath.Join(dir, fmt.Sprintf("apiserver-%d-sources.pprof", sources)))
	}
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

	if err := <-allReady; err != nil {
		b.Fatalf("not all %d sources Ready after %s: %v", sources, time.Since(start), err)
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

// profileAPIServer saves a CPU profile of kube-apiserver's next 9 seconds
// (about the time 500 sources take to be Ready) to path: where the
// apiserver's time, which bounds the benchmark, goes.
func profileAPIServer(ctx context.Context, b *testing.B, path string) {
	raw, err := kubernetes.NewForConfigOrDie(cp.Config).CoreV1().RESTClient().Get().
		AbsPath("/debug/pprof/profile").Param("seconds", "9").DoRaw(ctx)
	if err == nil {
		err = os.WriteFile(path, raw, 0o644)
	}
	if err != nil {
		b.Logf("apiserver profile: %v", err)
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
