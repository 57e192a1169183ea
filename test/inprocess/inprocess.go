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

// Package inprocess runs the real TektonStepSource controller inside the
// calling process against any apiserver, wired the way sharedmain wires
// cmd/controller (injection clients and informers, the ConfigMap watcher on
// SYSTEM_NAMESPACE, tektonstepsource.NewController) minus what a test or a
// local control plane has no use for: leader election, metrics, profiling
// and health probes. The integration tests and the local control plane
// (test/cmd/local-control-plane) both use it.
//
// No kubelet runs on the local control plane, so no adapter pod ever
// starts; SimulateAdapters stands in for the Deployment controller and the
// kubelet by marking the adapter Deployments available.
package inprocess

import (
	"context"
	"fmt"
	"os"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	watchtools "k8s.io/client-go/tools/watch"
	kubeclient "knative.dev/pkg/client/injection/kube/client"
	cminformer "knative.dev/pkg/configmap/informer"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/logging"
	"knative.dev/pkg/system"

	"github.com/tektonstep/tekton-step-source/pkg/reconciler/guard"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

const (
	// DefaultSystemNamespace is where config/ puts the controller and its
	// ConfigMaps; used when SYSTEM_NAMESPACE is not set.
	DefaultSystemNamespace = "tekton-step-source"
	// DefaultAdapterImage is the adapter image when
	// TEKTON_STEP_SOURCE_RA_IMAGE is not set: the reference
	// config/500-controller.yaml gives it before ko resolves it.
	DefaultAdapterImage = "ko://github.com/tektonstep/tekton-step-source/cmd/receive_adapter"
	// EventComponent is the source of the controller's Kubernetes Events,
	// as the generated reconciler names it.
	EventComponent = "tektonstepsource-controller"
)

// RunController runs the controller until ctx is done, with the logger of
// ctx (logging.WithLogger). The controller reads SYSTEM_NAMESPACE and
// TEKTON_STEP_SOURCE_RA_IMAGE from the environment, as in its Deployment;
// unset, they are set to DefaultSystemNamespace and DefaultAdapterImage.
// The ConfigMaps config-logging and config-observability are optional (as
// with sharedmain, defaults apply when they are absent).
func RunController(ctx context.Context, cfg *rest.Config) error {
	for env, value := range map[string]string{
		system.NamespaceEnvKey:           DefaultSystemNamespace,
		tektonstepsource.AdapterImageEnv: DefaultAdapterImage,
	} {
		if os.Getenv(env) == "" {
			if err := os.Setenv(env, value); err != nil {
				return err
			}
		}
	}

	// As sharedmain: the reconcile workers of each controller.
	if v, ok := os.LookupEnv("K_THREADS_PER_CONTROLLER"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("K_THREADS_PER_CONTROLLER=%q: want a positive number", v)
		}
		controller.DefaultThreadsPerController = n
	}

	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		// sharedmain's default protects a shared apiserver; a test's
		// private one can take more, and tests finish sooner. (envtest's
		// config already has 1000 requests/s.)
		cfg.QPS, cfg.Burst = 50, 100
	}
	ctx = tektonstepsource.WithInformerSelectors(ctx)
	ctx = injection.WithConfig(ctx, cfg)
	ctx, informers := injection.Default.SetupInformers(ctx, cfg)

	// The event recorder the generated reconciler would create stops its
	// watchers but never shuts its broadcaster down, which with this
	// client-go leaves two goroutines spinning on closed channels: harmless
	// when the process exits with the controller, a CPU drain for a test
	// process that starts and stops controllers. This one is shut down.
	broadcaster := record.NewBroadcaster()
	defer broadcaster.Shutdown()
	broadcaster.StartLogging(logging.FromContext(ctx).Named("event-broadcaster").Infof)
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kubeclient.Get(ctx).CoreV1().Events("")})
	ctx = controller.WithEventRecorder(ctx, broadcaster.NewRecorder(scheme.Scheme,
		corev1.EventSource{Component: EventComponent}))

	cmw := cminformer.NewInformedWatcher(kubeclient.Get(ctx), system.Namespace())
	impl := tektonstepsource.NewController(ctx, cmw)
	guardImpl := guard.NewController(ctx, cmw)
	if err := cmw.Start(ctx.Done()); err != nil {
		return fmt.Errorf("starting the ConfigMap watcher: %w", err)
	}
	if err := controller.StartInformers(ctx.Done(), informers...); err != nil {
		return fmt.Errorf("starting the informers: %w", err)
	}
	logging.FromContext(ctx).Info("TektonStepSource controller running in-process")
	return controller.StartAll(ctx, impl, guardImpl)
}

// MarkAvailable writes the status a Deployment controller and a kubelet
// give a Deployment whose pods all run: the replicas it wants, ready, and
// Available=True.
func MarkAvailable(ctx context.Context, kc kubernetes.Interface, d *appsv1.Deployment) (*appsv1.Deployment, error) {
	d = d.DeepCopy()
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	now := metav1.Now()
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           replicas,
		UpdatedReplicas:    replicas,
		ReadyReplicas:      replicas,
		AvailableReplicas:  replicas,
		Conditions: []appsv1.DeploymentCondition{{
			Type:               appsv1.DeploymentAvailable,
			Status:             corev1.ConditionTrue,
			Reason:             "MinimumReplicasAvailable",
			Message:            "Simulated: no kubelet runs on the local control plane.",
			LastUpdateTime:     now,
			LastTransitionTime: now,
		}},
	}
	return kc.AppsV1().Deployments(d.Namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
}

// SimulateAdapters marks every adapter Deployment (the controller's labels)
// available whenever its spec changes, until ctx is done. It calls report
// (if not nil) for each Deployment it marks.
func SimulateAdapters(ctx context.Context, cfg *rest.Config, report func(*appsv1.Deployment)) error {
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	deployments := kc.AppsV1().Deployments(metav1.NamespaceAll)
	opts := metav1.ListOptions{LabelSelector: resources.AdapterSelector}
	list, err := deployments.List(ctx, opts)
	if err != nil {
		return err
	}
	// A RetryWatcher resumes after apiserver restarts and expired watches.
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &deploymentWatcher{deployments, opts})
	if err != nil {
		return err
	}
	defer w.Stop()
	mark := func(d *appsv1.Deployment) {
		if d.DeletionTimestamp != nil || (d.Status.ObservedGeneration == d.Generation && isAvailable(d)) {
			return
		}
		if marked, err := MarkAvailable(ctx, kc, d); err == nil && report != nil {
			report(marked)
		}
	}
	for i := range list.Items {
		mark(&list.Items[i])
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return ctx.Err()
			}
			if d, isDeployment := ev.Object.(*appsv1.Deployment); isDeployment && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				mark(d)
			}
		}
	}
}

func isAvailable(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// deploymentWatcher adapts a Deployment client to the RetryWatcher.
type deploymentWatcher struct {
	client interface {
		Watch(context.Context, metav1.ListOptions) (watch.Interface, error)
	}
	opts metav1.ListOptions
}

func (c *deploymentWatcher) WatchWithContext(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
	options.LabelSelector = c.opts.LabelSelector
	return c.client.Watch(ctx, options)
}
