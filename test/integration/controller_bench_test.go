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
)

// BenchmarkControllerReconciles500Sources times the real controller (in
// process, client rate 50 requests/s) bringing 500 new TektonStepSources
// (BENCH_SOURCES overrides the number) to Ready on the real apiserver: sink
// resolved, ServiceAccount, RoleBinding and adapter Deployment created,
// status written. The adapter Deployments are marked available as a kubelet
// would (inprocess.SimulateAdapters). hack/bench.sh runs it once and prints
// s/<n>-sources.
func BenchmarkControllerReconciles500Sources(b *testing.B) {
	const creators = 8
	sources := 500
	if v := os.Getenv("BENCH_SOURCES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("BENCH_SOURCES=%q: want a positive number", v)
		}
		sources = n
	}
	env := startController(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = inprocess.SimulateAdapters(ctx, cp.Config, nil) }()

	for i := 0; i < b.N; i++ {
		ns := cp.NewNamespace(b)
		requestsBefore, err := requestsByKind(ctx)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		var wg sync.WaitGroup
		names := make(chan string)
		for w := 0; w < creators; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for name := range names {
					src := newSourceObject(name, duckv1.Destination{URI: apis.HTTP("sink." + ns + ".svc")})
					if _, err := env.sources.SourcesV1alpha1().TektonStepSources(ns).Create(ctx, src, metav1.CreateOptions{}); err != nil {
						b.Error(err)
					}
				}
			}()
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
		b.ReportMetric(elapsed.Seconds(), fmt.Sprintf("s/%d-sources", sources))
		b.Logf("%d sources created in %s, all Ready after %s", sources, created.Round(time.Millisecond), elapsed.Round(time.Millisecond))
		requestsAfter, err := requestsByKind(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("apiserver requests until then, per source: %s", perSource(requestsBefore, requestsAfter, sources))
	}
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
