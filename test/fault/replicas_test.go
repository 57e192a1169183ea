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
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/system"

	"github.com/tektonstep/tekton-step-source/test/receiver"
)

// TestThreeReplicasShareTheWorkAndSurviveAKill runs three adapter processes
// of one source with leader-elected buckets (what the controller configures
// for spec.replicas: 3), SIGKILLs the replica that leads the most buckets
// mid-stream and checks that its buckets move to the others and that every
// transition is delivered once, in order per TaskRun, with duplicates only
// from the killed replica's ack-to-checkpoint window. Three replicas each
// sending every TaskRun's events would show up as thousands of duplicates.
func TestThreeReplicasShareTheWorkAndSurviveAKill(t *testing.T) {
	ns := cp.NewNamespace(t)
	sink := receiver.New(t)
	cfg := newSourceConfig(ns)
	kube := kubernetes.NewForConfigOrDie(cp.Config)

	replicas := map[string]*adapterProcess{}
	for i := 0; i < 3; i++ {
		identity := fmt.Sprintf("replica-%d", i)
		le, err := json.Marshal(leaderelection.ComponentConfig{
			Buckets: 3, Identity: identity,
			LeaseDuration: 4 * time.Second, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		replicas[identity] = startAdapterProcess(t, cfg, sink.URL,
			"K_LEADER_ELECTION_CONFIG="+string(le), system.NamespaceEnvKey+"="+ns)
	}
	holders := func() map[string][]string {
		leases, err := kube.CoordinationV1().Leases(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, l := range leases.Items {
			if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" {
				out[*l.Spec.HolderIdentity] = append(out[*l.Spec.HolderIdentity], l.Name)
			}
		}
		return out
	}
	led := func(h map[string][]string) (n int) {
		for _, buckets := range h {
			n += len(buckets)
		}
		return n
	}
	deadline := time.Now().Add(time.Minute)
	for led(holders()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the 3 buckets were never all led: %v", holders())
		}
		time.Sleep(200 * time.Millisecond)
	}
	before := holders()

	paced := workload{runs: 60, steps: 5, pace: 100 * time.Millisecond}
	driven := make(chan struct{})
	began := time.Now()
	var driveTime time.Duration
	go func() {
		defer close(driven)
		paced.drive(t, ns, "ha")
		driveTime = time.Since(began)
	}()
	time.Sleep(1500 * time.Millisecond)
	victims := make([]string, 0, len(before))
	for id := range before {
		victims = append(victims, id)
	}
	sort.Slice(victims, func(i, j int) bool { return len(before[victims[i]]) > len(before[victims[j]]) })
	victim := victims[0]
	replicas[victim].kill()
	killedAt := time.Now()
	<-driven

	evs, err := sink.WaitFor(context.Background(), 2*time.Minute, func(evs []cloudevents.Event) bool {
		return distinct(evs) >= paced.transitions()
	})
	if err != nil {
		t.Fatalf("%v; leases: %v", err, holders())
	}
	time.Sleep(2 * time.Second)
	evs = sink.Events()
	dups := paced.verdict(t, evs, "ha")

	after := holders()
	if len(after[victim]) != 0 || led(after) != 3 {
		t.Errorf("the killed replica's buckets did not move: before %v, after %v", before, after)
	}
	perSecond := float64(paced.transitions()) / driveTime.Seconds()
	if limit := 16 + int(perSecond); dups > limit {
		t.Errorf("%d duplicates; one kill's ack-to-checkpoint window allows %d", dups, limit)
	}
	t.Logf("3 replicas, buckets before %v; killed %s (%d buckets) %s into %d transitions; after %v: 0 lost, %d duplicates (same ids)",
		before, victim, len(before[victim]), killedAt.Sub(began).Round(time.Millisecond), paced.transitions(), after, dups)
}
