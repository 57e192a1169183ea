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
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestRedirectingSink: the sink URL answers with a redirect. 307 and 308
// keep the method and body, so the event arrives whole at the real
// receiver. 301, 302 and 303 would make Go's HTTP client (adapter/v2's)
// repeat the request as a GET without the event; their target here
// answers anything 200, so an event counted delivered after one was lost.
// The adapter does not follow them: the redirect is the answer, a
// permanent refusal, and the events go to the dead-letter sink with it.
func TestRedirectingSink(t *testing.T) {
	tests := []struct {
		status        int
		wantDelivered bool
	}{
		{status: http.StatusTemporaryRedirect, wantDelivered: true},
		{status: http.StatusPermanentRedirect, wantDelivered: true},
		{status: http.StatusFound},
		{status: http.StatusMovedPermanently},
		{status: http.StatusSeeOther},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			ns := cp.NewNamespace(t)
			target := receiver.New(t)
			var gets atomic.Int32
			anything := loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gets.Add(1) }))
			redirector := redirectTo(t, target.URL, tc.status)
			dls := receiver.New(t)
			cfg := sourceConfig(ns)
			if !tc.wantDelivered {
				redirector = redirectTo(t, anything, tc.status)
				cfg.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: deadLetterTo(t, dls)}
			}
			reader := sdkmetric.NewManualReader()
			startAdapter(t, cfg, redirector, nil, func(o *stepadapter.Options) {
				o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			})
			client := tektonclient.NewForConfigOrDie(cp.Config)
			run := sim.MustCreate(t, client, ns, "build", nil, "a")
			run.MustSetSteps(t, sim.Succeeded())
			// Both transitions are done either way: delivered or dead-lettered.
			waitForJournal(t, cfg, "build", `"a":2`)

			counts := counters(t, reader)
			if tc.wantDelivered {
				if diff := cmp.Diff([]string{"build/a/started", "build/a/succeeded"}, sequence(target.Events())); diff != "" {
					t.Errorf("events at the redirect target (-want +got):\n%s", diff)
				}
				if len(target.Events()) == 2 && len(decodeData(t, target.Events()[1]).StepState.Name) == 0 {
					t.Error("the redirected event lost its data")
				}
				if counts[stepadapter.MetricDelivered] != 2 {
					t.Errorf("metrics = %v, want 2 delivered", counts)
				}
				return
			}
			if n := gets.Load(); n != 0 {
				t.Errorf("%d requests followed a %d redirect", n, tc.status)
			}
			if counts[stepadapter.MetricDeadLettered] != 2 || counts[stepadapter.MetricDelivered] != 0 {
				t.Errorf("metrics = %v, want 2 dead-lettered", counts)
			}
			evs := dls.Events()
			if diff := cmp.Diff([]string{"build/a/started", "build/a/succeeded"}, sequence(evs)); diff != "" {
				t.Errorf("events at the dead-letter sink (-want +got):\n%s", diff)
			}
			for _, ev := range evs {
				if code := ev.Extensions()["knativeerrorcode"]; fmt.Sprint(code) != fmt.Sprint(tc.status) {
					t.Errorf("%s: knativeerrorcode = %v, want %d", ev.ID(), code, tc.status)
				}
			}
		})
	}
}

// redirectTo serves, on loopback, a redirect with the given status to url.
func redirectTo(t *testing.T, url string, status int) string {
	t.Helper()
	return loopbackServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, url, status)
	}))
}

// loopbackServer serves h on loopback (httptest's listener) and returns
// its URL.
func loopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
