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

package resources

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/rickb777/date/period"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"knative.dev/eventing/pkg/adapter/v2"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	reconcilersource "knative.dev/eventing/pkg/reconciler/source"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/kmeta"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/ptr"
	"knative.dev/pkg/system"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// Lease timings of adapter replicas (client-go's usual ones, shorter than
// knative.dev/pkg's defaults): the buckets of a replica that died move to
// the others within about LeaseDuration.
const (
	LeaseDuration      = 15 * time.Second
	LeaseRenewDeadline = 10 * time.Second
	LeaseRetryPeriod   = 2 * time.Second
)

const (
	// ContainerName is the name of the adapter's only container.
	ContainerName = "receive-adapter"

	// probesPort is where adapter/v2 serves /health and /readiness
	// (knative.dev/pkg injection.HealthCheckDefaultPort).
	probesPort = 8080
)

// ReceiveAdapterArgs are what the adapter Deployment is made of. Source must
// have its defaults applied.
type ReceiveAdapterArgs struct {
	// Image is the receive adapter image.
	Image string
	// Source is the TektonStepSource, with defaults applied.
	Source *v1alpha1.TektonStepSource
	// ServiceAccountName is the account the adapter runs as.
	ServiceAccountName string
	// OIDCServiceAccount is the source's OIDC ServiceAccount, whose
	// tokens the adapter sends ("" with Knative's OIDC off).
	OIDCServiceAccount string
	// Sink is the resolved sink address.
	Sink *duckv1.Addressable
	// Namespaces are the namespaces to watch, unless AllNamespaces.
	Namespaces []string
	// AllNamespaces watches TaskRuns cluster-wide.
	AllNamespaces bool
	// ClusterWatch serves Namespaces with one cluster-wide watch (the
	// account may list and watch TaskRuns in all namespaces).
	ClusterWatch bool
	// Configs renders the logging and observability configuration into
	// environment variables (K_LOGGING_CONFIG, K_OBSERVABILITY_CONFIG, ...).
	Configs reconcilersource.ConfigAccessor
	// MaskPatterns are the token patterns of the config-masking ConfigMap.
	MaskPatterns []string
	// Resources are the adapter container's (AdapterConfigMap); nil:
	// DefaultAdapterResources.
	Resources *corev1.ResourceRequirements
}

// MakeSourceConfig is the K_SOURCE_CONFIG of the source's adapter.
func MakeSourceConfig(src *v1alpha1.TektonStepSource, namespaces []string, allNamespaces bool) (*adaptercontract.Config, error) {
	cfg := &adaptercontract.Config{
		SourceUID:       string(src.UID),
		SourceName:      src.Name,
		SourceNamespace: src.Namespace,
		AllNamespaces:   allNamespaces,
		Filters:         src.Spec.Filters,
		// TaskRuns that completed before the source existed are history,
		// not news: the adapter skips them.
		NotBefore: src.CreationTimestamp,
	}
	switch {
	case allNamespaces:
	case src.Spec.NamespaceSelector != nil:
		// Followed from status.namespaces while the adapter runs: a
		// namespace joining or leaving restarts nothing.
		cfg.NamespacesFromStatus = true
	default:
		cfg.Namespaces = namespaces
	}
	if sel := src.Spec.Selector; sel != nil {
		// Not metav1.FormatLabelSelector: it renders an empty selector as
		// "<none>", which is no selector syntax. An empty string selects
		// every TaskRun, as an empty selector should.
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return nil, fmt.Errorf("spec.selector: %w", err)
		}
		cfg.LabelSelector = s.String()
	}
	if src.Spec.Log != nil && src.Spec.Log.MaxBytes != nil {
		cfg.LogMaxBytes = *src.Spec.Log.MaxBytes
	}
	cfg.MaskSecretValues = src.Spec.MasksSecretValues()
	cfg.MaskGrantsByName = cfg.MaskSecretValues && src.Spec.ServiceAccountName == ""
	if el := sinkEventListener(src); el != nil && !src.Spec.IncludeSinkTriggeredRuns {
		cfg.ExcludeEventListener = el
	}
	if g := src.Spec.DeletionGuard; g != nil {
		cfg.GuardDeadline = &metav1.Duration{Duration: v1alpha1.DefaultGuardDeadline}
		if g.Deadline != nil {
			cfg.GuardDeadline = g.Deadline.DeepCopy()
		}
	}
	if d := src.Spec.Delivery; d != nil {
		delivery := d.DeepCopy()
		delivery.DeadLetterSink = nil
		if src.Status.DeliveryStatus.IsSet() {
			dls := eventingduckv1.NewDestinationFromDeliveryStatus(src.Status.DeliveryStatus)
			delivery.DeadLetterSink = &dls
		} else if d.DeadLetterSink != nil {
			return nil, fmt.Errorf("spec.delivery.deadLetterSink is not resolved")
		}
		cfg.Delivery = delivery
	}
	return cfg, nil
}

