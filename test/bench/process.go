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

// This file controls the contenders as processes: building them, starting
// and stopping them, and reading what the kernel and their pprof endpoints
// say about them (CPU ticks, peak RSS, profiles).

package main

import (
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tektonstep/tekton-step-source/test/receiver"
)

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
	if c.pprof {
		profiling, err := b.profiling(p)
		if err != nil {
			return nil, err
		}
		env = append(env, profiling...)
	}
	return p, p.run(c.bin, env)
}

// profiling is the environment that makes a Knative adapter serve Go's
// profiles on a free port, which p then fetches from; none unless
// BENCH_PPROF is set.
func (b *bench) profiling(p *process) ([]string, error) {
	if b.opts.pprofDir == "" {
		return nil, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	p.pprofBase = fmt.Sprintf("http://127.0.0.1:%d", port)
	return []string{`K_OBSERVABILITY_CONFIG={"runtime":{"profiling":"enabled"}}`, fmt.Sprintf("PROFILING_PORT=%d", port)}, nil
}

// run starts bin with env, its output going to p.log.
func (p *process) run(bin string, env []string) error {
	p.cmd = exec.Command(bin)
	p.cmd.Env = env
	logFile, err := os.Create(p.log)
	if err != nil {
		return err
	}
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return err
	}
	go func() {
		_ = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return nil
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

// logged: the process's output so far contains s.
func (p *process) logged(s string) bool {
	data, _ := os.ReadFile(p.log)
	return strings.Contains(string(data), s)
}

func (p *process) logTail() string {
	data, _ := os.ReadFile(p.log)
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return string(data)
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
