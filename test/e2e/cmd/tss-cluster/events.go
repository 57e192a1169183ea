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

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/tektonstep/tekton-step-source/test/e2e/sink"
)

const eventTypePrefix = "dev.tekton.event.step."

// events prints the step events the receiver pod gets, one coloured line
// each (plus the log tail of terminal events), until interrupted or, with
// -pipelinerun, until that PipelineRun finished and its events stopped.
func events(args []string) error {
	fs := flag.NewFlagSet("events", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	namespace := fs.String("namespace", "default", "the receiver's namespace")
	selector := fs.String("selector", "app=event-display", "the receiver pod's labels")
	pipelineRun := fs.String("pipelinerun", "", "NAMESPACE/NAME: only its events, and stop once it finished and no event came for -idle")
	idle := fs.Duration("idle", 5*time.Second, "see -pipelinerun")
	color := fs.Bool("color", isTerminal(), "colour the output")
	sinceNow := fs.Bool("since-now", false, "only events that arrive from now on")
	onlyNS := fs.String("only-namespace", "", "only events of TaskRuns in this namespace")
	_ = fs.Parse(args)
	cfg, c, err := clientFor(*kubeconfig)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pod, err := sink.ReceiverPod(ctx, c, *namespace, *selector)
	if err != nil {
		return err
	}
	prNS, prName, ok := strings.Cut(*pipelineRun, "/")
	if *pipelineRun != "" && !ok {
		return errors.New("-pipelinerun wants NAMESPACE/NAME")
	}
	// Events of that PipelineRun only, from the receiver's whole log: none
	// is missed however late the PipelineRun is created.
	wanted := func(e cloudevents.Event) bool {
		ext := e.Extensions()
		ns, _ := ext["tektonnamespace"].(string)
		pr, _ := ext["tektonpipelinerun"].(string)
		return (*onlyNS == "" || ns == *onlyNS) && (*pipelineRun == "" || ns == prNS && pr == prName)
	}

	var mu sync.Mutex
	last := time.Now()
	p := printer{color: *color}
	done := make(chan error, 1)
	go func() {
		done <- sink.Follow(ctx, c, *namespace, pod.Name, *sinceNow, func(e cloudevents.Event) {
			if !wanted(e) {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			last = time.Now()
			p.print(e)
		})
	}()
	if *pipelineRun == "" {
		err := <-done
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	gvr := schema.GroupVersionResource{Group: "tekton.dev", Version: "v1", Resource: "pipelineruns"}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		pr, err := dyn.Resource(gvr).Namespace(prNS).Get(ctx, prName, metav1.GetOptions{})
		if err != nil || !finished(pr) {
			continue
		}
		mu.Lock()
		quiet := time.Since(last) > *idle
		mu.Unlock()
		if quiet {
			return nil
		}
	}
}

// finished reports whether a Tekton run's Succeeded condition is settled.
func finished(run *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(run.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Succeeded" && m["status"] != "Unknown" {
			return true
		}
	}
	return false
}

type printer struct{ color bool }

func (p printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

func (p printer) print(e cloudevents.Event) {
	transition := strings.TrimSuffix(strings.TrimPrefix(e.Type(), eventTypePrefix), ".v1")
	mark, code := "•", "0"
	switch transition {
	case "started":
		mark, code = "▶", "1;34"
	case "succeeded":
		mark, code = "✔", "1;32"
	case "failed":
		mark, code = "✘", "1;31"
	case "skipped":
		mark, code = "⤼", "1;33"
	}
	ext := func(k string) string { s, _ := e.Extensions()[k].(string); return s }
	where := ext("tektontaskrun") + "/" + e.Subject()
	if pt := ext("tektonpipelinetask"); pt != "" {
		where = ext("tektonpipelinerun") + " › " + pt + " › " + e.Subject()
	}
	var data struct {
		Reason    string `json:"reason"`
		Continued bool   `json:"continued"`
		Log       string `json:"log"`
		StepState struct {
			Terminated *struct {
				ExitCode int32 `json:"exitCode"`
			} `json:"terminated"`
		} `json:"stepState"`
	}
	_ = json.Unmarshal(e.Data(), &data)
	detail := ""
	if data.StepState.Terminated != nil && (transition == "succeeded" || transition == "failed") {
		detail = fmt.Sprintf("exit %d", data.StepState.Terminated.ExitCode)
	}
	if data.Reason != "" && transition != "started" {
		detail = strings.TrimPrefix(detail+", "+data.Reason, ", ")
	}
	if data.Continued {
		detail += ", continued"
	}
	attempt := ""
	if a := ext("tektonattempt"); a != "" && a != "0" {
		attempt = p.paint("2", " (retry "+a+")")
	}
	if r := ext("replay"); r != "" {
		attempt += p.paint("1;35", " (replay "+r+")")
	}
	// The ordering extensions (one partition per TaskRun, sequence sorting
	// in transition order) and the id, which a replay sends again.
	order := p.paint("2", fmt.Sprintf("[%s #%s id %s]", ext("partitionkey"), ext("sequence"), e.ID()))
	fmt.Printf("%s %s %s %s%s  %s %s\n", p.paint("2", e.Time().Local().Format("15:04:05")),
		p.paint(code, mark), p.paint(code, fmt.Sprintf("%-9s", transition)), p.paint("1", where), attempt, p.paint("2", detail), order)
	if log := strings.TrimRight(data.Log, "\n"); log != "" {
		for _, line := range strings.Split(log, "\n") {
			fmt.Printf("           %s %s\n", p.paint("2", "│"), line)
		}
	}
}

func isTerminal() bool {
	st, err := os.Stdout.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == ""
}
