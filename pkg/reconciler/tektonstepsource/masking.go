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
	"slices"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"knative.dev/pkg/logging"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
)

// MaskPatterns holds the token patterns of the config-masking ConfigMap,
// which every adapter masks besides its built-in ones.
type MaskPatterns struct{ v atomic.Pointer[[]string] }

// Update reads the ConfigMap and reports whether the patterns changed. An
// invalid pattern keeps the previous ones, with an error logged: a typo
// must not turn masking off, nor stop every adapter.
func (m *MaskPatterns) Update(ctx context.Context, cm *corev1.ConfigMap) bool {
	patterns, err := adaptercontract.ParseMaskPatterns(cm.Data[adaptercontract.MaskingPatternsKey])
	if err != nil {
		logging.FromContext(ctx).Errorw("Ignoring the new "+adaptercontract.MaskingConfigMap+"; the adapters keep the patterns they have", "error", err)
		return false
	}
	if old := m.v.Swap(&patterns); old != nil && slices.Equal(*old, patterns) {
		return false
	}
	return true
}

// maskPatterns are the patterns the adapters get.
func (r *Reconciler) maskPatterns() []string {
	if r.MaskPatterns == nil {
		return nil
	}
	if p := r.MaskPatterns.v.Load(); p != nil {
		return *p
	}
	return nil
}
