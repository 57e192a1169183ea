//go:build e2e

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

package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/tektonstep/tekton-step-source/test/contract"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

// These tests run through the real Knative Eventing (broker ingress and
// filter, in-memory channel dispatcher) and Tekton Triggers that
// hack/cluster-up.sh --eventing installs.

var (
	brokersGVR          = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"}
	triggersGVR         = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "triggers"}
	eventTypesGVR       = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1beta2", Resource: "eventtypes"}
	inMemoryChannelsGVR = schema.GroupVersionResource{Group: "messaging.knative.dev", Version: "v1", Resource: "inmemorychannels"}
	subscriptionsGVR    = schema.GroupVersionResource{Group: "messaging.knative.dev", Version: "v1", Resource: "subscriptions"}
)

// receiverImage is the CloudEvents receiver (test/images/receiver).
func receiverImage() string {
	if img := os.Getenv("E2E_RECEIVER_IMAGE"); img != "" {
		return img
	}
	return "tss.local/receiver:v1"
}

// deployReceiver runs a receiver behind a ClusterIP Service whose port (80)
// differs from the container's (8080), as Knative's own Services do, and
// waits until it runs.
func deployReceiver(t *testing.T, ns, name string, args ...string) {
	t.Helper()
	argv, _ := json.Marshal(append([]string{"-addr", ":8080"}, args...))
	apply(t, ns, fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      enableServiceLinks: false
      containers:
      - name: receiver
        image: %[2]s
        imagePullPolicy: IfNotPresent
        args: %[3]s
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          tcpSocket: {port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports:
  - {name: http, port: 80, targetPort: http}
`, name, receiverImage(), argv))
	waitEndpointReady(t, ns, name)
}

// waitEndpointReady waits until the Service ns/name's EndpointSlice lists
// a ready endpoint: the local cluster's Service proxy serves only ready
// endpoints, so before that a Trigger's delivery to it fails, and Knative's
// in-memory channel holds the Broker ingress's answer for the retries.
func waitEndpointReady(t *testing.T, ns, name string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			slices, err := kube.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
			if err != nil {
				return false, nil
			}
			for _, s := range slices.Items {
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && *e.Conditions.Ready {
						return true, nil
					}
				}
			}
			return false, nil
		})
	if err != nil {
		t.Fatalf("receiver %s/%s did not become ready: %v", ns, name, err)
	}
}

// receiverEvents waits until the receiver ns/name has events with want
// different ids, then a little longer to catch any extra one, and returns
// all it got, copies included.
func receiverEvents(t *testing.T, ns, name string, want int) []cloudevents.Event {
	t.Helper()
	return readReceiver(t, ns, "app="+name, fmt.Sprintf("%d different", want), func(cloudevents.Event) bool { return true },
		func(got []cloudevents.Event) bool {
			ids := map[string]bool{}
			for _, e := range got {
				ids[e.ID()] = true
			}
			return len(ids) >= want
		})
}

// waitReady waits until the object's Ready condition is True.
func waitReady(t *testing.T, gvr schema.GroupVersionResource, ns, name string) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(restConfig)
	var last *unstructured.Unstructured
	err := wait.PollUntilContextTimeout(ctxFor(t, 3*time.Minute), time.Second, 3*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			u, err := dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			last = u
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Ready" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
	if err != nil {
		status, _ := json.MarshalIndent(last, "", "  ")
		t.Fatalf("%s %s/%s not Ready: %v\n%s", gvr.Resource, ns, name, err, status)
	}
}

// applyRecipe applies a Trigger of config/samples/recipes with its
// subscriber replaced by the receiver of the same name.
func applyRecipe(t *testing.T, ns, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "recipes", file))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := controlplane.DecodeYAML(data)
	if err != nil || len(objs) != 1 || objs[0].GetKind() != "Trigger" {
		t.Fatalf("%s: want one Trigger (%v)", file, err)
	}
	trig := objs[0]
	name := trig.GetName()
	if err := unstructured.SetNestedMap(trig.Object, map[string]any{
		"ref": map[string]any{"apiVersion": "v1", "kind": "Service", "name": name},
	}, "spec", "subscriber"); err != nil {
		t.Fatal(err)
	}
	deployReceiver(t, ns, name)
	if _, err := controlplane.Apply(ctxFor(t, time.Minute), restConfig, ns, trig); err != nil {
		t.Fatalf("applying %s: %v", file, err)
	}
	return name
}

// TestBrokerTriggerRecipes sends a PipelineRun's and a TaskRun's step
// events to a real Broker and routes them with the Triggers of
// docs/recipes.md (exact type, exact extensions, prefix, CESQL) to real
// receivers. Each receiver must get exactly the events its filter's
// meaning selects from what a second source sent straight to the event
// display, with the same ids, attributes and data. Knative's controller
// registers the source's four EventTypes for the Broker.
func TestBrokerTriggerRecipes(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newBroker(t, ns)
	// What each recipe means, written out here rather than evaluated by
	// Knative's filter code: the broker's own filter is what is tested.
	recipes := map[string]func(cloudevents.Event) bool{
		"trigger-count-started-steps.yaml": func(e cloudevents.Event) bool { return e.Type() == typePrefix+"started.v1" },
		"trigger-live-failed-steps.yaml": func(e cloudevents.Event) bool {
			return e.Type() == typePrefix+"failed.v1" && ext(e, "replay") == ""
		},
		"trigger-page-on-failed-step.yaml": func(e cloudevents.Event) bool {
			return e.Type() == typePrefix+"failed.v1" && ext(e, "tektonpipelinerun") == "release-42"
		},
		"trigger-finished-steps-cesql.yaml": func(e cloudevents.Event) bool {
			return (e.Type() == typePrefix+"succeeded.v1" || e.Type() == typePrefix+"failed.v1") && ext(e, "tektonpipeline") == "release"
		},
		"trigger-one-taskrun-first-attempt.yaml": func(e cloudevents.Event) bool {
			return strings.HasPrefix(ext(e, "sequence"), "00000-") && strings.HasSuffix(ext(e, "partitionkey"), "/release-42-build")
		},
	}
	names := map[string]string{}
	for file := range recipes {
		names[file] = applyRecipe(t, ns, file)
	}
	newEverythingTrigger(t, ns)
	for _, name := range names {
		waitReady(t, triggersGVR, ns, name)
	}

	newSource(t, ns, "direct", viaOverride("direct"))
	newRefSource(t, ns, "to-broker", brokerRef, "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: Pipeline
metadata:
  name: release
spec:
  tasks:
  - name: build
    taskSpec:
      steps:
      - {name: compile, image: "{{.Image}}", script: "echo compiled"}
      - {name: unit-tests, image: "{{.Image}}", script: "echo 1 failure; exit 1"}
      - {name: publish, image: "{{.Image}}", script: "echo published"}
---
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  name: release-42
spec:
  pipelineRef: {name: release}
---
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: lint
spec:
  taskSpec:
    steps:
    - {name: vet, image: "{{.Image}}", script: "echo vet; exit 3"}
`)
	waitPipelineRun(t, ns, "release-42")
	waitTaskRun(t, ns, "lint")
	// release-42-build: compile started/succeeded, unit-tests
	// started/failed, publish skipped; lint: vet started/failed.
	direct := waitEvents(t, 7, func(e cloudevents.Event) bool {
		return ext(e, "tektonnamespace") == ns && ext(e, "via") == "direct"
	})
	checkRouted(t, ns, "everything", "to-broker", true, direct, func(cloudevents.Event) bool { return true })
	for file, match := range recipes {
		checkRouted(t, ns, names[file], "to-broker", true, direct, match)
	}
	checkEventTypes(t, ns, "to-broker", "default")
}

// checkEventTypes waits until Knative's source duck reconciler registered
// one EventType per type the source emits, owned by the source, with the
// Broker as reference.
func checkEventTypes(t *testing.T, ns, source, broker string) {
	t.Helper()
	dyn := dynamic.NewForConfigOrDie(restConfig)
	want := map[string]bool{}
	for _, tr := range []string{"started", "succeeded", "failed", "skipped"} {
		want[typePrefix+tr+".v1"] = true
	}
	var got map[string]bool
	var problems []string
	err := wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			list, err := dyn.Resource(eventTypesGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			got, problems = map[string]bool{}, nil
			for _, et := range list.Items {
				owned := false
				for _, o := range et.GetOwnerReferences() {
					owned = owned || (o.Kind == "TektonStepSource" && o.Name == source)
				}
				if !owned {
					continue
				}
				typ, _, _ := unstructured.NestedString(et.Object, "spec", "type")
				ref, _, _ := unstructured.NestedString(et.Object, "spec", "reference", "name")
				kind, _, _ := unstructured.NestedString(et.Object, "spec", "reference", "kind")
				if got[typ] {
					problems = append(problems, "two EventTypes of type "+typ)
				}
				got[typ] = true
				if kind != "Broker" || ref != broker {
					problems = append(problems, fmt.Sprintf("EventType %s refers to %s %s", et.GetName(), kind, ref))
				}
			}
			return len(got) >= len(want), nil
		})
	if err != nil || len(problems) > 0 || len(got) != len(want) {
		t.Logf("Knative's eventing controller on %s:\n%s", source, eventingLog(t, "eventing-controller", "tektonstepsource"))
		t.Fatalf("EventTypes of %s: got %v, want %v (%v; %v)", source, got, want, problems, err)
	}
	for typ := range want {
		if !got[typ] {
			t.Errorf("no EventType %s", typ)
		}
	}
}

