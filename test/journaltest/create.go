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

package journaltest

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// Create creates the journal ConfigMap of the source cfg describes, as the
// controller does (resources.MakeJournal): the adapter only reads and
// patches it. An existing one is left alone.
func Create(ctx context.Context, kube kubernetes.Interface, cfg *adaptercontract.Config) error {
	src := &v1alpha1.TektonStepSource{ObjectMeta: metav1.ObjectMeta{
		Name: cfg.SourceName, Namespace: cfg.SourceNamespace, UID: types.UID(cfg.SourceUID)}}
	cm := resources.MakeJournal(src)
	if _, err := kube.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the journal %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}
