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

package adapter

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	clientgotesting "k8s.io/client-go/testing"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// pendingUID is the TaskRun whose journal entry journalAdapter has pending.
const pendingUID = types.UID("tr-uid")

// journalAdapter is an Adapter with only what the journal writer uses,
// against kube, with ci/build (pendingUID) delivered up to compile's
// start and its journal entry pending.
func journalAdapter(t *testing.T, kube *fake.Clientset, mp metric.MeterProvider, opts Options) *Adapter {
	t.Helper()
	// As the controller creates it with the source.
	if _, err := kube.CoreV1().ConfigMaps("ci").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: adaptercontract.JournalName("src"), Namespace: "ci"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := testAdapter(t, &adaptercontract.Config{SourceUID: "src", SourceName: "steps", SourceNamespace: "ci"}, func(o *Options) {
		o.Kube, o.MeterProvider = kube, mp
		o.CheckpointInterval, o.JournalMaxBytes = opts.CheckpointInterval, 1<<20
		o.RetryBaseDelay, o.RetryMaxDelay, o.SendTimeout = opts.RetryBaseDelay, opts.RetryMaxDelay, opts.SendTimeout
	})
	delivered := &checkpoint.Progress{}
	delivered.Record(transitions.Transition{Kind: transitions.Started, StepState: pipelinev1.StepState{Name: "compile"}})
	a.ledger.runs[pendingUID] = &runState{key: types.NamespacedName{Namespace: "ci", Name: "build"}, delivered: delivered, saved: &checkpoint.Progress{}}
	a.ledger.journalPending[pendingUID] = struct{}{}
	return a
}

// TestJournalEntryObsoleteOnArrival: a TaskRun annotated or deleted while
// the journal write carrying its entry is on its way must not leave that
// entry behind; the next write removes it. (Races of the delivery path and
// the journal writer; test/integration covers the journal end to end.)
func TestJournalEntryObsoleteOnArrival(t *testing.T) {
	const uid = pendingUID
	tests := []struct {
		name string
		// during runs while the first write is on its way, with the
		// ledger's lock held.
		during    func(l *ledger)
		wantEntry bool
	}{{
		name:      "nothing happens meanwhile: the entry stays",
		during:    func(*ledger) {},
		wantEntry: true,
	}, {
		name:   "annotated meanwhile",
		during: func(l *ledger) { l.runs[uid].saved = l.runs[uid].delivered.Clone() },
	}, {
		name: "deleted meanwhile",
		// As forget does, before the entry's size is known.
		during: func(l *ledger) { delete(l.runs, uid) },
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			a := journalAdapter(t, kube, noop.NewMeterProvider(), Options{SendTimeout: time.Second})
			var once sync.Once
			kube.PrependReactor("patch", "configmaps", func(clientgotesting.Action) (bool, runtime.Object, error) {
				once.Do(func() {
					a.ledger.mu.Lock()
					tc.during(a.ledger)
					a.ledger.mu.Unlock()
				})
				return false, nil, nil
			})

			ctx := context.Background()
			if _, err := a.writeJournal(ctx, a.owns, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := a.writeJournal(ctx, a.owns, nil); err != nil {
				t.Fatal(err)
			}
			cm, err := kube.CoreV1().ConfigMaps("ci").Get(ctx, adaptercontract.JournalName("src"), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cm.Data[string(uid)]; ok != tc.wantEntry {
				t.Errorf("journal %v: entry present = %v, want %v", cm.Data, ok, tc.wantEntry)
			}
			l := a.ledger
			if _, ok := l.journalSizes[uid]; ok != tc.wantEntry || (l.journalBytes > 0) != tc.wantEntry {
				t.Errorf("journal size bookkeeping: sizes %v, bytes %d", l.journalSizes, l.journalBytes)
			}
			if len(l.journalPending) != 0 {
				t.Errorf("still pending: %v", l.journalPending)
			}
		})
	}
}

// TestJournalWriteIsRetried: a journal write the apiserver refuses is
// retried with backoff until it lands, and counted as failed meanwhile.
func TestJournalWriteIsRetried(t *testing.T) {
	const uid = pendingUID
	kube := fake.NewClientset()
	var refusals atomic.Int32
	kube.PrependReactor("patch", "configmaps", func(clientgotesting.Action) (bool, runtime.Object, error) {
		if refusals.Add(1) <= 3 {
			return true, nil, apierrors.NewServiceUnavailable("etcd is busy")
		}
		return false, nil, nil
	})
	reader := sdkmetric.NewManualReader()
	a := journalAdapter(t, kube, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		Options{SendTimeout: time.Second, RetryBaseDelay: 10 * time.Millisecond, RetryMaxDelay: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.runJournal(ctx)
	}()
	a.kickJournal()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := kube.CoreV1().ConfigMaps("ci").Get(ctx, adaptercontract.JournalName("src"), metav1.GetOptions{})
		return err == nil && cm.Data[string(uid)] != "", nil
	})
	cancel()
	<-done
	if err != nil {
		t.Fatalf("the entry never landed after %d refusals", refusals.Load())
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != MetricCheckpointWrites {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				store, _ := dp.Attributes.Value("checkpoint.store")
				outcome, _ := dp.Attributes.Value("outcome")
				outcomes[store.AsString()+"/"+outcome.AsString()] += dp.Value
			}
		}
	}
	// The first attempt's Patch is refused; each of the three refusals is
	// one failed write, then one is written.
	if outcomes["journal/failed"] != 3 || outcomes["journal/written"] != 1 {
		t.Errorf("checkpoint writes = %v, want 3 journal/failed and 1 journal/written", outcomes)
	}
}

