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

package adapter

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/tektonstep/tekton-step-source/pkg/adapter/watches"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// This file follows the namespaces of a source with a namespaceSelector
// (namespacesFromStatus) from its status, where the controller writes them
// once it confirmed the adapter's account may read them.

// confirmedNamespaces waits until the source's status confirms its
// namespaces, and returns them.
func (a *Adapter) confirmedNamespaces(ctx context.Context) ([]string, error) {
	logged := false
	for {
		if ns, ok := a.statusNamespaces(); ok {
			return ns, nil
		}
		if !logged {
			a.logger.Infow("Waiting for the controller to confirm the source's namespaces (status.namespaces, SufficientPermissions)")
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(time.Second):
		}
	}
}

// statusNamespaces: the namespaces the source's status confirms, false
// while it confirms none.
func (a *Adapter) statusNamespaces() ([]string, bool) {
	for _, obj := range a.sourceInformer.GetStore().List() {
		if src, ok := obj.(*v1alpha1.TektonStepSource); ok && string(src.UID) == a.opts.Config.SourceUID {
			return watches.Confirmed(src)
		}
	}
	return nil, false
}

// followNamespaces applies what the source's status confirms, once the
// watches are set up.
func (a *Adapter) followNamespaces(src *v1alpha1.TektonStepSource) {
	if !a.opts.Config.NamespacesFromStatus {
		return
	}
	namespaces, ok := watches.Confirmed(src)
	if !ok {
		return
	}
	joined, left, applied := a.watches.SetNamespaces(namespaces)
	if !applied {
		return
	}
	for _, ns := range joined {
		a.logger.Infow("Watching the TaskRuns of a namespace that joined", zap.String("namespace", ns))
	}
	for _, ns := range left {
		a.logger.Infow("No longer watching the TaskRuns of a namespace that left", zap.String("namespace", ns))
		a.namespaceLeft(ns)
	}
}
