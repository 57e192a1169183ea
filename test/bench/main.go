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

// Command bench measures the receive adapter side by side with Knative's
// ApiServerSource adapter (watching TaskRuns in Resource mode) and a bare
// informer (the floor), alone and sending one event per update
// (floor+send), on one real kube-apiserver with one workload shape, and
// prints a table. hack/bench.sh runs it.
//
// How it measures, per contender in turn on one kube-apiserver:
//
//   - throughput, -rounds times with the contenders' order rotated each
//     round: the contender watches a fresh namespace. Once it watches
//     (its "cache synced" log line; for ApiServerSource, which keeps no
//     cache, the event of a probe write), the CPU time it has used so far is
//     read from /proc/<pid>/stat, the workload runs, and once every expected
//     event has arrived (plus -settle) it is read again. Latency is from the
//     issue of each status write to the arrival at the sink (or, for the
//     floor, at its event handler) of what the write caused.
//   - RSS: the contender watches the namespace of -cached finished TaskRuns;
//     VmHWM is read -rss-settle after its initial list was processed.
//
// The run fails (exit status 1) when a contender does not deliver every
// expected event within -timeout; performance targets are only reported.
// BENCH_PPROF=<dir> saves CPU and heap profiles of the contenders that serve
// them (knative adapter/v2: ours and ApiServerSource) into dir.
//
// The files, one job each: main.go the flags and the top-level run;
// measure.go one contender's throughput and RSS runs; process.go building,
// starting and stopping the contenders and reading their CPU, memory and
// profiles; workload.go the TaskRuns written; tally.go matching the events
// that arrive to those writes; report.go the summary and the printed table.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/journaltest"
)

type options struct {
	runs, steps int
	concurrent  int     // TaskRuns running at once
	rounds      int     // throughput rounds per contender, in rotated order
	rate        float64 // step transitions per second
	cached      int     // TaskRuns in the cache for the RSS phase
	// The many-namespaces workload: namespaces (0: not run), each with
	// namespaceTaskRuns TaskRuns.
	namespaces, namespaceTaskRuns int
	replicas                      []int // replica counts of ours to run the workload with
	// replicaSinkDelay: the replica counts are also run with a sink
	// answering each event after this long (0: not).
	replicaSinkDelay time.Duration
	settle           time.Duration
	rssSettle        time.Duration
	timeout          time.Duration
	pprofDir         string
	only             map[string]bool // contenders to run; all when empty
}

var began = time.Now()

