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
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestRecreatedDuringAWatchGap: the adapter's watch loses the apiserver
// while a TaskRun with undelivered transitions is deleted and another of
// the same name created; when it is back, its resource version has expired
// (410), so it lists again and sees the successor in the deleted one's
// place, with no deletion between them. The deleted one's transitions are
// still delivered, before the successor's, each once.
func TestRecreatedDuringAWatchGap(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusServiceUnavailable)
	cfg := sourceConfig(ns)
	client := tektonclient.NewForConfigOrDie(cp.Config)
	ctx := context.Background()

	first := sim.MustCreate(t, client, ns, "reused", nil, "a", "b")
	first.MustSetSteps(t, sim.Succeeded(), sim.Running())
	gap := newWatchGap(t)
	startAdapter(t, cfg, sink.URL, nil, func(o *stepadapter.Options) {
		o.Tekton = tektonclient.NewForConfigOrDie(gap.config())
	})
	// The adapter has listed the first TaskRun: it is trying to send.
	deadline := time.Now().Add(eventTimeout)
	for sink.Rejected() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if sink.Rejected() < 2 {
		t.Fatal("the adapter did not try to deliver the first TaskRun's events")
	}

	gap.open()
	if err := client.TektonV1().TaskRuns(ns).Delete(ctx, "reused", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, client, ns, "reused")
	second := sim.MustCreate(t, client, ns, "reused", nil, "a")
	if err := second.Complete(ctx, true, sim.Succeeded()); err != nil {
		t.Fatal(err)
	}
	gap.close()
	if !gap.expiredWatchServed(eventTimeout) {
		t.Fatal("the adapter did not watch again after the gap")
	}

	sink.FailWith(0)
	want := []string{"reused/a/started", "reused/a/succeeded", "reused/b/started", "reused/a/started", "reused/a/succeeded"}
	evs, err := sink.WaitForCount(ctx, eventTimeout, len(want))
	if err != nil {
		t.Fatalf("%v; got %v", err, sequence(evs))
	}
	time.Sleep(time.Second) // anything more would arrive by now
	evs = sink.Events()
	assertUniqueIDs(t, evs)
	if diff := cmp.Diff(want, sequence(evs)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	var uids []string
	for _, e := range evs {
		if uid := string(decodeData(t, e).TaskRun.UID); len(uids) == 0 || uids[len(uids)-1] != uid {
			uids = append(uids, uid)
		}
	}
	if len(uids) != 2 {
		t.Errorf("events of TaskRuns %v, want the deleted one's, then its successor's", uids)
	}
	waitForJournal(t, cfg, "reused", "")
}

// watchGap is a loopback proxy to the apiserver for the adapter's Tekton
// client that can cut its TaskRun reads off: open ends the watches under
// way and answers every TaskRun read 429 (the reflector retries after
// that, with backoff); close answers the next watch that resumes from a
// resource version 410 Expired, as the apiserver does when that version is
// gone, so the reflector lists again, from the current state.
type watchGap struct {
	srv *httptest.Server

	mu      sync.Mutex
	cut     bool
	expire  bool
	expired chan struct{}
	watches map[*http.Request]context.CancelFunc
}

func newWatchGap(t *testing.T) *watchGap {
	t.Helper()
	target, err := url.Parse(cp.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(cp.Config)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = transport
	proxy.FlushInterval = -1 // watch events as they come
	g := &watchGap{expired: make(chan struct{}), watches: map[*http.Request]context.CancelFunc{}}
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/taskruns") || r.Method != http.MethodGet {
			proxy.ServeHTTP(w, r)
			return
		}
		watching := r.URL.Query().Get("watch") == "true"
		g.mu.Lock()
		switch {
		case g.cut:
			g.mu.Unlock()
			writeStatus(w, apierrors.NewTooManyRequests("the watch gap", 1))
			return
		case g.expire && watching && r.URL.Query().Get("resourceVersion") != "":
			g.expire = false
			close(g.expired)
			g.mu.Unlock()
			writeStatus(w, apierrors.NewResourceExpired("too old resource version"))
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		if watching {
			g.watches[r] = cancel
		}
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			delete(g.watches, r)
			g.mu.Unlock()
			cancel()
		}()
		proxy.ServeHTTP(w, r.WithContext(ctx))
	}))
	// HTTP/2, as the apiserver speaks it.
	g.srv.EnableHTTP2 = true
	g.srv.StartTLS()
	t.Cleanup(g.srv.Close)
	return g
}

// config is a client config that reaches the apiserver through the proxy.
func (g *watchGap) config() *rest.Config {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: g.srv.Certificate().Raw})
	return &rest.Config{Host: g.srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}, QPS: cp.Config.QPS, Burst: cp.Config.Burst}
}

// open cuts the TaskRun watches off.
func (g *watchGap) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cut = true
	for _, cancel := range g.watches {
		cancel()
	}
}

// close lets the TaskRun reads through again, the first watch answered
// 410.
func (g *watchGap) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cut, g.expire = false, true
}

// expiredWatchServed waits until a watch was answered 410 after close.
func (g *watchGap) expiredWatchServed(timeout time.Duration) bool {
	select {
	case <-g.expired:
		return true
	case <-time.After(timeout):
		return false
	}
}

// writeStatus answers as the apiserver does with an error: its Status.
func writeStatus(w http.ResponseWriter, err *apierrors.StatusError) {
	status := err.Status()
	status.Kind, status.APIVersion = "Status", "v1"
	w.Header().Set("Content-Type", "application/json")
	if status.Code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(int(status.Code))
	_ = json.NewEncoder(w).Encode(status)
}
