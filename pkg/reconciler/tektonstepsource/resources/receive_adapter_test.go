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
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/eventing/pkg/adapter/v2"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	reconcilersource "knative.dev/eventing/pkg/reconciler/source"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"
	"knative.dev/pkg/system"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// fixedConfigs stands in for the ConfigMap watcher.
type fixedConfigs struct {
	reconcilersource.ConfigAccessor
	env []corev1.EnvVar
}

func (f fixedConfigs) ToEnvVars() []corev1.EnvVar { return f.env }

var created = metav1.NewTime(time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC))

func source(mutate ...func(*v1alpha1.TektonStepSource)) *v1alpha1.TektonStepSource {
	src := &v1alpha1.TektonStepSource{
		ObjectMeta: metav1.ObjectMeta{
			Name: "steps", Namespace: "ci", UID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67",
			CreationTimestamp: created,
		},
		Spec: v1alpha1.TektonStepSourceSpec{
			SourceSpec: duckv1.SourceSpec{Sink: duckv1.Destination{URI: apis.HTTP("sink.ci.svc")}},
		},
	}
	for _, m := range mutate {
		m(src)
	}
	src.SetDefaults(context.Background())
	return src
}

func TestMakeReceiveAdapter(t *testing.T) {
	src := source(func(s *v1alpha1.TektonStepSource) {
		s.Spec.CloudEventOverrides = &duckv1.CloudEventOverrides{Extensions: map[string]string{"cluster": "dev"}}
	})
	caCerts, audience := "-----BEGIN CERTIFICATE-----", "sink-audience"
	got, err := MakeReceiveAdapter(&ReceiveAdapterArgs{
		Image:              "registry.example/adapter@sha256:1234",
		Source:             src,
		ServiceAccountName: "steps-tektonstep-adapter",
		OIDCServiceAccount: "steps-oidc-sources.knative.dev-tektonstepsource",
		Sink:               &duckv1.Addressable{URL: apis.HTTPS("sink.ci.svc"), CACerts: &caCerts, Audience: &audience},
		Namespaces:         []string{"ci"},
		Configs:            fixedConfigs{env: []corev1.EnvVar{{Name: "K_LOGGING_CONFIG", Value: "{}"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{
		"sources.knative.dev/tektonstepsource": "steps",
		"app.kubernetes.io/name":               "tekton-step-source",
		"app.kubernetes.io/component":          "adapter",
	}
	want := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name:      "steps-tektonstep-adapter",
			Namespace: "ci",
			Labels:    labels,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion:         "sources.knative.dev/v1alpha1",
				Kind:               "TektonStepSource",
				Name:               "steps",
				UID:                "4d9d2337-7988-43b0-8b80-0dc3a12a0e67",
				Controller:         ptr.Bool(true),
				BlockOwnerDeletion: ptr.Bool(true),
			}},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.Int32(1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: "steps-tektonstep-adapter",
					EnableServiceLinks: ptr.Bool(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.Bool(true),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  "receive-adapter",
						Image: "registry.example/adapter@sha256:1234",
						Env: []corev1.EnvVar{
							{Name: "K_SINK", Value: "https://sink.ci.svc"},
							{Name: "K_CA_CERTS", Value: caCerts},
							{Name: "K_AUDIENCE", Value: audience},
							// adapter/v2's variable for the account whose
							// tokens it sends.
							{Name: "K_OIDC_SERVICE_ACCOUNT", Value: "steps-oidc-sources.knative.dev-tektonstepsource"},
							{Name: "K_CE_OVERRIDES", Value: `{"extensions":{"cluster":"dev"}}`},
							{Name: "NAMESPACE", Value: "ci"},
							{Name: "NAME", Value: "steps"},
							{Name: "K_SINK_TIMEOUT", Value: "30"},
							{Name: "K_SOURCE_CONFIG", Value: `{"sourceUID":"4d9d2337-7988-43b0-8b80-0dc3a12a0e67",` +
								`"sourceName":"steps","sourceNamespace":"ci","namespaces":["ci"],` +
								`"notBefore":"2026-11-22T10:00:00Z","logMaxBytes":65536}`},
							{Name: "K_LOGGING_CONFIG", Value: "{}"},
						},
						Ports: []corev1.ContainerPort{{Name: "probes", ContainerPort: 8080}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{
								HTTPGet: &corev1.HTTPGetAction{Path: "/readiness", Port: intstr.FromString("probes")},
							},
							// Kubernetes' defaults, written out.
							TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
						},
						LivenessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{
								HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("probes")},
							},
							// Kubernetes' defaults, written out.
							TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse("50m"),
								corev1.ResourceMemory: resource.MustParse("64Mi"),
							},
							Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
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
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MakeReceiveAdapter (-want +got):\n%s", diff)
	}
}

// TestOptionalEnv: K_CA_CERTS, K_AUDIENCE, K_OIDC_SERVICE_ACCOUNT and
// K_CE_OVERRIDES only appear
// when set, as adapter/v2 treats an empty value differently from none.
func TestOptionalEnv(t *testing.T) {
	empty := ""
	d, err := MakeReceiveAdapter(&ReceiveAdapterArgs{
		Image: "img", Source: source(), ServiceAccountName: "sa",
		Sink:       &duckv1.Addressable{URL: apis.HTTP("sink.ci.svc"), CACerts: &empty},
		Namespaces: []string{"ci"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		names = append(names, e.Name)
	}
	if diff := cmp.Diff([]string{"K_SINK", "NAMESPACE", "NAME", "K_SINK_TIMEOUT", "K_SOURCE_CONFIG"}, names); diff != "" {
		t.Errorf("env names (-want +got):\n%s", diff)
	}
}

// TestReplicas: more than one replica share the TaskRuns through
// leader-elected buckets, one per replica, with Leases in the source's
// namespace; one replica runs without leader election.
func TestReplicas(t *testing.T) {
	tests := []struct {
		replicas int32
		// wantBuckets is 0 when no leader election is configured.
		wantBuckets uint32
	}{{replicas: 1}, {replicas: 3, wantBuckets: 3}, {replicas: 10, wantBuckets: 10}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.replicas), func(t *testing.T) {
			d, err := MakeReceiveAdapter(&ReceiveAdapterArgs{
				Image: "img", Source: source(func(s *v1alpha1.TektonStepSource) { s.Spec.Replicas = ptr.Int32(tc.replicas) }),
				ServiceAccountName: "sa", Sink: &duckv1.Addressable{URL: apis.HTTP("sink.ci.svc")}, Namespaces: []string{"ci"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := *d.Spec.Replicas; got != tc.replicas {
				t.Errorf("replicas = %d, want %d", got, tc.replicas)
			}
			env := map[string]string{}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				env[e.Name] = e.Value
			}
			raw, ok := env[adapter.EnvConfigLeaderElectionConfig]
			if tc.wantBuckets == 0 {
				if ok || env[system.NamespaceEnvKey] != "" || env[adaptercontract.EnvDeployment] != "" {
					t.Errorf("a single replica got leader election: %q", raw)
				}
				return
			}
			// Read back the way adapter/v2 reads it.
			le, err := (&adapter.EnvConfig{LeaderElectionConfigJson: raw}).GetLeaderElectionConfig()
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if le.Buckets != tc.wantBuckets || le.LeaseDuration != LeaseDuration || le.RenewDeadline != LeaseRenewDeadline || le.RetryPeriod != LeaseRetryPeriod {
				t.Errorf("leader election = %+v, want %d buckets with leases of %s", le, tc.wantBuckets, LeaseDuration)
			}
			if env[system.NamespaceEnvKey] != "ci" {
				t.Errorf("%s = %q, want the source's namespace", system.NamespaceEnvKey, env[system.NamespaceEnvKey])
			}
			if env[adaptercontract.EnvDeployment] != d.Name {
				t.Errorf("%s = %q, want the Deployment's own name %q", adaptercontract.EnvDeployment, env[adaptercontract.EnvDeployment], d.Name)
			}
		})
	}
}

func TestMakeReceiveAdapterNeedsASink(t *testing.T) {
	if _, err := MakeReceiveAdapter(&ReceiveAdapterArgs{Image: "img", Source: source(), Namespaces: []string{"ci"}}); err == nil {
		t.Error("MakeReceiveAdapter accepted a nil sink")
	}
}

func TestMakeSourceConfig(t *testing.T) {
	filter := eventingv1.SubscriptionsAPIFilter{Exact: map[string]string{"type": v1alpha1.StepFailedEventType}}
	tests := []struct {
		name       string
		src        *v1alpha1.TektonStepSource
		namespaces []string
		all        bool
		want       adaptercontract.Config
	}{{
		name:       "defaults",
		src:        source(),
		namespaces: []string{"ci"},
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			Namespaces: []string{"ci"}, NotBefore: created, LogMaxBytes: v1alpha1.DefaultLogMaxBytes,
		},
	}, {
		name: "selector, filters, no logs",
		src: source(func(s *v1alpha1.TektonStepSource) {
			s.Spec.Selector = &metav1.LabelSelector{
				MatchLabels: map[string]string{"app": "my-app"},
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"},
				}},
			}
			s.Spec.Filters = []eventingv1.SubscriptionsAPIFilter{filter}
			zero := int64(0)
			s.Spec.Log = &v1alpha1.LogSpec{MaxBytes: &zero}
		}),
		namespaces: []string{"a", "b"},
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			Namespaces: []string{"a", "b"}, LabelSelector: "app=my-app,tier in (a,b)",
			Filters: []eventingv1.SubscriptionsAPIFilter{filter}, NotBefore: created, LogMaxBytes: 0,
		},
	}, {
		name:       "empty selector selects every TaskRun",
		src:        source(func(s *v1alpha1.TektonStepSource) { s.Spec.Selector = &metav1.LabelSelector{} }),
		namespaces: []string{"ci"},
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			Namespaces: []string{"ci"}, NotBefore: created, LogMaxBytes: v1alpha1.DefaultLogMaxBytes,
		},
	}, {
		name: "EventListener sink: the recursion guard excludes its TaskRuns",
		src: source(func(s *v1alpha1.TektonStepSource) {
			s.Spec.Sink = duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener", Name: "on-step"}}
		}),
		namespaces: []string{"ci"},
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			Namespaces: []string{"ci"}, NotBefore: created, LogMaxBytes: v1alpha1.DefaultLogMaxBytes,
			ExcludeEventListener: &adaptercontract.EventListenerRef{Name: "on-step", Namespace: "ci"},
		},
	}, {
		name: "EventListener sink in another namespace: the guard names that namespace",
		src: source(func(s *v1alpha1.TektonStepSource) {
			s.Spec.Sink = duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener", Name: "on-step", Namespace: "triggers"}}
		}),
		namespaces: []string{"ci"},
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			Namespaces: []string{"ci"}, NotBefore: created, LogMaxBytes: v1alpha1.DefaultLogMaxBytes,
			ExcludeEventListener: &adaptercontract.EventListenerRef{Name: "on-step", Namespace: "triggers"},
		},
	}, {
		name: "EventListener sink with includeSinkTriggeredRuns: no guard",
		src: source(func(s *v1alpha1.TektonStepSource) {
			s.Spec.Sink = duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener", Name: "on-step"}}
			s.Spec.IncludeSinkTriggeredRuns = true
		}),
		namespaces: []string{"ci"},
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			Namespaces: []string{"ci"}, NotBefore: created, LogMaxBytes: v1alpha1.DefaultLogMaxBytes,
		},
	}, {
		name: "a kind named EventListener of another group is no Triggers EventListener",
		src: source(func(s *v1alpha1.TektonStepSource) {
			s.Spec.Sink = duckv1.Destination{Ref: &duckv1.KReference{APIVersion: "example.com/v1", Kind: "EventListener", Name: "on-step"}}
		}),
		namespaces: []string{"ci"},
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			Namespaces: []string{"ci"}, NotBefore: created, LogMaxBytes: v1alpha1.DefaultLogMaxBytes,
		},
	}, {
		name: "a namespaceSelector: the namespaces follow the status",
		src: func() *v1alpha1.TektonStepSource {
			s := source()
			s.Spec.ServiceAccountName = "watcher"
			s.Spec.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
			return s
		}(),
		namespaces: []string{"a", "b"},
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			NamespacesFromStatus: true, NotBefore: created, LogMaxBytes: v1alpha1.DefaultLogMaxBytes,
		},
	}, {
		name:       "all namespaces",
		src:        source(),
		namespaces: []string{"a", "b", "ci"},
		all:        true,
		want: adaptercontract.Config{
			SourceUID: "4d9d2337-7988-43b0-8b80-0dc3a12a0e67", SourceName: "steps", SourceNamespace: "ci",
			AllNamespaces: true, NotBefore: created, LogMaxBytes: v1alpha1.DefaultLogMaxBytes,
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MakeSourceConfig(tc.src, tc.namespaces, tc.all)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			// What the adapter will read back.
			encoded, err := got.Encode()
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := adaptercontract.Decode(encoded)
			if err != nil {
				t.Fatalf("the adapter would refuse %s: %v", encoded, err)
			}
			if diff := cmp.Diff(got, decoded); diff != "" {
				t.Errorf("round trip (-sent +decoded):\n%s", diff)
			}
		})
	}
}

