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

// Package e2e runs the whole system on a real cluster: Tekton Pipelines
// runs real pods, our controller (a pod) deploys the receive adapter (a pod),
// which sends to the receiver pod of testdata/event-display.yaml. hack/e2e.sh
// brings the cluster up, installs everything and runs these tests:
//
//	go test -tags e2e ./test/e2e/...
//
// KUBECONFIG must point at that cluster; E2E_STEP_IMAGE is the image of the
// Tasks' steps (any image with sh, echo and sleep).
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"knative.dev/pkg/apis"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/contract"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/e2e/sink"
)

const (
	receiverNamespace = "default"
	receiverSelector  = "app=event-display"
	// The receiver's address; also the sink of config/samples/uri-source.yaml.
	sinkURI = "http://event-display.default.svc.cluster.local"

	typePrefix = "dev.tekton.event.step."
)

var (
	restConfig *rest.Config
	kube       kubernetes.Interface
	tekton     tektonclient.Interface
	sources    sourcesclient.Interface
	stepImage  = "tss.local/busybox:v1"
)

func TestMain(m *testing.M) {
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		fmt.Fprintln(os.Stderr, "e2e: KUBECONFIG is not set; run hack/e2e.sh, which brings a cluster up")
		os.Exit(1)
	}
	if img := os.Getenv("E2E_STEP_IMAGE"); img != "" {
		stepImage = img
	}
	var err error
	if restConfig, err = clientcmd.BuildConfigFromFlags("", kc); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	restConfig.QPS, restConfig.Burst = 50, 100
	kube = kubernetes.NewForConfigOrDie(restConfig)
	tekton = tektonclient.NewForConfigOrDie(restConfig)
	sources = sourcesclient.NewForConfigOrDie(restConfig)
	os.Exit(m.Run())
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// newNamespace creates a namespace for one test, deleted at its end.
func newNamespace(t *testing.T) string {
	t.Helper()
	base := strings.Trim(nonName.ReplaceAllString(strings.ToLower(strings.TrimPrefix(t.Name(), "Test")), "-"), "-")
	if len(base) > 40 {
		base = base[:40]
	}
	name := fmt.Sprintf("e2e-%s-%04x", base, rand.IntN(1<<16))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := kube.CoreV1().Namespaces().Create(ctxFor(t, time.Minute), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			checkContract(t, name)
		}
		if t.Failed() {
			dumpNamespace(t, name)
		}
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// partial namespaces hold a test's TaskRuns that do not all end (one is
// deleted while it runs): their streams are checked without requiring
// every step to end.
var partial sync.Map

func partialStream(ns string) { partial.Store(ns, true) }

// checkContract runs the contract checker over every event the receiver
// got from the namespace's TaskRuns, at the end of its test: whatever the
// scenario, the stream keeps the contract. Sources are told apart by their
// "via" extension where a test has several; the log cap is the smallest of
// the namespace's sources.
func checkContract(t *testing.T, ns string) {
	t.Helper()
	srcs, err := sources.SourcesV1alpha1().TektonStepSources(ns).List(ctxFor(t, time.Minute), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing the sources for the contract check: %v", err)
	}
	opts := contract.Options{Stream: func(e cloudevents.Event) string { return ext(e, "via") }}
	for _, s := range srcs.Items {
		if s.Spec.Log != nil && s.Spec.Log.MaxBytes != nil && (opts.LogMaxBytes == 0 || int(*s.Spec.Log.MaxBytes) < opts.LogMaxBytes) {
			opts.LogMaxBytes = int(*s.Spec.Log.MaxBytes)
		}
	}
	_, incomplete := partial.Load(ns)
	opts.Complete = !incomplete
	all, err := allEvents(ctxFor(t, time.Minute))
	if err != nil {
		t.Fatalf("reading the events for the contract check: %v", err)
	}
	var mine []cloudevents.Event
	for _, e := range all {
		if ext(e, "tektonnamespace") == ns {
			mine = append(mine, e)
		}
	}
	contract.Verify(t, mine, opts)
	t.Logf("the event contract checked over the %d events of namespace %s (complete streams: %v)", len(mine), ns, opts.Complete)
}

// apply server-side applies YAML into namespace ns ({{.Image}} is the step image).
func apply(t *testing.T, ns, yaml string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := controlplane.DecodeYAML([]byte(strings.ReplaceAll(yaml, "{{.Image}}", stepImage)))
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	applied, err := controlplane.Apply(ctxFor(t, time.Minute), restConfig, ns, objs...)
	if err != nil {
		t.Fatalf("applying: %v", err)
	}
	return applied
}

// newSource creates a TektonStepSource sending to the receiver (extra is
// more YAML under spec) and waits until it is Ready.
func newSource(t *testing.T, ns, name, extra string) *v1alpha1.TektonStepSource {
	t.Helper()
	apply(t, ns, fmt.Sprintf(`
apiVersion: sources.knative.dev/v1alpha1
kind: TektonStepSource
metadata:
  name: %s
spec:
  sink:
    uri: %s
%s`, name, sinkURI, indent(extra, "  ")))
	return waitSourceReady(t, ns, name)
}

func waitSourceReady(t *testing.T, ns, name string) *v1alpha1.TektonStepSource {
	t.Helper()
	var src *v1alpha1.TektonStepSource
	err := wait.PollUntilContextTimeout(ctxFor(t, 3*time.Minute), 500*time.Millisecond, 3*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			var err error
			src, err = sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			return src.Status.IsReady() && src.Status.ObservedGeneration == src.Generation, nil
		})
	if err != nil {
		data, _ := json.MarshalIndent(src, "", "  ")
		t.Fatalf("source %s/%s not Ready: %v\n%s", ns, name, err, data)
	}
	return src
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// waitTaskRun waits until the TaskRun finished.
func waitTaskRun(t *testing.T, ns, name string) *pipelinev1.TaskRun {
	t.Helper()
	var tr *pipelinev1.TaskRun
	err := wait.PollUntilContextTimeout(ctxFor(t, 4*time.Minute), 500*time.Millisecond, 4*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			var err error
			tr, err = tekton.TektonV1().TaskRuns(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			c := tr.Status.GetCondition(apis.ConditionSucceeded)
			return c != nil && c.Status != corev1.ConditionUnknown, nil
		})
	if err != nil {
		t.Fatalf("TaskRun %s/%s did not finish: %v", ns, name, err)
	}
	return tr
}

func waitPipelineRun(t *testing.T, ns, name string) *pipelinev1.PipelineRun {
	t.Helper()
	var pr *pipelinev1.PipelineRun
	err := wait.PollUntilContextTimeout(ctxFor(t, 5*time.Minute), time.Second, 5*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			var err error
			pr, err = tekton.TektonV1().PipelineRuns(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			c := pr.Status.GetCondition(apis.ConditionSucceeded)
			return c != nil && c.Status != corev1.ConditionUnknown, nil
		})
	if err != nil {
		t.Fatalf("PipelineRun %s/%s did not finish: %v", ns, name, err)
	}
	return pr
}

// allEvents reads every event the receiver got so far.
func allEvents(ctx context.Context) ([]cloudevents.Event, error) {
	return podEvents(ctx, receiverNamespace, receiverSelector)
}

// podEvents reads every event the receiver pod selector in ns got so far.
func podEvents(ctx context.Context, ns, selector string) ([]cloudevents.Event, error) {
	pod, err := sink.ReceiverPod(ctx, kube, ns, selector)
	if err != nil {
		return nil, err
	}
	return sink.Read(ctx, kube, ns, pod.Name)
}

func ext(e cloudevents.Event, name string) string {
	v, _ := e.Extensions()[name].(string)
	if v == "" && e.Extensions()[name] != nil {
		v = fmt.Sprint(e.Extensions()[name])
	}
	return v
}

// eventsOf waits until the receiver has want events for the TaskRun
// ns/name, then a little longer to catch any extra (wrong) event, and
// returns them in arrival order.
func eventsOf(t *testing.T, ns, name string, want int) []cloudevents.Event {
	t.Helper()
	return waitEvents(t, want, func(e cloudevents.Event) bool {
		return ext(e, "tektonnamespace") == ns && ext(e, "tektontaskrun") == name
	})
}

func waitEvents(t *testing.T, want int, match func(cloudevents.Event) bool) []cloudevents.Event {
	t.Helper()
	return readReceiver(t, receiverNamespace, receiverSelector, fmt.Sprint(want), match,
		func(got []cloudevents.Event) bool { return len(got) >= want })
}

// readReceiver waits until the events that match, of the receiver pod
// selector in ns, are enough (want says how many that is), then a little
// longer to catch any extra (wrong) event, and returns them in arrival
// order.
func readReceiver(t *testing.T, ns, selector, want string, match func(cloudevents.Event) bool, enough func([]cloudevents.Event) bool) []cloudevents.Event {
	t.Helper()
	var got []cloudevents.Event
	var lastErr error
	read := func(ctx context.Context) (bool, error) {
		all, err := podEvents(ctx, ns, selector)
		if err != nil {
			lastErr = err
			return false, nil
		}
		got = got[:0]
		for _, e := range all {
			if match(e) {
				got = append(got, e)
			}
		}
		return enough(got), nil
	}
	if err := wait.PollUntilContextTimeout(ctxFor(t, 3*time.Minute), time.Second, 3*time.Minute, true, read); err != nil {
		t.Fatalf("receiver %s in %s: want %s events, got %d (last error: %v):\n%s", selector, ns, want, len(got), lastErr, describe(got))
	}
	// Nothing more may follow.
	time.Sleep(4 * time.Second)
	if _, err := read(ctxFor(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	return append([]cloudevents.Event(nil), got...)
}

func describe(events []cloudevents.Event) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "  %s %s attempt=%s id=%s reason=%s\n", strings.TrimPrefix(e.Type(), typePrefix),
			e.Subject(), ext(e, "tektonattempt"), e.ID(), eventData(e).Reason)
	}
	return b.String()
}

