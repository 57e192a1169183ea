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
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cetypes "github.com/cloudevents/sdk-go/v2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/kelseyhightower/envconfig"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	adapterv2 "knative.dev/eventing/pkg/adapter/v2"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/eventing/pkg/eventfilter"
	"knative.dev/eventing/pkg/eventfilter/subscriptionsapi"
	"knative.dev/eventing/pkg/kncloudevents"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/delivery"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
	"github.com/tektonstep/tekton-step-source/test/receiver"
)

// TestSpecProperty is the property test of issue 34: every spec both the
// CRD schema (the real apiserver) and the controller's Go validation
// accept must work. Generated specs (property_gen_test.go) go through what
// the controller builds from them (resources.MakeReceiveAdapter, the
// Deployment created on the apiserver), the adapter's reading of that
// Deployment's environment (envconfig, adaptercontract.Decode, NewClients,
// adapter.New), and the adapter's event path for one transition of a
// generated TaskRun (events.New with the masker, the filters as
// subscriptionsapi builds them, the CloudEvents client to a loopback
// sink), within a bounded time, without a panic. The event must be
// delivered as built, with the overrides, or filtered out by filters that
// do not match it (property_oracle_test.go evaluates them independently);
// anything else, including an error on the way, is a finding.
//
// PROPERTY_CASES (default 200) sets how many specs are generated and
// PROPERTY_SEED (default 1) the seed of the first: case i uses seed+i, and
// a failure names its seed. The regressions run first.
func TestSpecProperty(t *testing.T) {
	cases, seed := envInt(t, "PROPERTY_CASES", 200), envInt(t, "PROPERTY_SEED", 1)
	h := &propertyHarness{
		ns: cp.NewNamespace(t), sink: receiver.New(t), dls: receiver.New(t),
		sources: sourcesclient.NewForConfigOrDie(cp.Config), kube: kubernetes.NewForConfigOrDie(cp.Config),
		outcomes: map[string]int{},
	}
	start := time.Now()
	for _, rc := range propertyRegressions {
		t.Run("regression/"+rc.name, func(t *testing.T) {
			got := h.check(t, newGen(0), rc.spec)
			if got != rc.want {
				t.Errorf("outcome %q, want %q", got, rc.want)
			}
		})
	}
	for i := range cases {
		s := int64(seed + i)
		t.Run(fmt.Sprintf("seed=%d", s), func(t *testing.T) {
			g := newGen(s)
			h.check(t, g, g.spec())
		})
	}
	var summary []string
	for k, n := range h.outcomes {
		summary = append(summary, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(summary)
	t.Logf("%d regressions and %d generated specs (seeds %d-%d) in %s:\n%s", len(propertyRegressions), cases, seed,
		seed+cases-1, time.Since(start).Round(time.Millisecond), strings.Join(summary, "\n"))
}

// Outcomes of a case.
const (
	refusedByBoth   = "refused by the CRD and the Go validation"
	refusedByCRD    = "refused by the CRD only"
	refusedByGo     = "refused by the Go validation only"
	delivered       = "accepted, delivered"
	filteredOut     = "accepted, filtered out"
	timedOut        = "accepted, timed out as configured"
	propertyFailure = "accepted, FAILED"
)

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// propertyHarness runs the cases in one namespace, with one sink and one
// dead-letter sink (each case's event has its own id), and counts their
// outcomes.
type propertyHarness struct {
	ns        string
	sink, dls *receiver.Receiver
	sources   sourcesclient.Interface
	kube      kubernetes.Interface
	outcomes  map[string]int
	n         int
}

// caseTimeout bounds the controller's and the adapter's part of a case: a
// wedge is a failure, not a hang.
const caseTimeout = 60 * time.Second

// check runs one spec: created on the apiserver, validated as the
// controller does, and, when both accept it, through the controller and
// the adapter. It returns the case's outcome.
func (h *propertyHarness) check(t *testing.T, g gen, spec v1alpha1.TektonStepSourceSpec) (outcome string) {
	h.n++
	ctx := context.Background()
	src := &v1alpha1.TektonStepSource{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", h.n), Namespace: h.ns}, Spec: spec}
	defer func() {
		if t.Failed() {
			outcome = propertyFailure
		}
		h.outcomes[outcome]++
		if outcome == propertyFailure {
			raw, _ := json.Marshal(spec)
			t.Logf("spec: %s", raw)
		}
	}()
	stored, crdErr := h.sources.SourcesV1alpha1().TektonStepSources(h.ns).Create(ctx, src, metav1.CreateOptions{})
	if crdErr != nil && !apierrors.IsInvalid(crdErr) {
		t.Fatalf("creating the source: %v", crdErr)
	}
	// What the apiserver got, as it got it: JSON (times in seconds,
	// invalid UTF-8 replaced), or, created, as it stored it.
	validated := stored
	if crdErr != nil {
		validated = roundTrip(t, src)
	}
	validated.SetDefaults(ctx)
	goErr := validated.Validate(ctx)
	switch {
	case crdErr != nil && goErr != nil:
		return refusedByBoth
	case crdErr != nil:
		t.Logf("the CRD refused what the Go validation accepts: %v", crdErr)
		return refusedByCRD
	case goErr != nil:
		t.Logf("the Go validation refused what the CRD accepts: %v", goErr)
		return refusedByGo
	}
	for _, env := range h.deploy(t, g, validated) {
		t.Setenv(env.Name, env.Value)
	}
	done := make(chan string, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				if _, failed := r.(failNow); !failed {
					t.Errorf("panic: %v\n%s", r, debug.Stack())
				}
				done <- propertyFailure
			}
		}()
		done <- h.adapterPath(t, g, validated)
	}()
	select {
	case outcome = <-done:
	case <-time.After(caseTimeout):
		var stacks strings.Builder
		_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
		t.Errorf("the adapter's event path did not end within %s; goroutines:\n%s", caseTimeout, stacks.String())
		outcome = propertyFailure
	}
	if t.Failed() {
		return propertyFailure
	}
	return outcome
}

// deploy builds the adapter's Deployment as the controller does, with the
// sink and the dead-letter sink resolved to the loopback receivers, creates
// it on the apiserver and returns its environment as stored.
func (h *propertyHarness) deploy(t *testing.T, g gen, src *v1alpha1.TektonStepSource) []corev1.EnvVar {
	dests := []*duckv1.Destination{&src.Spec.Sink}
	if src.Spec.Delivery != nil {
		dests = append(dests, src.Spec.Delivery.DeadLetterSink)
	}
	for _, d := range dests {
		if d != nil && d.URI != nil && d.URI.URL().IsAbs() && d.URI.Scheme != "http" && d.URI.Scheme != "https" {
			t.Fatalf("the adapter cannot send to %s: it sends over HTTP", d.URI)
		}
	}
	sink := &duckv1.Addressable{URL: mustURL(h.sink.URL), CACerts: src.Spec.Sink.CACerts, Audience: src.Spec.Sink.Audience}
	if src.Spec.Delivery != nil && src.Spec.Delivery.DeadLetterSink != nil {
		src.Status.DeliveryStatus = eventingduckv1.DeliveryStatus{DeadLetterSinkURI: mustURL(h.dls.URL)}
	}
	patterns, err := adaptercontract.ParseMaskPatterns(g.maskPatterns())
	if err != nil {
		// The controller keeps the patterns it had, here none.
		patterns = nil
	}
	args := &resources.ReceiveAdapterArgs{Image: "example.com/adapter", Source: src, ServiceAccountName: "adapter", Sink: sink,
		Namespaces: []string{src.Namespace}, MaskPatterns: patterns}
	if sel := src.Spec.NamespaceSelector; sel != nil && len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 {
		args.AllNamespaces = true
	}
	d, err := resources.MakeReceiveAdapter(args)
	if err != nil {
		t.Fatalf("the controller cannot build the adapter: %v", err)
	}
	stored, err := h.kube.AppsV1().Deployments(h.ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("the apiserver refuses the adapter's Deployment: %v", err)
	}
	return stored.Spec.Template.Spec.Containers[0].Env
}

// failNow ends the adapter's part of a case, which runs in a goroutine of
// its own, where t.Fatal may not be called.
type failNow struct{}

// roundTrip is the source as JSON gives it back.
func roundTrip(t *testing.T, src *v1alpha1.TektonStepSource) *v1alpha1.TektonStepSource {
	raw, err := json.Marshal(src)
	if err != nil {
		t.Fatal(err)
	}
	out := &v1alpha1.TektonStepSource{}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func fail(t *testing.T, format string, args ...interface{}) {
	t.Helper()
	t.Errorf(format, args...)
	panic(failNow{})
}

// adapterPath reads the configuration from the environment as the adapter
// does, then builds, filters and sends one event.
func (h *propertyHarness) adapterPath(t *testing.T, g gen, src *v1alpha1.TektonStepSource) string {
	var env stepadapter.EnvConfig
	if err := envconfig.Process("", &env); err != nil {
		fail(t, "the adapter cannot read its environment: %v", err)
	}
	cfg, err := adaptercontract.Decode(env.SourceConfig)
	if err != nil {
		fail(t, "the adapter refuses its configuration: %v", err)
	}
	sink, dls, err := delivery.NewClients(adapterv2.ClientConfig{Env: &env}, cfg.DeadLetterSink())
	if err != nil {
		fail(t, "the adapter cannot build its clients: %v", err)
	}
	opts := stepadapter.Options{Config: cfg, CloudEvents: sink, DeadLetter: dls, Logger: zap.NewNop().Sugar(),
		Tekton: tektonclient.NewForConfigOrDie(cp.Config), Kube: h.kube, Metadata: metadata.NewForConfigOrDie(cp.Config),
		Sources: h.sources, Deployment: env.Deployment}
	if env.LeaderElectionConfigJson != "" {
		if opts.LeaderElection, err = env.GetLeaderElectionConfig(); err != nil {
			fail(t, "the adapter refuses its leader election configuration: %v", err)
		}
	}
	if _, err := stepadapter.New(opts); err != nil {
		fail(t, "the adapter refuses its configuration: %v", err)
	}
	timeout := requestTimeout(t, &env, cfg)

	event := h.event(t, g, cfg, src)
	if len(cfg.Filters) > 0 {
		filter := subscriptionsapi.CreateSubscriptionsAPIFilters(zap.NewNop(), cfg.Filters)
		got := filter.Filter(context.Background(), event) != eventfilter.FailFilter
		cleanUp(t, filter)
		want := expectedVerdict(cfg.Filters, event)
		if want.unusable != "" {
			fail(t, "the validation accepted filters the adapter cannot use: %s", want.unusable)
		}
		if got != want.pass {
			fail(t, "Knative's filters say pass=%t, the Trigger semantics %t (%s)", got, want.pass, want.why)
		}
		if !got {
			t.Logf("filtered out: %s", want.why)
			return filteredOut
		}
	}
	sent := event.Clone()
	if !h.send(t, "sink", h.sink, sink, cfg, timeout, event) {
		return timedOut
	}
	if dls != nil {
		h.send(t, "dead-letter sink", h.dls, dls, cfg, timeout, sent)
	}
	return delivered
}

// cleanUp cleans the filters up, as the adapter does when it stops.
// Knative's all and any filters reorder their filters in goroutines that
// their Cleanup does not wait for, so a Cleanup can reach one filter twice
// and close its channel again: that race (reported with issue 34) is
// logged, not failed, here; any other panic fails the case.
func cleanUp(t *testing.T, filter eventfilter.Filter) {
	defer func() {
		if r := recover(); r != nil {
			if err, ok := r.(error); ok && err.Error() == "close of closed channel" {
				t.Logf("Knative's filter Cleanup race: %v", r)
				return
			}
			panic(r)
		}
	}()
	filter.Cleanup()
}

// event builds the event of one transition of a generated TaskRun, as the
// adapter's deliver does: the masker of the patterns (and a Secret's value
// with secretValues), the log tail when the event carries one, and the
// replay extension for a replay's events.
func (h *propertyHarness) event(t *testing.T, g gen, cfg *adaptercontract.Config, src *v1alpha1.TektonStepSource) cloudevents.Event {
	tr := g.taskRun(h.ns, types.UID(fmt.Sprintf("%s-%d", h.ns, h.n)))
	ts := transitions.ForTaskRun(tr, time.Time{})
	tt := ts[g.r.Intn(len(ts))]
	patterns, err := masking.Compile(cfg.MaskPatterns)
	if err != nil {
		fail(t, "the adapter cannot compile the masking patterns: %v", err)
	}
	var secrets [][]byte
	if cfg.MaskSecretValues {
		secrets = [][]byte{[]byte("hunter2")}
	}
	var log *steplog.Log
	if tt.Kind.Terminal() && tt.Kind != transitions.Skipped && cfg.LogMaxBytes > 0 && tt.PodName != "" {
		text := g.logText()
		if int64(len(text)) > cfg.LogMaxBytes {
			text = strings.ToValidUTF8(text[int64(len(text))-cfg.LogMaxBytes:], "")
		}
		log = &steplog.Log{Text: text, Truncated: g.chance(0.5)}
	}
	e, err := events.New(tr, tt, log, masking.New(patterns, secrets))
	if err != nil {
		fail(t, "events.New: %v", err)
	}
	if len(src.Spec.Replays) > 0 && g.chance(0.5) {
		e.SetExtension(events.ExtReplay, src.Spec.Replays[0].Name)
	}
	return e
}

// send sends the event with the adapter's client as the adapter's attempt
// does (structured with format json) and checks that the receiver got it
// as built, with the overrides.
func (h *propertyHarness) send(t *testing.T, what string, r *receiver.Receiver, client cloudevents.Client, cfg *adaptercontract.Config,
	timeout time.Duration, e cloudevents.Event) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if d := cfg.Delivery; d != nil && d.Format != nil && *d.Format == eventingduckv1.DeliveryFormatJson {
		ctx = cloudevents.WithEncodingStructured(ctx)
	}
	if result := client.Send(ctx, e); !cloudevents.IsACK(result) {
		if timeout < time.Second && errors.Is(result, context.DeadlineExceeded) {
			// What the user asked for: the adapter reports each attempt's
			// timeout and retries.
			t.Logf("the %s did not answer within the request timeout, %s: %v", what, timeout, result)
			return false
		}
		fail(t, "the %s did not get the event: %v", what, result)
	}
	want := e.Clone()
	var overrides duckv1.CloudEventOverrides
	if v := os.Getenv(adapterv2.EnvConfigCEOverrides); v != "" {
		if err := json.Unmarshal([]byte(v), &overrides); err != nil {
			fail(t, "%v", err)
		}
	}
	for name, value := range overrides.Extensions {
		want.SetExtension(name, value)
	}
	for _, got := range r.Events() {
		if got.ID() == e.ID() {
			if diff := cmp.Diff(eventView(t, want), eventView(t, got)); diff != "" {
				fail(t, "the %s got the event changed (-sent +received):\n%s", what, diff)
			}
			return true
		}
	}
	fail(t, "the %s acknowledged the event but did not record it", what)
	return false
}

// requestTimeout is the bound of one attempt as the adapter computes it:
// spec.delivery.timeout as Knative parses it (kncloudevents, as the
// adapter's policy does), else K_SINK_TIMEOUT, else the default. The
// durations the adapter reads from spec.delivery must be what the
// validation bounds: a timeout within (0, MaxDeliveryTimeout], no
// negative wait.
func requestTimeout(t *testing.T, env *stepadapter.EnvConfig, cfg *adaptercontract.Config) time.Duration {
	if cfg.Delivery == nil {
		return time.Duration(env.GetSinktimeout()) * time.Second
	}
	spec := *cfg.Delivery
	if spec.BackoffDelay != nil && spec.BackoffPolicy == nil {
		spec.BackoffPolicy = ptrTo(eventingduckv1.BackoffPolicyExponential)
	}
	rc, err := kncloudevents.RetryConfigFromDeliverySpec(spec)
	if err != nil {
		fail(t, "the adapter cannot read spec.delivery: %v", err)
	}
	if spec.Timeout != nil && (rc.RequestTimeout <= 0 || rc.RequestTimeout > v1alpha1.MaxDeliveryTimeout) {
		fail(t, "the adapter reads timeout %s as %s", *spec.Timeout, rc.RequestTimeout)
	}
	if rc.Backoff != nil && rc.Backoff(1, nil) < 0 {
		fail(t, "the adapter reads backoffDelay %s as a negative wait, %s", *spec.BackoffDelay, rc.Backoff(1, nil))
	}
	if rc.RetryAfterMaxDuration != nil && *rc.RetryAfterMaxDuration < 0 {
		fail(t, "the adapter reads retryAfterMax %s as %s", *spec.RetryAfterMax, *rc.RetryAfterMaxDuration)
	}
	switch {
	case rc.RequestTimeout > 0:
		return rc.RequestTimeout
	case spec.Timeout != nil:
		return adaptercontract.DefaultSinkTimeout
	}
	return time.Duration(env.GetSinktimeout()) * time.Second
}

// eventView is an event's attributes, extensions as strings (the binary
// binding carries them so), and its data decoded.
func eventView(t *testing.T, e cloudevents.Event) map[string]interface{} {
	view := map[string]interface{}{"id": e.ID(), "type": e.Type(), "source": e.Source(), "subject": e.Subject(),
		"time": e.Time().UTC(), "dataschema": e.DataSchema(), "datacontenttype": e.DataContentType()}
	for name, v := range e.Extensions() {
		s, err := cetypes.Format(v)
		if err != nil {
			fail(t, "%v", err)
		}
		view["ext:"+name] = s
	}
	var data interface{}
	if err := json.Unmarshal(e.Data(), &data); err != nil {
		fail(t, "data: %v", err)
	}
	view["data"] = data
	return view
}