func TestRBAC(t *testing.T) {
	src := source()
	sa, role, rb := MakeServiceAccount(src), MakeRole(src, nil), MakeRoleBinding(src)
	for _, o := range []metav1.Object{sa, role, rb} {
		if o.GetName() != "steps-tektonstep-adapter" || o.GetNamespace() != "ci" {
			t.Errorf("%T is %s/%s, want ci/steps-tektonstep-adapter", o, o.GetNamespace(), o.GetName())
		}
		if !metav1.IsControlledBy(o, src) {
			t.Errorf("%s is not controlled by the source: %+v", o.GetName(), o.GetOwnerReferences())
		}
		if diff := cmp.Diff(Labels(src), o.GetLabels()); diff != "" {
			t.Errorf("labels (-want +got):\n%s", diff)
		}
	}
	wantRef := rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name}
	if rb.RoleRef != wantRef {
		t.Errorf("roleRef = %+v, want %+v", rb.RoleRef, wantRef)
	}
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: "ci", Name: sa.Name}}
	if diff := cmp.Diff(wantSubjects, rb.Subjects); diff != "" {
		t.Errorf("subjects (-want +got):\n%s", diff)
	}
}

// TestRole: the per-source Role is exactly what the adapter does, with its
// journal and Leases by name (written out here, not derived from the
// access lists the Role is made of).
func TestRole(t *testing.T) {
	journal := "tekton-step-progress-4d9d2337-7988-43b0-8b80-0dc3a12a0e67"
	adapter := []rbacv1.PolicyRule{
		{APIGroups: []string{"tekton.dev"}, Resources: []string{"taskruns"}, Verbs: []string{"list", "watch", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "patch"}, ResourceNames: []string{journal}},
		{APIGroups: []string{"sources.knative.dev"}, Resources: []string{"tektonstepsources"}, Verbs: []string{"list", "watch"}, ResourceNames: []string{"steps"}},
		{APIGroups: []string{"sources.knative.dev"}, Resources: []string{"tektonstepsources/status"}, Verbs: []string{"patch"}, ResourceNames: []string{"steps"}},
	}
	events := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}}
	three := int32(3)
	masking := func(s *v1alpha1.TektonStepSource) { s.Spec.Masking = &v1alpha1.MaskingSpec{SecretValues: true} }
	// A TaskRun pod as Tekton makes it: step containers referencing
	// Secrets by env, envFrom and a mounted volume; a sidecar and an
	// unmounted volume referencing others.
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "build-pod", Namespace: "ci"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{
			Name: "step-compile",
			Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "token"}, Key: "t"}}}},
			EnvFrom:      []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}},
			VolumeMounts: []corev1.VolumeMount{{Name: "keys", MountPath: "/keys"}},
		}, {
			Name:    "sidecar-db",
			EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "db-admin"}}}},
		}},
		Volumes: []corev1.Volume{
			{Name: "keys", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "ssh-keys"}}},
			{Name: "unused", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "unmounted"}}},
		},
	}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "a-test-pod", Namespace: "ci"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "step-test", EnvFrom: []corev1.EnvFromSource{
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}}}}},
	}}
	tests := []struct {
		name string
		src  *v1alpha1.TektonStepSource
		pods []*corev1.Pod
		want []rbacv1.PolicyRule
	}{{
		name: "one replica: no Leases",
		src:  source(),
		want: append(append([]rbacv1.PolicyRule(nil), adapter...), events),
	}, {
		name: "three replicas: their three Leases by name",
		src:  source(func(s *v1alpha1.TektonStepSource) { s.Spec.Replicas = &three }),
		want: append(append([]rbacv1.PolicyRule(nil), adapter...),
			rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "update"},
				ResourceNames: []string{"tekton-step-source-adapter.steps.00-of-03", "tekton-step-source-adapter.steps.01-of-03", "tekton-step-source-adapter.steps.02-of-03"}},
			// Its ready replicas share the buckets.
			rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get"},
				ResourceNames: []string{"steps-tektonstep-adapter"}},
			events),
	}, {
		name: "secret values masked: the TaskRun pods and the Secrets their steps reference, by name",
		src:  source(masking),
		pods: []*corev1.Pod{pod, other},
		want: append(append([]rbacv1.PolicyRule(nil), adapter[:2]...),
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"},
				ResourceNames: []string{"a-test-pod", "build-pod"}},
			rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"},
				ResourceNames: []string{"creds", "ssh-keys", "token"}},
			adapter[2], adapter[3], adapter[4], events),
	}, {
		name: "secret values masked, no TaskRun pod yet: no pod or Secret readable",
		src:  source(masking),
		want: append(append([]rbacv1.PolicyRule(nil), adapter...), events),
	}, {
		name: "TaskRun pods but no masking: none readable",
		src:  source(),
		pods: []*corev1.Pod{pod},
		want: append(append([]rbacv1.PolicyRule(nil), adapter...), events),
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MakeRole(tc.src, tc.pods).Rules); diff != "" {
				t.Errorf("rules (-want +got):\n%s", diff)
			}
			var leases []string
			for _, l := range MakeLeases(tc.src) {
				if !metav1.IsControlledBy(l, tc.src) || l.Namespace != "ci" {
					t.Errorf("lease %s/%s is not the source's", l.Namespace, l.Name)
				}
				leases = append(leases, l.Name)
			}
			if diff := cmp.Diff(LeaseNames(tc.src), leases); diff != "" {
				t.Errorf("leases made (-named +made):\n%s", diff)
			}
			if j := MakeJournal(tc.src); j.Name != journal || j.Namespace != "ci" || !metav1.IsControlledBy(j, tc.src) || len(j.Data) != 0 {
				t.Errorf("journal = %+v", j.ObjectMeta)
			}
		})
	}
}

