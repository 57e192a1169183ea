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

package knplugin

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	versioned "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

var cp *controlplane.ControlPlane

func TestMain(m *testing.M) { os.Exit(controlplane.RunTests(m, &cp)) }

// kn runs the plugin's command line against the test apiserver.
func kn(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := NewCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	if !slices.Contains(args, "--kubeconfig") {
		args = append(args, "--kubeconfig", cp.KubeconfigPath)
	}
	cmd.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String() + errOut.String(), err
}

func getSource(t *testing.T, ns, name string) *v1alpha1.TektonStepSource {
	t.Helper()
	src, err := versioned.NewForConfigOrDie(cp.Config).SourcesV1alpha1().TektonStepSources(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting %s/%s: %v", ns, name, err)
	}
	return src
}

func createBroker(t *testing.T, ns, name string) {
	t.Helper()
	broker := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "eventing.knative.dev/v1", "kind": "Broker",
		"metadata": map[string]interface{}{"name": name, "namespace": ns},
	}}
	gvr := schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"}
	if _, err := dynamic.NewForConfigOrDie(cp.Config).Resource(gvr).Namespace(ns).Create(context.Background(), broker, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func brokerRef(ns, name string) duckv1.Destination {
	return duckv1.Destination{Ref: &duckv1.KReference{Kind: "Broker", APIVersion: "eventing.knative.dev/v1", Name: name, Namespace: ns}}
}

func int64p(v int64) *int64 { return &v }

// step is one command of a scenario: its output must contain every want
// (and none of notWant), and check sees the stored source afterwards.
type step struct {
	name    string
	args    []string
	want    []string
	notWant []string
	wantErr string
	check   func(t *testing.T, ns string)
}

func runSteps(t *testing.T, ns string, steps []step) {
	t.Helper()
	for _, s := range steps {
		out, err := kn(t, append(s.args, "-n", ns)...)
		switch {
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Fatalf("%s: kn %v: error = %v, want one containing %q (output %q)", s.name, s.args, err, s.wantErr, out)
		case s.wantErr == "" && err != nil:
			t.Fatalf("%s: kn %v: %v (output %q)", s.name, s.args, err, out)
		}
		for _, w := range s.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: kn %v: output does not contain %q:\n%s", s.name, s.args, w, out)
			}
		}
		for _, w := range s.notWant {
			if strings.Contains(out, w) {
				t.Errorf("%s: kn %v: output contains %q:\n%s", s.name, s.args, w, out)
			}
		}
		if s.check != nil {
			s.check(t, ns)
		}
	}
}

