//go:build e2e

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

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

var eventPoliciesGVR = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1alpha1", Resource: "eventpolicies"}

// setOIDC sets Knative Eventing's authentication-oidc (config-features),
// which every Knative component and our controller follow.
func setOIDC(t *testing.T, state string) {
	t.Helper()
	patch := fmt.Sprintf(`{"data":{"authentication-oidc":%q}}`, state)
	if _, err := kube.CoreV1().ConfigMaps("knative-eventing").Patch(ctxFor(t, time.Minute), "config-features",
		types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("setting authentication-oidc to %s: %v", state, err)
	}
}

// TestOIDC runs with Knative Eventing's authentication-oidc on, as a
// security-minded platform team runs it: the Broker's ingress refuses any
// request without a valid token for its audience. It is not parallel (Go
// runs it before every parallel test starts): the feature is the
// cluster's. Each part builds on the one before.
//   - A source sending to the Broker gets every event through it; a source
//     sending straight to a receiver with an audience shows the token: its
//     subject is the source's OIDC account, its audience the sink's.
//   - An EventPolicy allowing one source by from.ref: its events pass, a
//     second source's are refused with 403 and end in its dead-letter sink
//     with knativeerrorcode 403, sent with a token for the dead-letter
//     sink's own audience.
//   - OIDC turned off and on again while a TaskRun runs: no account or
//     role is left while off, and no event is lost.
func TestOIDC(t *testing.T) {
	setOIDC(t, "enabled")
	t.Cleanup(func() { setOIDC(t, "disabled") })
	ns := newNamespace(t)
	dyn := dynamic.NewForConfigOrDie(restConfig)

	newBroker(t, ns)
	waitFor(t, "the Broker's audience", func(ctx context.Context) bool {
		b, err := dyn.Resource(brokersGVR).Namespace(ns).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			return false
		}
		aud, _, _ := unstructured.NestedString(b.Object, "status", "address", "audience")
		return aud != ""
	})
	deployReceiver(t, ns, "oidc-display", "-token-extension", "oidc")
	apply(t, ns, `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: oidc-display
spec:
  broker: default
  subscriber:
    ref: {apiVersion: v1, kind: Service, name: oidc-display}
`)
	waitReady(t, triggersGVR, ns, "oidc-display")
	deployReceiver(t, ns, "oidc-direct", "-token-extension", "oidc")
	deployReceiver(t, ns, "oidc-dls", "-token-extension", "oidc")

	newRefSource(t, ns, "steps", brokerRef, "")
	apply(t, ns, fmt.Sprintf(`
apiVersion: sources.knative.dev/v1alpha1
kind: TektonStepSource
metadata:
  name: direct
spec:
  ceOverrides:
    extensions: {via: direct}
  sink:
    uri: http://oidc-direct.%s.svc.cluster.local
    audience: oidc-direct
`, ns))
	for _, name := range []string{"steps", "direct"} {
		src := waitSourceReady(t, ns, name)
		if a := src.Status.Auth; a == nil || a.ServiceAccountName == nil || *a.ServiceAccountName != oidcAccount(name) {
			t.Fatalf("source %s: status.auth = %+v, want the account %s", name, a, oidcAccount(name))
		}
	}
	if src := waitSourceReady(t, ns, "steps"); src.Status.SinkAudience == nil || *src.Status.SinkAudience == "" {
		t.Fatalf("source steps: no sink audience from the Broker: %+v", src.Status)
	}

	runTaskRun := func(name, script string) {
		apply(t, ns, fmt.Sprintf(`
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: %s
spec:
  taskSpec:
    steps:
    - {name: only, image: "{{.Image}}", script: %q}
`, name, script))
	}

	t.Run("through the Broker and straight to a sink with an audience", func(t *testing.T) {
		runTaskRun("first", "echo first")
		waitTaskRun(t, ns, "first")
		viaBroker := receiverEvents(t, ns, "oidc-display", 2)
		checkVia(t, viaBroker, "steps", 2)
		direct := receiverEvents(t, ns, "oidc-direct", 2)
		checkVia(t, direct, "direct", 2)
		wantSub := "system:serviceaccount:" + ns + ":" + oidcAccount("direct")
		for _, e := range direct {
			if ext(e, "oidcsub") != wantSub || ext(e, "oidcaud") != "oidc-direct" {
				t.Errorf("event %s reached the sink with the token of %q for %q, want %q for oidc-direct",
					e.ID(), ext(e, "oidcsub"), ext(e, "oidcaud"), wantSub)
			}
		}
	})

	t.Run("an EventPolicy lets one source in and refuses the other", func(t *testing.T) {
		// The recipe, as shipped.
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "recipes", "eventpolicy-only-steps.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		apply(t, ns, string(data))
		waitReady(t, eventPoliciesGVR, ns, "only-step-events")
		waitFor(t, "the Broker applying the EventPolicy", func(ctx context.Context) bool {
			b, err := dyn.Resource(brokersGVR).Namespace(ns).Get(ctx, "default", metav1.GetOptions{})
			if err != nil {
				return false
			}
			policies, _, _ := unstructured.NestedSlice(b.Object, "status", "policies")
			return slices.ContainsFunc(policies, func(p any) bool {
				m, _ := p.(map[string]any)
				return m["name"] == "only-step-events"
			})
		})
		// The dead-letter sink has an audience of its own: its token
		// names it, not the Broker's.
		newRefSource(t, ns, "denied", brokerRef, fmt.Sprintf(`
delivery:
  deadLetterSink:
    uri: http://oidc-dls.%s.svc.cluster.local
    audience: oidc-dls
`, ns))
		runTaskRun("second", "echo second")
		waitTaskRun(t, ns, "second")
		checkVia(t, receiverEvents(t, ns, "oidc-display", 4), "steps", 4)
		refused := receiverEvents(t, ns, "oidc-dls", 2)
		checkVia(t, refused, "denied", 2)
		wantSub := "system:serviceaccount:" + ns + ":" + oidcAccount("denied")
		for _, e := range refused {
			if code := ext(e, "knativeerrorcode"); code != "403" {
				t.Errorf("dead-lettered event %s has knativeerrorcode %q, want 403", e.ID(), code)
			}
			if ext(e, "oidcsub") != wantSub || ext(e, "oidcaud") != "oidc-dls" {
				t.Errorf("dead-lettered event %s came with the token of %q for %q, want %q for oidc-dls",
					e.ID(), ext(e, "oidcsub"), ext(e, "oidcaud"), wantSub)
			}
		}
		if err := sources.SourcesV1alpha1().TektonStepSources(ns).Delete(ctxFor(t, time.Minute), "denied", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("OIDC off and on again while a TaskRun runs", func(t *testing.T) {
		runTaskRun("third", "sleep 20; echo third")
		setOIDC(t, "disabled")
		for _, name := range []string{"steps", "direct"} {
			waitFor(t, "no OIDC identity for "+name, func(ctx context.Context) bool {
				src, err := sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil || src.Status.Auth != nil {
					return false
				}
				_, saErr := kube.CoreV1().ServiceAccounts(ns).Get(ctx, oidcAccount(name), metav1.GetOptions{})
				_, roleErr := kube.RbacV1().Roles(ns).Get(ctx, name+"-tektonstep-oidc-token", metav1.GetOptions{})
				_, rbErr := kube.RbacV1().RoleBindings(ns).Get(ctx, name+"-tektonstep-oidc-token", metav1.GetOptions{})
				return apierrors.IsNotFound(saErr) && apierrors.IsNotFound(roleErr) && apierrors.IsNotFound(rbErr)
			})
		}
		setOIDC(t, "enabled")
		for _, name := range []string{"steps", "direct"} {
			waitFor(t, "the OIDC identity of "+name+" back", func(ctx context.Context) bool {
				src, err := sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctx, name, metav1.GetOptions{})
				return err == nil && src.Status.Auth != nil && src.Status.IsReady() && src.Status.ObservedGeneration == src.Generation
			})
		}
		waitTaskRun(t, ns, "third")
		checkVia(t, receiverEvents(t, ns, "oidc-display", 6), "steps", 6)
		checkVia(t, receiverEvents(t, ns, "oidc-direct", 6), "direct", 6)
	})
}

// oidcAccount is the OIDC ServiceAccount Knative's naming gives the
// TektonStepSource name.
func oidcAccount(name string) string { return name + "-oidc-sources.knative.dev-tektonstepsource" }

// checkVia checks that events are want different events, all from the
// source via (its "via" extension).
func checkVia(t *testing.T, events []cloudevents.Event, via string, want int) {
	t.Helper()
	ids := map[string]bool{}
	for _, e := range events {
		ids[e.ID()] = true
		if ext(e, "via") != via {
			t.Errorf("event %s came from %q, want only %q's", e.ID(), ext(e, "via"), via)
		}
	}
	if len(ids) != want {
		t.Errorf("%d different events from %s, want %d:\n%s", len(ids), via, want, describe(events))
	}
}

// waitFor polls cond for up to three minutes.
func waitFor(t *testing.T, what string, cond func(context.Context) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctxFor(t, 3*time.Minute), time.Second, 3*time.Minute, true,
		func(ctx context.Context) (bool, error) { return cond(ctx), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
