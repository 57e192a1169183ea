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
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.opentelemetry.io/otel/metric/noop"
	"go.uber.org/zap/zaptest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	clientgotesting "k8s.io/client-go/testing"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/sourceconfig"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// TestJournalEntryObsoleteOnArrival: a TaskRun annotated or deleted while
// the journal write carrying its entry is on its way must not leave that
// entry behind; the next write removes it. (Races of the delivery path and
// the journal writer; test/integration covers the journal end to end.)
func TestJournalEntryObsoleteOnArrival(t *testing.T) {
	const uid = types.UID("tr-uid")
	progress := &checkpoint.Progress{}
	progress.Record(transitions.Transition{Kind: transitions.Started, StepState: pipelinev1.StepState{Name: "compile"}})

	tests := []struct {
		name string
		// during runs while the first write is on its way, with a.mu held.
		during    func(a *Adapter)
		wantEntry bool
	}{{
		name:      "nothing happens meanwhile: the entry stays",
		during:    func(*Adapter) {},
		wantEntry: true,
	}, {
		name:   "annotated meanwhile",
		during: func(a *Adapter) { a.runs[uid].saved = progress.Clone() },
	}, {
		name: "deleted meanwhile",
		// As forget does, before the entry's size is known.
		during: func(a *Adapter) { delete(a.runs, uid) },
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			stats, err := newMetrics(noop.NewMeterProvider(), "ci", "steps", func() int { return 0 })
			if err != nil {
				t.Fatal(err)
			}
			a := &Adapter{
				stats:          stats,
				opts:           Options{SendTimeout: time.Second},
				cfg:            &sourceconfig.Config{SourceUID: "src", SourceName: "steps", SourceNamespace: "ci"},
				logger:         zaptest.NewLogger(t).Sugar(),
				journal:        checkpoint.SourceJournal(kube, "ci", "steps", "src"),
				journalKick:    make(chan struct{}, 1),
				journalPending: map[types.UID]struct{}{uid: {}},
				journalSizes:   map[types.UID]int{},
				runs: map[types.UID]*runState{uid: {
					key:       types.NamespacedName{Namespace: "ci", Name: "build"},
					delivered: progress.Clone(),
					saved:     &checkpoint.Progress{},
				}},
			}
			var once sync.Once
			kube.PrependReactor("patch", "configmaps", func(clientgotesting.Action) (bool, runtime.Object, error) {
				once.Do(func() {
					a.mu.Lock()
					tc.during(a)
					a.mu.Unlock()
				})
				return false, nil, nil
			})

			ctx := context.Background()
			if err := a.writeJournal(ctx, a.owns); err != nil {
				t.Fatal(err)
			}
			if err := a.writeJournal(ctx, a.owns); err != nil {
				t.Fatal(err)
			}
			cm, err := kube.CoreV1().ConfigMaps("ci").Get(ctx, checkpoint.JournalName("src"), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cm.Data[string(uid)]; ok != tc.wantEntry {
				t.Errorf("journal %v: entry present = %v, want %v", cm.Data, ok, tc.wantEntry)
			}
			if _, ok := a.journalSizes[uid]; ok != tc.wantEntry || (a.journalBytes > 0) != tc.wantEntry {
				t.Errorf("journal size bookkeeping: sizes %v, bytes %d", a.journalSizes, a.journalBytes)
			}
			if len(a.journalPending) != 0 {
				t.Errorf("still pending: %v", a.journalPending)
			}
		})
	}
}
