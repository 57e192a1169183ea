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

package fault

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"knative.dev/eventing/pkg/adapter/v2"
	"knative.dev/eventing/pkg/metrics/source"

	stepadapter "github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/delivery"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// The standard fault workload: 100 TaskRuns × 5 steps = 1,000 transitions.
var thousand = workload{runs: 100, steps: 5, pace: 20 * time.Millisecond}

// startInProcess runs the adapter in this process with the clients the
// binary builds (stepadapter.NewClients); tweaks adjust its options.
func startInProcess(t *testing.T, cfg *adaptercontract.Config, sink string, maxInFlight int, tweaks ...func(*stepadapter.Options)) {
	t.Helper()
	env := &stepadapter.EnvConfig{EnvConfig: adapter.EnvConfig{Sink: sink, Namespace: cfg.SourceNamespace, Name: cfg.SourceName, EnvSinkTimeout: "30"}}
	reporter, err := source.NewStatsReporter()
	if err != nil {
		t.Fatal(err)
	}
	ce, dls, err := delivery.NewClients(adapter.ClientConfig{Env: env, Reporter: reporter}, cfg.DeadLetterSink())
	if err != nil {
		t.Fatal(err)
	}
	opts := stepadapter.Options{
		Config: cfg, CloudEvents: ce, DeadLetter: dls, MaxInFlight: maxInFlight,
		Tekton: tektonclient.NewForConfigOrDie(cp.Config), Kube: kubernetes.NewForConfigOrDie(cp.Config), Metadata: metadata.NewForConfigOrDie(cp.Config), Sources: sourcesclient.NewForConfigOrDie(cp.Config),
		Logger: zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel)).Sugar(),
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
	done := make(chan error, 1)
	go func() { done <- a.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("adapter: %v", err)
		}
	})
}

func sinkDownFor() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("TSS_FAULT_SINK_DOWN")); err == nil {
		return d
	}
	return 60 * time.Second
}

func TestSinkDownWhileThousandTransitionsHappen(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.FailWith(http.StatusServiceUnavailable)
	startInProcess(t, newSourceConfig(ns), sink.URL, 16)

	down := sinkDownFor()
	start := time.Now()
	thousand.drive(t, ns, "down")
	t.Logf("drove %d transitions in %s", thousand.transitions(), time.Since(start).Round(time.Millisecond))
	time.Sleep(time.Until(start.Add(down)))
	rejected := sink.Rejected()
	sink.FailWith(0)
	recovered := time.Now()

	evs, err := sink.WaitForCount(context.Background(), 2*time.Minute, thousand.transitions())
	if err != nil {
		t.Fatal(err)
	}
	drained := time.Since(recovered)
	time.Sleep(2 * time.Second) // anything extra would show up now
	evs = sink.Events()
	dups := thousand.verdict(t, evs, "down")
	if dups != 0 {
		t.Errorf("%d duplicate events after a sink outage; want 0", dups)
	}
	t.Logf("sink down %s: %d delivery attempts refused; after recovery %d events in %s, %d duplicates",
		down, rejected, len(evs), drained.Round(time.Millisecond), dups)
}

func TestAdapterSIGKILLedFiveTimes(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	proc := startAdapterProcess(t, newSourceConfig(ns), sink.URL)

	paced := thousand
	paced.pace = 150 * time.Millisecond
	driven := make(chan struct{})
	began := time.Now()
	var driveTime time.Duration
	go func() {
		defer close(driven)
		paced.drive(t, ns, "kill")
		driveTime = time.Since(began)
	}()
	kills := 0
	for kills < 5 {
		time.Sleep(1500 * time.Millisecond)
		proc.kill()
		kills++
		proc.start()
	}
	<-driven

	evs, err := sink.WaitFor(context.Background(), 2*time.Minute, func(evs []cloudevents.Event) bool {
		return distinct(evs) >= paced.transitions()
	})
	if err != nil {
		out := proc.Output()
		if len(out) > 6000 {
			out = out[len(out)-6000:]
		}
		t.Fatalf("%v (%d distinct); adapter output ends with:\n%s", err, distinct(evs), out)
	}
	time.Sleep(2 * time.Second)
	evs = sink.Events()
	dups := paced.verdict(t, evs, "kill")
	// A kill can only repeat what was acknowledged but not yet checkpointed:
	// the deliveries in flight (K_MAX_IN_FLIGHT=16) and those of the last
	// checkpoint interval (K_CHECKPOINT_INTERVAL, default 1s) at the
	// workload's rate.
	perSecond := float64(paced.transitions()) / driveTime.Seconds()
	if limit := kills * (16 + int(perSecond)); dups > limit {
		t.Errorf("%d duplicates after %d kills; more than the ack-to-checkpoint window allows (%d)", dups, kills, limit)
	}
	t.Logf("%d SIGKILLs during %d transitions: 0 lost, %d duplicates (same ids)", kills, paced.transitions(), dups)
}

