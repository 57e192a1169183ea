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

package adapter

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"weak"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
)

// masker is the masker of a transition's event: the source's token
// patterns and, with spec.masking.secretValues, the values of the Secrets
// the step references, read now. It is shared with the events of other
// steps that reference the same Secrets at the same versions (maskers),
// kept while the transition is retried (in its retry state), and its
// values are never logged. An error says which Secret could not be read:
// its values cannot be masked, so the caller withholds the step's log.
func (a *Adapter) masker(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) (*masking.Masker, error) {
	if !a.cfg.MaskSecretValues {
		return a.patternMasker, nil
	}
	readCtx, cancel := context.WithTimeout(ctx, a.opts.SendTimeout)
	defer cancel()
	names, err := a.stepSecrets(readCtx, tr, t)
	if err != nil {
		return a.patternMasker, err
	}
	var values [][]byte
	versions := []string{tr.Namespace}
	for _, name := range names {
		secret, err := a.opts.Kube.CoreV1().Secrets(tr.Namespace).Get(readCtx, name, metav1.GetOptions{})
		if err != nil {
			return masking.New(a.patterns, values), fmt.Errorf("the step references Secret %q, which could not be read to mask its values: %w", name, err)
		}
		for _, v := range secret.Data {
			values = append(values, v)
		}
		versions = append(versions, name+"@"+secret.ResourceVersion)
	}
	return a.maskers.get(strings.Join(versions, "/"), func() *masking.Masker { return masking.New(a.patterns, values) }), nil
}

// maskerCache shares the maskers of the same Secret versions (a key is the
// namespace and the sorted name@resourceVersion of each Secret; the
// patterns are the adapter's): the retry states of the TaskRuns whose
// steps reference them then hold one masker during a sink outage, not one
// each, and a CA bundle's takes megabytes. It holds them weakly: a masker
// goes once no retry state or delivery holds it, and its entry with it.
type maskerCache struct {
	mu sync.Mutex
	by map[string]weak.Pointer[masking.Masker]
}

// get is the masker of the key: the one held somewhere, else build's.
// build runs without the lock (a CA bundle's masker takes a while), so two
// deliveries may build the same one; the first stored is shared.
func (c *maskerCache) get(key string, build func() *masking.Masker) *masking.Masker {
	c.mu.Lock()
	m := c.by[key].Value()
	c.mu.Unlock()
	if m != nil {
		return m
	}
	m = build()
	c.mu.Lock()
	defer c.mu.Unlock()
	if held := c.by[key].Value(); held != nil {
		return held
	}
	if c.by == nil {
		c.by = map[string]weak.Pointer[masking.Masker]{}
	}
	c.by[key] = weak.Make(m)
	runtime.AddCleanup(m, c.forget, key)
	return m
}

// forget drops the key's entry once its masker is gone, unless a new one
// took its place meanwhile.
func (c *maskerCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by[key].Value() == nil {
		delete(c.by, key)
	}
}

// stepSecrets are the Secrets the step references: from its container in
// the pod that ran it, or, once the pod is gone, from the resolved spec.
func (a *Adapter) stepSecrets(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) ([]string, error) {
	container := t.StepState.Container
	if container == "" {
		container = "step-" + t.StepState.Name
	}
	if t.PodName != "" {
		pod, err := a.opts.Kube.CoreV1().Pods(tr.Namespace).Get(ctx, t.PodName, metav1.GetOptions{})
		if err == nil {
			return masking.PodSecretNames(pod, container), nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading pod %q to find the Secrets the step references: %w", t.PodName, err)
		}
	}
	if step := events.FindStep(tr.Status.TaskSpec, t.StepState.Name); step != nil {
		return masking.StepSecretNames(tr.Status.TaskSpec, step, tr.Spec.Workspaces), nil
	}
	return nil, nil
}

// grantWait is how long the events of a pod wait for the grant of its
// Secrets: the controller adds a TaskRun pod and the Secrets it references
// to the per-source Role once the pod appears (resources.MaskAccessTo),
// which takes a moment. Past it (a pod that is gone is no longer granted
// either), a refused read withholds what could carry the values.
const grantWait = 15 * time.Second

// grantWaits are the deadlines, per pod, of the wait for its grant.
type grantWaits struct {
	mu sync.Mutex
	by map[string]time.Time
}

// await says whether an event of the pod waits for the grant, and how
// long before its next try: its read of the pod or its Secrets was
// refused, and the pod's grant has not been awaited for grantWait yet.
// Deadlines past for a while are forgotten.
func (g *grantWaits) await(readErr error, pod string, now time.Time) (time.Duration, bool) {
	if !apierrors.IsForbidden(readErr) {
		return 0, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.by == nil {
		g.by = map[string]time.Time{}
	}
	deadline, ok := g.by[pod]
	if !ok {
		for p, d := range g.by {
			if now.Sub(d) > time.Hour {
				delete(g.by, p)
			}
		}
		deadline = now.Add(grantWait)
		g.by[pod] = deadline
	}
	if !now.Before(deadline) {
		return 0, false
	}
	return time.Second, true
}

// withoutResults is the transition without what a step can write a
// Secret's value into besides its log: its results and termination
// message, held back with the log when a Secret it references cannot be
// read to mask it.
func withoutResults(t transitions.Transition) transitions.Transition {
	t.StepState.Results = nil
	if term := t.StepState.Terminated; term != nil {
		kept := *term
		kept.Message = ""
		t.StepState.Terminated = &kept
	}
	return t
}
