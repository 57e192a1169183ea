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

package checkpoint

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

func TestJournalEntryFormat(t *testing.T) {
	p := &Progress{}
	p.Record(tr(1, "build", transitions.Started))
	value, err := EncodeEntry(Entry{TaskRun: types.NamespacedName{Namespace: "ci", Name: "run-1"}, Progress: p})
	if err != nil {
		t.Fatal(err)
	}
	// The stored form is part of the upgrade contract: a new adapter reads
	// what an old one wrote.
	if want := `{"t":"ci/run-1","a":1,"s":{"build":1}}`; value != want {
		t.Errorf("EncodeEntry = %s, want %s", value, want)
	}

	tests := []struct {
		value   string
		wantErr string
	}{
		{value: `{"t":"ci/run-1","a":1,"s":{"build":1}}`},
		{value: `{"t":"ci/run-1","a":0}`},
		{value: `not json`, wantErr: "invalid character"},
		{value: `{"a":1}`, wantErr: "is not namespace/name"},
		{value: `{"t":"run-1","a":1}`, wantErr: "is not namespace/name"},
		{value: `{"t":"ci/","a":1}`, wantErr: "is not namespace/name"},
	}
	for _, tc := range tests {
		t.Run(tc.value, func(t *testing.T) {
			e, err := decodeEntry(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("decodeEntry error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.TaskRun != (types.NamespacedName{Namespace: "ci", Name: "run-1"}) {
				t.Errorf("TaskRun = %v", e.TaskRun)
			}
			again, err := EncodeEntry(e)
			if err != nil || again != tc.value {
				t.Errorf("round trip: %s -> %s (%v)", tc.value, again, err)
			}
		})
	}
}

// TestJournalWriteAndLoad: writes set and remove only the keys they name,
// the journal's absence is an error only when there is something to keep,
// and an unreadable entry is reported without hiding the others.
// (test/integration runs the same against a real kube-apiserver.)
func TestJournalWriteAndLoad(t *testing.T) {
	ctx := context.Background()
	j := SourceJournal(fake.NewClientset(), "ci", "uid-1")
	if entries, bad, err := j.Load(ctx); err != nil || len(bad) != 0 || len(entries) != 0 {
		t.Fatalf("Load of a missing journal = %v %v %v, want nothing", entries, bad, err)
	}
	if _, err := j.Write(ctx, nil, []types.UID{"a"}); err != nil {
		t.Fatalf("removing from a missing journal: %v", err)
	}
	// The adapter never creates it: the controller does, with the source.
	if _, err := j.Write(ctx, map[types.UID]string{"a": `{"t":"ci/a"}`}, nil); err == nil || !strings.Contains(err.Error(), "the controller creates it") {
		t.Fatalf("writing to a missing journal: %v, want an error saying who creates it", err)
	}
	if _, err := j.Client.CoreV1().ConfigMaps("ci").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "tekton-step-progress-uid-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	a := `{"t":"ci/a","a":0,"s":{"x":1}}`
	b := `{"t":"ci/b","a":2}`
	if total, err := j.Write(ctx, map[types.UID]string{"a": a, "b": b}, nil); err != nil || total != 1+len(a)+1+len(b) {
		t.Fatalf("first write: size %d, %v; want %d", total, err, 1+len(a)+1+len(b))
	}
	// Another replica's entry counts in the size the next write returns.
	if _, err := SourceJournal(j.Client, "ci", "uid-1").Write(ctx, map[types.UID]string{"z": `{"t":"ci/z"}`}, nil); err != nil {
		t.Fatal(err)
	}
	if total, err := j.Write(ctx, map[types.UID]string{"c": `{"t":"ci/c"`}, []types.UID{"a", "z"}); err != nil || total != 1+len(b)+1+len(`{"t":"ci/c"`) {
		t.Fatalf("second write: size %d, %v; want %d", total, err, 1+len(b)+1+len(`{"t":"ci/c"`))
	}
	cm, err := j.Client.CoreV1().ConfigMaps("ci").Get(ctx, "tekton-step-progress-uid-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"b": b, "c": `{"t":"ci/c"`}, cm.Data); diff != "" {
		t.Errorf("journal data (-want +got):\n%s", diff)
	}
	entries, bad, err := j.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || !strings.Contains(bad[0].Error(), "entry c") {
		t.Errorf("unreadable entries = %v, want one naming c", bad)
	}
	if got := entries["b"]; len(entries) != 1 || got.TaskRun.Name != "b" || got.Progress.Attempt != 2 || got.Size != len("b")+len(b) {
		t.Errorf("entries = %+v, want b at attempt 2, of size %d", entries, len("b")+len(b))
	}
}
