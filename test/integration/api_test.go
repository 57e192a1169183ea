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
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

func TestCRDsAreEstablished(t *testing.T) {
	client := apiextensionsclient.NewForConfigOrDie(cp.Config)
	for _, name := range []string{
		"tektonstepsources.sources.knative.dev",
		"taskruns.tekton.dev",
		"pipelineruns.tekton.dev",
		"tasks.tekton.dev",
		"brokers.eventing.knative.dev",
		"triggers.eventing.knative.dev",
		"channels.messaging.knative.dev",
		"inmemorychannels.messaging.knative.dev",
		"eventlisteners.triggers.tekton.dev",
	} {
		t.Run(name, func(t *testing.T) {
			crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get CRD: %v", err)
			}
			established := false
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				t.Errorf("CRD %s is not established: %+v", name, crd.Status.Conditions)
			}
		})
	}
}

// TestSourceCRDIsDiscoverable checks what kn and kubectl rely on: the source
// duck labels (kn source list selects CRDs by them), the categories and the
// printer columns.
func TestSourceCRDIsDiscoverable(t *testing.T) {
	client := apiextensionsclient.NewForConfigOrDie(cp.Config)
	crds, err := client.ApiextensionsV1().CustomResourceDefinitions().List(context.Background(),
		metav1.ListOptions{LabelSelector: "duck.knative.dev/source=true"})
	if err != nil {
		t.Fatal(err)
	}
	var crd *apiextensionsv1.CustomResourceDefinition
	for i := range crds.Items {
		if crds.Items[i].Spec.Names.Kind == "TektonStepSource" {
			crd = &crds.Items[i]
		}
	}
	if crd == nil {
		t.Fatal("TektonStepSource CRD not found by the label kn source list uses")
	}
	if diff := cmp.Diff([]string{"all", "knative", "eventing", "sources"}, crd.Spec.Names.Categories); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
	for _, label := range []string{"duck.knative.dev/source", "eventing.knative.dev/source", "knative.dev/crd-install"} {
		if crd.Labels[label] != "true" {
			t.Errorf("CRD label %s = %q, want \"true\"", label, crd.Labels[label])
		}
	}
	var columns []string
	for _, c := range crd.Spec.Versions[0].AdditionalPrinterColumns {
		columns = append(columns, c.Name+" "+c.JSONPath)
	}
	if diff := cmp.Diff([]string{
		`Ready .status.conditions[?(@.type=="Ready")].status`,
		`Reason .status.conditions[?(@.type=="Ready")].reason`,
		"Sink .status.sinkUri",
		"Age .metadata.creationTimestamp",
	}, columns); diff != "" {
		t.Errorf("printer columns (-want +got):\n%s", diff)
	}
	if crd.Spec.Versions[0].Subresources == nil || crd.Spec.Versions[0].Subresources.Status == nil {
		t.Error("status subresource is not enabled")
	}
	// Knative's EventType registry reads this annotation as a JSON list.
	var registered []struct{ Type, Schema, Description string }
	if err := json.Unmarshal([]byte(crd.Annotations["registry.knative.dev/eventTypes"]), &registered); err != nil {
		t.Fatalf("registry.knative.dev/eventTypes is not a JSON list: %v", err)
	}
	var types []string
	for _, r := range registered {
		types = append(types, r.Type)
		if r.Schema != v1alpha1.StepEventDataSchema || len(r.Description) < 20 {
			t.Errorf("event type %s: schema %q, description %q; want the data schema and a description", r.Type, r.Schema, r.Description)
		}
	}
	if diff := cmp.Diff(v1alpha1.EventTypes, types); diff != "" {
		t.Errorf("registry.knative.dev/eventTypes (-want +got):\n%s", diff)
	}
}

