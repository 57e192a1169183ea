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
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/otlptranslator"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"knative.dev/eventing/pkg/adapter/v2"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/metrics/source"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/delivery"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestObservabilityDocMatchesTheExportedMetrics runs the adapter with the
// Prometheus exporter configured exactly as knative.dev/pkg does for
// `metrics-protocol: prometheus` (OpenTelemetry's exporter, underscore
// escaping with unit and type suffixes), makes it deliver, filter, retry and
// get rejections, and checks that every series docs/observability.md names
// (in its tables and PromQL examples) is really exported, and that every
// series the adapter exports is documented.
func TestObservabilityDocMatchesTheExportedMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })

	// A sink that fails the first request (a retry), rejects the step
	// "reject-me" with 400 (not retried) and accepts the rest.
	var calls atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Ce-Subject") == "reject-me" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(sink.Close)
	// The dead-letter sink takes reject-me's started event and refuses its
	// failed one for good: one dead-lettered, one rejected.
	dls := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Ce-Type") == "dev.tekton.event.step.failed.v1" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(dls.Close)
	dlsURL, err := apis.ParseURL(dls.URL)
	if err != nil {
		t.Fatal(err)
	}

	ns := cp.NewNamespace(t)
	cfg := &adaptercontract.Config{
		SourceUID: string(uuid.NewUUID()), SourceName: "observed", SourceNamespace: ns, Namespaces: []string{ns},
		// Skipped steps are filtered out.
		Filters:  []eventingv1.SubscriptionsAPIFilter{{Not: &eventingv1.SubscriptionsAPIFilter{Exact: map[string]string{"type": "dev.tekton.event.step.skipped.v1"}}}},
		Delivery: &eventingduckv1.DeliverySpec{DeadLetterSink: &duckv1.Destination{URI: dlsURL}},
	}
	env := &stepadapter.EnvConfig{EnvConfig: adapter.EnvConfig{Sink: sink.URL, Namespace: ns, Name: cfg.SourceName, EnvSinkTimeout: "30"}}
	reporter, err := source.NewStatsReporter()
	if err != nil {
		t.Fatal(err)
	}
	ce, dlsClient, err := delivery.NewClients(adapter.ClientConfig{Env: env, Reporter: reporter, MeterProvider: mp}, cfg.DeadLetterSink())
	if err != nil {
		t.Fatal(err)
	}
	if err := journaltest.Create(context.Background(), kubernetes.NewForConfigOrDie(cp.Config), cfg); err != nil {
		t.Fatal(err)
	}
	a, err := stepadapter.New(stepadapter.Options{
		Config: cfg, CloudEvents: ce, DeadLetter: dlsClient, MeterProvider: mp,
		Tekton: tektonclient.NewForConfigOrDie(cp.Config), Kube: kubernetes.NewForConfigOrDie(cp.Config),
		Metadata: metadata.NewForConfigOrDie(cp.Config), Sources: sourcesclient.NewForConfigOrDie(cp.Config), Logger: zaptest.NewLogger(t).Sugar(),
		RetryBaseDelay: 20 * time.Millisecond, RetryMaxDelay: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	run := sim.MustCreate(t, tektonclient.NewForConfigOrDie(cp.Config), ns, "observed", nil, "ok", "reject-me", "never")
	run.MustSetSteps(t, sim.Running(), sim.Running(), sim.Running())
	// While it runs, its progress goes to the journal: wait for that write
	// (else the adapter may only ever see the finished run).
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(gather(t, reg)["tekton_step_source_checkpoint_writes_total"], "checkpoint_store=journal"); {
		if time.Now().After(deadline) {
			t.Fatal("no journal write while the TaskRun ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	run.MustSetSteps(t, sim.Succeeded(), sim.Failed(), sim.Skipped())
	// Finished: its checkpoint goes to the annotation; the running
	// progress before went to the journal.
	if err := run.Finish(context.Background(), false); err != nil {
		t.Fatal(err)
	}

	// started ok, succeeded ok, started reject-me (dead-lettered), failed
	// reject-me (rejected by the dead-letter sink too): 4 answered
	// requests, one 503 before them; skipped never is filtered.
	want := map[string]bool{
		"tekton_step_source_events_delivered_total": true, "tekton_step_source_events_filtered_total": true,
		"tekton_step_source_events_rejected_total": true, "tekton_step_source_events_failed_total": true,
		"tekton_step_source_events_dead_lettered_total": true,
		"tekton_step_source_send_duration_seconds":      true, "tekton_step_source_queue_depth": true,
		"tekton_step_source_checkpoint_writes_total": true,
	}
	var exported map[string]string
	deadline := time.Now().Add(30 * time.Second)
	for {
		exported = gather(t, reg)
		missing := false
		for name := range want {
			if _, ok := exported[name]; !ok {
				missing = true
			}
		}
		// Both checkpoint stores: the journal while running, the
		// annotation once finished.
		if !strings.Contains(exported["tekton_step_source_checkpoint_writes_total"], "checkpoint_store=annotation") {
			missing = true
		}
		if !missing || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	doc, err := os.ReadFile(filepath.Join(controlplane.RepoRoot(), "docs", "observability.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(tekton_step_source_[a-z_]+|http_client_[a-z_]+)\b`).FindAllString(string(doc), -1) {
		documented[seriesFamily(m)] = true
	}
	var undocumented, notExported []string
	for name := range exported {
		if (strings.HasPrefix(name, "tekton_step_source_") || strings.HasPrefix(name, "http_client_")) && !documented[name] {
			undocumented = append(undocumented, name)
		}
	}
	for name := range documented {
		if _, ok := exported[name]; !ok {
			notExported = append(notExported, name)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(notExported)
	if len(undocumented) > 0 {
		t.Errorf("exported but not in docs/observability.md: %v", undocumented)
	}
	if len(notExported) > 0 {
		t.Errorf("docs/observability.md names series the adapter does not export: %v (exported: %v)", notExported, sortedNames(exported))
	}
	// The attributes the doc's PromQL groups by exist.
	for _, label := range []string{"source_namespace", "source_name", "event_type"} {
		if !strings.Contains(exported["tekton_step_source_events_delivered_total"], label+"=") {
			t.Errorf("delivered has no %s label: %s", label, exported["tekton_step_source_events_delivered_total"])
		}
	}
	for _, label := range []string{"source_name=", "checkpoint_store=journal", "checkpoint_store=annotation", "outcome=written"} {
		if !strings.Contains(exported["tekton_step_source_checkpoint_writes_total"], label) {
			t.Errorf("checkpoint writes have no %s: %s", label, exported["tekton_step_source_checkpoint_writes_total"])
		}
	}
	for _, label := range []string{"http_request_method", "http_response_status_code", "server_address", "server_port", "url_scheme"} {
		if !strings.Contains(exported["http_client_request_duration_seconds"], label+"=") {
			t.Errorf("http_client_request_duration_seconds has no %s label: %s", label, exported["http_client_request_duration_seconds"])
		}
	}
	if !strings.Contains(string(doc), "metrics-protocol: prometheus") {
		t.Error("docs/observability.md does not say how to enable the Prometheus exporter")
	}
	if calls.Load() < 5 {
		t.Errorf("the sink saw %d requests, want at least 5", calls.Load())
	}
}

// seriesFamily maps a series name as written in PromQL (with _bucket, _sum,
// _count) to its metric family.
func seriesFamily(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if strings.HasSuffix(name, "_seconds"+suffix) || strings.HasSuffix(name, "_bytes"+suffix) {
			return strings.TrimSuffix(name, suffix)
		}
	}
	return name
}

// gather returns each exported family with the labels of its series
// ("name=value,..." per series, series separated by ";").
func gather(t *testing.T, reg *prometheus.Registry) map[string]string {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range families {
		var series []string
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			series = append(series, strings.Join(labels, ","))
		}
		out[f.GetName()] = strings.Join(series, ";")
	}
	return out
}

func sortedNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
