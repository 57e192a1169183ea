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

// This file is the many-namespaces workload: one source over
// -namespaces namespaces, each with -namespace-taskruns TaskRuns, against
// ApiServerSource over the same namespaces. Per contender: the time from
// its start to every TaskRun watch it needs being open at the apiserver,
// the LIST and WATCH requests that cost the apiserver (its own metrics),
// then every TaskRun of every namespace run once (one step) and the events
// delivered, and the peak RSS.

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
	"github.com/tektonstep/tekton-step-source/test/procstat"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

// nsContender is a program watching many namespaces.
type nsContender struct {
	name string
	bin  string
	// env is its environment for the namespaces; the first one is the
	// source's own.
	env func(namespaces []string, sink string) []string
	// watches is how many TaskRun watches it opens for n namespaces.
	watches func(n int) int
	// ours: whatever it fails to do fails the run; for the others a
	// watch never opened or an event never delivered is a result.
	ours bool
	// delivered says whether everything the runs should cause arrived, and
	// how many events arrived.
	delivered func(runs []*sim.Run, last map[string]string, evs []cloudevents.Event) (complete bool, count int)
}

// nsResult is one contender's figures.
type nsResult struct {
	name string
	// readyAfter: when every watch was open; 0 if never within -timeout.
	readyAfter     time.Duration
	lists, watches float64
	events         int
	complete       bool
	peakRSS        int64
	cpuToReady     float64 // CPU seconds from start to watching everything
}

func (b *bench) manyNamespaceContenders(bins map[string]string) []*nsContender {
	common := func(home, sink string) []string {
		return append(os.Environ(), "KUBECONFIG="+b.cp.KubeconfigPath, "K_SINK="+sink, "NAMESPACE="+home,
			"NAME=bench", "K_LOGGING_CONFIG={}", "KUBE_API_QPS=100", "KUBE_API_BURST=200")
	}
	ours := func(clusterWatch bool) func([]string, string) []string {
		return func(namespaces []string, sink string) []string {
			home := namespaces[0]
			cfg := &adaptercontract.Config{SourceUID: fmt.Sprintf("bench-many-%t-%d", clusterWatch, time.Now().UnixNano()),
				SourceName: "bench", SourceNamespace: home, Namespaces: namespaces, ClusterWatch: clusterWatch,
				NotBefore: metav1.Now(), LogMaxBytes: 0}
			encoded, _ := cfg.Encode()
			if err := journaltest.Create(context.Background(), kubernetes.NewForConfigOrDie(b.cp.Config), cfg); err != nil {
				logf("%v", err)
			}
			return append(common(home, sink), "K_SOURCE_CONFIG="+encoded)
		}
	}
	return []*nsContender{{
		name: "ours (cluster-wide watch)", bin: bins["ours"], env: ours(true),
		watches: func(int) int { return 1 }, ours: true, delivered: oursDelivered,
	}, {
		name: "ours (a watch per namespace)", bin: bins["ours"], env: ours(false),
		watches: func(n int) int { return n }, ours: true, delivered: oursDelivered,
	}, {
		name: "apiserversource", bin: bins["apiserversource"],
		env: func(namespaces []string, sink string) []string {
			quoted := ""
			for i, ns := range namespaces {
				if i > 0 {
					quoted += ","
				}
				quoted += fmt.Sprintf("%q", ns)
			}
			cfg := fmt.Sprintf(`{"namespaces":[%s],"allNamespaces":false,"mode":"Resource","resources":[{"gvr":{"Group":"tekton.dev","Version":"v1","Resource":"taskruns"}}]}`, quoted)
			return append(common(namespaces[0], sink), "K_SOURCE_CONFIG="+cfg)
		},
		watches: func(n int) int { return n }, delivered: apiServerSourceDelivered,
	}}
}

// oursDelivered: a started and a succeeded event for the one step of every
// run, counted once each.
func oursDelivered(runs []*sim.Run, _ map[string]string, evs []cloudevents.Event) (bool, int) {
	got := map[string]bool{}
	for _, e := range evs {
		got[fmt.Sprintf("%v/%v/%s", e.Extensions()[events.ExtNamespace], e.Extensions()[events.ExtTaskRun], e.Type())] = true
	}
	for _, r := range runs {
		for _, kind := range []string{"started", "succeeded"} {
			if !got[fmt.Sprintf("%s/%s/dev.tekton.event.step.%s.v1", r.Namespace, r.Name, kind)] {
				return false, len(evs)
			}
		}
	}
	return true, len(evs)
}

// apiServerSourceDelivered: the event of every run's last write (the
// TaskRun with its resourceVersion, Resource mode) arrived.
func apiServerSourceDelivered(runs []*sim.Run, last map[string]string, evs []cloudevents.Event) (bool, int) {
	got := map[string]bool{}
	count := 0
	for _, e := range evs {
		obj, err := objectOf(e.Data())
		if err != nil || obj.Metadata.Name == "" {
			continue
		}
		count++
		got[obj.Metadata.Namespace+"/"+obj.Metadata.Name+"@"+obj.Metadata.ResourceVersion] = true
	}
	for _, r := range runs {
		if !got[r.Namespace+"/"+r.Name+"@"+last[r.Namespace+"/"+r.Name]] {
			return false, count
		}
	}
	return true, count
}