func TestCreateUpdateDescribeListDelete(t *testing.T) {
	ns := cp.NewNamespace(t)
	createBroker(t, ns, "default")
	createBroker(t, ns, "alerts")
	var rv string
	runSteps(t, ns, []step{{
		name: "create",
		args: []string{"create", "steps", "--sink", "broker:default", "--selector", "app=my-app", "--ce-override", "cluster=dev",
			"--ce-override", "team=ci", "--log-max-bytes", "100"},
		want: []string{"TektonStepSource 'steps' created in namespace '" + ns + "'."},
		check: func(t *testing.T, ns string) {
			want := v1alpha1.TektonStepSourceSpec{
				SourceSpec: duckv1.SourceSpec{Sink: brokerRef(ns, "default"),
					CloudEventOverrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"cluster": "dev", "team": "ci"}}},
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "my-app"}},
				Log:      &v1alpha1.LogSpec{MaxBytes: int64p(100)},
			}
			if diff := cmp.Diff(want, getSource(t, ns, "steps").Spec); diff != "" {
				t.Errorf("created spec (-want +got):\n%s", diff)
			}
		},
	}, {
		name:    "create again",
		args:    []string{"create", "steps", "--sink", "broker:default"},
		wantErr: "already exists",
	}, {
		name: "update changes only the given flags",
		args: []string{"update", "steps", "--sink", "eventing.knative.dev/v1:Broker:alerts", "--ce-override", "team-", "--selector", "-",
			"--service-account", "ci-reader", "--namespace-selector", "team in (a,b)", "--replicas", "3", "--include-sink-triggered-runs", "--mask-secret-values"},
		want: []string{"TektonStepSource 'steps' updated in namespace '" + ns + "'."},
		check: func(t *testing.T, ns string) {
			three := int32(3)
			want := v1alpha1.TektonStepSourceSpec{
				SourceSpec: duckv1.SourceSpec{Sink: brokerRef(ns, "alerts"),
					CloudEventOverrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"cluster": "dev"}}},
				ServiceAccountName: "ci-reader",
				NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}}}},
				Log:                      &v1alpha1.LogSpec{MaxBytes: int64p(100)},
				Replicas:                 &three,
				IncludeSinkTriggeredRuns: true,
				Masking:                  &v1alpha1.MaskingSpec{SecretValues: true},
			}
			if diff := cmp.Diff(want, getSource(t, ns, "steps").Spec); diff != "" {
				t.Errorf("updated spec (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "update to a URI, every namespace, no overrides",
		args: []string{"update", "steps", "--sink", "http://display.ci.svc.cluster.local", "--namespace-selector", "", "--ce-override", "cluster-", "-o", "json"},
		want: []string{`"kind": "TektonStepSource"`, `"uri": "http://display.ci.svc.cluster.local"`},
		check: func(t *testing.T, ns string) {
			spec := getSource(t, ns, "steps").Spec
			if spec.Sink.Ref != nil || spec.Sink.URI.String() != "http://display.ci.svc.cluster.local" ||
				spec.NamespaceSelector == nil || len(spec.NamespaceSelector.MatchLabels)+len(spec.NamespaceSelector.MatchExpressions) != 0 ||
				spec.CloudEventOverrides != nil {
				t.Errorf("spec after update = %+v", spec)
			}
			rv = getSource(t, ns, "steps").ResourceVersion
		},
	}, {
		name: "update with nothing to change",
		args: []string{"update", "steps"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			if got := getSource(t, ns, "steps").ResourceVersion; got != rv {
				t.Errorf("an update without flags wrote the source (resourceVersion %s -> %s)", rv, got)
			}
			setStatus(t, ns, "steps")
		},
	}, {
		name: "describe",
		args: []string{"describe", "steps"},
		want: []string{
			"Name:", "steps", "Labels:", "team=ci", "Annotations:", "note=kept", "Adapter:", "deployment/steps-tektonstep-adapter",
			"Service Account:", "ci-reader", "Namespace Selector:", "<all namespaces>",
			"URI:", "http://display.ci.svc.cluster.local",
			"Sink URI:", "http://display.ci.svc.cluster.local",
			"Sink Audience:", "display-audience",
			"OIDC Identity:", "system:serviceaccount:" + ns + ":steps-oidc-sources.knative.dev-tektonstepsource",
			"Watched Namespaces:", ns + ", other-ns",
			"dev.tekton.event.step.failed.v1",
			"Conditions:", "!!  Ready", "++  SinkProvided", "??  Deployed", "!!  SufficientPermissions", "++  OIDCIdentityCreated",
			"Recent Warning Events:", "CannotReadTaskRuns  2", "ci-reader cannot list taskruns in other-ns", "SinkNotFound", "old warning",
		},
		notWant: []string{"AllFine", "last-applied-configuration"},
	}, {
		name: "describe -v shows kubectl's and kn's own annotations too",
		args: []string{"describe", "steps", "-v"},
		want: []string{"Labels:", "team=ci", "Annotations:", "kubectl.kubernetes.io/last-applied-configuration=x", "note=kept"},
	}, {
		name: "describe -o yaml",
		args: []string{"describe", "steps", "-o", "yaml"},
		want: []string{"apiVersion: sources.knative.dev/v1alpha1", "kind: TektonStepSource", "sinkUri: http://display.ci.svc.cluster.local"},
	}, {
		name: "update sets spec.delivery, as kn broker's flags",
		args: []string{"update", "steps", "--dl-sink", "broker:alerts", "--retry", "3", "--backoff-policy", "linear",
			"--backoff-delay", "PT0.5S", "--timeout", "PT5S", "--retry-after-max", "PT1M"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			dls := brokerRef(ns, "alerts")
			linear := eventingduckv1.BackoffPolicyLinear
			want := &eventingduckv1.DeliverySpec{DeadLetterSink: &dls, Retry: ptr.Int32(3), BackoffPolicy: &linear,
				BackoffDelay: ptr.String("PT0.5S"), Timeout: ptr.String("PT5S"), RetryAfterMax: ptr.String("PT1M")}
			if diff := cmp.Diff(want, getSource(t, ns, "steps").Spec.Delivery); diff != "" {
				t.Errorf("delivery (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "describe shows the delivery",
		args: []string{"describe", "steps"},
		// Whole rows, as the table aligns them.
		want: []string{"Delivery:", "Dead Letter Sink:      broker:alerts\n", "Dead Letter Sink URI:  <not resolved yet>\n",
			"Retry:                 3\n", "Backoff Policy:        linear\n", "Backoff Delay:         PT0.5S\n",
			"Timeout:               PT5S\n", "Retry After Max:       PT1M\n"},
	}, {
		name: "update turns the deletion guard on",
		args: []string{"update", "steps", "--deletion-guard", "30m"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			g := getSource(t, ns, "steps").Spec.DeletionGuard
			if g == nil || g.Deadline == nil || g.Deadline.Duration != 30*time.Minute {
				t.Errorf("deletionGuard = %+v, want a 30m deadline", g)
			}
		},
	}, {
		name: "describe shows the guard",
		args: []string{"describe", "steps"},
		want: []string{"Deletion Guard:", "on, deadline 30m0s"},
	}, {
		name:    "an unparsable deadline",
		args:    []string{"update", "steps", "--deletion-guard", "soon"},
		wantErr: `--deletion-guard "soon": want a duration`,
	}, {
		name: "update turns the deletion guard off",
		args: []string{"update", "steps", "--deletion-guard", "-"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			if g := getSource(t, ns, "steps").Spec.DeletionGuard; g != nil {
				t.Errorf("deletionGuard = %+v, want none", g)
			}
		},
	}, {
		name:    "update with an unknown backoff policy",
		args:    []string{"update", "steps", "--backoff-policy", "random"},
		wantErr: `--backoff-policy "random": want exponential or linear`,
	}, {
		// kn and Go write durations so; the API stores ISO 8601.
		name: "update takes durations as kn writes them",
		args: []string{"update", "steps", "--timeout", "5s", "--backoff-delay", "500ms", "--retry-after-max", "1m30s"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			d := getSource(t, ns, "steps").Spec.Delivery
			if d == nil || ptrValue(d.Timeout) != "PT5S" || ptrValue(d.BackoffDelay) != "PT0.5S" || ptrValue(d.RetryAfterMax) != "PT1M30S" {
				t.Errorf("delivery = %+v, want timeout PT5S, backoffDelay PT0.5S, retryAfterMax PT1M30S", d)
			}
		},
	}, {
		// kn's help names PT0S for retryAfterMax: honour no Retry-After.
		name: "update with a zero Retry-After maximum",
		args: []string{"update", "steps", "--retry-after-max", "0s"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			if d := getSource(t, ns, "steps").Spec.Delivery; d == nil || ptrValue(d.RetryAfterMax) != "PT0S" {
				t.Errorf("delivery = %+v, want retryAfterMax PT0S", d)
			}
		},
	}, {
		name:    "update with a duration that is none",
		args:    []string{"update", "steps", "--timeout", "5x"},
		wantErr: `--timeout "5x": want a positive duration such as 10s, 1m30s or 500ms (or ISO 8601, e.g. PT10S)`,
	}, {
		name:    "update with a duration the API would round",
		args:    []string{"update", "steps", "--backoff-delay", "250ms"},
		wantErr: `--backoff-delay "250ms": durations are kept to a tenth of a second (e.g. 300ms)`,
	}, {
		name: "update keeps the rest of the delivery",
		args: []string{"update", "steps", "--retry", "-1", "--timeout", "-"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			d := getSource(t, ns, "steps").Spec.Delivery
			if d == nil || d.Retry != nil || d.Timeout != nil || d.DeadLetterSink == nil || d.BackoffDelay == nil {
				t.Errorf("delivery = %+v, want only retry and timeout removed", d)
			}
		},
	}, {
		name: "update removes the delivery",
		args: []string{"update", "steps", "--dl-sink", "-", "--backoff-policy", "-", "--backoff-delay", "-", "--retry-after-max", "-"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			if d := getSource(t, ns, "steps").Spec.Delivery; d != nil {
				t.Errorf("delivery = %+v, want none", d)
			}
		},
	}, {
		name: "create a second one",
		args: []string{"create", "second", "--sink", "broker:default:" + ns},
		want: []string{"created"},
	}, {
		name: "list",
		args: []string{"list"},
		want: []string{
			"NAME", "SINK", "AGE", "CONDITIONS", "READY", "REASON",
			"steps", "http://display.ci.svc.cluster.local", "2 OK / 6", "False", "CannotReadTaskRuns",
			"second", "broker:default", "0 OK / 0", "<unknown>",
		},
		notWant: []string{"NAMESPACE"},
	}, {
		name: "list -o json",
		args: []string{"list", "-o", "json"},
		check: func(t *testing.T, ns string) {
			out, err := kn(t, "list", "-o", "json", "-n", ns)
			if err != nil {
				t.Fatal(err)
			}
			var list v1alpha1.TektonStepSourceList
			if err := json.Unmarshal([]byte(out), &list); err != nil {
				t.Fatalf("list -o json: %v\n%s", err, out)
			}
			if list.Kind != "TektonStepSourceList" || len(list.Items) != 2 || list.Items[0].Name != "second" || list.Items[1].Name != "steps" {
				t.Errorf("list -o json = %s", out)
			}
		},
	}, {
		name: "list -A",
		args: []string{"list", "-A"},
		want: []string{"NAMESPACE", ns},
	}, {
		name:  "delete",
		args:  []string{"delete", "steps"},
		want:  []string{"TektonStepSource 'steps' deleted in namespace '" + ns + "'."},
		check: func(t *testing.T, ns string) { assertGone(t, ns, "steps") },
	}, {
		name:    "delete again",
		args:    []string{"delete", "steps"},
		wantErr: "not found",
	}, {
		name: "delete the other",
		args: []string{"delete", "second"},
	}, {
		name: "list empty",
		args: []string{"list"},
		want: []string{"No Tekton step sources found."},
	}})
}

func assertGone(t *testing.T, ns, name string) {
	t.Helper()
	_, err := versioned.NewForConfigOrDie(cp.Config).SourcesV1alpha1().TektonStepSources(ns).Get(context.Background(), name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("%s/%s still there: %v", ns, name, err)
	}
}

// setStatus writes the status the controller writes, and events about the
// source: two Warnings and a Normal one.
func setStatus(t *testing.T, ns, name string) {
	t.Helper()
	ctx := context.Background()
	client := versioned.NewForConfigOrDie(cp.Config).SourcesV1alpha1().TektonStepSources(ns)
	src := getSource(t, ns, name)
	src.Labels = map[string]string{"team": "ci"}
	src.Annotations = map[string]string{"note": "kept", "kubectl.kubernetes.io/last-applied-configuration": "x"}
	src, err := client.Update(ctx, src, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src.Status.InitializeConditions()
	src.Status.MarkSink(&duckv1.Addressable{URL: apis.HTTP("display.ci.svc.cluster.local"), Audience: ptr.String("display-audience")})
	oidc := "steps-oidc-sources.knative.dev-tektonstepsource"
	src.Status.Auth = &duckv1.AuthStatus{ServiceAccountName: &oidc}
	src.Status.MarkOIDCIdentityCreatedSucceeded()
	src.Status.MarkNoSufficientPermissions("CannotReadTaskRuns", "ci-reader cannot list taskruns in other-ns")
	src.Status.Namespaces = []string{ns, "other-ns"}
	for _, et := range v1alpha1.EventTypes {
		src.Status.CloudEventAttributes = append(src.Status.CloudEventAttributes, duckv1.CloudEventAttributes{Type: et, Source: "/apis/tekton.dev/v1/taskruns"})
	}
	if _, err := client.UpdateStatus(ctx, src, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	kube := kubernetes.NewForConfigOrDie(cp.Config)
	now := metav1.Now()
	for i, e := range []struct{ typ, reason, msg string }{
		{corev1.EventTypeWarning, "SinkNotFound", "old warning"},
		{corev1.EventTypeWarning, "CannotReadTaskRuns", "ci-reader cannot list taskruns in other-ns"},
		{corev1.EventTypeNormal, "AllFine", "adapter deployed"},
	} {
		seen := metav1.NewTime(now.Add(time.Duration(i-3) * time.Minute))
		_, err := kube.CoreV1().Events(ns).Create(ctx, &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-"},
			InvolvedObject: corev1.ObjectReference{Kind: "TektonStepSource", APIVersion: v1alpha1.SchemeGroupVersion.String(),
				Namespace: ns, Name: name, UID: src.UID},
			Type: e.typ, Reason: e.reason, Message: e.msg, Count: int32(i + 1),
			FirstTimestamp: seen, LastTimestamp: seen, Source: corev1.EventSource{Component: "tektonstepsource-controller"},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestApplyIsIdempotent(t *testing.T) {
	ns := cp.NewNamespace(t)
	createBroker(t, ns, "default")
	sample := filepath.Join(controlplane.RepoRoot(), "config", "samples", "broker-source.yaml")
	var rv string
	keepRV := func(t *testing.T, ns string) { rv = getSource(t, ns, "applied").ResourceVersion }
	sameRV := func(t *testing.T, ns string) {
		if got := getSource(t, ns, "applied").ResourceVersion; got != rv {
			t.Errorf("applying the same source again wrote it (resourceVersion %s -> %s)", rv, got)
		}
	}
	flags := []string{"apply", "applied", "--sink", "broker:default", "--selector", "app=x", "--ce-override", "cluster=dev"}
	runSteps(t, ns, []step{{
		name: "apply creates", args: flags,
		want:  []string{"TektonStepSource 'applied' created in namespace '" + ns + "'."},
		check: keepRV,
	}, {
		name: "apply again changes nothing", args: flags,
		want:  []string{"TektonStepSource 'applied' unchanged in namespace '" + ns + "'."},
		check: sameRV,
	}, {
		name: "apply without --selector removes it",
		args: []string{"apply", "applied", "--sink", "broker:default", "--ce-override", "cluster=prod"},
		want: []string{"updated"},
		check: func(t *testing.T, ns string) {
			spec := getSource(t, ns, "applied").Spec
			want := v1alpha1.TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: brokerRef(ns, "default"),
				CloudEventOverrides: &duckv1.CloudEventOverrides{Extensions: map[string]string{"cluster": "prod"}}}}
			if diff := cmp.Diff(want, spec); diff != "" {
				t.Errorf("spec (-want +got):\n%s", diff)
			}
			keepRV(t, ns)
		},
	}, {
		name: "and again", args: []string{"apply", "applied", "--sink", "broker:default", "--ce-override", "cluster=prod"},
		want: []string{"unchanged"}, check: sameRV,
	}, {
		name: "apply -f the shipped sample creates", args: []string{"apply", "-f", sample},
		want: []string{"TektonStepSource 'steps-to-broker' created in namespace '" + ns + "'."},
		check: func(t *testing.T, ns string) {
			if diff := cmp.Diff(brokerRef("", "default"), getSource(t, ns, "steps-to-broker").Spec.Sink); diff != "" {
				t.Errorf("sink (-want +got):\n%s", diff)
			}
		},
	}, {
		name: "apply -f twice is unchanged", args: []string{"apply", "-f", sample, "-o", "yaml"},
		want: []string{"name: steps-to-broker", "kind: TektonStepSource"},
	}, {
		name: "and says so", args: []string{"apply", "-f", sample},
		want: []string{"TektonStepSource 'steps-to-broker' unchanged in namespace '" + ns + "'."},
	}})
}

func TestApplyFromStdin(t *testing.T) {
	ns := cp.NewNamespace(t)
	orig := stdin
	t.Cleanup(func() { stdin = orig })
	stdin = strings.NewReader("apiVersion: sources.knative.dev/v1alpha1\nkind: TektonStepSource\nmetadata:\n  name: from-stdin\nspec:\n  sink:\n    uri: http://x.example\n---\n")
	out, err := kn(t, "apply", "-f", "-", "-n", ns)
	if err != nil || !strings.Contains(out, "'from-stdin' created") {
		t.Fatalf("apply -f -: %v %s", err, out)
	}
}

func TestInvalidFlagsGiveClearErrors(t *testing.T) {
	ns := cp.NewNamespace(t)
	createBroker(t, ns, "default")
	dir := t.TempDir()
	configMap := filepath.Join(dir, "cm.yaml")
	if err := os.WriteFile(configMap, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no name", []string{"create", "--sink", "broker:default"}, "requires the name of the source as single argument"},
		{"two names", []string{"delete", "a", "b"}, "got 2 arguments"},
		{"create without sink", []string{"create", "x"}, `required flag(s) "sink" not set`},
		{"apply without sink", []string{"apply", "x"}, `required flag(s) "sink" not set`},
		{"unknown sink prefix", []string{"create", "x", "--sink", "brokr:default"}, `unknown sink prefix "brokr"`},
		{"broker not found", []string{"create", "x", "--sink", "broker:nope"}, `eventing.knative.dev/v1 brokers "nope" not found in namespace "` + ns + `"`},
		{"serving not installed", []string{"create", "x", "--sink", "ksvc:display"}, "the cluster does not serve serving.knative.dev/v1 services"},
		{"unknown kind", []string{"create", "x", "--sink", "eventing.knative.dev/v1:Brokr:default"}, "the cluster does not serve kind Brokr"},
		{"bad selector", []string{"create", "x", "--sink", "broker:default", "--selector", "app in (a"}, `--selector "app in (a" is not a label selector`},
		{"bad namespace selector", []string{"create", "x", "--sink", "broker:default", "--namespace-selector", "=x"}, `--namespace-selector "=x" is not a label selector`},
		{"bad ce-override", []string{"create", "x", "--sink", "broker:default", "--ce-override", "cluster"}, `--ce-override "cluster": want key=value, or key- to remove`},
		{"bad ce-override on update", []string{"update", "x", "--ce-override", "=v"}, "the key is empty"},
		{"bad log-max-bytes", []string{"create", "x", "--sink", "broker:default", "--log-max-bytes", "lots"}, `invalid argument "lots" for "--log-max-bytes"`},
		{"bad output", []string{"list", "-o", "xml"}, `unable to match a printer suitable for the output format "xml", allowed formats are: `},
		{"unknown flag", []string{"create", "x", "--snk", "broker:default"}, "unknown flag: --snk"},
		{"apply -f with a name", []string{"apply", "x", "-f", configMap}, "'apply -f' takes neither a NAME nor source flags"},
		{"apply -f with flags", []string{"apply", "-f", configMap, "--sink", "broker:default"}, "'apply -f' takes neither a NAME nor source flags"},
		{"apply -f another kind", []string{"apply", "-f", configMap}, "document 1 is a v1 ConfigMap, not a sources.knative.dev/v1alpha1 TektonStepSource"},
		{"apply -f missing file", []string{"apply", "-f", filepath.Join(dir, "missing.yaml")}, "no such file or directory"},
		{"update missing", []string{"update", "missing", "--log-max-bytes", "1"}, `tektonstepsources.sources.knative.dev "missing" not found`},
		{"describe missing", []string{"describe", "missing"}, `cannot describe TektonStepSource 'missing'`},
		{"bad kubeconfig", []string{"list", "--kubeconfig", filepath.Join(dir, "nope")}, "no usable kubeconfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := kn(t, append(tt.args, "-n", ns)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("kn %v: error = %v, want one containing %q (output %q)", tt.args, err, tt.wantErr, out)
			}
		})
	}
	list, err := versioned.NewForConfigOrDie(cp.Config).SourcesV1alpha1().TektonStepSources(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) != 0 {
		t.Errorf("invalid commands left sources behind: %v %v", list, err)
	}
}

func TestInvalidSpecsAreRejectedWithTheFieldPath(t *testing.T) {
	ns := cp.NewNamespace(t)
	createBroker(t, ns, "default")
	typo := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(typo, []byte("apiVersion: sources.knative.dev/v1alpha1\nkind: TektonStepSource\nmetadata:\n  name: typo\nspec:\n  sink:\n    uri: http://x.example\n  sinc: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noSink := filepath.Join(t.TempDir(), "nosink.yaml")
	if err := os.WriteFile(noSink, []byte("apiVersion: sources.knative.dev/v1alpha1\nkind: TektonStepSource\nmetadata:\n  name: nosink\nspec:\n  selector:\n    matchLabels:\n      app: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	negativeRetry := filepath.Join(t.TempDir(), "retry.yaml")
	if err := os.WriteFile(negativeRetry, []byte("apiVersion: sources.knative.dev/v1alpha1\nkind: TektonStepSource\nmetadata:\n  name: retry\nspec:\n  sink:\n    uri: http://x.example\n  delivery:\n    retry: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantErrs []string
	}{
		{"namespace selector without service account",
			[]string{"create", "x", "--sink", "broker:default", "--namespace-selector", "team=ci"},
			[]string{"spec.serviceAccountName", "spec.namespaceSelector requires spec.serviceAccountName"}},
		{"negative log size",
			[]string{"create", "x", "--sink", "broker:default", "--log-max-bytes", "-1"},
			[]string{"spec.log.maxBytes", "should be greater than or equal to 0"}},
		{"more replicas than buckets",
			[]string{"create", "x", "--sink", "broker:default", "--replicas", "11"},
			[]string{"spec.replicas", "should be less than or equal to 10"}},
		{"a duration that is not ISO 8601 though it looks so",
			[]string{"create", "x", "--sink", "broker:default", "--backoff-delay", "P1X"},
			[]string{"spec.delivery.backoffDelay", "should match"}},
		{"negative retry in a file's delivery",
			[]string{"apply", "-f", negativeRetry},
			[]string{"spec.delivery.retry", "should be greater than or equal to 0"}},
		{"reserved extension",
			[]string{"apply", "x", "--sink", "broker:default", "--ce-override", "type=mine"},
			[]string{"spec.ceOverrides.extensions", "may not override CloudEvents context attributes"}},
		{"tekton extension",
			[]string{"create", "x", "--sink", "broker:default", "--ce-override", "tektonstep=x"},
			[]string{"spec.ceOverrides.extensions"}},
		{"unknown field in a file",
			[]string{"apply", "-f", typo},
			[]string{"spec.sinc: field not declared in schema"}},
		{"no sink in a file",
			[]string{"apply", "-f", noSink},
			[]string{"spec.sink", "a sink is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := kn(t, append(tt.args, "-n", ns)...)
			if err == nil {
				t.Fatalf("kn %v succeeded: %s", tt.args, out)
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("kn %v: error %q does not contain %q", tt.args, err, want)
				}
			}
		})
	}
	// A valid update of an existing source is refused the same way and
	// leaves it unchanged.
	if _, err := kn(t, "create", "ok", "--sink", "broker:default", "-n", ns); err != nil {
		t.Fatal(err)
	}
	_, err := kn(t, "update", "ok", "--namespace-selector", "team=ci", "-n", ns)
	if err == nil || !strings.Contains(err.Error(), "spec.serviceAccountName") {
		t.Errorf("update with a namespace selector only: %v", err)
	}
	if sel := getSource(t, ns, "ok").Spec.NamespaceSelector; sel != nil {
		t.Errorf("rejected update was stored: %v", sel)
	}
}

// TestKnSourceListFindsTheCRD runs the discovery `kn source list` and
// `kn source list-types` do (knative.dev/client's ListSourcesTypes and
// ListSources, which cannot be imported: they live in the nested module
// knative.dev/client/pkg, which the module proxy does not serve): list the
// CRDs labelled duck.knative.dev/source=true, derive each one's resource from
// spec.group, spec.names.plural and the first served version, list its
// objects and read them as the Source duck type.
func TestKnSourceListFindsTheCRD(t *testing.T) {
	ns := cp.NewNamespace(t)
	createBroker(t, ns, "default")
	if _, err := kn(t, "create", "steps", "--sink", "broker:default", "-n", ns); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dyn := dynamic.NewForConfigOrDie(cp.Config)
	crdGVR := apiextensionsv1.SchemeGroupVersion.WithResource("customresourcedefinitions")
	crds, err := dyn.Resource(crdGVR).List(ctx, metav1.ListOptions{
		LabelSelector: labels.Set{"duck.knative.dev/source": "true"}.String(),
	})
	if err != nil {
		t.Fatal(err)
	}
	type listed struct{ kind, resource, name, sink string }
	var found []listed
	for _, crd := range crds.Items {
		group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		version := ""
		for _, v := range versions {
			if m, ok := v.(map[string]interface{}); ok && m["served"] == true {
				version = m["name"].(string)
				break
			}
		}
		objs, err := dyn.Resource(schema.GroupVersionResource{Group: group, Version: version, Resource: plural}).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing %s: %v", crd.GetName(), err)
		}
		for _, o := range objs.Items {
			var src duckv1.Source
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &src); err != nil {
				t.Fatalf("%s %s is not a Source duck: %v", kind, o.GetName(), err)
			}
			found = append(found, listed{kind, crd.GetName(), src.Name, SinkString(src.Spec.Sink, ns)})
		}
	}
	want := []listed{{"TektonStepSource", "tektonstepsources.sources.knative.dev", "steps", "broker:default"}}
	if diff := cmp.Diff(want, found, cmp.AllowUnexported(listed{})); diff != "" {
		t.Errorf("kn source list would show (-want +got):\n%s", diff)
	}
	// kn source list-types shows the CRD with its kind.
	var types []string
	for _, crd := range crds.Items {
		types = append(types, crd.GetName())
	}
	if !strings.Contains(strings.Join(types, ","), "tektonstepsources.sources.knative.dev") {
		t.Errorf("source CRDs %v lack ours", types)
	}
	// The CRD declares the categories kubectl get sources/knative use.
	var crd apiextensionsv1.CustomResourceDefinition
	raw, err := dyn.Resource(crdGVR).Get(ctx, "tektonstepsources.sources.knative.dev", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw.Object, &crd); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"all", "knative", "eventing", "sources"}, crd.Spec.Names.Categories); diff != "" {
		t.Errorf("categories (-want +got):\n%s", diff)
	}
}

// TestKubeconfigFromTheEnvironment: without --kubeconfig, $KUBECONFIG is
// used, as kn and kubectl do.
func TestKubeconfigFromTheEnvironment(t *testing.T) {
	ns := cp.NewNamespace(t)
	t.Setenv("KUBECONFIG", cp.KubeconfigPath)
	cmd := NewCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"create", "from-env", "--sink", "http://x.example", "-n", ns})
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if src := getSource(t, ns, "from-env"); src.Spec.Sink.URI.String() != "http://x.example" {
		t.Errorf("sink = %v", src.Spec.Sink)
	}
}

func ptrValue(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
