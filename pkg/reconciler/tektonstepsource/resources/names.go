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

// Package resources builds the Kubernetes objects the TektonStepSource
// controller owns for each source: the receive adapter Deployment and, when
// the source names no service account, a per-source ServiceAccount, Role
// and RoleBinding; and the journal ConfigMap and Leases the adapter uses.
package resources

import (
	"k8s.io/apimachinery/pkg/labels"
	"knative.dev/pkg/kmeta"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

const (
	// NameLabel and ComponentLabel mark every object the controller creates
	// for a source; the controller's informers only watch objects with both.
	NameLabel      = "app.kubernetes.io/name"
	ComponentLabel = "app.kubernetes.io/component"

	// AppName is the value of NameLabel.
	AppName = "tekton-step-source"
	// componentValue is the value of ComponentLabel.
	componentValue = "adapter"
)

// AdapterSelector selects every object the controller creates for any source.
// The controller's Deployment, ServiceAccount, Role and RoleBinding informers are
// filtered with it, so it never caches the cluster's other objects of these
// kinds.
var AdapterSelector = labels.SelectorFromSet(labels.Set{
	NameLabel:      AppName,
	ComponentLabel: componentValue,
}).String()

// Labels are the labels of every object made for the source, and the
// adapter's pod selector.
func Labels(src *v1alpha1.TektonStepSource) map[string]string {
	return map[string]string{
		// Label values are limited to 63 characters; ChildName keeps short
		// names and hashes long ones.
		adaptercontract.SourceLabel: kmeta.ChildName(src.Name, ""),
		NameLabel:                   AppName,
		ComponentLabel:              componentValue,
	}
}

// DeploymentName is the name of the source's receive adapter Deployment.
// The ServiceAccount, Role and RoleBinding of a source without
// serviceAccountName share it, so `kubectl get deploy,sa,role,rolebinding
// <name>` shows everything
// a source runs with. A source recreated with the same name while its
// predecessor's objects still await garbage collection is retried until they
// are gone: the controller never adopts objects another owner controls.
func DeploymentName(src *v1alpha1.TektonStepSource) string {
	return adaptercontract.AdapterName(src.Name)
}

// ServiceAccountName is the name of the per-source ServiceAccount (and its
// Role and RoleBinding) of a source without spec.serviceAccountName.
func ServiceAccountName(src *v1alpha1.TektonStepSource) string {
	return adaptercontract.AdapterName(src.Name)
}
