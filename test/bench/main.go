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
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
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
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"knative.dev/pkg/apis"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/sourceconfig"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/receiver"
	sim "github.com/tektonstep/tekton-step-source/test/tektonsim"
)

type options struct {
	runs, steps int
	concurrent  int     // TaskRuns running at once
	rounds      int     // throughput rounds per contender, in rotated order
	rate        float64 // step transitions per second
	cached      int     // TaskRuns in the cache for the RSS phase
	settle      time.Duration
	rssSettle   time.Duration
	timeout     time.Duration
	pprofDir    string
	only        map[string]bool // contenders to run; all when empty
}

var began = time.Now()

// logf reports progress on stderr with the time since the start.
func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
}

func main() {
	opts := options{pprofDir: os.Getenv("BENCH_PPROF")}
	quick := flag.Bool("quick", false, "small workload and short settle times (CI runs it so the benchmark cannot rot); explicit flags still win")
	flag.IntVar(&opts.runs, "taskruns", 500, "TaskRuns in the workload")
	flag.IntVar(&opts.steps, "steps", 5, "steps per TaskRun")
	flag.Float64Var(&opts.rate, "rate", 200, "target step transitions per second")
	flag.IntVar(&opts.concurrent, "concurrent", 32, "TaskRuns running at once: more makes each TaskRun, and its steps, last longer at the same rate")
	flag.IntVar(&opts.cached, "cached", 5000, "TaskRuns cached for the peak RSS figure")
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
			"taskruns":   func() { opts.runs = 40 },
			"rounds":     func() { opts.rounds = 1 },
			"cached":     func() { opts.cached = 400 },
			"settle":     func() { opts.settle = 1500 * time.Millisecond },
			"rss-settle": func() { opts.rssSettle = time.Second },
			"timeout":    func() { opts.timeout = time.Minute },
		} {
			if !set[name] {
				apply()
			}
		}
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

// contender is one program under measurement.
type contender struct {
	name string
	bin  string
	env  func(ns, sink string) []string
	// readyLog is what the contender logs once its informer cache has
	// synced. Without one (ApiServerSource: a reflector into a store that
	// only sends events) readiness is the arrival of a probe write's event.
	readyLog string
	// pprof: serves Go's profiles when K_OBSERVABILITY_CONFIG enables them.
	pprof bool
	// tally looks at what the contender produced since it last looked.
	tally func(m *measurement) error
	// want is how many write-caused events the workload must produce.
	want func(m *measurement) int
}

type sample struct{ written, arrived time.Time }

type measurement struct {
	contender *contender
	opts      options
	ns        string
	sink      *receiver.Receiver
	proc      *process
	writes    *writeLog

	// Tally state: how far the output was read, the events produced in the
	// window (the CPU denominator), those traced to a status write (the
	// latency samples), and the keys already counted.
	read      int
	delivered int
	samples   []sample
	seen      map[string]bool

	cpuTicks int64
}

// writeLog remembers when each status write was issued, by resourceVersion
// and by (TaskRun, update index).
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