// data is the part of an event's data the tests look at.
type data struct {
	TaskRun struct {
		Name, Namespace, UID string
		Attempt              int
	} `json:"taskRun"`
	PodRef       *corev1.ObjectReference `json:"podRef"`
	Step         map[string]any          `json:"step"`
	StepState    pipelinev1.StepState    `json:"stepState"`
	Reason       string                  `json:"reason"`
	Continued    bool                    `json:"continued"`
	Log          *string                 `json:"log"`
	LogTruncated bool                    `json:"logTruncated"`
	LogError     string                  `json:"logError"`
}

func eventData(e cloudevents.Event) data {
	var d data
	_ = json.Unmarshal(e.Data(), &d)
	return d
}

// want is one expected event of a TaskRun.
type want struct {
	transition string // started, succeeded, failed, skipped
	step       string
	attempt    int
	reason     string // "": not checked
	log        string // for succeeded/failed: the exact log ("-": no log field; "?": the log or a logError)
	continued  bool
}

// assertEvents checks the exact sequence of one TaskRun's events and every
// attribute and extension the contract (docs/events.md, "The event contract")
// promises.
func assertEvents(t *testing.T, tr *pipelinev1.TaskRun, got []cloudevents.Event, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("TaskRun %s: got %d events, want %d:\n%s", tr.Name, len(got), len(wants), describe(got))
	}
	pods := map[int]string{}
	for i, st := range tr.Status.RetriesStatus {
		pods[i] = st.PodName
	}
	pods[len(tr.Status.RetriesStatus)] = tr.Status.PodName
	ids := map[string]bool{}
	startedAt := map[string]time.Time{}
	for i, w := range wants {
		e := got[i]
		d := eventData(e)
		where := fmt.Sprintf("TaskRun %s event %d (%s %s)", tr.Name, i, w.transition, w.step)
		// Orderable by consumers: one partition per TaskRun, sequence
		// sorting in transition order (the events arrive in that order),
		// and no step ends before it started.
		if pk := ext(e, "partitionkey"); pk != tr.Namespace+"/"+tr.Name {
			t.Errorf("%s: partitionkey %q, want %s/%s", where, pk, tr.Namespace, tr.Name)
		}
		if i > 0 && ext(e, "sequence") <= ext(got[i-1], "sequence") {
			t.Errorf("%s: sequence %q does not sort after the previous event's %q", where, ext(e, "sequence"), ext(got[i-1], "sequence"))
		}
		stepKey := fmt.Sprintf("%d/%s", w.attempt, w.step)
		if w.transition == "started" {
			startedAt[stepKey] = e.Time()
		} else if start, ok := startedAt[stepKey]; ok && e.Time().Before(start) {
			t.Errorf("%s: time %s before the step's start %s", where, e.Time(), start)
		}
		if typ := typePrefix + w.transition + ".v1"; e.Type() != typ {
			t.Errorf("%s: type %s, want %s\nall events:\n%s", where, e.Type(), typ, describe(got))
			continue
		}
		if e.Subject() != w.step {
			t.Errorf("%s: subject %q, want %q", where, e.Subject(), w.step)
		}
		if wantID := fmt.Sprintf("%s.%d.%s.%s", tr.UID, w.attempt, w.step, w.transition); e.ID() != wantID {
			t.Errorf("%s: id %s, want %s", where, e.ID(), wantID)
		}
		if ids[e.ID()] {
			t.Errorf("%s: duplicate id %s", where, e.ID())
		}
		ids[e.ID()] = true
		if src := "/apis/tekton.dev/v1/namespaces/" + tr.Namespace + "/taskruns/" + tr.Name; e.Source() != src {
			t.Errorf("%s: source %s, want %s", where, e.Source(), src)
		}
		if e.DataContentType() != "application/json" {
			t.Errorf("%s: datacontenttype %q", where, e.DataContentType())
		}
		if e.Time().IsZero() {
			t.Errorf("%s: no time", where)
		}
		for k, v := range map[string]string{
			"tektontaskrun": tr.Name, "tektonstep": w.step, "tektonnamespace": tr.Namespace,
			"tektonattempt": fmt.Sprint(w.attempt),
		} {
			if ext(e, k) != v {
				t.Errorf("%s: extension %s=%q, want %q", where, k, ext(e, k), v)
			}
		}
		if d.TaskRun.Name != tr.Name || d.TaskRun.Namespace != tr.Namespace || d.TaskRun.UID != string(tr.UID) || d.TaskRun.Attempt != w.attempt {
			t.Errorf("%s: data.taskRun %+v", where, d.TaskRun)
		}
		if d.StepState.Name != w.step {
			t.Errorf("%s: data.stepState.name %q", where, d.StepState.Name)
		}
		if d.Step["name"] != w.step {
			t.Errorf("%s: data.step.name %v", where, d.Step["name"])
		}
		if w.reason != "" && d.Reason != w.reason {
			t.Errorf("%s: data.reason %q, want %q", where, d.Reason, w.reason)
		}
		if d.Continued != w.continued {
			t.Errorf("%s: data.continued %v, want %v", where, d.Continued, w.continued)
		}
		if d.PodRef == nil || d.PodRef.Name != pods[w.attempt] || d.PodRef.Kind != "Pod" {
			t.Errorf("%s: data.podRef %+v, want pod %s of attempt %d", where, d.PodRef, pods[w.attempt], w.attempt)
		}
		terminal := w.transition == "succeeded" || w.transition == "failed"
		switch {
		case terminal && w.log == "?":
			if (d.Log == nil) == (d.LogError == "") {
				t.Errorf("%s: want a log or a logError, got log %v and logError %q", where, d.Log, d.LogError)
			}
		case !terminal || w.log == "-":
			if d.Log != nil {
				t.Errorf("%s: unexpected log %q", where, *d.Log)
			}
		case d.Log == nil:
			t.Errorf("%s: no log (logError %q), want %q", where, d.LogError, w.log)
		case *d.Log != w.log:
			t.Errorf("%s: log %q, want %q", where, *d.Log, w.log)
		}
	}
}

