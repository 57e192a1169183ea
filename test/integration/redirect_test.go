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
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestRedirectingSink: the sink URL answers with a redirect to the real
// receiver. 307 and 308 keep the method and body, so the event arrives
// whole. 301, 302 and 303 make Go's HTTP client (adapter/v2's) repeat the
// request as a GET without the event; a CloudEvents receiver refuses that
// (405), which is a permanent rejection: counted and not retried forever,
// never an event "delivered" without its data.
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
			redirector := redirectTo(t, target.URL, tc.status)
			cfg := sourceConfig(ns)
			reader := sdkmetric.NewManualReader()
			startAdapter(t, cfg, redirector, nil, func(o *stepadapter.Options) {
				o.MeterProvider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			})
			client := tektonclient.NewForConfigOrDie(cp.Config)
			run := sim.MustCreate(t, client, ns, "build", nil, "a")
			run.MustSetSteps(t, sim.Succeeded())
			// Both transitions are done either way: delivered or rejected.
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
			if n := len(target.Events()); n != 0 {
				t.Errorf("%d events accepted after a %d redirect", n, tc.status)
			}
			if counts[stepadapter.MetricRejected] != 2 || counts[stepadapter.MetricDelivered] != 0 {
				t.Errorf("metrics = %v, want 2 rejected", counts)
			}
		})
	}
}

// redirectTo serves, on loopback, a redirect with the given status to url.
func redirectTo(t *testing.T, url string, status int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, url, status)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return "http://" + l.Addr().String()
}
