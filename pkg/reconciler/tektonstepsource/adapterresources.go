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
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"knative.dev/pkg/logging"

	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// AdapterResources holds the adapters' container resources of the
// config-tektonstep-adapter ConfigMap. refused: the ConfigMap is invalid
// and no valid one was read since the controller started, so the
// adapters keep the resources they have (a new one gets the default).
type AdapterResources struct {
	v       atomic.Pointer[corev1.ResourceRequirements]
	refused atomic.Bool
}

// Update reads the ConfigMap and reports whether the resources changed. An
// invalid value keeps the previous resources, with an error logged: a typo
// must not take the adapters' memory limit away, nor stop them.
func (a *AdapterResources) Update(ctx context.Context, cm *corev1.ConfigMap) bool {
	r, err := resources.ParseAdapterResources(cm.Data[resources.AdapterResourcesKey])
	if err != nil {
		logging.FromContext(ctx).Errorw("Ignoring the new "+resources.AdapterConfigMap+"; the adapters keep the resources they have", "error", err)
		a.refused.Store(a.v.Load() == nil)
		return false
	}
	a.refused.Store(false)
	if old := a.v.Swap(&r); old != nil && equality.Semantic.DeepEqual(*old, r) {
		return false
	}
	return true
}

// adapterResources are the resources the adapters get (nil: the
// default); keep: an existing adapter keeps its own.
func (r *Reconciler) adapterResources() (res *corev1.ResourceRequirements, keep bool) {
	if r.AdapterResources == nil {
		return nil, false
	}
	return r.AdapterResources.v.Load(), r.AdapterResources.refused.Load()
}