// logf reports progress on stderr with the time since the start.
func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	opts := options{pprofDir: os.Getenv("BENCH_PPROF")}
	quick := flag.Bool("quick", false, "small workload and short settle times (CI runs it so the benchmark cannot rot); explicit flags still win")
	flag.IntVar(&opts.runs, "taskruns", 500, "TaskRuns in the workload (0: only the many-namespaces workload)")
	flag.IntVar(&opts.steps, "steps", 5, "steps per TaskRun")
	flag.Float64Var(&opts.rate, "rate", 200, "target step transitions per second")
	flag.IntVar(&opts.concurrent, "concurrent", 32, "TaskRuns running at once: more makes each TaskRun, and its steps, last longer at the same rate")
	flag.IntVar(&opts.cached, "cached", 5000, "TaskRuns cached for the peak RSS figure")
	flag.IntVar(&opts.namespaces, "namespaces", 1000, "namespaces of the many-namespaces workload (0: not run)")
	flag.IntVar(&opts.namespaceTaskRuns, "namespace-taskruns", 5, "TaskRuns per namespace in the many-namespaces workload")
	replicas := flag.String("replicas", "1,2,4", "replica counts of ours to run the throughput workload with ('' : not run)")
	flag.DurationVar(&opts.replicaSinkDelay, "replicas-sink-delay", 200*time.Millisecond,
		"the replica counts are also run with a sink that answers each event after this long, slower than one replica's sends (0: not run)")
	flag.IntVar(&opts.rounds, "rounds", 3, "throughput rounds per contender, the contenders' order rotated each round: CPU and events/s are the median round, latency percentiles are over every round's samples")
	flag.DurationVar(&opts.settle, "settle", 2*time.Second,
		"idle time after the last expected event before the second CPU reading (covers the adapter's 1 s checkpoint interval)")
	flag.DurationVar(&opts.rssSettle, "rss-settle", 5*time.Second, "time after the initial list was processed before reading peak RSS")
	flag.DurationVar(&opts.timeout, "timeout", 3*time.Minute, "how long a contender may take to deliver every expected event")
	only := flag.String("contenders", "", "comma-separated subset of ours,apiserversource,floor,floor+send to run (for profiling; the ratios need all four)")
	flag.Parse()
	if *only != "" {
		opts.only = map[string]bool{}
		for _, name := range strings.Split(*only, ",") {
			if name != "ours" && name != "apiserversource" && name != "floor" && name != "floor+send" {
				fmt.Fprintf(os.Stderr, "bench: unknown contender %q (ours, apiserversource, floor, floor+send)\n", name)
				os.Exit(2)
			}
			opts.only[name] = true
		}
	}
	if *quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, apply := range map[string]func(){
			"taskruns":           func() { opts.runs = 40 },
			"rounds":             func() { opts.rounds = 1 },
			"cached":             func() { opts.cached = 400 },
			"settle":             func() { opts.settle = 1500 * time.Millisecond },
			"rss-settle":         func() { opts.rssSettle = time.Second },
			"timeout":            func() { opts.timeout = time.Minute },
			"namespaces":         func() { opts.namespaces = 20 },
			"namespace-taskruns": func() { opts.namespaceTaskRuns = 2 },
		} {
			if !set[name] {
				apply()
			}
		}
	}
	var err error
	if opts.replicas, err = replicaCounts(*replicas); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if opts.concurrent < 1 || opts.rounds < 1 {
		fmt.Fprintln(os.Stderr, "bench: -concurrent and -rounds must be at least 1")
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	logf("done")
}

type bench struct {
	opts   options
	cp     *controlplane.ControlPlane
	tekton tektonclient.Interface
	tmp    string
}