// TestAnnotationCovers: a checkpoint write is skipped when the TaskRun, as
// the watch last saw it, already carries as much, written by the replica
// leading its bucket now (writing would put older progress back), unless
// that record is more than the TaskRun's status shows (a forgery is
// written over).
func TestAnnotationCovers(t *testing.T) {
	done := []pipelinev1.StepState{
		{Name: "compile", ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}},
		{Name: "test", ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}},
	}
	running := []pipelinev1.StepState{
		done[0],
		{Name: "test", ContainerState: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
	}
	write := annotationWrite{uid: "tr-uid", key: types.NamespacedName{Namespace: "ci", Name: "build"}, progress: prog(0, "compile.")}
	tests := []struct {
		name       string
		uid        types.UID
		steps      []pipelinev1.StepState
		annotation string // "" : none
		want       bool
	}{
		{name: "not in the cache", want: false},
		{name: "no annotation", uid: "tr-uid", steps: done, want: false},
		{name: "an older annotation", uid: "tr-uid", steps: done, annotation: `{"u":"tr-uid","a":0,"s":{"compile":1}}`, want: false},
		{name: "the same progress", uid: "tr-uid", steps: done, annotation: `{"u":"tr-uid","a":0,"s":{"compile":2}}`, want: true},
		{name: "further, as the status shows", uid: "tr-uid", steps: done, annotation: `{"u":"tr-uid","a":0,"s":{"compile":2,"test":2}}`, want: true},
		{name: "further than the status shows (forged)", uid: "tr-uid", steps: running, annotation: `{"u":"tr-uid","a":0,"s":{"compile":2,"test":2}}`, want: false},
		{name: "a later attempt than the TaskRun has (forged)", uid: "tr-uid", steps: done, annotation: `{"u":"tr-uid","a":3}`, want: false},
		{name: "another TaskRun of the same name", uid: "recreated", steps: done, annotation: `{"u":"tr-uid","a":0,"s":{"compile":2,"test":2}}`, want: false},
		{name: "an unreadable annotation", uid: "tr-uid", steps: done, annotation: `{`, want: false},
		{name: "copied from another TaskRun", uid: "tr-uid", steps: done, annotation: `{"u":"old-uid","a":0,"s":{"compile":2,"test":2}}`, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := testAdapter(t, &adaptercontract.Config{}, nil)
			if tc.uid != "" {
				tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "build", UID: tc.uid}}
				if tc.annotation != "" {
					tr.Annotations = map[string]string{checkpoint.AnnotationPrefix + "src": tc.annotation}
				}
				tr.Status.Steps = tc.steps
				// As the watch caches it.
				if err := a.watches.byNamespace["ci"].informer.GetIndexer().Add(tr); err != nil {
					t.Fatal(err)
				}
			}
			if got := a.annotationCovers(write); got != tc.want {
				t.Errorf("annotationCovers = %v, want %v", got, tc.want)
			}
		})
	}
}
