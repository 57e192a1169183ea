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

// This file measures one contender: a throughput round (start it on a
// fresh namespace, wait until it watches, drive the workload, tally until
// every expected event arrived, read its CPU time) and the RSS run.

package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tektonstep/tekton-step-source/test/procstat"
	"github.com/tektonstep/tekton-step-source/test/receiver"
)

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

type measurement struct {
	contender *contender
	opts      options
	ns        string
	sink      *receiver.Receiver
	proc      *process
	writes    *writeLog

	// Tally state: how far the output was read, the events produced in the
	// window (the CPU denominator), those traced to a status write (the
	// latency samples), and the keys already counted. firstOfWrite: for a
	// contender that sends several events per write (ours), the latency of
	// the first to arrive, as the others are sampled.
	read         int
	delivered    int
	samples      []sample
	firstOfWrite []sample
	seen         map[string]bool

	cpuTicks int64
	// idleRSS is the resident set watching the empty namespace, before the
	// workload.
	idleRSS int64
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
			if m.proc.logged(c.readyLog) {
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

// newWorkloadMeasurement is a throughput workload's measurement of c: a
// fresh namespace and a sink of its own, to stop when done.
func (b *bench) newWorkloadMeasurement(c *contender) (*measurement, error) {
	ns, err := b.newNamespace()
	if err != nil {
		return nil, err
	}
	sink, err := receiver.Start("")
	if err != nil {
		return nil, err
	}
	return &measurement{contender: c, opts: b.opts, ns: ns, sink: sink, seen: map[string]bool{},
		writes: &writeLog{byRV: map[string]time.Time{}, byStep: map[string]time.Time{}}}, nil
}

func (b *bench) measureThroughput(c *contender) (*measurement, error) {
	m, err := b.newWorkloadMeasurement(c)
	if err != nil {
		return nil, err
	}
	defer m.sink.Stop()
	ns, sink := m.ns, m.sink
	if m.proc, err = b.start(c, ns, sink, filepath.Join(b.tmp, c.name+".throughput")); err != nil {
		return nil, err
	}
	defer m.proc.stop()
	if err := b.waitReady(c, m, "probe"); err != nil {
		return nil, err
	}
	// What it holds watching an empty namespace: the part of the peak RSS
	// that does not depend on what it caches.
	idle, err := procstat.ReadMemory(m.proc.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	m.idleRSS = idle.Now
	logf("%s: watching, before the workload: %s", c.name, idle)
	// Whatever arrived so far (probe events) is not part of the workload.
	m.read = len(sink.Events())
	before, err := procstat.CPUTicks(m.proc.cmd.Process.Pid)
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
	after, err := procstat.CPUTicks(m.proc.cmd.Process.Pid)
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
	mem, err := procstat.ReadMemory(m.proc.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	rss := mem.Peak
	for path, file := range map[string]string{"heap?gc=1": ".rss.heap.pb.gz", "heap?debug=1": ".rss.heap.txt"} {
		if err := b.saveProfile(m.proc, path, c.name+file); err != nil {
			return 0, err
		}
	}
	logf("%s: peak RSS %s with %d TaskRuns cached (now: %s)", c.name, procstat.MiB(rss), b.opts.cached, mem)
	return rss, nil
}
