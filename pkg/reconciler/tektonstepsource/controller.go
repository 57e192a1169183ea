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
	"os"
	"slices"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	o11yconfigmap "knative.dev/eventing/pkg/observability/configmap"
	reconcilersource "knative.dev/eventing/pkg/reconciler/source"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	deploymentinformer "knative.dev/pkg/client/injection/kube/informers/apps/v1/deployment/filtered"
	namespaceinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/namespace"
	podinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/pod/filtered"
	serviceaccountinformer "knative.dev/pkg/client/injection/kube/informers/core/v1/serviceaccount/filtered"
	filteredfactory "knative.dev/pkg/client/injection/kube/informers/factory/filtered"
	clusterroleinformer "knative.dev/pkg/client/injection/kube/informers/rbac/v1/clusterrole"
	allroleinformer "knative.dev/pkg/client/injection/kube/informers/rbac/v1/role"
	roleinformer "knative.dev/pkg/client/injection/kube/informers/rbac/v1/role/filtered"
	allrolebindinginformer "knative.dev/pkg/client/injection/kube/informers/rbac/v1/rolebinding"
	rolebindinginformer "knative.dev/pkg/client/injection/kube/informers/rbac/v1/rolebinding/filtered"
	"knative.dev/pkg/configmap"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/system"

	"knative.dev/eventing/pkg/apis/feature"
	"knative.dev/eventing/pkg/auth"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	tektonstepsourceinformer "github.com/tektonstep/tekton-step-source/pkg/client/injection/informers/sources/v1alpha1/tektonstepsource"
	tektonstepsourcereconciler "github.com/tektonstep/tekton-step-source/pkg/client/injection/reconciler/sources/v1alpha1/tektonstepsource"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

const (
	// Component names the controller in logs, metrics and leader election;
	// its log level is `loglevel.controller` in config-logging.
	Component = "controller"

	// AdapterImageEnv is the environment variable with the receive adapter
	// image (config/500-controller.yaml sets it to a ko:// reference).
	AdapterImageEnv = "TEKTON_STEP_SOURCE_RA_IMAGE"
)

// WithInformerSelectors adds the label selectors of the objects the
// controller watches to the context's filtered informer factories. Call it
// on the context given to sharedmain (or injection): the controller's
// Deployment, ServiceAccount, Role and RoleBinding informers only watch the
// objects it creates, not every Deployment of the cluster, its pod
// informer only TaskRun pods, and its OIDC ServiceAccount informer only
// the sources' OIDC accounts (Knative's label).
func WithInformerSelectors(ctx context.Context) context.Context {
	selectors, _ := ctx.Value(filteredfactory.LabelKey{}).([]string)
	out := append([]string(nil), selectors...)
	for _, want := range []string{resources.AdapterSelector, resources.TaskRunPodSelector, auth.OIDCLabelSelector} {
		if !slices.Contains(out, want) {
			out = append(out, want)
		}
	}
	if len(out) == len(selectors) {
		return ctx
	}
	return filteredfactory.WithSelectors(ctx, out...)
}

