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
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/test/contract"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// workload is runs TaskRuns of steps steps, each driven through Tekton's
// status sequence for an all-succeeding run: 2 transitions per step.
type workload struct {
	runs, steps int
	// pace is the pause between two status writes of one TaskRun.
	pace time.Duration
	// deleteAfter deletes each TaskRun right after it finished.
	deleteAfter bool
}

func (w workload) transitions() int { return w.runs * w.steps * 2 }

func (w workload) stepNames() []string {
	names := make([]string, w.steps)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
	}
	return names
}

// expected is the event sequence of one TaskRun.
func (w workload) expected(run string) []string {
	var out []string
	for _, s := range w.stepNames() {
		out = append(out, run+"/"+s+"/started", run+"/"+s+"/succeeded")
	}
	return out
}

// drive creates the TaskRuns and writes their statuses, several TaskRuns at
// a time, each TaskRun's writes in order.
func (w workload) drive(t *testing.T, ns, prefix string) {
	t.Helper()
	client := tektonclient.NewForConfigOrDie(cp.Config)
	var wg sync.WaitGroup
	errs := make(chan error, w.runs)
	sem := make(chan struct{}, 8)
	for i := 0; i < w.runs; i++ {
		wg.Add(1)
		go func(name string) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- w.driveOne(client, ns, name)
		}(fmt.Sprintf("%s-%03d", prefix, i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (w workload) driveOne(client tektonclient.Interface, ns, name string) error {
	ctx := context.Background()
	r, err := sim.Create(ctx, client, ns, name, nil, w.stepNames()...)
	if err != nil {
		return err
	}
	for done := 0; done <= w.steps; done++ {
		if err := r.SetSteps(ctx, sim.Progressed(w.steps, done)...); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		time.Sleep(w.pace)
	}
	if err := r.Finish(ctx, true); err != nil || !w.deleteAfter {
		return err
	}
	return client.TektonV1().TaskRuns(ns).Delete(ctx, name, metav1.DeleteOptions{})
}

// verdict checks the received events against the workload: every
// transition delivered, per-TaskRun order kept (first deliveries), every
// event within the contract, and returns how many duplicates arrived (all
// with the id of an earlier event).
func (w workload) verdict(t *testing.T, evs []cloudevents.Event, prefix string) (duplicates int) {
	t.Helper()
	contract.Verify(t, evs, contract.Options{Complete: true, Redelivered: true, LogMaxBytes: logMaxBytes})
	seen := map[string]bool{}
	perRun := map[string][]string{}
	for _, e := range evs {
		if seen[e.ID()] {
			duplicates++
			continue
		}
		seen[e.ID()] = true
		run := fmt.Sprint(e.Extensions()[events.ExtTaskRun])
		perRun[run] = append(perRun[run], fmt.Sprintf("%s/%s/%s", run, e.Subject(), kindOf(e.Type())))
	}
	if len(seen) != w.transitions() {
		t.Errorf("%d distinct events, want %d", len(seen), w.transitions())
	}
	for i := 0; i < w.runs; i++ {
		run := fmt.Sprintf("%s-%03d", prefix, i)
		if diff := cmp.Diff(w.expected(run), perRun[run]); diff != "" {
			t.Errorf("TaskRun %s (-want +got):\n%s", run, diff)
		}
	}
	return duplicates
}

func kindOf(eventType string) string {
	for _, k := range []string{"started", "succeeded", "failed", "skipped"} {
		if eventType == "dev.tekton.event.step."+k+".v1" {
			return k
		}
	}
	return eventType
}

// logMaxBytes is the fault tests' log cap.
const logMaxBytes = 4096

func newSourceConfig(ns string) *adaptercontract.Config {
	return &adaptercontract.Config{SourceUID: string(uuid.NewUUID()), SourceName: "fault", SourceNamespace: ns,
		Namespaces: []string{ns}, LogMaxBytes: logMaxBytes}
}

// adapterBinary builds cmd/receive_adapter once per test binary.
var adapterBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "tss-adapter-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "receive_adapter")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/receive_adapter")
	cmd.Dir = controlplane.RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the adapter: %v\n%s", err, out)
	}
	return bin, nil
})

// adapterProcess is the adapter binary running with the given config; its
// output accumulates across restarts.
type adapterProcess struct {
	t      *testing.T
	env    []string
	mu     sync.Mutex
	cmd    *exec.Cmd
	output bytes.Buffer
}

// startAdapterProcess runs the adapter binary; extraEnv adds KEY=VALUE
// settings.
func startAdapterProcess(t *testing.T, cfg *adaptercontract.Config, sink string, extraEnv ...string) *adapterProcess {
	t.Helper()
	if _, err := adapterBinary(); err != nil {
		t.Fatal(err)
	}
	encoded, err := cfg.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := journaltest.Create(context.Background(), kubernetes.NewForConfigOrDie(cp.Config), cfg); err != nil {
		t.Fatal(err)
	}
	p := &adapterProcess{t: t, env: append(os.Environ(),
		"KUBECONFIG="+cp.KubeconfigPath, "K_SINK="+sink, "K_SOURCE_CONFIG="+encoded,
		"NAMESPACE="+cfg.SourceNamespace, "NAME="+cfg.SourceName,
		// Debug logs too, so the secret check below sees everything the adapter can log.
		`K_LOGGING_CONFIG={"zap-logger-config":"{\"level\":\"debug\",\"encoding\":\"json\",\"outputPaths\":[\"stdout\"],\"errorOutputPaths\":[\"stderr\"],\"encoderConfig\":{\"messageKey\":\"msg\",\"levelKey\":\"level\",\"timeKey\":\"ts\"}}"}`,
		// Health probes would clash between restarts; the port is free again once killed.
		"K_MAX_IN_FLIGHT=16",
	)}
	p.env = append(p.env, extraEnv...)
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *adapterProcess) start() {
	bin, _ := adapterBinary()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd = exec.Command(bin)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.output}, &lockedWriter{mu: &p.mu, w: &p.output}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
}

// kill SIGKILLs the adapter and waits for it to exit.
func (p *adapterProcess) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}

func (p *adapterProcess) stop() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd.ProcessState == nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
	}
}

// pid is the process id of the adapter running now.
func (p *adapterProcess) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

func (p *adapterProcess) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
