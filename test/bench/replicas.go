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

// This file is the replicas workload: ours with 1, 2 and 4 replicas
// (-replicas) on the throughput workload, each replica a process with the
// leader election the controller configures for spec.replicas, with a sink
// that answers at once and again with one that answers each event after
// -replicas-sink-delay. Figures: events/s, and per replica the buckets it
// led and its CPU seconds over the workload (its share of the work).

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/system"

	"github.com/tektonstep/tekton-step-source/pkg/adapter"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
	"github.com/tektonstep/tekton-step-source/test/procstat"
)

// replicaResult is one replica count's figures.
type replicaResult struct {
	replicas        int
	events          int
	eventsPerSecond float64
	buckets         []int     // per replica, buckets led during the workload
	sinkConcurrent  int       // the most requests the sink had open at once
	cpu             []float64 // per replica, CPU seconds over the workload
}

// measureReplicas runs the workload with n replicas of ours and a sink
// that answers each event after sinkDelay.
func (b *bench) measureReplicas(ours *contender, n int, sinkDelay time.Duration) (*replicaResult, error) {
	ctx := context.Background()
	kube := kubernetes.NewForConfigOrDie(b.cp.Config)
	m, err := b.newWorkloadMeasurement(ours)
	if err != nil {
		return nil, err
	}
	defer m.sink.Stop()
	m.sink.Delay(sinkDelay)
	ns := m.ns
	env := ours.env(ns, m.sink.URL)
	if n > 1 {
		// What the controller gives spec.replicas > 1; the Deployment
		// stands for the adapter's (no kubelet here), its ready replicas
		// what the replicas count to share the buckets.
		deployment, err := replicaDeployment(ctx, kube, ns, int32(n))
		if err != nil {
			return nil, err
		}
		env = append(env, system.NamespaceEnvKey+"="+ns, adaptercontract.EnvDeployment+"="+deployment)
	}
	procs := make([]*process, n)
	for i := range procs {
		replicaEnv := env
		if n > 1 {
			le, err := json.Marshal(leaderelection.ComponentConfig{Buckets: uint32(n), Identity: fmt.Sprintf("replica-%d", i),
				LeaseDuration: resources.LeaseDuration, RenewDeadline: resources.LeaseRenewDeadline, RetryPeriod: resources.LeaseRetryPeriod})
			if err != nil {
				return nil, err
			}
			replicaEnv = append(append([]string{}, env...), "K_LEADER_ELECTION_CONFIG="+string(le))
		}
		procs[i] = &process{log: filepath.Join(b.tmp, fmt.Sprintf("replicas-%d.%d.log", n, i)), exited: make(chan struct{})}
		if err := procs[i].run(ours.bin, replicaEnv); err != nil {
			return nil, err
		}
		defer procs[i].stop()
	}
	led := func() (map[string]int, error) {
		leases, err := kube.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		out := map[string]int{}
		for _, l := range leases.Items {
			if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity != "" && l.Spec.RenewTime != nil &&
				time.Since(l.Spec.RenewTime.Time) < resources.LeaseDuration {
				out[*l.Spec.HolderIdentity]++
			}
		}
		return out, nil
	}
	// Ready: every replica watches, and every bucket is led.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		watching := 0
		for _, p := range procs {
			if err := p.alive(); err != nil {
				return nil, err
			}
			if p.logged(ours.readyLog) {
				watching++
			}
		}
		holders, err := led()
		if err != nil {
			return nil, err
		}
		total := 0
		for _, k := range holders {
			total += k
		}
		if watching == n && (n == 1 || total == n) {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d replicas: %d watching, buckets led %v after 2m", n, watching, holders)
		}
	}
	before := make([]int64, n)
	for i, p := range procs {
		if before[i], err = procstat.CPUTicks(p.cmd.Process.Pid); err != nil {
			return nil, err
		}
	}
	logf("ours, %d replicas, sink answering after %s: driving the workload", n, sinkDelay)
	if err := b.drive(ns, m.writes); err != nil {
		return nil, err
	}
	want := ours.want(m)
	for deadline := time.Now().Add(b.opts.timeout); ; time.Sleep(100 * time.Millisecond) {
		if err := oursTally(m); err != nil {
			return nil, err
		}
		if len(m.samples) >= want || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(b.opts.settle)
	if err := oursTally(m); err != nil {
		return nil, err
	}
	if len(m.samples) < want {
		return nil, fmt.Errorf("%d replicas delivered %d of the %d expected events within %s", n, len(m.samples), want, b.opts.timeout)
	}
	holders, err := led()
	if err != nil {
		return nil, err
	}
	res := &replicaResult{replicas: n, events: m.delivered, eventsPerSecond: eventsPerSecond(m), sinkConcurrent: m.sink.MaxConcurrent()}
	for i, p := range procs {
		after, err := procstat.CPUTicks(p.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		res.cpu = append(res.cpu, float64(after-before[i])/100)
		if n == 1 {
			res.buckets = append(res.buckets, 1)
		} else {
			res.buckets = append(res.buckets, holders[fmt.Sprintf("replica-%d", i)])
		}
	}
	logf("ours, %d replicas: %d events, %.0f events/s, the sink's most at once %d, buckets %v, CPU s %v",
		n, res.events, res.eventsPerSecond, res.sinkConcurrent, res.buckets, res.cpu)
	return res, nil
}

func replicaDeployment(ctx context.Context, kube kubernetes.Interface, ns string, n int32) (string, error) {
	labels := map[string]string{"app": "adapter"}
	d, err := kube.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "adapter"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "adapter", Image: "adapter"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	d.Status = appsv1.DeploymentStatus{Replicas: n, ReadyReplicas: n, AvailableReplicas: n, UpdatedReplicas: n}
	_, err = kube.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
	return d.Name, err
}

func printReplicas(results []*replicaResult, opts options, sinkDelay time.Duration) {
	sink := "a sink answering at once"
	if sinkDelay > 0 {
		sink = fmt.Sprintf("a sink answering each event after %s (a replica sends to at most %d at a time: K_MAX_IN_FLIGHT)",
			sinkDelay, adapter.DefaultMaxInFlight)
	}
	fmt.Printf("\nReplicas: ours on the workload above (%d TaskRuns x %d steps, target %.0f transitions/s), one process per replica, buckets = replicas, %s.\n\n",
		opts.runs, opts.steps, opts.rate, sink)
	fmt.Println("| replicas | events | events/s | sink's most at once | buckets led per replica | CPU s per replica | CPU s in all |")
	fmt.Println("|----------|--------|----------|---------------------|-------------------------|-------------------|--------------|")
	for _, r := range results {
		var buckets, cpu []string
		total := 0.0
		for i := range r.cpu {
			buckets = append(buckets, fmt.Sprint(r.buckets[i]))
			cpu = append(cpu, fmt.Sprintf("%.2f", r.cpu[i]))
			total += r.cpu[i]
		}
		fmt.Printf("| %8d | %6d | %8.0f | %19d | %23s | %17s | %12.2f |\n", r.replicas, r.events, r.eventsPerSecond,
			r.sinkConcurrent, strings.Join(buckets, ", "), strings.Join(cpu, ", "), total)
	}
}

// replicaCounts parses -replicas ("1,2,4").
func replicaCounts(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if f == "" {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(f, "%d", &n); err != nil || n < 1 {
			return nil, fmt.Errorf("-replicas %q: want counts of at least 1, comma-separated", list)
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}
