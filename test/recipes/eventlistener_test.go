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
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	triggersv1 "github.com/tektoncd/triggers/pkg/apis/triggers/v1beta1"
	"github.com/tektoncd/triggers/pkg/interceptors/cel"
	"github.com/tektoncd/triggers/pkg/template"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

// listenerRecipe is the EventListener recipe decoded into Tekton Triggers'
// own types.
type listenerRecipe struct {
	listener *triggersv1.EventListener
	binding  *triggersv1.TriggerBinding
	template *triggersv1.TriggerTemplate
	source   *v1alpha1.TektonStepSource
}

func loadListenerRecipe(t *testing.T) (string, *listenerRecipe) {
	t.Helper()
	path := filepath.Join(recipesDir(), "eventlistener-step-failed.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := controlplane.DecodeYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	r := &listenerRecipe{}
	for _, o := range objs {
		var into interface{}
		switch o.GetKind() {
		case "EventListener":
			r.listener = &triggersv1.EventListener{}
			into = r.listener
		case "TriggerBinding":
			r.binding = &triggersv1.TriggerBinding{}
			into = r.binding
		case "TriggerTemplate":
			r.template = &triggersv1.TriggerTemplate{}
			into = r.template
		case "TektonStepSource":
			r.source = &v1alpha1.TektonStepSource{}
			into = r.source
		default:
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
			t.Fatalf("%s %s: %v", o.GetKind(), o.GetName(), err)
		}
	}
	if r.listener == nil || r.binding == nil || r.template == nil || r.source == nil {
		t.Fatalf("%s lacks an EventListener, TriggerBinding, TriggerTemplate or TektonStepSource", path)
	}
	return path, r
}

// TestEventListenerRecipe feeds every real request the adapter sent to the
// recipe's EventListener trigger, evaluated with Tekton Triggers' own code
// (github.com/tektoncd/triggers v0.34.0): the CEL interceptor, then the
// binding and template resolution. Only failed steps pass, and each one
// yields a follow-up TaskRun that the apiserver (Tekton's CRD) accepts.
func TestEventListenerRecipe(t *testing.T) {
	_, reqs := realEvents(t)
	path, recipe := loadListenerRecipe(t)
	ns := cp.NewNamespace(t)
	if _, err := controlplane.ApplyFiles(context.Background(), cp.Config, ns, path); err != nil {
		t.Fatalf("the apiserver refuses the recipe: %v", err)
	}
	// The source points at the EventListener.
	if ref := recipe.source.Spec.Sink.Ref; ref == nil || ref.Kind != "EventListener" || ref.Name != recipe.listener.Name ||
		ref.APIVersion != triggersv1.SchemeGroupVersion.String() {
		t.Errorf("the recipe's source sends to %+v, not to EventListener %s", recipe.source.Spec.Sink, recipe.listener.Name)
	}
	if len(recipe.listener.Spec.Triggers) != 1 {
		t.Fatalf("want one trigger, got %d", len(recipe.listener.Spec.Triggers))
	}
	elt := recipe.listener.Spec.Triggers[0]
	if len(elt.Interceptors) != 1 || elt.Interceptors[0].Ref.Name != "cel" {
		t.Fatalf("want one cel interceptor, got %+v", elt.Interceptors)
	}
	params := map[string]interface{}{}
	for _, p := range elt.Interceptors[0].Params {
		var v interface{}
		if err := json.Unmarshal(p.Value.Raw, &v); err != nil {
			t.Fatal(err)
		}
		params[p.Name] = v
	}
	interceptor := cel.NewInterceptor(nil)
	resolved, err := template.ResolveTrigger(
		triggersv1.Trigger{Spec: triggersv1.TriggerSpec{Bindings: elt.Bindings, Template: *elt.Template}},
		func(name string) (*triggersv1.TriggerBinding, error) {
			if name != recipe.binding.Name {
				return nil, fmt.Errorf("no TriggerBinding %s", name)
			}
			return recipe.binding, nil
		},
		func(name string) (*triggersv1.ClusterTriggerBinding, error) {
			return nil, fmt.Errorf("no ClusterTriggerBinding %s", name)
		},
		func(name string) (*triggersv1.TriggerTemplate, error) {
			if name != recipe.template.Name {
				return nil, fmt.Errorf("no TriggerTemplate %s", name)
			}
			return recipe.template, nil
		})
	if err != nil {
		t.Fatal(err)
	}

	type followUp struct{ TaskRun, Attempt, Step, Reason, PipelineRun string }
	var passed []string
	var runs []followUp
	tekton := tektonclient.NewForConfigOrDie(cp.Config).TektonV1().TaskRuns(ns)
	for _, r := range reqs {
		resp := interceptor.Process(context.Background(), &triggersv1.InterceptorRequest{
			Body:              string(r.Body),
			Header:            r.Header,
			InterceptorParams: params,
			Context: &triggersv1.TriggerContext{
				EventURL:  "http://el-step-failures." + ns + ".svc.cluster.local:8080",
				EventID:   r.Event.ID(),
				TriggerID: "namespaces/" + ns + "/triggers/" + elt.Name,
			},
		})
		if !resp.Continue {
			if resp.Status.Code == 0 || resp.Status.Message == "" {
				t.Errorf("%s: stopped without a reason: %+v", r.key(), resp.Status)
			}
			continue
		}
		passed = append(passed, r.key())
		bound, err := template.ResolveParams(resolved, r.Body, r.Header, resp.Extensions, template.NewTriggerContext(r.Event.ID()))
		if err != nil {
			t.Fatalf("%s: resolving the binding: %v", r.key(), err)
		}
		resources := template.ResolveResources(recipe.template, bound)
		if len(resources) != 1 {
			t.Fatalf("%s: %d resources, want 1", r.key(), len(resources))
		}
		tr := &pipelinev1.TaskRun{}
		if err := json.Unmarshal(resources[0], tr); err != nil {
			t.Fatalf("%s: the template does not make a TaskRun: %v\n%s", r.key(), err, resources[0])
		}
		created, err := tekton.Create(context.Background(), tr, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: the apiserver refuses the follow-up TaskRun: %v\n%s", r.key(), err, resources[0])
		}
		p := map[string]string{}
		for _, param := range created.Spec.Params {
			p[param.Name] = param.Value.StringVal
		}
		runs = append(runs, followUp{p["taskrun"], p["attempt"], p["step"], p["reason"], p["pipelinerun"]})
	}
	if diff := cmp.Diff([]string{"release-42-build/test/failed", "release-43-build/unit/failed"}, passed); diff != "" {
		t.Errorf("events the EventListener accepts (-want +got):\n%s", diff)
	}
	want := []followUp{
		{TaskRun: "release-42-build", Attempt: "0", Step: "test", Reason: "Error", PipelineRun: "release-42"},
		{TaskRun: "release-43-build", Attempt: "0", Step: "unit", Reason: "Error", PipelineRun: "release-43"},
	}
	if diff := cmp.Diff(want, runs); diff != "" {
		t.Errorf("follow-up TaskRuns (-want +got):\n%s", diff)
	}
}
