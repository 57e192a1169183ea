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

package progress

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clientgotesting "k8s.io/client-go/testing"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// pendingUID is the TaskRun whose journal entry testRecorder has pending.
const pendingUID = types.UID("tr-uid")

// testRecorder is a Recorder against kube (its journal created as the
// controller creates it), owning every TaskRun, with ci/build (pendingUID)
// delivered up to compile's start and its journal entry pending. cached is
// the watch's cache; wrote receives each write's store/outcome.
func testRecorder(t *testing.T, kube *fake.Clientset, opts Options, cached map[types.NamespacedName]*pipelinev1.TaskRun, wrote func(string)) *Recorder {
	t.Helper()
	if _, err := kube.CoreV1().ConfigMaps("ci").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: adaptercontract.JournalName("src"), Namespace: "ci"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	opts.Kube, opts.Metadata = kube, metadatafake.NewSimpleMetadataClient(runtime.NewScheme())
	opts.SourceUID, opts.SourceNamespace = "src", "ci"
	opts.JournalMax, opts.Writers = 1<<20, 1
	opts.Owns = func(types.NamespacedName) bool { return true }
	opts.Cached = func(key types.NamespacedName) *pipelinev1.TaskRun { return cached[key] }
	opts.Synced = func(string) bool { return true }
	opts.Wrote = func(_ context.Context, store, outcome string) {
		if wrote != nil {
			wrote(store + "/" + outcome)
		}
	}
	opts.Logger = zaptest.NewLogger(t).Sugar()
	r := New(opts)
	t.Cleanup(r.saves.ShutDown)
	delivered := &checkpoint.Progress{}
	delivered.Record(transitions.Transition{Kind: transitions.Started, StepState: pipelinev1.StepState{Name: "compile"}})
	r.ledger.runs[pendingUID] = &runState{key: types.NamespacedName{Namespace: "ci", Name: "build"}, delivered: delivered, saved: &checkpoint.Progress{}}
	r.ledger.journalPending[pendingUID] = struct{}{}
	return r
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
			r := testRecorder(t, kube, Options{Timeout: time.Second}, nil, nil)
			var once sync.Once
			kube.PrependReactor("patch", "configmaps", func(clientgotesting.Action) (bool, runtime.Object, error) {
				once.Do(func() {
					r.ledger.mu.Lock()
					tc.during(r.ledger)
					r.ledger.mu.Unlock()
				})
				return false, nil, nil
			})

			ctx := context.Background()
			if _, err := r.writeJournal(ctx, r.opts.Owns, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := r.writeJournal(ctx, r.opts.Owns, nil); err != nil {
				t.Fatal(err)
			}
			cm, err := kube.CoreV1().ConfigMaps("ci").Get(ctx, adaptercontract.JournalName("src"), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cm.Data[string(uid)]; ok != tc.wantEntry {
				t.Errorf("journal %v: entry present = %v, want %v", cm.Data, ok, tc.wantEntry)
			}
			l := r.ledger
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
	var mu sync.Mutex
	outcomes := map[string]int64{}
	r := testRecorder(t, kube, Options{Timeout: time.Second, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond}, nil,
		func(write string) {
			mu.Lock()
			defer mu.Unlock()
			outcomes[write]++
		})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.RunJournal(ctx)
	}()
	r.kickJournal()
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := kube.CoreV1().ConfigMaps("ci").Get(ctx, adaptercontract.JournalName("src"), metav1.GetOptions{})
		return err == nil && cm.Data[string(uid)] != "", nil
	})
	cancel()
	<-done
	if err != nil {
		t.Fatalf("the entry never landed after %d refusals", refusals.Load())
	}

	mu.Lock()
	defer mu.Unlock()
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
			cached := map[types.NamespacedName]*pipelinev1.TaskRun{}
			if tc.uid != "" {
				tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ci", Name: "build", UID: tc.uid}}
				if tc.annotation != "" {
					tr.Annotations = map[string]string{checkpoint.AnnotationPrefix + "src": tc.annotation}
				}
				tr.Status.Steps = tc.steps
				cached[write.key] = tr
			}
			r := testRecorder(t, fake.NewClientset(), Options{Timeout: time.Second}, cached, nil)
			if got := r.annotationCovers(write); got != tc.want {
				t.Errorf("annotationCovers = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestFlushKeepsTheJournalEntries: a flush for a bucket let go writes its
// running TaskRuns' progress also when the periodic journal write runs
// while the bucket's finished attempts are being annotated: that write no
// longer counts the bucket as this replica's and drops its entries from
// what is pending (without them the next leader would send their events
// again), and may find the journal full, so that what no longer fits goes
// to its annotation.
func TestFlushKeepsTheJournalEntries(t *testing.T) {
	tests := []struct {
		name string
		// full: the periodic write finds the journal full (other
		// replicas' entries).
		full        bool
		wantJournal []string
		wantPatched []string
	}{{
		name:        "room in the journal",
		wantJournal: []string{"running"},
		wantPatched: []string{"finished"},
	}, {
		name:        "the journal full meanwhile",
		full:        true,
		wantPatched: []string{"finished", "running"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			r := testRecorder(t, kube, Options{Timeout: time.Second}, nil, nil)
			r.ledger.drop(pendingUID)
			delete(r.ledger.journalPending, pendingUID)
			ctx := context.Background()
			progress := func(kind transitions.Kind) *checkpoint.Progress {
				p := &checkpoint.Progress{}
				p.Record(transitions.Transition{Kind: kind, StepState: pipelinev1.StepState{Name: "compile"}})
				return p
			}
			finished, running := types.NamespacedName{Namespace: "ci", Name: "finished"}, types.NamespacedName{Namespace: "ci", Name: "running"}
			r.ledger.delivered("finished-uid", finished, progress(transitions.Succeeded), time.Now())
			r.ledger.schedule("finished-uid", true, nil, time.Now())
			r.ledger.delivered("running-uid", running, progress(transitions.Started), time.Now())
			r.ledger.schedule("running-uid", false, nil, time.Now())
			// The bucket is let go: this replica no longer owns its TaskRuns.
			r.opts.Owns = func(types.NamespacedName) bool { return false }
			var patched []string
			meta := r.store.Client.(*metadatafake.FakeMetadataClient)
			// The periodic write, while the finished attempt is annotated.
			meta.PrependReactor("patch", "*", func(action clientgotesting.Action) (bool, runtime.Object, error) {
				patched = append(patched, action.(clientgotesting.PatchAction).GetName())
				if len(patched) > 1 {
					return false, nil, nil
				}
				if _, err := r.writeJournal(ctx, r.opts.Owns, nil); err != nil {
					t.Error(err)
				}
				if tc.full {
					// As a write's answer says when other replicas'
					// entries fill the journal.
					r.ledger.mu.Lock()
					r.ledger.journalBytes = r.ledger.journalMax
					r.ledger.mu.Unlock()
				}
				return false, nil, nil
			})

			r.Flush(ctx, func(types.NamespacedName) bool { return true })
			entries, _, err := r.journal.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.TaskRun.Name)
			}
			if diff := cmp.Diff(tc.wantJournal, names); diff != "" {
				t.Errorf("journal entries after the flush (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantPatched, patched); diff != "" {
				t.Errorf("annotations written (-want +got):\n%s", diff)
			}
		})
	}
}
