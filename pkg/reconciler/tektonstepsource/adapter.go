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

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// adapterAccounts are the accounts of the adapter: the one it runs as, and
// the OIDC one it requests tokens for ("" without).
type adapterAccounts struct {
	adapter, oidc string
}

// reconcileReceiveAdapter creates or updates the source's adapter Deployment
// and returns it as stored.
func (r *Reconciler) reconcileReceiveAdapter(ctx context.Context, src *v1alpha1.TektonStepSource, accounts adapterAccounts,
	sink *duckv1.Addressable, namespaces []string, allNamespaces, clusterWatch bool) (*appsv1.Deployment, error) {
	containerResources, keepResources := r.adapterResources()
	want, err := resources.MakeReceiveAdapter(&resources.ReceiveAdapterArgs{
		Image:              r.ReceiveAdapterImage,
		Source:             src,
		ServiceAccountName: accounts.adapter,
		OIDCServiceAccount: accounts.oidc,
		Sink:               sink,
		Namespaces:         namespaces,
		AllNamespaces:      allNamespaces,
		ClusterWatch:       clusterWatch,
		Configs:            r.Configs,
		MaskPatterns:       r.maskPatterns(),
		Resources:          containerResources,
	})
	if err != nil {
		src.Status.MarkNotDeployed("InvalidDeployment", "Cannot build the receive adapter: %v", err)
		return nil, fmt.Errorf("building the receive adapter: %w", err)
	}

	client := r.KubeClientSet.AppsV1().Deployments(src.Namespace)
	ra, err := r.DeploymentLister.Deployments(src.Namespace).Get(want.Name)
	if apierrors.IsNotFound(err) {
		ra, err = client.Create(ctx, want, metav1.CreateOptions{})
		if err == nil {
			controller.GetEventRecorder(ctx).Eventf(src, corev1.EventTypeNormal, ReasonDeploymentCreated,
				"Deployment %q created", ra.Name)
			return ra, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			src.Status.MarkNotDeployed("DeploymentCreateFailed", "Creating Deployment %q: %v", want.Name, err)
			return nil, fmt.Errorf("creating the receive adapter: %w", err)
		}
		// Not in the informer's cache: it exists without our labels.
		ra, err = client.Get(ctx, want.Name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("getting the receive adapter: %w", err)
	}
	if !metav1.IsControlledBy(ra, src) {
		src.Status.MarkNotDeployed("DeploymentNotOwned", "Deployment %q exists and is not owned by this source", ra.Name)
		return nil, fmt.Errorf("deployment %q is not owned by TektonStepSource %q", ra.Name, src.Name)
	}
	if keepResources {
		keepContainerResources(want, ra)
	}
	if !adapterChanged(ra, want) {
		return ra, nil
	}
	ra = ra.DeepCopy()
	ra.Labels = mergeLabels(ra.Labels, want.Labels)
	ra.Spec.Replicas = want.Spec.Replicas
	ra.Spec.Strategy = want.Spec.Strategy
	ra.Spec.Template = want.Spec.Template
	ra, err = client.Update(ctx, ra, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("updating the receive adapter: %w", err)
	}
	controller.GetEventRecorder(ctx).Eventf(src, corev1.EventTypeNormal, ReasonDeploymentUpdated,
		"Deployment %q updated", ra.Name)
	return ra, nil
}

// keepContainerResources gives want's containers the resources of have's
// containers of the same name.
func keepContainerResources(want, have *appsv1.Deployment) {
	for i, w := range want.Spec.Template.Spec.Containers {
		for _, h := range have.Spec.Template.Spec.Containers {
			if h.Name == w.Name {
				want.Spec.Template.Spec.Containers[i].Resources = *h.Resources.DeepCopy()
			}
		}
	}
}

// adapterChanged tells whether the stored Deployment differs from the
// wanted one in what the controller sets. DeepDerivative ignores the
// strings, pointers and lists the controller leaves empty and the apiserver
// defaults (termination message path, pull policy, ...), but compares
// numbers, so the controller sets the numbers the apiserver would default
// (the probes' timings); a stored Deployment then compares equal to the one
// it was created from: no update on every reconcile. It also
// accepts a shorter list as a prefix of a longer one, so containers and
// their environments are compared exactly: a removed variable (say
// K_CA_CERTS) must roll the adapter too.
func adapterChanged(have, want *appsv1.Deployment) bool {
	if !equality.Semantic.DeepDerivative(want.Labels, have.Labels) ||
		!equality.Semantic.DeepEqual(want.Spec.Replicas, have.Spec.Replicas) ||
		want.Spec.Strategy.Type != have.Spec.Strategy.Type ||
		!equality.Semantic.DeepDerivative(want.Spec.Template, have.Spec.Template) {
		return true
	}
	if len(want.Spec.Template.Spec.Containers) != len(have.Spec.Template.Spec.Containers) {
		return true
	}
	for i := range want.Spec.Template.Spec.Containers {
		// Compared whole: a variable or a limit removed is a change too.
		w, h := want.Spec.Template.Spec.Containers[i], have.Spec.Template.Spec.Containers[i]
		if !equality.Semantic.DeepEqual(w.Env, h.Env) || !equality.Semantic.DeepEqual(w.Resources, h.Resources) {
			return true
		}
	}
	return false
}

// deleteReceiveAdapter deletes the source's adapter Deployment, if any.
func (r *Reconciler) deleteReceiveAdapter(ctx context.Context, src *v1alpha1.TektonStepSource) error {
	name := resources.DeploymentName(src)
	ra, err := r.DeploymentLister.Deployments(src.Namespace).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && !metav1.IsControlledBy(ra, src)) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := r.KubeClientSet.AppsV1().Deployments(src.Namespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting the receive adapter: %w", err)
	}
	logging.FromContext(ctx).Infow("Deleted the receive adapter: nothing to watch", "deployment", name)
	return nil
}
