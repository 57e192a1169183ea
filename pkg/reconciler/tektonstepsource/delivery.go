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
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/controller"
	pkgreconciler "knative.dev/pkg/reconciler"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// ReasonDeadLetterSinkNotFound is the reason of the Warning Event of a
// dead-letter sink that does not resolve.
const ReasonDeadLetterSinkNotFound = "DeadLetterSinkNotFound"

// reconcileDeadLetterSink resolves spec.delivery.deadLetterSink like the
// sink (a reference's address, CA certificates and audience, or a URI)
// into status.deadLetterSinkUri, deadLetterSinkCACerts and
// deadLetterSinkAudience, and sets DeadLetterSinkResolved, as a Knative
// Trigger does. An unresolvable one is an error: the adapter is not
// changed until it resolves, so events are never sent without the
// dead-letter sink they were promised.
func (r *Reconciler) reconcileDeadLetterSink(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	if src.Spec.Delivery == nil || src.Spec.Delivery.DeadLetterSink == nil {
		src.Status.MarkDeadLetterSinkNotConfigured()
		return nil
	}
	dls := *src.Spec.Delivery.DeadLetterSink
	addr, err := r.SinkResolver.AddressableFromDestinationV1(ctx, dls, src)
	if msg, refused := refusedRefMessage(err, "spec.delivery.deadLetterSink.ref", dls); refused {
		src.Status.MarkDeadLetterSinkFailed(ReasonSinkNotAddressable, "%s", msg)
		// Permanent, as a refused sink is.
		return controller.NewPermanentError(fmt.Errorf("resolving the dead-letter sink: %w", pkgreconciler.NewEvent(
			corev1.EventTypeWarning, ReasonDeadLetterSinkNotAddressable, "%s", msg)))
	}
	if err != nil {
		src.Status.MarkDeadLetterSinkFailed(ReasonNotFound, "Dead-letter sink %s not resolved: %v", describeSink(dls), err)
		return fmt.Errorf("resolving the dead-letter sink: %w", pkgreconciler.NewEvent(corev1.EventTypeWarning,
			ReasonDeadLetterSinkNotFound, "Dead-letter sink %s not found: %v", describeSink(dls), err))
	}
	if msg, bad := unusableCACerts(addr, "Dead-letter sink "+describeSink(dls)); bad {
		src.Status.MarkDeadLetterSinkFailed(ReasonInvalidCACerts, "%s", msg)
		return controller.NewPermanentError(pkgreconciler.NewEvent(corev1.EventTypeWarning, ReasonInvalidCACerts, "%s", msg))
	}
	src.Status.MarkDeadLetterSink(addr)
	return nil
}