// manyNamespaces measures each contender on namespaces of its own, created
// for it, so that none starts with another's TaskRuns to list and cache.
func (b *bench) manyNamespaces(bins map[string]string) ([]*nsResult, error) {
	ctx := context.Background()
	// The watches open before any contender: the earlier workloads'
	// processes' watches end at the apiserver a little after they exit,
	// so the count is taken once it has not moved for a second.
	idle, err := readTaskRunRequests(ctx, b.cp.Config)
	if err != nil {
		return nil, err
	}
	for still := time.Now(); time.Since(still) < time.Second; time.Sleep(100 * time.Millisecond) {
		now, err := readTaskRunRequests(ctx, b.cp.Config)
		if err != nil {
			return nil, err
		}
		if now.watches != idle.watches {
			idle, still = now, time.Now()
		}
	}
	var results []*nsResult
	for round, c := range b.manyNamespaceContenders(bins) {
		if b.opts.only != nil && !b.opts.only[contenderFamily(c.name)] {
			continue
		}
		// The previous contender's watches end at the apiserver a little
		// after it exits: counted, they would hide this one's.
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
			now, err := readTaskRunRequests(ctx, b.cp.Config)
			if err != nil {
				return nil, err
			}
			if now.watches <= idle.watches {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%v TaskRun watches still open a minute after the last contender stopped (%v before any)", now.watches, idle.watches)
			}
		}
		prefix := fmt.Sprintf("r%d", round)
		namespaces, err := b.createNamespaces(ctx, "many-"+prefix)
		if err != nil {
			return nil, err
		}
		r, err := b.measureManyNamespaces(c, namespaces, prefix)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// createNamespaces creates -namespaces namespaces named prefix-0000 on.
func (b *bench) createNamespaces(ctx context.Context, prefix string) ([]string, error) {
	kube := kubernetes.NewForConfigOrDie(b.cp.Config)
	namespaces := make([]string, b.opts.namespaces)
	logf("many namespaces: creating %d namespaces %s-*", len(namespaces), prefix)
	err := parallel(len(namespaces), 16, func(i int) error {
		ns, err := kube.CoreV1().Namespaces().Create(ctx,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%04d", prefix, i)}}, metav1.CreateOptions{})
		if err == nil {
			namespaces[i] = ns.Name
		}
		return err
	})
	return namespaces, err
}

// contenderFamily maps a many-namespaces contender to its -contenders name.
func contenderFamily(name string) string {
	if name == "apiserversource" {
		return name
	}
	return "ours"
}

func (b *bench) measureManyNamespaces(c *nsContender, namespaces []string, prefix string) (*nsResult, error) {
	ctx := context.Background()
	sink, err := receiver.Start("")
	if err != nil {
		return nil, err
	}
	defer sink.Stop()
	before, err := readTaskRunRequests(ctx, b.cp.Config)
	if err != nil {
		return nil, err
	}
	p := &process{log: filepath.Join(b.tmp, prefix+".many.log"), exited: make(chan struct{})}
	env := c.env(namespaces, sink.URL)
	if c.ours {
		profiling, err := b.profiling(p)
		if err != nil {
			return nil, err
		}
		env = append(env, profiling...)
	}
	if err := p.run(c.bin, env); err != nil {
		return nil, err
	}
	defer p.stop()
	res := &nsResult{name: c.name}
	start := time.Now()
	want := before.watches + float64(c.watches(len(namespaces)))
	logf("%s: started over %d namespaces; waiting for %v TaskRun watches", c.name, len(namespaces), want-before.watches)
	for {
		if err := p.alive(); err != nil {
			return nil, err
		}
		now, err := readTaskRunRequests(ctx, b.cp.Config)
		if err != nil {
			return nil, err
		}
		if now.watches >= want {
			res.readyAfter = time.Since(start)
			res.lists, res.watches = now.lists-before.lists, now.watches-before.watches
			break
		}
		if time.Since(start) > b.opts.timeout {
			if c.ours {
				return nil, fmt.Errorf("%v of %v TaskRun watches open after %s; its log ends:\n%s",
					now.watches-before.watches, want-before.watches, b.opts.timeout, p.logTail())
			}
			res.lists, res.watches = now.lists-before.lists, now.watches-before.watches
			logf("%s: only %v of %v TaskRun watches open after %s; running the workload anyway",
				c.name, res.watches, want-before.watches, b.opts.timeout)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	ticks, err := procstat.CPUTicks(p.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	res.cpuToReady = float64(ticks) / 100
	logf("%s: watching after %s (%v LIST, %v WATCH requests for TaskRuns)",
		c.name, res.readyAfter.Round(time.Millisecond), res.lists, res.watches)

	runs, last, err := b.runEveryNamespace(namespaces, prefix)
	if err != nil {
		return nil, err
	}
	logf("%s: %d TaskRuns run; waiting for their events", c.name, len(runs))
	for deadline := time.Now().Add(b.opts.timeout); ; time.Sleep(200 * time.Millisecond) {
		if err := p.alive(); err != nil {
			return nil, err
		}
		res.complete, res.events = c.delivered(runs, last, sink.Events())
		if res.complete || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(b.opts.settle)
	res.complete, res.events = c.delivered(runs, last, sink.Events())
	mem, err := procstat.ReadMemory(p.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	res.peakRSS = mem.Peak
	// What the heap holds once everything is cached: where a watch per
	// namespace's memory goes.
	if err := b.saveProfile(p, "heap?gc=1", prefix+".many.heap.pb.gz"); err != nil {
		return nil, err
	}
	if err := b.saveProfile(p, "goroutine", prefix+".many.goroutine.pb.gz"); err != nil {
		return nil, err
	}
	// The same as text, which ends with the runtime's MemStats: the
	// goroutine stacks (StackInuse) are in no profile.
	if err := b.saveProfile(p, "heap?debug=1", prefix+".many.heap.txt"); err != nil {
		return nil, err
	}
	if !res.complete && c.ours {
		return nil, fmt.Errorf("not every TaskRun's events arrived within %s (%d events)", b.opts.timeout, res.events)
	}
	logf("%s: %d events; %s", c.name, res.events, mem)
	return res, nil
}

// runEveryNamespace creates -namespace-taskruns one-step TaskRuns in every
// namespace and completes each (the step succeeded) in one status write;
// last is each TaskRun's resourceVersion after that write.
func (b *bench) runEveryNamespace(namespaces []string, prefix string) ([]*sim.Run, map[string]string, error) {
	ctx := context.Background()
	per := b.opts.namespaceTaskRuns
	runs := make([]*sim.Run, len(namespaces)*per)
	var mu sync.Mutex
	last := map[string]string{}
	err := parallel(len(runs), 16, func(i int) error {
		r, err := sim.Create(ctx, b.tekton, namespaces[i/per], fmt.Sprintf("%s-%d", prefix, i%per), nil, "s0")
		if err != nil {
			return err
		}
		runs[i] = r
		r.OnWrite = func(rv string, _ time.Time) {
			mu.Lock()
			defer mu.Unlock()
			last[r.Namespace+"/"+r.Name] = rv
		}
		return r.Complete(ctx, true, sim.Succeeded())
	})
	return runs, last, err
}

// printManyNamespaces prints the many-namespaces table.
func printManyNamespaces(results []*nsResult, opts options) {
	fmt.Printf("\nMany namespaces: %d namespaces x %d TaskRuns (one step each, run after the contender watches everything).\n",
		opts.namespaces, opts.namespaceTaskRuns)
	fmt.Println("Ready: every TaskRun watch the contender needs open at the apiserver (apiserver_longrunning_requests); LIST: apiserver_request_total.")
	fmt.Println()
	fmt.Printf("| %-28s | %14s | %9s | %6s | %6s | %8s | %9s | %14s |\n", "contender", "ready after", "CPU to it", "LIST", "WATCH", "events", "all there", "peak RSS (MiB)")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 30), strings.Repeat("-", 16), strings.Repeat("-", 11), strings.Repeat("-", 8),
		strings.Repeat("-", 8), strings.Repeat("-", 10), strings.Repeat("-", 11), strings.Repeat("-", 16))
	for _, r := range results {
		ready := r.readyAfter.Round(10 * time.Millisecond).String()
		if r.readyAfter == 0 {
			ready = "not in " + opts.timeout.String()
		}
		all := "yes"
		if !r.complete {
			all = "NO"
		}
		fmt.Printf("| %-28s | %14s | %8.2fs | %6.0f | %6.0f | %8d | %9s | %14.1f |\n", r.name, ready,
			r.cpuToReady, r.lists, r.watches, r.events, all, mib(r.peakRSS))
	}
	fmt.Println("(LIST 0: client-go 1.35 lists through a streaming WATCH, sendInitialEvents; CPU to it: at ready, or at the timeout;")
	fmt.Println(" all there: ours, both events of every step; ApiServerSource, the event of every TaskRun's last write.)")
	for _, r := range results {
		if r.name == "ours (cluster-wide watch)" {
			verdict := "met"
			if r.readyAfter > 10*time.Second {
				verdict = "MISSED"
			}
			fmt.Printf("ours (cluster-wide watch) ready after %s (target <= 10s: %s), %0.f LIST + %.0f WATCH for %d namespaces\n",
				r.readyAfter.Round(10*time.Millisecond), verdict, r.lists, r.watches, opts.namespaces)
		}
	}
}