// sinkTimeoutSeconds is K_SINK_TIMEOUT: spec.delivery.timeout rounded up
// to whole seconds (adapter/v2 takes seconds; the adapter itself applies
// the exact timeout), else the default.
func sinkTimeoutSeconds(src *v1alpha1.TektonStepSource) (int, error) {
	timeout := adaptercontract.DefaultSinkTimeout
	if d := src.Spec.Delivery; d != nil && d.Timeout != nil {
		p, err := period.Parse(*d.Timeout)
		if err != nil {
			return 0, fmt.Errorf("spec.delivery.timeout: %w", err)
		}
		timeout = p.DurationApprox()
	}
	secs := int(math.Ceil(timeout.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return secs, nil
}

// sinkEventListener is the Tekton Triggers EventListener the source's sink
// refers to (a ref without a namespace is in the source's), or nil. A URI
// sink is not recognised even when it is an EventListener's address: the
// docs/api.md ("Recursion guard") shows the selector to use then.
func sinkEventListener(src *v1alpha1.TektonStepSource) *adaptercontract.EventListenerRef {
	ref := src.Spec.Sink.Ref
	if !v1alpha1.IsEventListener(ref) {
		return nil
	}
	el := &adaptercontract.EventListenerRef{Name: ref.Name, Namespace: ref.Namespace}
	if el.Namespace == "" {
		el.Namespace = src.Namespace
	}
	return el
}

// MakeReceiveAdapter builds (but does not create) the source's receive
// adapter Deployment.
func MakeReceiveAdapter(args *ReceiveAdapterArgs) (*appsv1.Deployment, error) {
	env, err := makeEnv(args)
	if err != nil {
		return nil, err
	}
	containerResources := DefaultAdapterResources()
	if args.Resources != nil {
		containerResources = *args.Resources.DeepCopy()
	}
	labels := Labels(args.Source)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name:            DeploymentName(args.Source),
			Namespace:       args.Source.Namespace,
			Labels:          labels,
			OwnerReferences: []metav1.OwnerReference{*kmeta.NewControllerRef(args.Source)},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas(args.Source),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			// Old and new pods never run together: the new ones may be
			// configured differently (another sink, other buckets). The
			// adapter resumes from its checkpoints, so the short gap of a
			// Recreate loses nothing.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: args.ServiceAccountName,
					EnableServiceLinks: ptr.Bool(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.Bool(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:           ContainerName,
						Image:          args.Image,
						Env:            env,
						Ports:          []corev1.ContainerPort{{Name: "probes", ContainerPort: probesPort}},
						ReadinessProbe: probe("/readiness"),
						LivenessProbe:  probe("/health"),
						Resources:      containerResources,
						// The "restricted" Pod Security Standard.
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.Bool(false),
							ReadOnlyRootFilesystem:   ptr.Bool(true),
							RunAsNonRoot:             ptr.Bool(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
				},
			},
		},
	}, nil
}

// makeEnv follows adapter/v2's EnvConfig (knative.dev/eventing
// pkg/adapter/v2/config.go) plus K_SOURCE_CONFIG. Every value is literal (no
// fieldRef), so the apiserver stores the list exactly as built and the
// controller can compare it for equality.
func makeEnv(args *ReceiveAdapterArgs) ([]corev1.EnvVar, error) {
	src := args.Source
	if args.Sink == nil || args.Sink.URL == nil {
		return nil, fmt.Errorf("no sink address")
	}
	cfg, err := MakeSourceConfig(src, args.Namespaces, args.AllNamespaces)
	if err != nil {
		return nil, err
	}
	cfg.MaskPatterns = args.MaskPatterns
	cfg.ClusterWatch = args.ClusterWatch && !args.AllNamespaces
	cfgJSON, err := cfg.Encode()
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", adaptercontract.EnvName, err)
	}

	timeout, err := sinkTimeoutSeconds(src)
	if err != nil {
		return nil, err
	}
	env := []corev1.EnvVar{{Name: adapter.EnvConfigSink, Value: args.Sink.URL.String()}}
	if args.Sink.CACerts != nil && *args.Sink.CACerts != "" {
		env = append(env, corev1.EnvVar{Name: adapter.EnvConfigCACert, Value: *args.Sink.CACerts})
	}
	if args.Sink.Audience != nil && *args.Sink.Audience != "" {
		env = append(env, corev1.EnvVar{Name: adapter.EnvConfigAudience, Value: *args.Sink.Audience})
	}
	if args.OIDCServiceAccount != "" {
		// adapter/v2 attaches a token for this account to each request to
		// a sink with an audience (the dead-letter sink's own audience);
		// without an audience it sends none, as Knative's sources do.
		env = append(env, corev1.EnvVar{Name: adapter.EnvConfigOIDCServiceAccount, Value: args.OIDCServiceAccount})
	}
	if src.Spec.CloudEventOverrides != nil {
		overrides, err := json.Marshal(src.Spec.CloudEventOverrides)
		if err != nil {
			return nil, fmt.Errorf("encoding ceOverrides: %w", err)
		}
		env = append(env, corev1.EnvVar{Name: adapter.EnvConfigCEOverrides, Value: string(overrides)})
	}
	env = append(env,
		corev1.EnvVar{Name: adapter.EnvConfigNamespace, Value: src.Namespace},
		corev1.EnvVar{Name: adapter.EnvConfigName, Value: src.Name},
		// Also silences adapter/v2's warning about an unset timeout.
		corev1.EnvVar{Name: adapter.EnvSinkTimeout, Value: strconv.Itoa(timeout)},
		corev1.EnvVar{Name: adaptercontract.EnvName, Value: cfgJSON},
	)
	if n := *replicas(src); n > 1 {
		// The adapter names the Leases
		// tekton-step-source-adapter.<source>.<i>-of-<replicas>.
		le, err := adapter.LeaderElectionComponentConfigToJSON(&leaderelection.ComponentConfig{
			Buckets:       uint32(n),
			LeaseDuration: LeaseDuration,
			RenewDeadline: LeaseRenewDeadline,
			RetryPeriod:   LeaseRetryPeriod,
		})
		if err != nil {
			return nil, fmt.Errorf("encoding the leader election configuration: %w", err)
		}
		env = append(env,
			corev1.EnvVar{Name: adapter.EnvConfigLeaderElectionConfig, Value: le},
			// Where knative.dev/pkg's leader election keeps the Leases.
			corev1.EnvVar{Name: system.NamespaceEnvKey, Value: src.Namespace},
			// Its ready replicas share the buckets.
			corev1.EnvVar{Name: adaptercontract.EnvDeployment, Value: DeploymentName(src)},
		)
	}
	if args.Configs != nil {
		env = append(env, args.Configs.ToEnvVars()...)
	}
	return env, nil
}

func replicas(src *v1alpha1.TektonStepSource) *int32 {
	if src.Spec.Replicas == nil {
		return ptr.Int32(v1alpha1.DefaultReplicas)
	}
	return ptr.Int32(*src.Spec.Replicas)
}

// probe is an HTTP probe of the adapter's probes port with Kubernetes'
// default timings written out: the controller compares the Deployment it
// wants with the stored one ignoring fields it leaves unset, but not
// numbers, so unset (0) timings would differ from the apiserver's defaults
// on every reconcile and update the Deployment each time.
func probe(path string) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString("probes")}},
		TimeoutSeconds:   1,
		PeriodSeconds:    10,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
}
