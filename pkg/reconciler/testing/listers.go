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

// Package testing provides what the TektonStepSource reconciler's table
// tests need on top of knative.dev/pkg/reconciler/testing: listers over the
// table's objects, a factory wiring fake clients, and builders for sources
// and sinks. It follows knative.dev/eventing's pkg/reconciler/testing/v1.
package testing

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fakekubeclientset "k8s.io/client-go/kubernetes/fake"
	appsv1listers "k8s.io/client-go/listers/apps/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	rbacv1listers "k8s.io/client-go/listers/rbac/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	messagingv1 "knative.dev/eventing/pkg/apis/messaging/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/reconciler/testing"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	fakesourcesclientset "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned/fake"
	sourceslisters "github.com/tektonstep/tekton-step-source/pkg/client/listers/sources/v1alpha1"
)

// Sinks that have no Go types here are unstructured objects: Knative
// Serving's Service and Tekton Triggers' EventListener.
var (
	ServingServiceGVK = schema.GroupVersionKind{Group: "serving.knative.dev", Version: "v1", Kind: "Service"}
	EventListenerGVK  = schema.GroupVersionKind{Group: "triggers.tekton.dev", Version: "v1beta1", Kind: "EventListener"}
)

func unstructuredSinksToScheme(scheme *runtime.Scheme) error {
	for _, gvk := range []schema.GroupVersionKind{ServingServiceGVK, EventListenerGVK} {
		scheme.AddKnownTypeWithName(gvk, &unstructured.Unstructured{})
		scheme.AddKnownTypeWithName(gvk.GroupVersion().WithKind(gvk.Kind+"List"), &unstructured.UnstructuredList{})
		metav1.AddToGroupVersion(scheme, gvk.GroupVersion())
	}
	return nil
}

var clientSetSchemes = []func(*runtime.Scheme) error{
	fakekubeclientset.AddToScheme,
	fakesourcesclientset.AddToScheme,
	eventingv1.AddToScheme,
	messagingv1.AddToScheme,
	duckv1.AddToScheme,
	unstructuredSinksToScheme,
}

// NewScheme knows every type a table test may hold.
func NewScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	for _, addTo := range clientSetSchemes {
		if err := addTo(scheme); err != nil {
			panic(err)
		}
	}
	return scheme
}

// Listers serves listers over a table row's objects.
type Listers struct {
	sorter testing.ObjectSorter
}

// NewListers sorts the objects by type.
func NewListers(objs []runtime.Object) Listers {
	ls := Listers{sorter: testing.NewObjectSorter(NewScheme())}
	ls.sorter.AddObjects(objs...)
	return ls
}

// GetKubeObjects returns the objects of the Kubernetes clientset.
func (l *Listers) GetKubeObjects() []runtime.Object {
	return l.sorter.ObjectsForSchemeFunc(fakekubeclientset.AddToScheme)
}

// GetSourcesObjects returns the objects of our clientset.
func (l *Listers) GetSourcesObjects() []runtime.Object {
	return l.sorter.ObjectsForSchemeFunc(fakesourcesclientset.AddToScheme)
}

// GetTektonStepSourceLister lists the TektonStepSources.
func (l *Listers) GetTektonStepSourceLister() sourceslisters.TektonStepSourceLister {
	return sourceslisters.NewTektonStepSourceLister(l.sorter.IndexerForObjectType(&v1alpha1.TektonStepSource{}))
}

// GetNamespaceLister lists the Namespaces.
func (l *Listers) GetNamespaceLister() corev1listers.NamespaceLister {
	return corev1listers.NewNamespaceLister(l.sorter.IndexerForObjectType(&corev1.Namespace{}))
}

// GetDeploymentLister lists the Deployments.
func (l *Listers) GetDeploymentLister() appsv1listers.DeploymentLister {
	return appsv1listers.NewDeploymentLister(l.sorter.IndexerForObjectType(&appsv1.Deployment{}))
}

// GetServiceAccountLister lists the ServiceAccounts.
func (l *Listers) GetServiceAccountLister() corev1listers.ServiceAccountLister {
	return corev1listers.NewServiceAccountLister(l.sorter.IndexerForObjectType(&corev1.ServiceAccount{}))
}

// GetRoleLister lists the Roles.
func (l *Listers) GetRoleLister() rbacv1listers.RoleLister {
	return rbacv1listers.NewRoleLister(l.sorter.IndexerForObjectType(&rbacv1.Role{}))
}

// GetRoleBindingLister lists the RoleBindings.
func (l *Listers) GetRoleBindingLister() rbacv1listers.RoleBindingLister {
	return rbacv1listers.NewRoleBindingLister(l.sorter.IndexerForObjectType(&rbacv1.RoleBinding{}))
}

// GetPodLister lists the Pods.
func (l *Listers) GetPodLister() corev1listers.PodLister {
	return corev1listers.NewPodLister(l.sorter.IndexerForObjectType(&corev1.Pod{}))
}
