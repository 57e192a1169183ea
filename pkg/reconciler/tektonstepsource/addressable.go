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

package tektonstepsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/resolver"
	"knative.dev/pkg/tracker"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// Knative's resolver looks a sink's ref up through an informer of the
// resource it guesses from the ref's kind, cluster-wide, kept for the
// controller's lifetime, whatever the kind: a ref to a Pod or a TaskRun
// would make the controller cache every Pod or TaskRun of the cluster.
// The kinds are therefore checked first, and only those that can be
// addressable go on to the resolver.

// AddressableLabel is the label with which Knative marks the
// CustomResourceDefinitions of addressable kinds (Brokers, Channels,
// Knative Services, ...), as "true".
const AddressableLabel = "duck.knative.dev/addressable"

// ReasonSinkNotAddressable is the reason of the condition (SinkProvided or
// DeadLetterSinkResolved) and of the Warning Event of a sink whose ref is
// of a kind that cannot be addressable. ReasonDeadLetterSinkNotAddressable
// is the Event's reason for a dead-letter sink.
const (
	ReasonSinkNotAddressable           = "SinkNotAddressable"
	ReasonDeadLetterSinkNotAddressable = "DeadLetterSinkNotAddressable"
)

// acceptedRefs says what a sink's ref may name, for the status messages.
const acceptedRefs = "a ref must name a v1 Service, a triggers.tekton.dev EventListener, an eventing.knative.dev RequestReply, or an object of a kind whose " +
	"CustomResourceDefinition is labelled " + AddressableLabel + `="true" (Knative's Brokers, Channels and Services)`

// unlabelledAddressables are the kinds accepted without the label: their
// CustomResourceDefinitions do not carry it, yet their objects have
// status.address (Tekton Triggers' EventListener; Knative Eventing's
// RequestReply, as of v0.50).
var unlabelledAddressables = map[schema.GroupKind]bool{
	{Group: "triggers.tekton.dev", Kind: "EventListener"}: true,
	{Group: "eventing.knative.dev", Kind: "RequestReply"}: true,
}

// addressableKind decides whether the resolver may look up an object of
// the kind: a core v1 Service (the only core kind Knative's resolver
// addresses), a Tekton Triggers EventListener or Knative RequestReply
// (unlabelledAddressables), or a kind whose resource,
// guessed from the kind exactly as the resolver does, is that of a
// CustomResourceDefinition labelled addressable (labelled tells, by the
// CRD's name). When it may not, why says so.
func addressableKind(gvk schema.GroupVersionKind, labelled func(crd string) bool) (ok bool, why string) {
	switch {
	case gvk.Group == "":
		if gvk.Version == "v1" && gvk.Kind == "Service" {
			return true, ""
		}
		return false, fmt.Sprintf("%s is a core kind, and of these only the v1 Service is addressable", describeKind(gvk))
	case unlabelledAddressables[gvk.GroupKind()]:
		return true, ""
	}
	crd := crdName(gvk)
	if labelled(crd) {
		return true, ""
	}
	return false, fmt.Sprintf("%s is not addressable: no CustomResourceDefinition %s labelled %s=\"true\" is installed",
		describeKind(gvk), crd, AddressableLabel)
}

// crdName is the name of the CustomResourceDefinition of the resource the
// resolver would list for objects of the kind.
func crdName(gvk schema.GroupVersionKind) string {
	gvr, _ := meta.UnsafeGuessKindToResource(gvk)
	return gvr.GroupResource().String()
}

func describeKind(gvk schema.GroupVersionKind) string {
	return fmt.Sprintf("kind %q of apiVersion %q", gvk.Kind, gvk.GroupVersion().String())
}

// notAddressableError is the resolver's refusal of a ref's kind.
type notAddressableError struct {
	why string
}

func (e *notAddressableError) Error() string { return e.why }

// refuseNotAddressable is a resolver.RefResolverFunc that runs before
// Knative's: it handles, with an error, the refs of a kind that cannot be
// addressable, so that Knative's resolver neither tracks them nor lists
// and watches their resource; it leaves the others to it.
func refuseNotAddressable(labelled func(crd string) bool) resolver.RefResolverFunc {
	return func(_ context.Context, ref *corev1.ObjectReference) (bool, *apis.URL, error) {
		if ok, why := addressableKind(ref.GroupVersionKind(), labelled); !ok {
			return true, nil, &notAddressableError{why: why}
		}
		return false, nil, nil
	}
}

// newSinkResolver is the sinks' resolver: Knative's, tracking the sinks
// through t, with the kinds checked first (labelled tells the addressable
// CustomResourceDefinitions) and an informer per addressable resource that
// keeps only what resolving reads (slimAddressables).
func newSinkResolver(ctx context.Context, t tracker.Interface, labelled func(crd string) bool) *resolver.URIResolver {
	return resolver.NewURIResolverFromTracker(withSlimAddressables(ctx), t, refuseNotAddressable(labelled))
}

// refusedRefMessage renders a refused ref for the status and the Event:
// the field, its value, why and what is accepted; ok is false when err is
// not a refusal.
func refusedRefMessage(err error, field string, dest duckv1.Destination) (msg string, ok bool) {
	var refused *notAddressableError
	if !errors.As(err, &refused) {
		return "", false
	}
	value, jerr := json.Marshal(dest.Ref)
	if jerr != nil {
		value = []byte(fmt.Sprintf("%+v", dest.Ref))
	}
	return fmt.Sprintf("%s %s is not accepted: %s; %s", field, value, refused.why, acceptedRefs), true
}

// refersToCRD selects the sources whose sink or dead-letter sink refers to
// a kind of the CustomResourceDefinition: those a change of its label may
// turn from refused to resolvable or back.
func refersToCRD(crd string) func(interface{}) bool {
	return func(obj interface{}) bool {
		src, ok := obj.(*v1alpha1.TektonStepSource)
		if !ok {
			return false
		}
		dests := []duckv1.Destination{src.Spec.Sink}
		if src.Spec.Delivery != nil && src.Spec.Delivery.DeadLetterSink != nil {
			dests = append(dests, *src.Spec.Delivery.DeadLetterSink)
		}
		for _, dest := range dests {
			if dest.Ref != nil && crdName(schema.FromAPIVersionAndKind(dest.Ref.APIVersion, dest.Ref.Kind)) == crd {
				return true
			}
		}
		return false
	}
}