// NewController builds the TektonStepSource controller; its signature is
// injection.ControllerConstructor, for sharedmain.
func NewController(ctx context.Context, cmw configmap.Watcher) *controller.Impl {
	logger := logging.FromContext(ctx)
	image := os.Getenv(AdapterImageEnv)
	if image == "" {
		logger.Panicf("The environment variable %s (the receive adapter image) is not set", AdapterImageEnv)
	}

	sourceInformer := tektonstepsourceinformer.Get(ctx)
	deploymentInformer := deploymentinformer.Get(ctx, resources.AdapterSelector)
	serviceAccountInformer := serviceaccountinformer.Get(ctx, resources.AdapterSelector)
	roleInformer := roleinformer.Get(ctx, resources.AdapterSelector)
	roleBindingInformer := rolebindinginformer.Get(ctx, resources.AdapterSelector)
	namespaceInformer := namespaceinformer.Get(ctx)
	taskRunPodInformer := podinformer.Get(ctx, resources.TaskRunPodSelector)
	if err := taskRunPodInformer.Informer().SetTransform(resources.TrimTaskRunPod); err != nil {
		logger.Panicw("Cannot trim the TaskRun pods the controller caches", zap.Error(err))
	}

	oidcServiceAccountInformer := serviceaccountinformer.Get(ctx, auth.OIDCLabelSelector)

	r := &Reconciler{
		KubeClientSet:        kubeclient.Get(ctx),
		ReceiveAdapterImage:  image,
		Configs:              reconcilersource.WatchConfigurations(ctx, adaptercontract.Component, cmw),
		MaskPatterns:         &MaskPatterns{},
		AdapterResources:     &AdapterResources{},
		created:              newCreatedObjects(),
		allowedAccess:        newAllowedAccess(),
		NamespaceLister:      namespaceInformer.Lister(),
		DeploymentLister:     deploymentInformer.Lister(),
		ServiceAccountLister: serviceAccountInformer.Lister(),
		RoleLister:           roleInformer.Lister(),
		RoleBindingLister:    roleBindingInformer.Lister(),
		TaskRunPodLister:     taskRunPodInformer.Lister(),

		OIDCServiceAccountLister: oidcServiceAccountInformer.Lister(),
	}
	// Knative Eventing's feature flags (authentication-oidc) reach each
	// reconcile through its context (feature.FromContext); a change
	// reconciles every source.
	var resyncAll func()
	features := feature.NewStore(logger.Named("feature-config-store"), func(string, interface{}) {
		if resyncAll != nil {
			resyncAll()
		}
	})
	impl := tektonstepsourcereconciler.NewImpl(ctx, r, func(*controller.Impl) controller.Options {
		return controller.Options{ConfigStore: features}
	})
	resyncAll = func() { impl.GlobalResync(sourceInformer.Informer()) }
	if err := watchFeatures(ctx, r.KubeClientSet, features); err != nil {
		logger.Panicw("Cannot read Knative Eventing's features", zap.Error(err))
	}
	// Tracker-driven: a sink that appears later or changes its address
	// enqueues the sources that point at it. Only refs of addressable kinds
	// are looked up (addressableKind).
	crdInformer := addressableCRDs(ctx)
	r.SinkResolver = newSinkResolver(ctx, impl.Tracker, labelledIn(crdInformer.Lister()))

	sourceInformer.Informer().AddEventHandler(controller.HandleAll(impl.Enqueue))

	// A kind becoming addressable (Knative Eventing installed after the
	// sources, a CustomResourceDefinition labelled) or ceasing to be one
	// reconciles the sources that refer to it: their refusal is permanent
	// until then. The CRDs present at start need nothing: every source is
	// reconciled then anyway.
	crdsChanged := func(obj interface{}) {
		if name, ok := nameOf(obj); ok {
			impl.FilteredGlobalResync(refersToCRD(name), sourceInformer.Informer())
		}
	}
	crdInformer.Informer().AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj interface{}, isInInitialList bool) {
			if !isInInitialList {
				crdsChanged(obj)
			}
		},
		DeleteFunc: crdsChanged,
	})

	// What a source owns: changes (a Deployment becoming available, a
	// deleted RoleBinding) reconcile the owner.
	owned := cache.FilteringResourceEventHandler{
		FilterFunc: controller.FilterController(&v1alpha1.TektonStepSource{}),
		Handler:    controller.HandleAll(impl.EnqueueControllerOf),
	}
	deploymentInformer.Informer().AddEventHandler(owned)
	serviceAccountInformer.Informer().AddEventHandler(owned)
	roleInformer.Informer().AddEventHandler(owned)
	roleBindingInformer.Informer().AddEventHandler(owned)
	oidcServiceAccountInformer.Informer().AddEventHandler(owned)

	// What the grants of user-provided accounts in the namespaces a
	// namespaceSelector selects rest on: a change forgets what was allowed
	// through it (allowedAccess), so that a revoked grant shows at the
	// source's next reconcile (at most ResyncInterval later).
	for _, inf := range []cache.SharedIndexInformer{allroleinformer.Get(ctx).Informer(),
		allrolebindinginformer.Get(ctx).Informer(), clusterroleinformer.Get(ctx).Informer()} {
		if err := inf.SetTransform(trimToNames); err != nil {
			logger.Panicw("Cannot trim the RBAC objects the controller caches", zap.Error(err))
		}
		// A failing watch misses changes until it lists again.
		if err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, reflector *cache.Reflector, err error) {
			cache.DefaultWatchErrorHandler(ctx, reflector, err)
			r.allowedAccess.allChanged(time.Now())
		}); err != nil {
			logger.Panicw("Cannot watch the RBAC objects' watch errors", zap.Error(err))
		}
		inf.AddEventHandler(grantsChanged(r.allowedAccess))
	}

	// Namespaces coming, going or being relabelled change what the sources
	// with a namespaceSelector watch; the others watch their own namespace.
	namespaceInformer.Informer().AddEventHandler(controller.HandleAll(func(interface{}) {
		impl.FilteredGlobalResync(hasNamespaceSelector, sourceInformer.Informer())
	}))

	// A TaskRun pod coming or going changes what the Role of a source that
	// masks Secret values in its namespace grants (resources.MaskAccessTo);
	// its updates (container states) do not: a pod's spec does not change.
	podsChanged := func(obj interface{}) {
		if ns, ok := namespaceOf(obj); ok {
			impl.FilteredGlobalResync(masksSecretsIn(ns), sourceInformer.Informer())
		}
	}
	taskRunPodInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: podsChanged, DeleteFunc: podsChanged})

	// The logging and observability configuration is copied into every
	// adapter's environment: roll the adapters when it changes. (Registered
	// after WatchConfigurations, so its observers have seen the change.)
	resync := func(*corev1.ConfigMap) { impl.GlobalResync(sourceInformer.Informer()) }
	// A deleted ConfigMap counts as an empty one (the watcher passes on
	// only ConfigMaps of the system namespace, defaults included).
	watch := func(name string, observer configmap.Observer) {
		if dw, ok := cmw.(configmap.DefaultingWatcher); ok {
			dw.WatchWithDefault(corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: system.Namespace()},
				Data: map[string]string{}}, observer)
		} else {
			cmw.Watch(name, observer)
		}
	}
	for _, name := range []string{logging.ConfigMapName(), o11yconfigmap.Name()} {
		watch(name, resync)
	}
	// The token patterns every adapter masks: a valid change rolls them.
	watch(adaptercontract.MaskingConfigMap, func(cm *corev1.ConfigMap) {
		if r.MaskPatterns.Update(ctx, cm) {
			resync(cm)
		}
	})
	// The adapters' container resources: a valid change rolls them.
	watch(resources.AdapterConfigMap, func(cm *corev1.ConfigMap) {
		if r.AdapterResources.Update(ctx, cm) {
			resync(cm)
		}
	})
	return impl
}

// masksSecretsIn selects the sources with a per-source Role in the
// namespace that masks Secret values.
func masksSecretsIn(ns string) func(interface{}) bool {
	return func(obj interface{}) bool {
		src, ok := obj.(*v1alpha1.TektonStepSource)
		return ok && src.Namespace == ns && src.Spec.ServiceAccountName == "" && src.Spec.MasksSecretValues()
	}
}

// namespaceOf is the namespace of an informer's object, also of a deleted
// one the informer only knows the key of.
func namespaceOf(obj interface{}) (string, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		ns, _, err := cache.SplitMetaNamespaceKey(d.Key)
		return ns, err == nil
	}
	o, ok := obj.(metav1.Object)
	if !ok {
		return "", false
	}
	return o.GetNamespace(), true
}

// nameOf is the name of an informer's cluster-scoped object, also of a
// deleted one the informer only knows the key of.
func nameOf(obj interface{}) (string, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return d.Key, true
	}
	o, ok := obj.(metav1.Object)
	if !ok {
		return "", false
	}
	return o.GetName(), true
}

func hasNamespaceSelector(obj interface{}) bool {
	src, ok := obj.(*v1alpha1.TektonStepSource)
	return ok && src.Spec.NamespaceSelector != nil
}
