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
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-cmp/cmp"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// TestAdapterBinaryByHand runs cmd/receive_adapter the way docs/install.md
// ("Running the adapter by hand") tells a user to debug it: plain
// environment variables and a KUBECONFIG. Its configuration has a
// dead-letter sink, which gets the event the sink refuses, with the
// overrides and Knative's error extensions.
func TestAdapterBinaryByHand(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink, dls := receiver.New(t), receiver.New(t)
	sink.Refuse(func(e cloudevents.Event) int {
		if kind(e.Type()) == "skipped" {
			return http.StatusBadRequest
		}
		return 0
	})
	bin := filepath.Join(t.TempDir(), "receive_adapter")
	build := exec.Command("go", "build", "-o", bin, "./cmd/receive_adapter")
	build.Dir = controlplane.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the adapter: %v\n%s", err, out)
	}
	source := sourceConfig(ns)
	source.Delivery = &eventingduckv1.DeliverySpec{DeadLetterSink: deadLetterTo(t, dls), Timeout: ptr.String("PT5S")}
	cfg, err := source.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := journaltest.Create(context.Background(), kubernetes.NewForConfigOrDie(cp.Config), source); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"KUBECONFIG="+cp.KubeconfigPath,
		"K_SINK="+sink.URL,
		"K_SOURCE_CONFIG="+cfg,
		"NAMESPACE="+ns,
		"NAME=by-hand",
		"K_SINK_TIMEOUT=30",
		"K_CE_OVERRIDES="+`{"extensions":{"origin":"by-hand"}}`,
	)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the adapter did not stop on SIGTERM")
		}
		// Read once the process is gone, so nothing writes output anymore.
		if strings.Contains(output.String(), "Sink timeout configuration is invalid") {
			t.Error("adapter/v2 warns of an invalid sink timeout although K_SINK_TIMEOUT is set")
		}
		if t.Failed() {
			t.Logf("adapter output:\n%s", output.String())
		}
	}()

	run := sim.MustCreate(t, tektonclient.NewForConfigOrDie(cp.Config), ns, "build", nil, "compile", "test", "publish")
	driveFailingRun(t, run)
	dead, err := dls.WaitForCount(context.Background(), eventTimeout, 1)
	if err != nil {
		t.Fatal(err)
	}
	evs := sink.Events()
	if diff := cmp.Diff(failingRunSequence, append(sequence(evs), sequence(dead)...)); diff != "" {
		t.Fatalf("events at the sink, then at the dead-letter sink (-want +got):\n%s", diff)
	}
	if evs[0].Extensions()["origin"] != "by-hand" || dead[0].Extensions()["origin"] != "by-hand" {
		t.Errorf("K_CE_OVERRIDES not applied: %s / %s", evs[0].Context, dead[0].Context)
	}
	if code := fmt.Sprint(dead[0].Extensions()["knativeerrorcode"]); code != "400" {
		t.Errorf("knativeerrorcode = %q, want 400", code)
	}
}