// TestLongNames: names and label values stay within Kubernetes' 63
// characters and differ between sources that share a long prefix.
func TestLongNames(t *testing.T) {
	long := strings.Repeat("a", 200)
	a := source(func(s *v1alpha1.TektonStepSource) { s.Name = long + "-1" })
	b := source(func(s *v1alpha1.TektonStepSource) { s.Name = long + "-2" })
	for _, src := range []*v1alpha1.TektonStepSource{a, b} {
		for _, msg := range validation.IsDNS1123Label(DeploymentName(src)) {
			t.Errorf("deployment name %q: %s", DeploymentName(src), msg)
		}
		for _, msg := range validation.IsValidLabelValue(Labels(src)[adaptercontract.SourceLabel]) {
			t.Errorf("label value %q: %s", Labels(src)[adaptercontract.SourceLabel], msg)
		}
	}
	if DeploymentName(a) == DeploymentName(b) || Labels(a)[adaptercontract.SourceLabel] == Labels(b)[adaptercontract.SourceLabel] {
		t.Errorf("two sources share a name or label: %s, %s", DeploymentName(a), Labels(a)[adaptercontract.SourceLabel])
	}
}

func TestAdapterSelector(t *testing.T) {
	if want := "app.kubernetes.io/component=adapter,app.kubernetes.io/name=tekton-step-source"; AdapterSelector != want {
		t.Errorf("AdapterSelector = %q, want %q", AdapterSelector, want)
	}
}
