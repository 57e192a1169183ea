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
	"os"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"knative.dev/eventing/pkg/apis/feature"
	cminformer "knative.dev/pkg/configmap/informer"
	"knative.dev/pkg/logging"
)

const (
	// EventingNamespaceEnv names the namespace of Knative Eventing's
	// config-features (config/500-controller.yaml sets it).
	EventingNamespaceEnv = "EVENTING_SYSTEM_NAMESPACE"
	// DefaultEventingNamespace is where Knative Eventing installs itself.
	DefaultEventingNamespace = "knative-eventing"

	// featuresSyncTimeout bounds the first read of config-features: a
	// controller that cannot read it (its ClusterRole changed) stops with
	// a clear error rather than reconcile every source as if OIDC were off.
	featuresSyncTimeout = time.Minute

	// defaultFeaturesAnnotation marks the default config-features the
	// watcher passes on when there is none (it never is on a real one).
	defaultFeaturesAnnotation = "sources.knative.dev/default-of-tekton-step-source"
)

// EventingNamespace is the namespace of Knative Eventing's config-features.
func EventingNamespace() string {
	if ns := os.Getenv(EventingNamespaceEnv); ns != "" {
		return ns
	}
	return DefaultEventingNamespace
}

// watchFeatures reads Knative Eventing's feature flags (config-features)
// into store, as Knative's own reconcilers do, and returns once they are
// read: a source reconciled before would lose its OIDC identity. Without
// Knative Eventing every feature is off, Knative's defaults; a
// config-features deleted later leaves the flags as they were, as in
// Knative's controllers, which keep the last ones they read (turning OIDC
// off here alone would make every sink's ingress refuse the sources).
// Only that one ConfigMap is read (a field selector the controller's
// ClusterRole limits it to), not every ConfigMap of Eventing's namespace.
func watchFeatures(ctx context.Context, kube kubernetes.Interface, store *feature.Store) error {
	ns := EventingNamespace()
	factory := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", feature.FlagsConfigName).String()
		}))
	watcher := cminformer.NewInformedWatcherFromFactory(factory, ns)
	var read atomic.Bool
	observe := func(cm *corev1.ConfigMap) {
		// The default stands for a missing ConfigMap, and is passed on
		// again when it is deleted: only before any real one was read does
		// it apply.
		_, isDefault := cm.Annotations[defaultFeaturesAnnotation]
		if isDefault && read.Load() {
			return
		}
		if !isDefault {
			read.Store(true)
		}
		store.OnConfigChanged(cm)
	}
	watcher.WatchWithDefault(corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: feature.FlagsConfigName, Namespace: ns,
		Annotations: map[string]string{defaultFeaturesAnnotation: ""}}, Data: map[string]string{}}, observe)
	started := make(chan error, 1)
	go func() { started <- watcher.Start(ctx.Done()) }()
	select {
	case err := <-started:
		if err != nil {
			return fmt.Errorf("reading %s/%s: %w", ns, feature.FlagsConfigName, err)
		}
	case <-time.After(featuresSyncTimeout):
		return fmt.Errorf("reading %s/%s: not read within %v (may the controller list and watch it?)",
			ns, feature.FlagsConfigName, featuresSyncTimeout)
	}
	// Start returns once the informer's cache is filled (and the default
	// applied), not once its handlers ran: the ConfigMap the cache holds is
	// applied here, so that the first reconcile sees it. (The handler
	// applies it again, to the same flags.)
	if cm, err := factory.Core().V1().ConfigMaps().Lister().ConfigMaps(ns).Get(feature.FlagsConfigName); err == nil {
		observe(cm)
	}
	logging.FromContext(ctx).Infow("Knative Eventing's features read", "namespace", ns,
		"authentication-oidc", store.IsEnabled(feature.OIDCAuthentication))
	return nil
}
