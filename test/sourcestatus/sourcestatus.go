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

// Package sourcestatus writes what the controller writes in a
// TektonStepSource's status, for tests that run an adapter without it.
package sourcestatus

import (
	"context"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
)

// NewSelectorSource creates a source with a namespaceSelector in ns (no
// controller acts on it).
func NewSelectorSource(ctx context.Context, sources sourcesclient.Interface, ns, name string) (*v1alpha1.TektonStepSource, error) {
	return sources.SourcesV1alpha1().TektonStepSources(ns).Create(ctx, &v1alpha1.TektonStepSource{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.TektonStepSourceSpec{
			SourceSpec:         duckv1.SourceSpec{Sink: duckv1.Destination{URI: apis.HTTP("sink.example")}},
			ServiceAccountName: "watcher",
			NamespaceSelector:  &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
		},
	}, metav1.CreateOptions{})
}

// ConfirmNamespaces writes the source's status as the controller does
// after its permission check: the namespaces and SufficientPermissions
// True, or (sufficient false) no namespaces and SufficientPermissions False.
func ConfirmNamespaces(ctx context.Context, sources sourcesclient.Interface, ns, name string, sufficient bool, namespaces ...string) error {
	cur, err := sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	status := corev1.ConditionTrue
	if !sufficient {
		status, namespaces = corev1.ConditionFalse, nil
	}
	sort.Strings(namespaces)
	cur.Status.Namespaces = namespaces
	cur.Status.Conditions = duckv1.Conditions{{Type: v1alpha1.TektonStepSourceConditionSufficientPermissions, Status: status,
		LastTransitionTime: apis.VolatileTime{Inner: metav1.Now()}}}
	_, err = sources.SourcesV1alpha1().TektonStepSources(ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	return err
}
