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
// informer (the floor), on one real kube-apiserver with one workload shape,
// and prints a table. hack/bench.sh runs it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/sourceconfig"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

type options struct {
	runs, steps int
	rate        float64 // step transitions per second
	cached      int     // TaskRuns in the cache for the RSS phase
}

func main() {
	opts := options{}
	quick := flag.Bool("quick", false, "small workload (CI keeps the benchmark from rotting)")
	flag.IntVar(&opts.runs, "taskruns", 500, "TaskRuns in the workload")
	flag.IntVar(&opts.steps, "steps", 5, "steps per TaskRun")
	flag.Float64Var(&opts.rate, "rate", 200, "target step transitions per second")
	flag.IntVar(&opts.cached, "cached", 5000, "TaskRuns cached for the peak RSS figure")
	flag.Parse()
	if *quick {
		opts.runs, opts.cached = 40, 400
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// contender is one program under measurement.
type contender struct {
	name string
	bin  string
	env  func(ns, sink string) []string
	// events reads what the contender produced: for each, when the status
	// write that caused it happened and when it arrived.
	events func(c *measurement) ([]sample, error)
}

type sample struct{ written, arrived time.Time }

type measurement struct {
	contender *contender
	ns        string
	sink      *receiver.Receiver
	proc      *exec.Cmd
	floorOut  string
	writes    *writeLog
	cpuTicks  int64
	events    []sample
	elapsed   time.Duration
	peakRSS   int64
}

// writeLog remembers when each status write happened, by resourceVersion and
// by (TaskRun, update index).
type writeLog struct {
	mu     sync.Mutex
	byRV   map[string]time.Time
	byStep map[string]time.Time
}

func (w *writeLog) add(rv, key string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.byRV[rv] = at
	if key != "" {
		w.byStep[key] = at
	}
}

func run(opts options) error {
	root := controlplane.RepoRoot()
	tmp, err := os.MkdirTemp("", "tss-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins := map[string]string{
		"ours":            "./cmd/receive_adapter",
		"apiserversource": "knative.dev/eventing/cmd/apiserver_receive_adapter",
		"floor":           "./test/bench/floor",
	}
	for name, pkg := range bins {
		out := filepath.Join(tmp, name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir, cmd.Stderr = root, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", pkg, err)
		}
		bins[name] = out
	}
	fmt.Fprintln(os.Stderr, "starting kube-apiserver and etcd")
	cp, err := controlplane.Start()
	if err != nil {
		return err
	}
	defer cp.Stop()

	common := func(ns, sink string) []string {
		return append(os.Environ(), "KUBECONFIG="+cp.KubeconfigPath, "K_SINK="+sink, "NAMESPACE="+ns,
			"NAME=bench", "K_LOGGING_CONFIG={}", "KUBE_API_QPS=100", "KUBE_API_BURST=200")
	}
	contenders := []*contender{{
		name: "ours", bin: bins["ours"],
		env: func(ns, sink string) []string {
			cfg := &sourceconfig.Config{SourceUID: "bench-" + ns, SourceName: "bench", SourceNamespace: ns,
				Namespaces: []string{ns}, NotBefore: metav1.Now(), LogMaxBytes: 0}
			encoded, _ := cfg.Encode()
			return append(common(ns, sink), "K_SOURCE_CONFIG="+encoded)
		},
		events: oursEvents,
	}, {
		name: "apiserversource", bin: bins["apiserversource"],
		env: func(ns, sink string) []string {
			cfg := fmt.Sprintf(`{"namespaces":[%q],"allNamespaces":false,"mode":"Resource","resources":[{"gvr":{"Group":"tekton.dev","Version":"v1","Resource":"taskruns"}}]}`, ns)
			return append(common(ns, sink), "K_SOURCE_CONFIG="+cfg)
		},
		events: apiServerSourceEvents,
	}, {
		name: "floor", bin: bins["floor"],
		env:    common,
		events: floorEvents,
	}}

	fmt.Fprintf(os.Stderr, "workload: %d TaskRuns x %d steps at %.0f transitions/s; RSS with %d TaskRuns cached\n",
		opts.runs, opts.steps, opts.rate, opts.cached)
	// One namespace of finished TaskRuns serves every contender's RSS figure.
	cachedNS, err := newNamespace(cp)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "creating %d finished TaskRuns\n", opts.cached)
	if err := createFinished(cp, cachedNS, opts); err != nil {
		return err
	}
	var results []*measurement
	for _, c := range contenders {
		m, err := measureThroughput(cp, c, opts, tmp)
		if err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		if m.peakRSS, err = measureRSS(c, cachedNS, opts, tmp); err != nil {
			return fmt.Errorf("%s RSS: %w", c.name, err)
		}
		results = append(results, m)
	}
	printTable(results, opts)
	return nil
}

func newNamespace(cp *controlplane.ControlPlane) (string, error) {
	ns, err := kubernetes.NewForConfigOrDie(cp.Config).CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return ns.Name, nil
}

func start(c *contender, ns string, sink *receiver.Receiver, floorOut string) (*exec.Cmd, error) {
	cmd := exec.Command(c.bin)
	cmd.Env = append(c.env(ns, sink.URL), "FLOOR_OUT="+floorOut)
	logFile, err := os.Create(floorOut + ".log")
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	return cmd, cmd.Start()
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func measureThroughput(cp *controlplane.ControlPlane, c *contender, opts options, tmp string) (*measurement, error) {
	ns, err := newNamespace(cp)
	if err != nil {
		return nil, err
	}
	sink, err := receiver.Start("")
	if err != nil {
		return nil, err
	}
	defer sink.Stop()
	m := &measurement{contender: c, ns: ns, sink: sink, floorOut: filepath.Join(tmp, c.name+".floor"),
		writes: &writeLog{byRV: map[string]time.Time{}, byStep: map[string]time.Time{}}}
	if m.proc, err = start(c, ns, sink, m.floorOut); err != nil {
		return nil, err
	}
	time.Sleep(3 * time.Second) // informer sync; excluded from the CPU figure
	before, err := cpuTicks(m.proc.Process.Pid)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "%s: driving the workload\n", c.name)
	began := time.Now()
	if err := drive(cp, ns, opts, m.writes); err != nil {
		stop(m.proc)
		return nil, err
	}
	// Let the contender catch up: wait until its output stops growing.
	want := opts.runs * opts.steps * 2
	if c.name != "floor" {
		_, _ = sink.WaitFor(context.Background(), 2*time.Minute, func(evs []cloudevents.Event) bool { return len(evs) >= want })
	}
	time.Sleep(2 * time.Second)
	after, err := cpuTicks(m.proc.Process.Pid)
	if err != nil {
		return nil, err
	}
	stop(m.proc)
	m.cpuTicks = after - before
	if m.events, err = c.events(m); err != nil {
		return nil, err
	}
	var last time.Time
	for _, s := range m.events {
		if s.arrived.After(last) {
			last = s.arrived
		}
	}
	m.elapsed = last.Sub(began)
	return m, nil
}

// drive runs the workload at the target transition rate: each TaskRun goes
// through steps+1 status writes (all running, then one more step succeeded
// per write), 2 transitions per write on average.
func drive(cp *controlplane.ControlPlane, ns string, opts options, writes *writeLog) error {
	client := tektonclient.NewForConfigOrDie(cp.Config)
	writesPerSecond := opts.rate * float64(opts.steps+1) / float64(2*opts.steps)
	tokens := make(chan struct{})
	stopTicker := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Duration(float64(time.Second) / writesPerSecond))
		defer t.Stop()
		for {
			select {
			case <-t.C:
				select {
				case tokens <- struct{}{}:
				case <-stopTicker:
					return
				}
			case <-stopTicker:
				return
			}
		}
	}()
	defer close(stopTicker)
	var names []string
	for i := 0; i < opts.steps; i++ {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	runs := make([]*sim.Run, opts.runs)
	for i := range runs {
		r, err := sim.Create(context.Background(), client, ns, fmt.Sprintf("run-%04d", i), nil, names...)
		if err != nil {
			return err
		}
		runs[i] = r
	}
	var wg sync.WaitGroup
	errs := make(chan error, opts.runs)
	sem := make(chan struct{}, 32)
	for _, r := range runs {
		wg.Add(1)
		go func(r *sim.Run) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			for k := 0; k <= opts.steps; k++ {
				<-tokens
				key := fmt.Sprintf("%s/%d", r.Name, k)
				r.OnWrite = func(rv string, at time.Time) { writes.add(rv, key, at) }
				states := make([]sim.State, opts.steps)
				for i := range states {
					if i < k {
						states[i] = sim.Succeeded()
					} else {
						states[i] = sim.Running()
					}
				}
				if err := r.SetSteps(context.Background(), states...); err != nil {
					errs <- err
					return
				}
			}
		}(r)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// oursEvents maps each step event to the write that made it: started of
// step i comes from write i, succeeded of step i from write i+1.
func oursEvents(m *measurement) ([]sample, error) {
	evs, arrivals := m.sink.Events(), m.sink.Arrivals()
	var out []sample
	for i, e := range evs {
		step, err := strconv.Atoi(strings.TrimPrefix(e.Subject(), "s"))
		if err != nil {
			return nil, fmt.Errorf("unexpected subject %q", e.Subject())
		}
		if strings.HasSuffix(e.Type(), ".succeeded.v1") {
			step++
		}
		key := fmt.Sprintf("%v/%d", e.Extensions()["tektontaskrun"], step)
		if w, ok := m.writes.byStep[key]; ok {
			out = append(out, sample{w, arrivals[i]})
		}
	}
	return out, nil
}

// apiServerSourceEvents maps each event (the TaskRun in Resource mode) to its
// resourceVersion's write.
func apiServerSourceEvents(m *measurement) ([]sample, error) {
	evs, arrivals := m.sink.Events(), m.sink.Arrivals()
	var out []sample
	for i, e := range evs {
		var obj struct {
			Metadata struct {
				ResourceVersion string `json:"resourceVersion"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(e.Data(), &obj); err != nil {
			return nil, err
		}
		if w, ok := m.writes.byRV[obj.Metadata.ResourceVersion]; ok {
			out = append(out, sample{w, arrivals[i]})
		}
	}
	return out, nil
}

func floorEvents(m *measurement) ([]sample, error) {
	f, err := os.Open(m.floorOut)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []sample
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		var rv string
		var at int64
		if _, err := fmt.Sscanf(scanner.Text(), "%s %d", &rv, &at); err != nil {
			return nil, err
		}
		if w, ok := m.writes.byRV[rv]; ok {
			out = append(out, sample{w, time.Unix(0, at)})
		}
	}
	return out, scanner.Err()
}

// measureRSS starts the contender on the namespace of opts.cached finished
// TaskRuns and reads its peak RSS once its cache holds them all.
func measureRSS(c *contender, ns string, opts options, tmp string) (int64, error) {
	sink, err := receiver.Start("")
	if err != nil {
		return 0, err
	}
	defer sink.Stop()
	cmd, err := start(c, ns, sink, filepath.Join(tmp, c.name+".rss"))
	if err != nil {
		return 0, err
	}
	defer stop(cmd)
	if c.name == "apiserversource" {
		// It sends an event per cached object at start; let it finish.
		_, _ = sink.WaitForCount(context.Background(), 2*time.Minute, opts.cached)
	}
	time.Sleep(5 * time.Second)
	return peakRSS(cmd.Process.Pid)
}

func createFinished(cp *controlplane.ControlPlane, ns string, opts options) error {
	client := tektonclient.NewForConfigOrDie(cp.Config)
	var names []string
	for i := 0; i < opts.steps; i++ {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	sem := make(chan struct{}, 16)
	errs := make(chan error, opts.cached)
	var wg sync.WaitGroup
	for i := 0; i < opts.cached; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := sim.Create(context.Background(), client, ns, fmt.Sprintf("done-%05d", i), nil, names...)
			if err == nil {
				states := make([]sim.State, opts.steps)
				for j := range states {
					states[j] = sim.Succeeded()
				}
				err = r.SetSteps(context.Background(), states...)
			}
			if err == nil {
				err = r.Finish(context.Background(), true)
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// cpuTicks is the process's user+system CPU time in clock ticks (1/100 s).
func cpuTicks(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime, nil
}

// peakRSS is VmHWM in bytes.
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

func percentile(samples []sample, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	lat := make([]time.Duration, len(samples))
	for i, s := range samples {
		lat[i] = s.arrived.Sub(s.written)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[int(p*float64(len(lat)-1))]
}

func printTable(results []*measurement, opts options) {
	fmt.Printf("\nWorkload: %d TaskRuns x %d steps, target %.0f step transitions/s; peak RSS with %d TaskRuns cached.\n\n",
		opts.runs, opts.steps, opts.rate, opts.cached)
	fmt.Printf("| %-16s | %8s | %18s | %14s | %9s | %9s | %9s |\n", "contender", "events", "CPU s / 1000 events", "peak RSS (MiB)", "p50", "p99", "events/s")
	fmt.Println("|------------------|----------|---------------------|----------------|-----------|-----------|-----------|")
	byName := map[string]*measurement{}
	for _, m := range results {
		byName[m.contender.name] = m
		fmt.Printf("| %-16s | %8d | %19.3f | %14.1f | %9s | %9s | %9.0f |\n", m.contender.name, len(m.events),
			cpuPer1000(m), float64(m.peakRSS)/(1<<20), percentile(m.events, 0.5).Round(100*time.Microsecond),
			percentile(m.events, 0.99).Round(100*time.Microsecond), float64(len(m.events))/m.elapsed.Seconds())
	}
	ours, asrc, floor := byName["ours"], byName["apiserversource"], byName["floor"]
	fmt.Printf("\nours / apiserversource: CPU per event %.2fx (target <= 0.5x), peak RSS %.2fx (target <= 0.5x)\n",
		cpuPer1000(ours)/cpuPer1000(asrc), float64(ours.peakRSS)/float64(asrc.peakRSS))
	fmt.Printf("ours / floor:           CPU per event %.2fx, peak RSS %.2fx\n",
		cpuPer1000(ours)/cpuPer1000(floor), float64(ours.peakRSS)/float64(floor.peakRSS))
	fmt.Printf("p99 latency: ours %s vs floor %s + 10ms = %s (target: ours <= that)\n",
		percentile(ours.events, 0.99).Round(100*time.Microsecond), percentile(floor.events, 0.99).Round(100*time.Microsecond),
		(percentile(floor.events, 0.99) + 10*time.Millisecond).Round(100*time.Microsecond))
}

func cpuPer1000(m *measurement) float64 {
	if len(m.events) == 0 {
		return 0
	}
	return float64(m.cpuTicks) / 100 / float64(len(m.events)) * 1000
}