func run(opts options) error {
	tmp, err := os.MkdirTemp("", "tss-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if opts.pprofDir != "" {
		if err := os.MkdirAll(opts.pprofDir, 0o755); err != nil {
			return err
		}
	}
	logf("building the contenders")
	bins, err := build(controlplane.RepoRoot(), tmp)
	if err != nil {
		return err
	}
	logf("starting kube-apiserver and etcd")
	cp, err := controlplane.Start()
	if err != nil {
		return err
	}
	defer cp.Stop()
	b := &bench{opts: opts, cp: cp, tekton: tektonclient.NewForConfigOrDie(cp.Config), tmp: tmp}

	common := func(ns, sink string) []string {
		return append(os.Environ(), "KUBECONFIG="+cp.KubeconfigPath, "K_SINK="+sink, "NAMESPACE="+ns,
			"NAME=bench", "K_LOGGING_CONFIG={}", "KUBE_API_QPS=100", "KUBE_API_BURST=200")
	}
	contenders := []*contender{{
		name: "ours", bin: bins["ours"],
		env: func(ns, sink string) []string {
			cfg := &adaptercontract.Config{SourceUID: "bench-" + ns, SourceName: "bench", SourceNamespace: ns,
				Namespaces: []string{ns}, NotBefore: metav1.Now(), LogMaxBytes: 0}
			encoded, _ := cfg.Encode()
			// As the controller does: the adapter does not create it.
			if err := journaltest.Create(context.Background(), kubernetes.NewForConfigOrDie(cp.Config), cfg); err != nil {
				logf("%v", err)
			}
			return append(common(ns, sink), "K_SOURCE_CONFIG="+encoded)
		},
		// pkg/adapter logs it after cache.WaitForCacheSync.
		readyLog: "Watching TaskRuns",
		pprof:    true,
		tally:    oursTally,
		// One started and one succeeded event per step.
		want: func(m *measurement) int { return m.opts.runs * m.opts.steps * 2 },
	}, {
		name: "apiserversource", bin: bins["apiserversource"],
		env: func(ns, sink string) []string {
			cfg := fmt.Sprintf(`{"namespaces":[%q],"allNamespaces":false,"mode":"Resource","resources":[{"gvr":{"Group":"tekton.dev","Version":"v1","Resource":"taskruns"}}]}`, ns)
			return append(common(ns, sink), "K_SOURCE_CONFIG="+cfg)
		},
		pprof: true,
		tally: apiServerSourceTally,
		want:  writesWanted,
	}, {
		name: "floor", bin: bins["floor"],
		env:      common,
		readyLog: "floor: cache synced",
		tally:    floorTally,
		want:     writesWanted,
	}, {
		name: "floor+send", bin: bins["floor"],
		env: func(ns, sink string) []string {
			return append(common(ns, sink), "FLOOR_SEND=true")
		},
		readyLog: "floor: cache synced",
		tally:    floorSendTally,
		want:     writesWanted,
	}}

	if opts.runs > 0 {
		if err := b.throughputAndRSS(contenders); err != nil {
			return err
		}
	}
	if ours := contenders[0]; opts.runs > 0 && len(opts.replicas) > 0 && (opts.only == nil || opts.only["ours"]) {
		delays := []time.Duration{0}
		if opts.replicaSinkDelay > 0 {
			delays = append(delays, opts.replicaSinkDelay)
		}
		for _, delay := range delays {
			var replicated []*replicaResult
			for _, n := range opts.replicas {
				r, err := b.measureReplicas(ours, n, delay)
				if err != nil {
					return fmt.Errorf("replicas: %w", err)
				}
				replicated = append(replicated, r)
			}
			printReplicas(replicated, opts, delay)
		}
	}
	if opts.namespaces > 0 && (opts.only == nil || opts.only["ours"] || opts.only["apiserversource"]) {
		many, err := b.manyNamespaces(bins)
		if err != nil {
			return fmt.Errorf("many namespaces: %w", err)
		}
		printManyNamespaces(many, opts)
	}
	return nil
}

// throughputAndRSS runs the throughput rounds and the RSS run of the
// contenders and prints their table.
func (b *bench) throughputAndRSS(contenders []*contender) error {
	logf("workload: %d TaskRuns x %d steps at %.0f transitions/s; RSS with %d TaskRuns cached",
		b.opts.runs, b.opts.steps, b.opts.rate, b.opts.cached)
	// One namespace of finished TaskRuns serves every contender's RSS figure.
	cachedNS, err := b.newNamespace()
	if err != nil {
		return err
	}
	logf("creating %d finished TaskRuns", b.opts.cached)
	if err := b.createFinished(cachedNS); err != nil {
		return err
	}
	var active []*contender
	for _, c := range contenders {
		if b.opts.only == nil || b.opts.only[c.name] {
			active = append(active, c)
		}
	}
	// Whoever runs first meets an apiserver still busy with the cached
	// TaskRuns just created, and later ones a larger etcd: rotating the
	// order over the rounds gives each contender each position.
	rounds := map[*contender][]*measurement{}
	for r := 0; r < b.opts.rounds; r++ {
		for i := range active {
			c := active[(i+r)%len(active)]
			if b.opts.rounds > 1 {
				logf("%s: round %d of %d", c.name, r+1, b.opts.rounds)
			}
			m, err := b.measureThroughput(c)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			rounds[c] = append(rounds[c], m)
		}
	}
	var results []*summary
	for _, c := range active {
		s := summarize(c.name, rounds[c])
		var err error
		if s.peakRSS, err = b.measureRSS(c, cachedNS); err != nil {
			return fmt.Errorf("%s RSS: %w", c.name, err)
		}
		results = append(results, s)
	}
	printTable(results, b.opts)
	return nil
}
