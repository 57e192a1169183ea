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

package recipes

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/eventing/pkg/apis/eventing"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/test/contract"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

// compileSchema is the published schema of data (test/contract reads and
// checks it) and its $id.
func compileSchema(t *testing.T) (string, *jsonschema.Schema) {
	t.Helper()
	id, sch, err := contract.PublishedSchema()
	if err != nil {
		t.Fatal(err)
	}
	return id, sch
}

// TestRealEventDataMatchesThePublishedSchema validates the data of every
// event the adapter really sent against docs/schemas/step-event-data.v1.json,
// and checks that the schema rejects the same data broken in ways consumers
// rely on.
func TestRealEventDataMatchesThePublishedSchema(t *testing.T) {
	_, reqs := realEvents(t)
	id, sch := compileSchema(t)
	for _, r := range reqs {
		t.Run(r.key(), func(t *testing.T) {
			if r.Event.DataContentType() != "application/json" {
				t.Errorf("datacontenttype %q", r.Event.DataContentType())
			}
			if ds := r.Event.DataSchema(); ds != id {
				t.Errorf("dataschema %q is not the published schema %q", ds, id)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Event.Data()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("real data does not match the schema: %v\n%s", err, r.Event.Data())
			}
		})
	}
	breakages := []struct {
		name   string
		mutate func(map[string]interface{})
	}{
		{"no taskRun", func(d map[string]interface{}) { delete(d, "taskRun") }},
		{"no stepState", func(d map[string]interface{}) { delete(d, "stepState") }},
		{"attempt as a string", func(d map[string]interface{}) { d["taskRun"].(map[string]interface{})["attempt"] = "0" }},
		{"uid missing", func(d map[string]interface{}) { delete(d["taskRun"].(map[string]interface{}), "uid") }},
		{"podRef a string", func(d map[string]interface{}) { d["podRef"] = "release-42-build-pod" }},
		{"exitCode a string", func(d map[string]interface{}) {
			d["stepState"].(map[string]interface{})["terminated"].(map[string]interface{})["exitCode"] = "1"
		}},
		{"logError a number", func(d map[string]interface{}) { d["logError"] = 1 }},
		{"continued a string", func(d map[string]interface{}) { d["continued"] = "true" }},
	}
	var failed request
	for _, r := range reqs {
		if r.key() == "release-42-build/test/failed" {
			failed = r
		}
	}
	for _, b := range breakages {
		t.Run("rejects "+b.name, func(t *testing.T) {
			d := map[string]interface{}{}
			if err := json.Unmarshal(failed.Event.Data(), &d); err != nil {
				t.Fatal(err)
			}
			b.mutate(d)
			raw, _ := json.Marshal(d)
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err == nil {
				t.Errorf("the schema accepts %s", raw)
			}
		})
	}
}

// eventTypeEntry is an entry of the CRD's registry.knative.dev/eventTypes
// annotation, as Knative's source duck EventType reconciler
// (knative.dev/eventing/pkg/reconciler/source/duck) reads it.
type eventTypeEntry struct {
	Type        string `json:"type"`
	Schema      string `json:"schema,omitempty"`
	Description string `json:"description,omitempty"`
}

func eventTypesAnnotation(t *testing.T) []eventTypeEntry {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "config", "300-tektonstepsource.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := controlplane.DecodeYAML(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		if o.GetLabels()["duck.knative.dev/source"] != "true" {
			t.Errorf("the CRD is not labelled duck.knative.dev/source=true: Knative's EventType reconciler ignores it")
		}
		var entries []eventTypeEntry
		if err := json.Unmarshal([]byte(o.GetAnnotations()[eventing.EventTypesAnnotationKey]), &entries); err != nil {
			t.Fatalf("annotation %s: %v", eventing.EventTypesAnnotationKey, err)
		}
		return entries
	}
	t.Fatal("no CRD in config/300-tektonstepsource.yaml")
	return nil
}

// TestEventTypesAnnotationDescribesTheRealEvents checks the CRD annotation
// that gives Knative's EventTypes their descriptions: one entry per type the
// source emits (the types of status.ceAttributes), each description naming
// its transition and claiming a step log exactly for the types whose real
// events carry one (log or logError).
func TestEventTypesAnnotationDescribesTheRealEvents(t *testing.T) {
	_, reqs := realEvents(t)
	entries := eventTypesAnnotation(t)
	var types []string
	for _, e := range entries {
		types = append(types, e.Type)
	}
	if diff := cmp.Diff(v1alpha1.EventTypes, types); diff != "" {
		t.Fatalf("annotated types (-emitted +annotated):\n%s", diff)
	}
	mentions := map[string][]string{
		v1alpha1.StepStartedEventType:   {"started"},
		v1alpha1.StepSucceededEventType: {"exit code 0"},
		v1alpha1.StepFailedEventType:    {"failed", "onError: continue", "timeout", "cancellation"},
		v1alpha1.StepSkippedEventType:   {"skipped", "earlier step failed", "when"},
	}
	carriesLog := map[string]bool{}
	for _, r := range reqs {
		var d struct {
			Log      *string `json:"log"`
			LogError string  `json:"logError"`
		}
		if err := json.Unmarshal(r.Event.Data(), &d); err != nil {
			t.Fatal(err)
		}
		carriesLog[r.Event.Type()] = d.Log != nil || d.LogError != ""
	}
	for _, e := range entries {
		t.Run(e.Type, func(t *testing.T) {
			if len(e.Description) < 20 {
				t.Errorf("description %q is too short to help", e.Description)
			}
			for _, m := range mentions[e.Type] {
				if !strings.Contains(e.Description, m) {
					t.Errorf("description %q does not mention %q", e.Description, m)
				}
			}
			claims := strings.Contains(e.Description, "carries the step log")
			real, seen := carriesLog[e.Type]
			if !seen {
				t.Fatalf("the scenario produced no %s event", e.Type)
			}
			if claims != real {
				t.Errorf("description claims a step log: %v; real events carry one: %v", claims, real)
			}
			if e.Schema != v1alpha1.StepEventDataSchema {
				t.Errorf("schema %q is not the published %s", e.Schema, v1alpha1.StepEventDataSchema)
			}
		})
	}
	// The CRD as installed carries the same annotation: it is what the
	// reconciler reads.
	crd, err := apiextensionsclient.NewForConfigOrDie(cp.Config).ApiextensionsV1().CustomResourceDefinitions().
		Get(context.Background(), "tektonstepsources.sources.knative.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var served []eventTypeEntry
	if err := json.Unmarshal([]byte(crd.Annotations[eventing.EventTypesAnnotationKey]), &served); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(entries, served); diff != "" {
		t.Errorf("installed annotation differs from config/ (-file +installed):\n%s", diff)
	}
}