func (w *writeLog) first() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, at := range w.byRV {
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	return first
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
			cfg := &sourceconfig.Config{SourceUID: "bench-" + ns, SourceName: "bench", SourceNamespace: ns,
				Namespaces: []string{ns}, NotBefore: metav1.Now(), LogMaxBytes: 0}
			encoded, _ := cfg.Encode()
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

	logf("workload: %d TaskRuns x %d steps at %.0f transitions/s; RSS with %d TaskRuns cached",
		opts.runs, opts.steps, opts.rate, opts.cached)
	// One namespace of finished TaskRuns serves every contender's RSS figure.
	cachedNS, err := b.newNamespace()
	if err != nil {
		return err
	}
	logf("creating %d finished TaskRuns", opts.cached)
	if err := b.createFinished(cachedNS); err != nil {
		return err
	}
	var active []*contender
	for _, c := range contenders {
		if opts.only == nil || opts.only[c.name] {
			active = append(active, c)
		}
	}
	// Whoever runs first meets an apiserver still busy with the cached
	// TaskRuns just created, and later ones a larger etcd: rotating the
	// order over the rounds gives each contender each position.
	rounds := map[*contender][]*measurement{}
	for r := 0; r < opts.rounds; r++ {
		for i := range active {
			c := active[(i+r)%len(active)]
			if opts.rounds > 1 {
				logf("%s: round %d of %d", c.name, r+1, opts.rounds)
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
	printTable(results, opts)
	return nil
}

// summary is a contender's figures over its rounds.
type summary struct {
	name string
	// events is what the contender produced per round (the CPU
	// denominator), cpuTicks and eventsPerSecond the median round's, and
	// samples every round's latency samples.
	events          int
	cpuTicks        int64
	eventsPerSecond float64
	samples         []sample
	peakRSS         int64
}

func summarize(name string, ms []*measurement) *summary {
	s := &summary{name: name, events: ms[0].delivered}
	var ticks []int64
	var rates []float64
	for _, m := range ms {
		ticks = append(ticks, m.cpuTicks)
		rates = append(rates, eventsPerSecond(m))
		s.samples = append(s.samples, m.samples...)
	}
	sort.Slice(ticks, func(i, j int) bool { return ticks[i] < ticks[j] })
	sort.Float64s(rates)
	s.cpuTicks, s.eventsPerSecond = ticks[len(ticks)/2], rates[len(rates)/2]
	return s
}

// build compiles the contenders in parallel (mostly linking, with a warm
// build cache).
func build(root, tmp string) (map[string]string, error) {
	pkgs := map[string]string{
		"ours":            "./cmd/receive_adapter",
		"apiserversource": "knative.dev/eventing/cmd/apiserver_receive_adapter",
		"floor":           "./test/bench/floor",
	}
	bins := map[string]string{}
	errs := make(chan error, len(pkgs))
	var wg sync.WaitGroup
	for name, pkg := range pkgs {
		out := filepath.Join(tmp, name)
		bins[name] = out
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command("go", "build", "-o", out, pkg)
			cmd.Dir, cmd.Stderr = root, os.Stderr
			if err := cmd.Run(); err != nil {
				errs <- fmt.Errorf("building %s: %w", pkg, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return bins, <-errs
}

func (b *bench) newNamespace() (string, error) {
	ns, err := kubernetes.NewForConfigOrDie(b.cp.Config).CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "bench-"}}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return ns.Name, nil
}

// process is a running contender.
type process struct {
	cmd       *exec.Cmd
	log       string
	exited    chan struct{}
	pprofBase string // http://127.0.0.1:<port> when profiling
}

func (b *bench) start(c *contender, ns string, sink *receiver.Receiver, base string) (*process, error) {
	p := &process{log: base + ".log", exited: make(chan struct{})}
	env := append(c.env(ns, sink.URL), "FLOOR_OUT="+base)
	if c.pprof && b.opts.pprofDir != "" {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		p.pprofBase = fmt.Sprintf("http://127.0.0.1:%d", port)
		env = append(env, `K_OBSERVABILITY_CONFIG={"runtime":{"profiling":"enabled"}}`, fmt.Sprintf("PROFILING_PORT=%d", port))
	}
	p.cmd = exec.Command(c.bin)
	p.cmd.Env = env
	logFile, err := os.Create(p.log)
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	go func() {
		_ = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// stop sends SIGTERM and waits (SIGKILL after 30 s).
func (p *process) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *process) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("exited early (%s); its log ends:\n%s", p.cmd.ProcessState, p.logTail())
	default:
		return nil
	}
}

func (p *process) logTail() string {
	data, _ := os.ReadFile(p.log)
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return string(data)
}

// waitReady waits until the contender watches: its ready log line, or the
// event of a label patch on the TaskRun probe (created when missing).
func (b *bench) waitReady(c *contender, m *measurement, probe string) error {
	deadline := time.Now().Add(2 * time.Minute)
	if c.readyLog != "" {
		for {
			if err := m.proc.alive(); err != nil {
				return err
			}
			if data, _ := os.ReadFile(m.proc.log); bytes.Contains(data, []byte(c.readyLog)) {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("no %q in its log after 2m; its log ends:\n%s", c.readyLog, m.proc.logTail())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ctx := context.Background()
	taskruns := b.tekton.TektonV1().TaskRuns(m.ns)
	if _, err := taskruns.Get(ctx, probe, metav1.GetOptions{}); err != nil {
		if _, err := taskruns.Create(ctx, &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{Name: probe},
			Spec: pipelinev1.TaskRunSpec{TaskSpec: &pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{Name: "s", Image: "busybox"}}}}},
			metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating the probe TaskRun: %w", err)
		}
	}
	read := 0
	for i := 0; ; i++ {
		if err := m.proc.alive(); err != nil {
			return err
		}
		patch := fmt.Sprintf(`{"metadata":{"labels":{"bench-probe":"%d"}}}`, i)
		if _, err := taskruns.Patch(ctx, probe, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("patching the probe TaskRun: %w", err)
		}
		for wait := time.Now().Add(500 * time.Millisecond); time.Now().Before(wait); time.Sleep(20 * time.Millisecond) {
			evs := m.sink.Events()
			for _, e := range evs[read:] {
				if obj, err := objectOf(e.Data()); err == nil && obj.Metadata.Name == probe {
					return nil
				}
			}
			read = len(evs)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no event for the probe TaskRun after 2m; its log ends:\n%s", m.proc.logTail())
		}
	}
}

func (b *bench) measureThroughput(c *contender) (*measurement, error) {
	ns, err := b.newNamespace()
	if err != nil {
		return nil, err
	}
	sink, err := receiver.Start("")
	if err != nil {
		return nil, err
	}
	defer sink.Stop()
	m := &measurement{contender: c, opts: b.opts, ns: ns, sink: sink, seen: map[string]bool{},
		writes: &writeLog{byRV: map[string]time.Time{}, byStep: map[string]time.Time{}}}
	if m.proc, err = b.start(c, ns, sink, filepath.Join(b.tmp, c.name+".throughput")); err != nil {
		return nil, err
	}
	defer m.proc.stop()
	if err := b.waitReady(c, m, "probe"); err != nil {
		return nil, err
	}
	// Whatever arrived so far (probe events) is not part of the workload.
	m.read = len(sink.Events())
	before, err := cpuTicks(m.proc.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	writesPerSecond := b.opts.rate * float64(b.opts.steps+1) / float64(2*b.opts.steps)
	// Generous: the apiserver may not keep up with the target rate; the
	// profile's idle tail costs nothing.
	cpuProfile := b.profileCPU(m, 2*time.Duration(float64(b.opts.runs*(b.opts.steps+1))/writesPerSecond*float64(time.Second))+10*time.Second)
	logf("%s: driving the workload", c.name)
	if err := b.drive(ns, m.writes); err != nil {
		return nil, err
	}
	want := c.want(m)
	logf("%s: workload written; waiting for %d events", c.name, want)
	for deadline := time.Now().Add(b.opts.timeout); ; time.Sleep(100 * time.Millisecond) {
		if err := m.proc.alive(); err != nil {
			return nil, err
		}
		if err := c.tally(m); err != nil {
			return nil, err
		}
		if len(m.samples) >= want || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(b.opts.settle)
	after, err := cpuTicks(m.proc.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	if err := <-cpuProfile; err != nil {
		return nil, err
	}
	if err := b.saveProfile(m.proc, "heap?gc=1", c.name+".throughput.heap.pb.gz"); err != nil {
		return nil, err
	}
	m.proc.stop()
	if err := c.tally(m); err != nil { // the floor flushes the rest on SIGTERM
		return nil, err
	}
	m.cpuTicks = after - before
	if len(m.samples) < want {
		return nil, fmt.Errorf("delivered %d of the %d expected events within %s", len(m.samples), want, b.opts.timeout)
	}
	logf("%s: %d events, %.2f s CPU", c.name, m.delivered, float64(m.cpuTicks)/100)
	return m, nil
}

// profileCPU fetches a CPU profile of the given length in the background
// when profiling; the channel reports the outcome.
func (b *bench) profileCPU(m *measurement, length time.Duration) <-chan error {
	done := make(chan error, 1)
	if m.proc.pprofBase == "" {
		done <- nil
		return done
	}
	seconds := int(math.Ceil(length.Seconds()))
	go func() {
		done <- b.saveProfile(m.proc, fmt.Sprintf("profile?seconds=%d", seconds), m.contender.name+".throughput.cpu.pb.gz")
	}()
	return done
}

func (b *bench) saveProfile(p *process, path, file string) error {
	if p.pprofBase == "" {
		return nil
	}
	resp, err := http.Get(p.pprofBase + "/debug/pprof/" + path)
	if err != nil {
		return fmt.Errorf("profile %s: %w", path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile %s: %s: %s", path, resp.Status, data)
	}
	logf("saved %s", filepath.Join(b.opts.pprofDir, file))
	return os.WriteFile(filepath.Join(b.opts.pprofDir, file), data, 0o644)
}

// drive runs the workload at the target transition rate: each TaskRun goes
// through steps+1 status writes (all running, then one more step succeeded
// per write, the last one also completing the TaskRun), 2 transitions per
// write on average.
func (b *bench) drive(ns string, writes *writeLog) error {
	opts := b.opts
	var names []string
	for i := 0; i < opts.steps; i++ {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	runs := make([]*sim.Run, opts.runs)
	if err := parallel(opts.runs, 16, func(i int) error {
		r, err := sim.Create(context.Background(), b.tekton, ns, fmt.Sprintf("run-%04d", i), nil, names...)
		runs[i] = r
		return err
	}); err != nil {
		return err
	}
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
	return parallel(opts.runs, opts.concurrent, func(i int) error {
		r := runs[i]
		for k := 0; k <= opts.steps; k++ {
			<-tokens
			key := fmt.Sprintf("%s/%d", r.Name, k)
			r.OnWrite = func(rv string, at time.Time) { writes.add(rv, key, at) }
			write := r.SetSteps
			if k == opts.steps {
				// The last step's end is the TaskRun's, in one write.
				write = func(ctx context.Context, states ...sim.State) error { return r.Complete(ctx, true, states...) }
			}
			if err := write(context.Background(), sim.Progressed(opts.steps, k)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// parallel runs f(0..n-1) with at most width at a time and returns the
// first error.
func parallel(n, width int, f func(i int) error) error {
	sem := make(chan struct{}, width)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func writesWanted(m *measurement) int {
	m.writes.mu.Lock()
	defer m.writes.mu.Unlock()
	return len(m.writes.byRV)
}

// oursTally maps each step event to the write that made it: started of step
// i comes from write i, succeeded of step i from write i+1. A repeated
// event counts as delivered but gives no second sample.
func oursTally(m *measurement) error {
	evs, arrivals := m.sink.Events(), m.sink.Arrivals()
	m.writes.mu.Lock()
	defer m.writes.mu.Unlock()
	for i := m.read; i < len(evs); i++ {
		e := evs[i]
		m.delivered++
		step, err := strconv.Atoi(strings.TrimPrefix(e.Subject(), "s"))
		if err != nil {
			return fmt.Errorf("unexpected subject %q", e.Subject())
		}
		if strings.HasSuffix(e.Type(), ".succeeded.v1") {
			step++
		}
		key := fmt.Sprintf("%v/%d", e.Extensions()["tektontaskrun"], step)
		if w, ok := m.writes.byStep[key]; ok && !m.seen[key+e.Type()] {
			m.seen[key+e.Type()] = true
			m.samples = append(m.samples, sample{w, arrivals[i]})
		}
	}
	m.read = len(evs)
	return nil
}

type object struct {
	Metadata struct {
		Name            string `json:"name"`
		ResourceVersion string `json:"resourceVersion"`
	} `json:"metadata"`
}

func objectOf(data []byte) (object, error) {
	var obj object
	err := json.Unmarshal(data, &obj)
	return obj, err
}

// apiServerSourceTally maps each event (the TaskRun in Resource mode) to its
// resourceVersion's write; the probe's events are not the workload's.
func apiServerSourceTally(m *measurement) error {
	return tallyByResourceVersion(m, func(e cloudevents.Event) (string, bool, error) {
		obj, err := objectOf(e.Data())
		if err != nil {
			return "", false, err
		}
		return obj.Metadata.ResourceVersion, obj.Metadata.Name != "probe", nil
	})
}

// floorSendTally matches the floor+send's events (id: the resourceVersion)
// to the writes.
func floorSendTally(m *measurement) error {
	return tallyByResourceVersion(m, func(e cloudevents.Event) (string, bool, error) { return e.ID(), true, nil })
}

// tallyByResourceVersion counts the sink's new events that rv says belong
// to the workload, and samples the latency of the first event of each
// resourceVersion written.
func tallyByResourceVersion(m *measurement, rv func(cloudevents.Event) (version string, counts bool, err error)) error {
	evs, arrivals := m.sink.Events(), m.sink.Arrivals()
	m.writes.mu.Lock()
	defer m.writes.mu.Unlock()
	for i := m.read; i < len(evs); i++ {
		version, counts, err := rv(evs[i])
		if err != nil {
			return err
		}
		if !counts {
			continue
		}
		m.delivered++
		if w, ok := m.writes.byRV[version]; ok && !m.seen[version] {
			m.seen[version] = true
			m.samples = append(m.samples, sample{w, arrivals[i]})
		}
	}
	m.read = len(evs)
	return nil
}

// floorTally reads the floor's "rv unixnano" lines (flushed every 100 ms).
func floorTally(m *measurement) error {
	data, err := os.ReadFile(filepath.Join(filepath.Dir(m.proc.log), m.contender.name+".throughput"))
	if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	lines = lines[:len(lines)-1] // complete lines only
	m.writes.mu.Lock()
	defer m.writes.mu.Unlock()
	for _, line := range lines[min(m.read, len(lines)):] {
		var rv string
		var at int64
		if _, err := fmt.Sscanf(line, "%s %d", &rv, &at); err != nil {
			return fmt.Errorf("floor output %q: %w", line, err)
		}
		m.delivered++
		if w, ok := m.writes.byRV[rv]; ok && !m.seen[rv] {
			m.seen[rv] = true
			m.samples = append(m.samples, sample{w, time.Unix(0, at)})
		}
	}
	m.read = max(m.read, len(lines))
	return nil
}

// measureRSS starts the contender on the namespace of opts.cached finished
// TaskRuns and reads its peak RSS once it has processed the initial list.
func (b *bench) measureRSS(c *contender, ns string) (int64, error) {
	sink, err := receiver.Start("")
	if err != nil {
		return 0, err
	}
	defer sink.Stop()
	m := &measurement{contender: c, opts: b.opts, ns: ns, sink: sink}
	if m.proc, err = b.start(c, ns, sink, filepath.Join(b.tmp, c.name+".rss")); err != nil {
		return 0, err
	}
	defer m.proc.stop()
	if err := b.waitReady(c, m, "done-00000"); err != nil {
		return 0, err
	}
	time.Sleep(b.opts.rssSettle)
	if err := m.proc.alive(); err != nil {
		return 0, err
	}
	rss, split, err := peakRSS(m.proc.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	for path, file := range map[string]string{"heap?gc=1": ".rss.heap.pb.gz", "heap?debug=1": ".rss.heap.txt"} {
		if err := b.saveProfile(m.proc, path, c.name+file); err != nil {
			return 0, err
		}
	}
	logf("%s: peak RSS %.1f MiB with %d TaskRuns cached (now: %s)", c.name, float64(rss)/(1<<20), b.opts.cached, split)
	return rss, nil
}

// createFinished creates opts.cached TaskRuns whose steps all succeeded and
// that completed: the state Tekton leaves them in (SetSteps then Finish,
// written as one status update).
func (b *bench) createFinished(ns string) error {
	var names []string
	for i := 0; i < b.opts.steps; i++ {
		names = append(names, fmt.Sprintf("s%d", i))
	}
	ctx := context.Background()
	return parallel(b.opts.cached, 16, func(i int) error {
		r, err := sim.Create(ctx, b.tekton, ns, fmt.Sprintf("done-%05d", i), nil, names...)
		if err != nil {
			return err
		}
		tr, err := b.tekton.TektonV1().TaskRuns(ns).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now := time.Now().Truncate(time.Second)
		tr.Status.Steps = nil
		for _, s := range r.Steps {
			tr.Status.Steps = append(tr.Status.Steps, sim.Succeeded()(s, now))
		}
		tr.Status.CompletionTime = &metav1.Time{Time: now}
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"})
		_, err = b.tekton.TektonV1().TaskRuns(ns).UpdateStatus(ctx, tr, metav1.UpdateOptions{})
		return err
	})
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

// peakRSS is VmHWM in bytes, and how the current RSS splits between
// anonymous memory (the Go heap and stacks) and mapped files (the binary's
// code and data), for the log.
func peakRSS(pid int) (int64, string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, "", err
	}
	var peak int64 = -1
	var now []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "VmHWM:":
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, "", err
			}
			peak = kb * 1024
		case "RssAnon:", "RssFile:":
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			now = append(now, fmt.Sprintf("%s %.1f MiB", strings.TrimSuffix(fields[0], ":"), float64(kb)/1024))
		}
	}
	if peak < 0 {
		return 0, "", fmt.Errorf("no VmHWM for pid %d", pid)
	}
	return peak, strings.Join(now, ", "), nil
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

// eventsPerSecond is the write-caused events over the time from the first
// write to the last such event's arrival.
func eventsPerSecond(m *measurement) float64 {
	first := m.writes.first()
	var last time.Time
	for _, s := range m.samples {
		if s.arrived.After(last) {
			last = s.arrived
		}
	}
	if !last.After(first) {
		return 0
	}
	return float64(len(m.samples)) / last.Sub(first).Seconds()
}

func printTable(results []*summary, opts options) {
	fmt.Printf("\nWorkload: %d TaskRuns x %d steps, %d at a time, target %.0f step transitions/s; peak RSS with %d TaskRuns cached.\n",
		opts.runs, opts.steps, opts.concurrent, opts.rate, opts.cached)
	fmt.Printf("%d round(s) per contender in rotated order: CPU s and events/s of the median round, p50/p99 over all rounds' samples.\n\n", opts.rounds)
	fmt.Printf("| %-16s | %8s | %7s | %19s | %14s | %9s | %9s | %9s |\n",
		"contender", "events", "CPU s", "CPU s / 1000 events", "peak RSS (MiB)", "p50", "p99", "events/s")
	fmt.Println("|------------------|----------|---------|---------------------|----------------|-----------|-----------|-----------|")
	byName := map[string]*summary{}
	for _, m := range results {
		byName[m.name] = m
		fmt.Printf("| %-16s | %8d | %7.2f | %19.3f | %14.1f | %9s | %9s | %9.0f |\n", m.name, m.events,
			float64(m.cpuTicks)/100, cpuPer1000(m), float64(m.peakRSS)/(1<<20),
			percentile(m.samples, 0.5).Round(100*time.Microsecond), percentile(m.samples, 0.99).Round(100*time.Microsecond),
			m.eventsPerSecond)
	}
	ours, asrc, floor := byName["ours"], byName["apiserversource"], byName["floor"]
	if ours == nil || asrc == nil || floor == nil {
		return
	}
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	cpuRatio, rssRatio := ratio(cpuPer1000(ours), cpuPer1000(asrc)), ratio(float64(ours.peakRSS), float64(asrc.peakRSS))
	fmt.Printf("\nours / apiserversource: CPU per event %.2fx (target <= 0.5x: %s), peak RSS %.2fx (target <= 0.5x: %s), CPU for the workload %.2fx\n",
		cpuRatio, verdict(cpuRatio <= 0.5), rssRatio, verdict(rssRatio <= 0.5), ratio(float64(ours.cpuTicks), float64(asrc.cpuTicks)))
	fmt.Printf("ours / floor:           CPU per event %.2fx, peak RSS %.2fx, CPU for the workload %.2fx\n",
		ratio(cpuPer1000(ours), cpuPer1000(floor)), ratio(float64(ours.peakRSS), float64(floor.peakRSS)),
		ratio(float64(ours.cpuTicks), float64(floor.cpuTicks)))
	oursP99, floorP99 := percentile(ours.samples, 0.99), percentile(floor.samples, 0.99)
	fmt.Printf("p99 latency: ours %s vs floor %s + 10ms = %s (target: ours <= that: %s)\n",
		oursP99.Round(100*time.Microsecond), floorP99.Round(100*time.Microsecond),
		(floorP99 + 10*time.Millisecond).Round(100*time.Microsecond), verdict(oursP99 <= floorP99+10*time.Millisecond))
	if send := byName["floor+send"]; send != nil {
		fmt.Printf("floor+send / apiserversource: CPU per event %.2fx (the least a watcher that sends one event per update pays)\n",
			ratio(cpuPer1000(send), cpuPer1000(asrc)))
	}
	fmt.Println("(events: all the contender produced during the workload, the CPU denominator; latency and events/s: those caused by the step status writes.)")
}

func cpuPer1000(m *summary) float64 {
	if m.events == 0 {
		return 0
	}
	return float64(m.cpuTicks) / 100 / float64(m.events) * 1000
}