// checkRouted: the receiver got exactly the events of direct (what the
// source "direct" sent straight to the event display) that match selects,
// sent by the source via, unchanged (id, type, source, subject, our
// extensions, data but the stepState); throughBroker: each passed a broker
// ingress. An event the adapter sent again after a failed or timed-out
// attempt may arrive more than once; any other copy is an error. Each
// source builds an event from the TaskRun status it read, so time and
// stepState may differ between the two (docs/delivery.md): the
// routed stream, put in sequence order as a consumer does, must keep the
// contract on its own.
func checkRouted(t *testing.T, ns, receiver, via string, throughBroker bool, direct []cloudevents.Event, match func(cloudevents.Event) bool) {
	t.Helper()
	byID := map[string]cloudevents.Event{}
	want := map[string]bool{}
	for _, e := range direct {
		byID[e.ID()] = e
		if match(e) {
			want[e.ID()] = true
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s: the workload has no event the filter selects", receiver)
	}
	got := receiverEvents(t, ns, receiver, len(want))
	resent := resentIDs(t, ns, "direct", via)
	copies := map[string]int{}
	for _, e := range got {
		if copies[e.ID()]++; copies[e.ID()] == 2 && !resent[e.ID()] {
			t.Errorf("%s: event %s arrived more than once, and no adapter sent it again", receiver, e.ID())
		}
	}
	if len(copies) != len(want) {
		t.Errorf("%s: got %d events, want %d:\n%s", receiver, len(copies), len(want), describe(got))
	}
	for _, e := range got {
		d, ok := byID[e.ID()]
		switch {
		case !want[e.ID()] || !ok:
			t.Errorf("%s: got event %s (%s %s), which its filter does not select", receiver, e.ID(), e.Type(), e.Subject())
		case e.Type() != d.Type() || e.Source() != d.Source() || e.Subject() != d.Subject():
			t.Errorf("%s: event %s changed on the way: %s %s %s, sent straight: %s %s %s", receiver, e.ID(),
				e.Type(), e.Source(), e.Subject(), d.Type(), d.Source(), d.Subject())
		case ext(e, "via") != via:
			t.Errorf("%s: event %s came via %q, want %s", receiver, e.ID(), ext(e, "via"), via)
		case throughBroker && ext(e, "knativearrivaltime") == "":
			t.Errorf("%s: event %s did not pass a broker ingress (no knativearrivaltime)", receiver, e.ID())
		default:
			for _, k := range []string{"sequence", "partitionkey", "tektontaskrun", "tektonstep", "tektonattempt", "tektonpipelinerun"} {
				if ext(e, k) != ext(d, k) {
					t.Errorf("%s: event %s extension %s=%q, sent straight %q", receiver, e.ID(), k, ext(e, k), ext(d, k))
				}
			}
			if !jsonEqual(e.Data(), d.Data(), "stepState") {
				t.Errorf("%s: event %s data changed:\n%s\nsent straight:\n%s", receiver, e.ID(), e.Data(), d.Data())
			}
		}
	}
	routed := slices.Clone(got)
	slices.SortStableFunc(routed, func(x, y cloudevents.Event) int {
		return cmp.Or(strings.Compare(ext(x, "partitionkey"), ext(y, "partitionkey")), strings.Compare(ext(x, "sequence"), ext(y, "sequence")))
	})
	contract.Verify(t, routed, contract.Options{Redelivered: true})
}

// TestDeadLettersThroughBroker: a sink that refuses every event for good
// (400) sends each to the source's dead-letter sink, a real Broker, whose
// Trigger delivers it: every event, once, unchanged, with Knative's error
// extensions naming the refusing sink and its answer.
func TestDeadLettersThroughBroker(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newBroker(t, ns)
	newEverythingTrigger(t, ns)
	deployReceiver(t, ns, "refuser", "-status", "400")
	newSource(t, ns, "direct", viaOverride("direct"))
	newRefSource(t, ns, "refused", "{apiVersion: v1, kind: Service, name: refuser}",
		"delivery: {deadLetterSink: {ref: "+brokerRef+"}}")
	direct := runBuild(t, ns, "echo 2 failures; exit 1")
	checkRouted(t, ns, "everything", "refused", true, direct, func(cloudevents.Event) bool { return true })
	for _, e := range receiverEvents(t, ns, "everything", len(direct)) {
		if code, dest := ext(e, "knativeerrorcode"), ext(e, "knativeerrordest"); code != "400" || !strings.HasPrefix(dest, "http://refuser."+ns+".svc") {
			t.Errorf("dead letter %s: knativeerrorcode=%q knativeerrordest=%q, want 400 from the refuser", e.ID(), code, dest)
		}
	}
}

// TestChannelSubscription sends step events to a real InMemoryChannel, to
// which a Subscription subscribes a receiver: every event arrives
// unchanged, once.
func TestChannelSubscription(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	deployReceiver(t, ns, "channel-display")
	apply(t, ns, `
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata:
  name: steps
---
apiVersion: messaging.knative.dev/v1
kind: Subscription
metadata:
  name: steps-to-display
spec:
  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: steps}
  subscriber:
    ref: {apiVersion: v1, kind: Service, name: channel-display}
`)
	waitReady(t, inMemoryChannelsGVR, ns, "steps")
	waitReady(t, subscriptionsGVR, ns, "steps-to-display")
	newSource(t, ns, "direct", viaOverride("direct"))
	newRefSource(t, ns, "to-channel", "{apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: steps}", "")
	direct := runBuild(t, ns, "echo ok")
	checkRouted(t, ns, "channel-display", "to-channel", false, direct, func(cloudevents.Event) bool { return true })
}

// runBuild runs the TaskRun build (steps compile, then test with the
// script given) to its end and returns the four events the source
// "direct" sent of it to the event display (which gets only its events).
func runBuild(t *testing.T, ns, testScript string) []cloudevents.Event {
	t.Helper()
	apply(t, ns, fmt.Sprintf(`
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: build
spec:
  taskSpec:
    steps:
    - {name: compile, image: "{{.Image}}", script: "echo compiled"}
    - {name: test, image: "{{.Image}}", script: %q}
`, testScript))
	waitTaskRun(t, ns, "build")
	return eventsOf(t, ns, "build", 4)
}

// resentIDs: the ids of the events the adapters of the named sources
// logged as sent again ("Delivery incomplete, will retry" names the event
// whose attempt failed or timed out; the sink may have taken it anyway).
func resentIDs(t *testing.T, ns string, sourceNames ...string) map[string]bool {
	t.Helper()
	ctx := ctxFor(t, time.Minute)
	out := map[string]bool{}
	for _, name := range sourceNames {
		src, err := sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range adapterLogs(ctx, src.UID) {
			for _, m := range resentRE.FindAllSubmatch(raw, -1) {
				out[string(m[1])] = true
			}
		}
	}
	return out
}

var resentRE = regexp.MustCompile(`"msg":"Delivery incomplete, will retry".*?"error":"sending ([^ :"]+):`)

// eventingLog: the lines of the log of Knative's component app that
// mention what.
func eventingLog(t *testing.T, app, what string) string {
	t.Helper()
	ctx := ctxFor(t, time.Minute)
	pods, err := kube.CoreV1().Pods("knative-eventing").List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil || len(pods.Items) == 0 {
		return fmt.Sprintf("no %s pod (%v)", app, err)
	}
	data, err := kube.CoreV1().Pods("knative-eventing").GetLogs(pods.Items[0].Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(strings.ToLower(l), what) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// brokerRef is the sink reference of the Broker newBroker makes.
const brokerRef = "{apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}"

// newBroker creates the Broker default of the multi-tenant channel-based
// class and waits until it is Ready. Its Triggers retry a failed delivery
// three times within 3.5 s: the in-memory channel delivers to every
// Trigger before the ingress answers, so Knative's default (10 retries
// from 0.2 s doubling, about 200 s) would hold that answer past the
// source's 30 s timeout; bounded, a failure comes back to the source,
// whose own retries are what is tested.
func newBroker(t *testing.T, ns string) {
	t.Helper()
	apply(t, ns, `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  annotations: {eventing.knative.dev/broker.class: MTChannelBasedBroker}
spec:
  delivery: {retry: 3, backoffPolicy: exponential, backoffDelay: PT0.5S}
`)
	waitReady(t, brokersGVR, ns, "default")
}

// newEverythingTrigger subscribes the receiver "everything" to every event
// of the Broker default and waits until the Trigger is Ready.
func newEverythingTrigger(t *testing.T, ns string) {
	t.Helper()
	deployReceiver(t, ns, "everything")
	apply(t, ns, `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: everything
spec:
  broker: default
  subscriber:
    ref: {apiVersion: v1, kind: Service, name: everything}
`)
	waitReady(t, triggersGVR, ns, "everything")
}

// newRefSource creates a source named name sending to the sink ref (a
// YAML flow mapping), its events marked via=<name> (extra is more YAML
// under spec), and waits until it is Ready.
func newRefSource(t *testing.T, ns, name, ref, extra string) {
	t.Helper()
	apply(t, ns, fmt.Sprintf(`
apiVersion: sources.knative.dev/v1alpha1
kind: TektonStepSource
metadata:
  name: %s
spec:
  ceOverrides:
    extensions: {via: %s}
  sink:
    ref: %s
%s`, name, name, ref, indent(extra, "  ")))
	waitSourceReady(t, ns, name)
}

// viaOverride is the spec of a source whose events carry the extension
// via=<name>, so that streams of several sources can be told apart.
func viaOverride(name string) string {
	return "ceOverrides:\n  extensions:\n    via: " + name
}

// jsonEqual compares two JSON objects without the ignored top-level fields.
func jsonEqual(a, b []byte, ignored ...string) bool {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	for _, k := range ignored {
		delete(x, k)
		delete(y, k)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

// TestBrokerDeletedAndRecreated deletes the Broker while a TaskRun runs, so
// the broker ingress answers 404 for its next events, and re-creates it:
// every event is delivered through the new Broker, once. The
// source's linear backoff (20 s) keeps the retry past the moment the new
// Broker is Ready but its Trigger's Subscription has not yet reached the
// channel dispatcher, which drops what it gets in between (Knative's own
// window, not the source's).
func TestBrokerDeletedAndRecreated(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	newBroker(t, ns)
	newEverythingTrigger(t, ns)
	newSource(t, ns, "direct", viaOverride("direct"))
	newRefSource(t, ns, "to-broker", brokerRef, "delivery: {retry: 50, backoffPolicy: linear, backoffDelay: PT20S}")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: deploy
spec:
  taskSpec:
    steps:
    - {name: render, image: "{{.Image}}", script: "echo rendered"}
    - {name: rollout, image: "{{.Image}}", script: "sleep 25; echo rolled out"}
    - {name: verify, image: "{{.Image}}", script: "echo verified"}
`)
	// render started and succeeded, rollout started: through the Broker.
	receiverEvents(t, ns, "everything", 3)

	dyn := dynamic.NewForConfigOrDie(restConfig)
	if err := dyn.Resource(brokersGVR).Namespace(ns).Delete(ctxFor(t, time.Minute), "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			_, errB := dyn.Resource(brokersGVR).Namespace(ns).Get(ctx, "default", metav1.GetOptions{})
			_, errC := dyn.Resource(inMemoryChannelsGVR).Namespace(ns).Get(ctx, "default-kne-trigger", metav1.GetOptions{})
			return isNotFound(errB) && isNotFound(errC), nil
		})
	if err != nil {
		t.Fatalf("the Broker and its channel were not deleted: %v", err)
	}
	// rollout ends while there is no Broker: its event is refused (404)
	// and waits for its retry, and verify's events wait behind it.
	err = wait.PollUntilContextTimeout(ctxFor(t, 2*time.Minute), time.Second, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			tr, err := tekton.TektonV1().TaskRuns(ns).Get(ctx, "deploy", metav1.GetOptions{})
			return err == nil && len(tr.Status.Steps) > 1 && tr.Status.Steps[1].Terminated != nil, nil
		})
	if err != nil {
		t.Fatalf("step rollout did not end: %v", err)
	}
	time.Sleep(3 * time.Second)
	newBroker(t, ns)
	waitReady(t, triggersGVR, ns, "everything")

	waitTaskRun(t, ns, "deploy")
	direct := eventsOf(t, ns, "deploy", 6)
	// A Broker does not promise order (consumers sort by sequence), so
	// only the set is checked: all six, once each, unchanged.
	checkRouted(t, ns, "everything", "to-broker", true, direct, func(cloudevents.Event) bool { return true })
}