// TestConfigApplies applies every manifest in config/ (the ones without ko
// images) to the real apiserver: namespace, RBAC, ConfigMaps and the CRD.
func TestConfigApplies(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "[1-4]*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in config/: %v", err)
	}
	objs, err := controlplane.ApplyFiles(context.Background(), cp.Config, "default", files...)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.GetKind()] = true
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap", "CustomResourceDefinition", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} {
		if !kinds[k] {
			t.Errorf("config/ applied no %s", k)
		}
	}

	// The roles Knative aggregates: kn and Knative's source duck informers
	// find our source through the observer role; sink resolution of
	// EventListeners works through the addressable-resolver aggregation.
	kube := kubernetes.NewForConfigOrDie(cp.Config)
	for _, tc := range []struct{ label, group, resource string }{
		{"duck.knative.dev/source=true", "sources.knative.dev", "tektonstepsources"},
		{"duck.knative.dev/addressable=true", "triggers.tekton.dev", "eventlisteners"},
	} {
		roles, err := kube.RbacV1().ClusterRoles().List(context.Background(), metav1.ListOptions{LabelSelector: tc.label + ",app.kubernetes.io/name=tekton-step-source"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, role := range roles.Items {
			for _, rule := range role.Rules {
				if slices.Contains(rule.APIGroups, tc.group) && slices.Contains(rule.Resources, tc.resource) &&
					slices.Contains(rule.Verbs, "get") && slices.Contains(rule.Verbs, "list") && slices.Contains(rule.Verbs, "watch") {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no ClusterRole labelled %s lets get/list/watch %s.%s", tc.label, tc.resource, tc.group)
		}
	}
}

func TestSamplesApply(t *testing.T) {
	ns := cp.NewNamespace(t)
	files, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("expected samples in config/samples: %v %v", files, err)
	}
	if _, err := controlplane.ApplyFiles(context.Background(), cp.Config, ns, files...); err != nil {
		t.Fatal(err)
	}
	client := sourcesclient.NewForConfigOrDie(cp.Config)
	list, err := client.SourcesV1alpha1().TektonStepSources(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sinks := map[string]string{}
	for _, s := range list.Items {
		if s.Spec.Sink.Ref != nil {
			sinks[s.Name] = s.Spec.Sink.Ref.Kind + "/" + s.Spec.Sink.Ref.Name
		} else {
			sinks[s.Name] = s.Spec.Sink.URI.String()
		}
	}
	want := map[string]string{
		"steps-to-broker": "Broker/default",
		"steps-to-uri":    "http://event-display.default.svc.cluster.local",
	}
	if diff := cmp.Diff(want, sinks); diff != "" {
		t.Errorf("applied sources (-want +got):\n%s", diff)
	}
	// Applying again is a no-op, as kubectl apply is.
	if _, err := controlplane.ApplyFiles(context.Background(), cp.Config, ns, files...); err != nil {
		t.Fatalf("second apply: %v", err)
	}
}

// TestSchemaRejectsInvalidSources checks that the apiserver itself refuses
// invalid sources, naming the field, even when no controller runs.
func TestSchemaRejectsInvalidSources(t *testing.T) {
	ns := cp.NewNamespace(t)
	client := dynamic.NewForConfigOrDie(cp.Config).Resource(v1alpha1.SchemeGroupVersion.WithResource("tektonstepsources")).Namespace(ns)
	uriSink := map[string]interface{}{"uri": "http://sink.example.svc"}
	tests := []struct {
		name string
		spec map[string]interface{}
		want []string // substrings of the error
	}{{
		name: "no sink",
		spec: map[string]interface{}{"selector": map[string]interface{}{}},
		want: []string{"spec.sink", "a sink is required"},
	}, {
		name: "empty sink",
		spec: map[string]interface{}{"sink": map[string]interface{}{}},
		want: []string{"spec.sink", "a sink is required"},
	}, {
		name: "namespaceSelector without serviceAccountName",
		spec: map[string]interface{}{"sink": uriSink, "namespaceSelector": map[string]interface{}{}},
		want: []string{"spec.serviceAccountName", "requires spec.serviceAccountName"},
	}, {
		name: "negative log.maxBytes",
		spec: map[string]interface{}{"sink": uriSink, "log": map[string]interface{}{"maxBytes": -1}},
		want: []string{"spec.log.maxBytes", "should be greater than or equal to 0"},
	}, {
		name: "log.maxBytes over 512 KiB",
		spec: map[string]interface{}{"sink": uriSink, "log": map[string]interface{}{"maxBytes": 524289}},
		want: []string{"spec.log.maxBytes", "should be less than or equal to 524288"},
	}, {
		name: "ceOverrides overriding id",
		spec: map[string]interface{}{"sink": uriSink, "ceOverrides": map[string]interface{}{"extensions": map[string]interface{}{"id": "x"}}},
		want: []string{"spec.ceOverrides.extensions", "may not override"},
	}, {
		name: "ceOverrides overriding a tekton extension",
		spec: map[string]interface{}{"sink": uriSink, "ceOverrides": map[string]interface{}{"extensions": map[string]interface{}{"tektonStep": "x"}}},
		want: []string{"spec.ceOverrides.extensions", "may not override"},
	}, {
		// Issue 34: what a YAML block scalar (|) gives; every binary-mode
		// send failed in net/http.
		name: "ceOverrides value ending with a newline",
		spec: map[string]interface{}{"sink": uriSink, "ceOverrides": map[string]interface{}{"extensions": map[string]interface{}{"env": "prod\n"}}},
		want: []string{"spec.ceOverrides.extensions[env]", "no control characters", "use |-"},
	}, {
		name: "ceOverrides value with a C1 control character",
		spec: map[string]interface{}{"sink": uriSink, "ceOverrides": map[string]interface{}{"extensions": map[string]interface{}{"env": "a\u0085"}}},
		want: []string{"spec.ceOverrides.extensions[env]", "no control characters"},
	}, {
		name: "ceOverrides value with a noncharacter",
		spec: map[string]interface{}{"sink": uriSink, "ceOverrides": map[string]interface{}{"extensions": map[string]interface{}{"env": "\U0010FFFF"}}},
		want: []string{"spec.ceOverrides.extensions[env]", "noncharacters"},
	}, {
		// Receivers trim it off a header.
		name: "ceOverrides value with a leading space",
		spec: map[string]interface{}{"sink": uriSink, "ceOverrides": map[string]interface{}{"extensions": map[string]interface{}{"env": " prod"}}},
		want: []string{"spec.ceOverrides.extensions[env]", "leading or trailing spaces"},
	}, {
		name: "ceOverrides name with an uppercase letter",
		spec: map[string]interface{}{"sink": uriSink, "ceOverrides": map[string]interface{}{"extensions": map[string]interface{}{"Env": "prod"}}},
		want: []string{"spec.ceOverrides.extensions", "lowercase letters and digits"},
	}, {
		name: "a sink URI that is not HTTP",
		spec: map[string]interface{}{"sink": map[string]interface{}{"uri": "ftp://sink.example.com/"}},
		want: []string{"spec.sink.uri", "must be http:// or https://"},
	}, {
		name: "a dead-letter sink URI that is not HTTP",
		spec: map[string]interface{}{"sink": uriSink, "delivery": map[string]interface{}{"deadLetterSink": map[string]interface{}{"uri": "kafka://x"}}},
		want: []string{"spec.delivery.deadLetterSink.uri", "must be http:// or https://"},
	}, {
		name: "deletionGuard.deadline that is no duration",
		spec: map[string]interface{}{"sink": uriSink, "deletionGuard": map[string]interface{}{"deadline": "soon"}},
		want: []string{"spec.deletionGuard.deadline", "should match"},
	}, {
		name: "deletionGuard.deadline over a day",
		spec: map[string]interface{}{"sink": uriSink, "deletionGuard": map[string]interface{}{"deadline": "25h"}},
		want: []string{"spec.deletionGuard.deadline", "between 1s and 24h"},
	}, {
		name: "delivery.retry negative",
		spec: map[string]interface{}{"sink": uriSink, "delivery": map[string]interface{}{"retry": -1}},
		want: []string{"spec.delivery.retry", "should be greater than or equal to 0"},
	}, {
		name: "a replay that ends before it starts",
		spec: map[string]interface{}{"sink": uriSink, "replays": []interface{}{map[string]interface{}{
			"name": "r", "since": "2026-12-01T10:00:00Z", "until": "2026-12-01T09:00:00Z"}}},
		want: []string{"spec.replays[0].until", "until must be after since"},
	}, {
		name: "two replays of one name",
		spec: map[string]interface{}{"sink": uriSink, "replays": []interface{}{
			map[string]interface{}{"name": "r", "since": "2026-12-01T10:00:00Z"},
			map[string]interface{}{"name": "r", "since": "2026-12-01T11:00:00Z"}}},
		want: []string{"spec.replays[1]", "Duplicate value"},
	}, {
		name: "a replay name that is no DNS label, and an unknown type",
		spec: map[string]interface{}{"sink": uriSink, "replays": []interface{}{map[string]interface{}{
			"name": "Back_fill", "since": "2026-12-01T10:00:00Z", "types": []interface{}{"finished"}}}},
		want: []string{"spec.replays[0].name", "spec.replays[0].types[0]", "Unsupported value"},
	}, {
		name: "wrong type",
		spec: map[string]interface{}{"sink": uriSink, "log": map[string]interface{}{"maxBytes": "lots"}},
		want: []string{"spec.log.maxBytes", "must be of type integer"},
	}, {
		name: "unknown field",
		spec: map[string]interface{}{"sink": uriSink, "sinks": []interface{}{}},
		want: []string{`unknown field "spec.sinks"`},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obj := &unstructured.Unstructured{Object: map[string]interface{}{
				"apiVersion": v1alpha1.SchemeGroupVersion.String(),
				"kind":       "TektonStepSource",
				"metadata":   map[string]interface{}{"name": "invalid"},
				"spec":       tc.spec,
			}}
			_, err := client.Create(context.Background(), obj, metav1.CreateOptions{FieldValidation: "Strict"})
			if err == nil {
				t.Fatal("the apiserver accepted an invalid source")
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestSourceStatusSubresource writes status the way the controller will.
func TestSourceStatusSubresource(t *testing.T) {
	ns := cp.NewNamespace(t)
	client := sourcesclient.NewForConfigOrDie(cp.Config).SourcesV1alpha1().TektonStepSources(ns)
	src := &v1alpha1.TektonStepSource{
		ObjectMeta: metav1.ObjectMeta{Name: "s"},
		Spec: v1alpha1.TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{
			Ref: &duckv1.KReference{APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"},
		}}},
	}
	created, err := client.Create(context.Background(), src, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Status.InitializeConditions()
	created.Status.MarkNoSink("NotFound", "Broker %q not found", "default")
	created.Status.Namespaces = []string{ns}
	created.Status.ObservedGeneration = created.Generation
	if _, err := client.UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := client.Get(context.Background(), "s", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := got.Status.GetCondition(v1alpha1.TektonStepSourceConditionReady)
	if ready == nil || ready.Status != corev1.ConditionFalse || ready.Reason != "NotFound" {
		t.Errorf("Ready = %+v, want False/NotFound", ready)
	}
	if diff := cmp.Diff([]string{ns}, got.Status.Namespaces); diff != "" {
		t.Errorf("status.namespaces (-want +got):\n%s", diff)
	}
}

// TestTaskRunStatusSubresource is how later tests drive step states: create a
// TaskRun from Tekton's CRD and write its status like Tekton's controller.
func TestTaskRunStatusSubresource(t *testing.T) {
	ns := cp.NewNamespace(t)
	client := tektonclient.NewForConfigOrDie(cp.Config).TektonV1().TaskRuns(ns)
	tr := &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: "build", Labels: map[string]string{"app": "demo"}},
		Spec: pipelinev1.TaskRunSpec{TaskSpec: &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{
			{Name: "compile", Image: "busybox", Script: "echo compile"},
			{Name: "test", Image: "busybox", Script: "echo test"},
		}}},
	}
	created, err := client.Create(context.Background(), tr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := metav1.NewTime(time.Now().Truncate(time.Second))
	created.Status.PodName = "build-pod"
	created.Status.Steps = []pipelinev1.StepState{{
		Name: "compile", Container: "step-compile",
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 0, Reason: "Completed", StartedAt: start, FinishedAt: start,
		}},
		TerminationReason: "Completed",
	}, {
		Name: "test", Container: "step-test",
		ContainerState: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: start}},
	}}
	if _, err := client.UpdateStatus(context.Background(), created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := client.Get(context.Background(), "build", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created.Status.Steps, got.Status.Steps); diff != "" {
		t.Errorf("status.steps (-want +got):\n%s", diff)
	}
	if got.Status.PodName != "build-pod" {
		t.Errorf("podName = %q", got.Status.PodName)
	}
	// The spec cannot change through the status subresource.
	got.Spec.TaskSpec.Steps[0].Name = "changed"
	if _, err := client.UpdateStatus(context.Background(), got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := client.Get(context.Background(), "build", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Spec.TaskSpec.Steps[0].Name != "compile" {
		t.Errorf("a status update changed the spec: %q", again.Spec.TaskSpec.Steps[0].Name)
	}
}
