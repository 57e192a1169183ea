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
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"knative.dev/eventing/pkg/adapter/v2"
	"knative.dev/eventing/pkg/metrics/source"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/checkpoint"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/delivery"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
)

// runningAdapter is an in-process receive adapter built exactly like the
// binary's (adapter/v2's CloudEvents client with K_SINK and K_CE_OVERRIDES).
type runningAdapter struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func (a *runningAdapter) stop(t testing.TB) {
	a.once.Do(func() {
		a.cancel()
		select {
		case err := <-a.done:
			if err != nil {
				t.Errorf("adapter returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("adapter did not stop")
		}
	})
}

// sourceConfig is a config watching one namespace with a fresh source UID.
func sourceConfig(ns string) *adaptercontract.Config {
	return &adaptercontract.Config{
		SourceUID: string(uuid.NewUUID()), SourceName: "test-source", SourceNamespace: ns,
		Namespaces: []string{ns}, LogMaxBytes: 1024,
	}
}

// journal is the source's progress journal, its ConfigMap created as the
// controller does.
func journal(t testing.TB, cfg *adaptercontract.Config) *checkpoint.Journal {
	t.Helper()
	kube := kubernetes.NewForConfigOrDie(cp.Config)
	if err := journaltest.Create(context.Background(), kube, cfg); err != nil {
		t.Fatal(err)
	}
	return checkpoint.SourceJournal(kube, cfg.SourceNamespace, cfg.SourceUID)
}

// waitForJournal waits until the source's journal entry for the TaskRun
// contains want, or, with want "", until the journal has no entry for it.
func waitForJournal(t *testing.T, cfg *adaptercontract.Config, taskRun, want string) {
	t.Helper()
	var last string
	deadline := time.Now().Add(eventTimeout)
	for time.Now().Before(deadline) {
		entries, bad, err := journal(t, cfg).Load(context.Background())
		if err != nil || len(bad) > 0 {
			t.Fatalf("reading the journal: %v %v", err, bad)
		}
		last = ""
		for _, e := range entries {
			if e.TaskRun.Name == taskRun {
				if last, err = checkpoint.EncodeEntry(e); err != nil {
					t.Fatal(err)
				}
			}
		}
		if (want == "" && last == "") || (want != "" && strings.Contains(last, want)) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("journal entry of %s is %q, want one containing %q (none if empty)", taskRun, last, want)
}

func startAdapter(t testing.TB, cfg *adaptercontract.Config, sink string, overrides *duckv1.CloudEventOverrides, tweaks ...func(*stepadapter.Options)) *runningAdapter {
	t.Helper()
	// K_SINK_TIMEOUT as the controller sets it.
	env := &stepadapter.EnvConfig{EnvConfig: adapter.EnvConfig{Sink: sink, Namespace: cfg.SourceNamespace, Name: cfg.SourceName, EnvSinkTimeout: "30"}}
	reporter, err := source.NewStatsReporter()
	if err != nil {
		t.Fatal(err)
	}
	// The clients the adapter binary builds: the sink's and, when cfg has
	// one, the dead-letter sink's.
	ce, dls, err := delivery.NewClients(adapter.ClientConfig{Env: env, CeOverrides: overrides, Reporter: reporter}, cfg.DeadLetterSink())
	if err != nil {
		t.Fatal(err)
	}
	opts := stepadapter.Options{
		Config:         cfg,
		CloudEvents:    ce,
		DeadLetter:     dls,
		Tekton:         tektonclient.NewForConfigOrDie(cp.Config),
		Kube:           kubernetes.NewForConfigOrDie(cp.Config),
		Metadata:       metadata.NewForConfigOrDie(cp.Config),
		Sources:        sourcesclient.NewForConfigOrDie(cp.Config),
		Logger:         zaptest.NewLogger(t).Sugar().Named(cfg.SourceUID[:8]),
		MaxInFlight:    4,
		RetryBaseDelay: 50 * time.Millisecond,
		RetryMaxDelay:  time.Second,
	}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	if err := journaltest.Create(context.Background(), opts.Kube, cfg); err != nil {
		t.Fatal(err)
	}
	a, err := stepadapter.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ra := &runningAdapter{cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- a.Start(ctx) }()
	t.Cleanup(func() { ra.stop(t) })
	return ra
}

// sequence renders events as "taskrun/step/kind" for exact comparisons.
func sequence(evs []cloudevents.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%v/%s/%s", e.Extensions()[events.ExtTaskRun], e.Subject(), kind(e.Type())))
	}
	return out
}

func kind(eventType string) string {
	switch eventType {
	case "dev.tekton.event.step.started.v1":
		return "started"
	case "dev.tekton.event.step.succeeded.v1":
		return "succeeded"
	case "dev.tekton.event.step.failed.v1":
		return "failed"
	case "dev.tekton.event.step.skipped.v1":
		return "skipped"
	}
	return "?" + eventType
}

// forTaskRun keeps the events of one TaskRun.
func forTaskRun(evs []cloudevents.Event, name string) []cloudevents.Event {
	var out []cloudevents.Event
	for _, e := range evs {
		if e.Extensions()[events.ExtTaskRun] == name {
			out = append(out, e)
		}
	}
	return out
}

func decodeData(t testing.TB, e cloudevents.Event) events.Data {
	t.Helper()
	var d events.Data
	if err := json.Unmarshal(e.Data(), &d); err != nil {
		t.Fatalf("event %s data: %v", e.ID(), err)
	}
	return d
}

func assertUniqueIDs(t testing.TB, evs []cloudevents.Event) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.ID()] {
			t.Errorf("duplicate event id %s", e.ID())
		}
		seen[e.ID()] = true
	}
}