func distinct(evs []cloudevents.Event) int {
	ids := map[string]bool{}
	for _, e := range evs {
		ids[e.ID()] = true
	}
	return len(ids)
}

func TestAPIServerRestartMidStream(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	startInProcess(t, newSourceConfig(ns), sink.URL, 16)

	half := workload{runs: 50, steps: 5, pace: 10 * time.Millisecond}
	half.drive(t, ns, "before")
	start := time.Now()
	if err := cp.RestartAPIServer(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver restarted in %s", time.Since(start).Round(time.Millisecond))
	half.drive(t, ns, "after")

	evs, err := sink.WaitForCount(context.Background(), 2*time.Minute, 2*half.transitions())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	evs = sink.Events()
	var before, after []cloudevents.Event
	for _, e := range evs {
		if strings.HasPrefix(e.Subject(), "s") && strings.HasPrefix(e.Extensions()["tektontaskrun"].(string), "before") {
			before = append(before, e)
		} else {
			after = append(after, e)
		}
	}
	if dups := half.verdict(t, before, "before") + half.verdict(t, after, "after"); dups != 0 {
		t.Errorf("%d duplicates across an apiserver restart", dups)
	}
}

// TestSlowSink: with a sink taking 2 s per request, deliveries for different
// TaskRuns proceed in parallel up to the in-flight cap and never beyond it.
func TestSlowSink(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	sink.Delay(2 * time.Second)
	const maxInFlight = 4
	startInProcess(t, newSourceConfig(ns), sink.URL, maxInFlight)

	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	w := workload{runs: 12, steps: 1}
	start := time.Now()
	w.drive(t, ns, "slow")
	evs, err := sink.WaitForCount(context.Background(), 2*time.Minute, w.transitions())
	if err != nil {
		t.Fatal(err)
	}
	if dups := w.verdict(t, evs, "slow"); dups != 0 {
		t.Errorf("%d duplicates with a slow sink", dups)
	}
	if got := sink.MaxConcurrent(); got != maxInFlight {
		t.Errorf("at most %d deliveries were in flight, want exactly the cap %d", got, maxInFlight)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("slow sink: %d events in %s with %d in flight; heap %d KiB -> %d KiB",
		len(evs), time.Since(start).Round(time.Millisecond), sink.MaxConcurrent(), before.HeapInuse/1024, after.HeapInuse/1024)
}

// TestPlantedEnvValuesNeverLeave plants secret values in literal step env values and checks
// every output of the adapter: events and its (debug-level) logs.
func TestPlantedEnvValuesNeverLeave(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	proc := startAdapterProcess(t, newSourceConfig(ns), sink.URL)
	const token, key = "ghp_PLANTEDsecret0123456789abcdefXYZ", "Zx9PLANTEDkey77Qw"

	client := tektonclient.NewForConfigOrDie(cp.Config)
	run := sim.MustCreate(t, client, ns, "leaky", nil, "deploy")
	if err := run.SetEnv(context.Background(), "deploy", map[string]string{
		"GITHUB_TOKEN": token, "EXTRA_ARGS": key, "LOG_LEVEL": "debug",
	}); err != nil {
		t.Fatal(err)
	}
	run.MustSetSteps(t, sim.Running())
	run.MustSetSteps(t, sim.Failed())
	evs, err := sink.WaitForCount(context.Background(), time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, e := range evs {
		b, _ := e.MarshalJSON()
		all.Write(b)
	}
	if !strings.Contains(all.String(), `"LOG_LEVEL","value":"debug"`) {
		t.Errorf("the plainly non-secret value is missing; the check would prove nothing: %s", all.String())
	}
	proc.stop()
	for where, text := range map[string]string{"events": all.String(), "adapter logs": proc.Output()} {
		for _, secret := range []string{token, key, "PLANTED"} {
			if strings.Contains(text, secret) {
				t.Errorf("%s contain the planted secret %q", where, secret)
			}
		}
	}
}