// adapterDeployments lists the Deployments the source owns.
func adapterDeployments(t *testing.T, src *v1alpha1.TektonStepSource) []string {
	t.Helper()
	list, err := kube.AppsV1().Deployments("").List(ctxFor(t, time.Minute), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range list.Items {
		for _, o := range d.OwnerReferences {
			if o.UID == src.UID {
				names = append(names, d.Namespace+"/"+d.Name)
			}
		}
	}
	return names
}

// dumpNamespace logs what a failed test left behind.
func dumpNamespace(t *testing.T, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if trs, err := tekton.TektonV1().TaskRuns(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, tr := range trs.Items {
			st, _ := json.MarshalIndent(tr.Status, "", "  ")
			t.Logf("TaskRun %s status:\n%s", tr.Name, st)
		}
	}
	if srcs, err := sources.SourcesV1alpha1().TektonStepSources(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, s := range srcs.Items {
			st, _ := json.MarshalIndent(s.Status, "", "  ")
			t.Logf("TektonStepSource %s status:\n%s", s.Name, st)
			for pod, raw := range adapterLogs(ctx, s.UID) {
				t.Logf("adapter pod %s log:\n%s", pod, raw)
			}
		}
	}
	for _, app := range []string{"mt-broker-ingress", "mt-broker-filter", "imc-dispatcher"} {
		if lines := eventingLog(t, app, ns); lines != "" {
			t.Logf("Knative's %s on %s:\n%s", app, ns, lines)
		}
	}
}

// adapterLogs: the logs of the source's adapter pods, by namespace/name.
func adapterLogs(ctx context.Context, uid any) map[string][]byte {
	out := map[string][]byte{}
	for _, d := range adapterDeploymentsQuiet(ctx, uid) {
		pods, err := kube.CoreV1().Pods(d.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, p := range pods.Items {
			if strings.HasPrefix(p.Name, d.name) {
				raw, _ := kube.CoreV1().Pods(d.ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
				out[d.ns+"/"+p.Name] = raw
			}
		}
	}
	return out
}

type nsName struct{ ns, name string }

func adapterDeploymentsQuiet(ctx context.Context, uid any) []nsName {
	list, err := kube.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil
	}
	var out []nsName
	for _, d := range list.Items {
		for _, o := range d.OwnerReferences {
			if fmt.Sprint(o.UID) == fmt.Sprint(uid) {
				out = append(out, nsName{d.Namespace, d.Name})
			}
		}
	}
	return out
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }
