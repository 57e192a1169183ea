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

package leanwatch

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"github.com/tektoncd/pipeline/pkg/client/clientset/versioned/scheme"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

const checkpointKey = "sources.knative.dev/tektonstep-checkpoint.src-uid"

func neverFinal(*pipelinev1.TaskRun) bool { return false }

// fixture is testdata/taskrun.json (a TaskRun as the apiserver serves it,
// with retries, a skipped step, structured params, resources and every
// part the adapter does not use) changed by edit, as JSON.
func fixture(t testing.TB, edit func(m map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/taskrun.json")
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return raw
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// typed decodes data as client-go's typed Tekton client does, and keeps
// of it what the adapter uses: the reference the lean decoding must match.
func typed(t testing.TB, data []byte) *pipelinev1.TaskRun {
	t.Helper()
	obj, err := runtime.Decode(scheme.Codecs.UniversalDeserializer(), data)
	if err != nil {
		t.Fatal(err)
	}
	tr := obj.(*pipelinev1.TaskRun)
	tr.TypeMeta = metav1.TypeMeta{}
	tr.ManagedFields, tr.Generation, tr.DeletionGracePeriodSeconds = nil, 0, nil
	if owner := metav1.GetControllerOf(tr); owner != nil {
		tr.OwnerReferences = []metav1.OwnerReference{*owner}
	} else {
		tr.OwnerReferences = nil
	}
	if v, ok := tr.Annotations[checkpointKey]; ok {
		tr.Annotations = map[string]string{checkpointKey: v}
	} else {
		tr.Annotations = nil
	}
	var workspaces []pipelinev1.WorkspaceBinding
	for _, w := range tr.Spec.Workspaces {
		if w.Secret != nil || w.Projected != nil {
			workspaces = append(workspaces, pipelinev1.WorkspaceBinding{Name: w.Name, Secret: w.Secret, Projected: w.Projected})
		}
	}
	tr.Spec = pipelinev1.TaskRunSpec{Workspaces: workspaces}
	used := func(st *pipelinev1.TaskRunStatus) {
		var kept duckv1.Conditions
		if c := st.GetCondition(apis.ConditionSucceeded); c != nil {
			kept = duckv1.Conditions{{Type: c.Type, Status: c.Status, Reason: c.Reason, LastTransitionTime: c.LastTransitionTime}}
		}
		st.Status = duckv1.Status{Conditions: kept}
		st.Results, st.Sidecars, st.Provenance, st.Artifacts, st.SpanContext = nil, nil, nil, nil, nil
		for i := range st.Steps {
			st.Steps[i].Provenance, st.Steps[i].Inputs, st.Steps[i].Outputs = nil, nil, nil
		}
	}
	used(&tr.Status)
	for i := range tr.Status.RetriesStatus {
		used(&tr.Status.RetriesStatus[i])
	}
	return tr
}

// decodeJSON decodes one TaskRun's JSON the way the watch does, as the next
// value of a stream.
func decodeJSON(d *Decoder, data []byte) (*pipelinev1.TaskRun, error) {
	return d.DecodeFrom(jsontext.NewDecoder(bytes.NewReader(data), d.opts))
}

func statusOf(m map[string]any) map[string]any { return m["status"].(map[string]any) }
func metaOf(m map[string]any) map[string]any   { return m["metadata"].(map[string]any) }

func TestDecodeKeepsWhatIsUsed(t *testing.T) {
	tests := []struct {
		name string
		edit func(m map[string]any)
	}{
		{name: "as served"},
		{name: "no annotations", edit: func(m map[string]any) { delete(metaOf(m), "annotations") }},
		{name: "null annotations and labels", edit: func(m map[string]any) {
			metaOf(m)["annotations"], metaOf(m)["labels"] = nil, nil
		}},
		{name: "other annotations only", edit: func(m map[string]any) {
			delete(metaOf(m)["annotations"].(map[string]any), checkpointKey)
		}},
		{name: "no status", edit: func(m map[string]any) { delete(m, "status") }},
		// Without a task spec (not resolved yet) nothing was archived with
		// one either.
		{name: "no task spec yet", edit: func(m map[string]any) {
			delete(statusOf(m), "taskSpec")
			delete(statusOf(m)["retriesStatus"].([]any)[0].(map[string]any), "taskSpec")
		}},
		{name: "null task spec", edit: func(m map[string]any) {
			statusOf(m)["taskSpec"] = nil
			statusOf(m)["retriesStatus"].([]any)[0].(map[string]any)["taskSpec"] = nil
		}},
		{name: "no Succeeded condition", edit: func(m map[string]any) {
			statusOf(m)["conditions"] = []any{map[string]any{"type": "Other", "status": "True"}}
		}},
		{name: "unknown fields everywhere", edit: func(m map[string]any) {
			m["newTopLevel"] = map[string]any{"x": []any{1, 2}}
			metaOf(m)["newMeta"] = "x"
			statusOf(m)["newStatus"] = []any{"y"}
			statusOf(m)["steps"].([]any)[0].(map[string]any)["newStep"] = map[string]any{"z": true}
		}},
		{name: "workspaces bound to a Secret, a projected volume and others", edit: func(m map[string]any) {
			m["spec"].(map[string]any)["workspaces"] = []any{
				map[string]any{"name": "source", "persistentVolumeClaim": map[string]any{"claimName": "src"}},
				map[string]any{"name": "creds", "secret": map[string]any{"secretName": "git-creds", "items": []any{map[string]any{"key": "k", "path": "p"}}}},
				map[string]any{"name": "cfg", "projected": map[string]any{"sources": []any{
					map[string]any{"secret": map[string]any{"name": "registry"}}, map[string]any{"configMap": map[string]any{"name": "c"}}}}},
				map[string]any{"name": "scratch", "emptyDir": map[string]any{}},
			}
		}},
		{name: "no owner", edit: func(m map[string]any) { delete(metaOf(m), "ownerReferences") }},
		{name: "owners, the controller second", edit: func(m map[string]any) {
			metaOf(m)["ownerReferences"] = []any{
				map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "cm-uid"},
				map[string]any{"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "name": "pr", "uid": "pr-uid", "controller": true},
			}
		}},
		{name: "owners, none the controller", edit: func(m map[string]any) {
			metaOf(m)["ownerReferences"] = []any{map[string]any{"apiVersion": "tekton.dev/v1", "kind": "PipelineRun", "name": "pr", "uid": "pr-uid"}}
		}},
		{name: "not deleted, no finalizers", edit: func(m map[string]any) {
			delete(metaOf(m), "deletionTimestamp")
			delete(metaOf(m), "finalizers")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := fixture(t, tc.edit)
			got, err := decodeJSON(NewDecoder(checkpointKey, neverFinal), data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(typed(t, data), got); diff != "" {
				t.Errorf("lean decoding differs from the typed one, projected (-typed +lean):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	for name, data := range map[string]string{
		"not an object":      `[1]`,
		"truncated":          `{"metadata":{"name":"x"`,
		"wrong type":         `{"metadata":{"name":3}}`,
		"bad time":           `{"metadata":{"creationTimestamp":"yesterday"}}`,
		"bad step":           `{"status":{"steps":[{"terminated":{"exitCode":"one"}}]}}`,
		"bad task spec":      `{"status":{"taskSpec":{"steps":{"name":"a"}}}}`,
		"annotation non-str": `{"metadata":{"annotations":{"` + checkpointKey + `":1}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			if tr, err := decodeJSON(NewDecoder(checkpointKey, neverFinal), []byte(data)); err == nil {
				t.Errorf("decoded %s into %+v, want an error", data, tr)
			}
		})
	}
}

// TestTaskSpecShared: the spec decoded for a running TaskRun serves its
// next versions and other TaskRuns with the same spec; a finished
// TaskRun's spec is decoded on its own and not kept for reuse.
func TestTaskSpecShared(t *testing.T) {
	running := fixture(t, func(m map[string]any) { statusOf(m)["completionTime"] = nil })
	otherSpec := fixture(t, func(m map[string]any) {
		statusOf(m)["taskSpec"].(map[string]any)["description"] = "other"
	})
	final := func(tr *pipelinev1.TaskRun) bool { return tr.Status.CompletionTime != nil }
	d := NewDecoder(checkpointKey, final)
	decode := func(data []byte) *pipelinev1.TaskSpec {
		tr, err := decodeJSON(d, data)
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.TaskSpec
	}
	first, again := decode(running), decode(running)
	if first != again {
		t.Error("a running TaskRun's spec was decoded again for the same JSON")
	}
	if other := decode(otherSpec); other == first || other.Description != "other" {
		t.Errorf("a different spec got %p %q, want its own", other, other.Description)
	}
	if done := decode(fixture(t, nil)); done != first {
		// Decoded while it ran: reused.
		t.Error("a finished TaskRun did not reuse the spec decoded while it ran")
	}
	fresh := NewDecoder(checkpointKey, final)
	done, err := decodeJSON(fresh, fixture(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	doneAgain, err := decodeJSON(fresh, fixture(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if done.Status.TaskSpec == doneAgain.Status.TaskSpec {
		t.Error("a finished TaskRun's spec was kept for reuse")
	}
}

// BenchmarkDecode compares decoding one TaskRun the lean way, from a
// stream as the watch does, with client-go's typed decoding of the object
// alone (its watch also scans the framing and the envelope).
func BenchmarkDecode(b *testing.B) {
	data := fixture(b, nil)
	b.Run("typed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := runtime.Decode(scheme.Codecs.UniversalDeserializer(), data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lean", func(b *testing.B) {
		d := NewDecoder(checkpointKey, neverFinal)
		stream := jsontext.NewDecoder(&repeated{data: data}, d.opts)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.DecodeFrom(stream); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lean, spec not reused", func(b *testing.B) {
		d := NewDecoder(checkpointKey, func(*pipelinev1.TaskRun) bool { return true })
		stream := jsontext.NewDecoder(&repeated{data: data}, d.opts)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.DecodeFrom(stream); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// repeated is a stream of the same JSON value, endlessly: a watch's
// stream, whose decoder (and buffer) serves every event.
type repeated struct {
	data []byte
	off  int
}

func (r *repeated) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}
