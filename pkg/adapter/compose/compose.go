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

// Package compose reads what an event's data needs besides the TaskRun:
// the masker of the Secrets its step references (spec.masking) and the
// tail of its step's log. The worker asks for them only once the source's
// filters passed the event, and keeps them with the event's attempt, so a
// retry sends the same data.
package compose

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"weak"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/events"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/masking"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/steplog"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/streams"
	"github.com/tektonstep/tekton-step-source/pkg/adapter/transitions"
	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// Composer reads the masker and the log of the events of one source.
type Composer struct {
	kube kubernetes.Interface
	logs *steplog.Reader
	cfg  *adaptercontract.Config
	// timeout bounds one read.
	timeout time.Duration
	// patterns are the token patterns masked in every event; patternMasker
	// masks them alone (no secret values), shared by every event.
	patterns      masking.Patterns
	patternMasker *masking.Masker
	// maskers shares the maskers of the same Secret versions.
	maskers maskerCache
	// grants: how long the events of each pod wait for the grant of its
	// Secrets (MaskGrantsByName).
	grants grantWaits
}

// New is the Composer of the source cfg configures, reading with kube,
// each read within timeout.
func New(kube kubernetes.Interface, cfg *adaptercontract.Config, timeout time.Duration) (*Composer, error) {
	patterns, err := masking.Compile(cfg.MaskPatterns)
	if err != nil {
		return nil, err
	}
	return &Composer{kube: kube, logs: &steplog.Reader{Client: kube}, cfg: cfg, timeout: timeout,
		patterns: patterns, patternMasker: masking.New(patterns, nil)}, nil
}

// Read fills in what the attempt does not hold yet: the masker (or why the
// step's Secrets cannot be masked: the attempt's Withheld, logged) and the
// log, for a terminal step that ran in a pod, when logs are on (a withheld
// log carries why). false: the event waits, the duration, for the grant of
// its Secrets (MaskGrantsByName), and nothing is filled in.
func (c *Composer) Read(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition, at *streams.Attempt, logger *zap.SugaredLogger) (time.Duration, bool) {
	if at.Masker == nil {
		masker, withheld := c.masker(ctx, tr, t)
		if c.cfg.MaskGrantsByName {
			if wait, ok := c.grants.await(withheld, tr.Namespace+"/"+t.PodName, time.Now()); ok {
				return wait, false
			}
		}
		at.Masker, at.Withheld = masker, withheld
		if withheld != nil {
			logger.Warnw("The step's log and results are withheld: a Secret it references cannot be masked", zap.Error(withheld))
		}
	}
	if at.Log == nil {
		// The first attempt, or a retry whose log was not held (see
		// streams.MaxHeldBytes): read it.
		switch {
		case !c.carriesLog(t):
		case at.Withheld != nil:
			at.Log = &steplog.Log{Err: fmt.Errorf("log and results withheld: %w", at.Withheld)}
		default:
			at.Log = c.stepLog(ctx, tr, t)
		}
	}
	return 0, true
}

// carriesLog reports whether the transition's event carries the step's
// log: a terminal step that ran in a pod, when logs are on.
func (c *Composer) carriesLog(t transitions.Transition) bool {
	return (t.Kind == transitions.Succeeded || t.Kind == transitions.Failed) && c.cfg.LogMaxBytes > 0 && t.PodName != ""
}

// stepLog is the tail of a terminal transition's step container log (see
// carriesLog), read within the timeout. It is read once per transition:
// its retries carry the same (the attempt holds it).
func (c *Composer) stepLog(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) *steplog.Log {
	readCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.logs.Tail(readCtx, tr.Namespace, t.PodName, t.StepState.Container, c.cfg.LogMaxBytes)
}

// masker is the masker of a transition's event: the source's token
// patterns and, with spec.masking.secretValues, the values of the Secrets
// the step references, read now. It is shared with the events of other
// steps that reference the same Secrets at the same versions (maskers),
// kept while the transition is retried (in its attempt), and its
// values are never logged. An error says which Secret could not be read:
// its values cannot be masked, so the caller withholds the step's log.
func (c *Composer) masker(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) (*masking.Masker, error) {
	if !c.cfg.MaskSecretValues {
		return c.patternMasker, nil
	}
	readCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	names, err := c.stepSecrets(readCtx, tr, t)
	if err != nil {
		return c.patternMasker, err
	}
	var values [][]byte
	versions := []string{tr.Namespace}
	for _, name := range names {
		secret, err := c.kube.CoreV1().Secrets(tr.Namespace).Get(readCtx, name, metav1.GetOptions{})
		if err != nil {
			return masking.New(c.patterns, values), fmt.Errorf("the step references Secret %q, which could not be read to mask its values: %w", name, err)
		}
		for _, v := range secret.Data {
			values = append(values, v)
		}
		versions = append(versions, name+"@"+secret.ResourceVersion)
	}
	return c.maskers.get(strings.Join(versions, "/"), func() *masking.Masker { return masking.New(c.patterns, values) }), nil
}

// maskerCache shares the maskers of the same Secret versions (a key is the
// namespace and the sorted name@resourceVersion of each Secret; the
// patterns are the adapter's): the attempts of the TaskRuns whose
// steps reference them then hold one masker during a sink outage, not one
// each, and a CA bundle's takes megabytes. It holds them weakly: a masker
// goes once no attempt or delivery holds it, and its entry with it.
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
func (c *Composer) stepSecrets(ctx context.Context, tr *pipelinev1.TaskRun, t transitions.Transition) ([]string, error) {
	container := t.StepState.Container
	if container == "" {
		container = "step-" + t.StepState.Name
	}
	if t.PodName != "" {
		pod, err := c.kube.CoreV1().Pods(tr.Namespace).Get(ctx, t.PodName, metav1.GetOptions{})
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

// WithoutResults is the transition without what a step can write a
// Secret's value into besides its log: its results and termination
// message, held back with the log when a Secret it references cannot be
// read to mask it.
func WithoutResults(t transitions.Transition) transitions.Transition {
	t.StepState.Results = nil
	if term := t.StepState.Terminated; term != nil {
		kept := *term
		kept.Message = ""
		t.StepState.Terminated = &kept
	}
	return t
}
