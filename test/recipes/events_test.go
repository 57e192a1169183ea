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
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"knative.dev/eventing/pkg/adapter/v2"
	"knative.dev/eventing/pkg/metrics/source"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// request is one HTTP request the adapter sent, as a sink receives it.
type request struct {
	Header http.Header
	Body   []byte
	Event  cloudevents.Event
}

// key names an event "taskrun/step/kind" for exact comparisons.
func (r request) key() string {
	return fmt.Sprintf("%v/%s/%s", r.Event.Extensions()[events.ExtTaskRun], r.Event.Subject(), kind(r.Event.Type()))
}

func kind(t string) string {
	for _, k := range []string{"started", "succeeded", "failed", "skipped"} {
		if t == "dev.tekton.event.step."+k+".v1" {
			return k
		}
	}
	return "?" + t
}

// recorder is a sink that keeps the raw requests (headers and body, which
// a Tekton Triggers EventListener sees) and the CloudEvent parsed from them
// (which a Knative Broker sees).
type recorder struct {
	url string
	srv *http.Server

	mu       sync.Mutex
	requests []request
}

func newRecorder(t testing.TB) *recorder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{url: "http://" + l.Addr().String()}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(l) }()
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	msg := cehttp.NewMessageFromHttpRequest(req)
	defer msg.Finish(nil)
	event, err := binding.ToEvent(req.Context(), msg)
	if err != nil {
		http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := event.Validate(); err != nil {
		http.Error(w, "invalid CloudEvent: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.requests = append(r.requests, request{Header: req.Header.Clone(), Body: body, Event: *event})
	r.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (r *recorder) wait(t testing.TB, n int) []request {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.mu.Lock()
		got := append([]request(nil), r.requests...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d of %d events", len(got), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startAdapter runs the receive adapter in-process as the binary does
// (adapter/v2's CloudEvents client with K_SINK), watching one namespace.
func startAdapter(t testing.TB, ns, sink string) {
	t.Helper()
	cfg := &adaptercontract.Config{
		SourceUID: string(uuid.NewUUID()), SourceName: "recipes", SourceNamespace: ns,
		Namespaces: []string{ns}, LogMaxBytes: 1024,
	}
	env := &stepadapter.EnvConfig{EnvConfig: adapter.EnvConfig{Sink: sink, Namespace: ns, Name: cfg.SourceName, EnvSinkTimeout: "30"}}
	reporter, err := source.NewStatsReporter()
	if err != nil {
		t.Fatal(err)
	}
	ce, err := adapter.NewClient(adapter.ClientConfig{Env: env, Reporter: reporter})
	if err != nil {
		t.Fatal(err)
	}
	if err := journaltest.Create(context.Background(), kubernetes.NewForConfigOrDie(cp.Config), cfg); err != nil {
		t.Fatal(err)
	}
	a, err := stepadapter.New(stepadapter.Options{
		Config:         cfg,
		CloudEvents:    ce,
		Tekton:         tektonclient.NewForConfigOrDie(cp.Config),
		Kube:           kubernetes.NewForConfigOrDie(cp.Config),
		Metadata:       metadata.NewForConfigOrDie(cp.Config),
		Sources:        sourcesclient.NewForConfigOrDie(cp.Config),
		Logger:         zaptest.NewLogger(t).Sugar(),
		MaxInFlight:    4,
		RetryBaseDelay: 50 * time.Millisecond,
		RetryMaxDelay:  time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("adapter: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("adapter did not stop")
		}
	})
}

// The scenario: two runs of the Pipeline "release" and a TaskRun outside any
// Pipeline, with Tekton's labels (the source turns them into extensions).
var (
	release42 = map[string]string{"tekton.dev/pipelineRun": "release-42", "tekton.dev/pipeline": "release", "tekton.dev/pipelineTask": "build", "tekton.dev/task": "build"}
	release43 = map[string]string{"tekton.dev/pipelineRun": "release-43", "tekton.dev/pipeline": "release", "tekton.dev/pipelineTask": "build", "tekton.dev/task": "build"}
	lintOnly  = map[string]string{"tekton.dev/task": "lint"}
)

// allEvents is what the scenario produces, by key.
var allEvents = []string{
	"lint/lint/started", "lint/lint/succeeded",
	"release-42-build/compile/started", "release-42-build/compile/succeeded",
	"release-42-build/publish/skipped",
	"release-42-build/test/failed", "release-42-build/test/started",
	"release-43-build/unit/failed", "release-43-build/unit/started",
}

var (
	scenarioOnce sync.Once
	scenarioNS   string
	scenarioReqs []request
)

// realEvents runs the scenario once for the package (in the first test
// that asks) and returns the requests the adapter sent, sorted by key.
func realEvents(t *testing.T) (string, []request) {
	t.Helper()
	scenarioOnce.Do(func() { scenarioNS, scenarioReqs = runScenario(t) })
	if scenarioReqs == nil {
		t.Fatal("the scenario failed (see the first test that ran it)")
	}
	return scenarioNS, scenarioReqs
}

func runScenario(t *testing.T) (string, []request) {
	ns := cp.NewNamespace(t)
	rec := newRecorder(t)
	startAdapter(t, ns, rec.url)
	client := tektonclient.NewForConfigOrDie(cp.Config)

	r42 := sim.MustCreate(t, client, ns, "release-42-build", release42, "compile", "test", "publish")
	r43 := sim.MustCreate(t, client, ns, "release-43-build", release43, "unit")
	lint := sim.MustCreate(t, client, ns, "lint", lintOnly, "lint")
	r42.MustSetSteps(t, sim.Running(), sim.Running(), sim.Running())
	r42.MustSetSteps(t, sim.Succeeded(), sim.Running(), sim.Running())
	r42.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Skipped())
	r43.MustSetSteps(t, sim.Running())
	r43.MustSetSteps(t, sim.Failed())
	lint.MustSetSteps(t, sim.Running())
	lint.MustSetSteps(t, sim.Succeeded())
	rec.wait(t, len(allEvents))
	// Nothing more arrives.
	time.Sleep(500 * time.Millisecond)
	reqs := rec.wait(t, len(allEvents))
	sort.SliceStable(reqs, func(i, j int) bool { return reqs[i].key() < reqs[j].key() })
	var keys []string
	for _, r := range reqs {
		keys = append(keys, r.key())
	}
	if fmt.Sprint(keys) != fmt.Sprint(allEvents) {
		t.Fatalf("the adapter sent %v, want %v", keys, allEvents)
	}
	return ns, reqs
}

// keys lists the keys of the requests match accepts.
func keys(reqs []request, match func(request) bool) []string {
	var out []string
	for _, r := range reqs {
		if match(r) {
			out = append(out, r.key())
		}
	}
	return out
}
