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

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource"
	"github.com/tektonstep/tekton-step-source/test/inprocess"
)

// newSourceObject is a source with the given sink and spec changes.
func newSourceObject(name string, sink duckv1.Destination, mutate ...func(*v1alpha1.TektonStepSourceSpec)) *v1alpha1.TektonStepSource {
	src := &v1alpha1.TektonStepSource{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: sink}},
	}
	for _, m := range mutate {
		m(&src.Spec)
	}
	return src
}

func (e *controllerEnv) createSource(t testing.TB, ns string, src *v1alpha1.TektonStepSource) *v1alpha1.TektonStepSource {
	t.Helper()
	created, err := e.sources.SourcesV1alpha1().TektonStepSources(ns).Create(context.Background(), src, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// checkAdapter checks the adapter Deployment the controller made for src
// and returns its decoded K_SOURCE_CONFIG.
func checkAdapter(t *testing.T, src *v1alpha1.TektonStepSource, d *appsv1.Deployment, sink, serviceAccount string) *adaptercontract.Config {
	t.Helper()
	if !metav1.IsControlledBy(d, src) {
		t.Errorf("the Deployment is not controlled by the source: %+v", d.OwnerReferences)
	}
	wantLabels := map[string]string{
		"sources.knative.dev/tektonstepsource": src.Name,
		"app.kubernetes.io/name":               "tekton-step-source",
		"app.kubernetes.io/component":          "adapter",
	}
	if diff := cmp.Diff(wantLabels, d.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != serviceAccount {
		t.Errorf("serviceAccountName = %q, want %q", pod.ServiceAccountName, serviceAccount)
	}
	if len(pod.Containers) != 1 || pod.Containers[0].Image != testAdapterImage {
		t.Fatalf("containers = %+v, want one with image %s (TEKTON_STEP_SOURCE_RA_IMAGE)", pod.Containers, testAdapterImage)
	}
	env := envOf(d)
	for name, want := range map[string]string{"K_SINK": sink, "NAMESPACE": src.Namespace, "NAME": src.Name} {
		if env[name] != want {
			t.Errorf("%s = %q, want %q", name, env[name], want)
		}
	}
	for _, name := range []string{"K_LOGGING_CONFIG", "K_OBSERVABILITY_CONFIG"} {
		if !json.Valid([]byte(env[name])) {
			t.Errorf("%s is not JSON: %q", name, env[name])
		}
	}
	// config-logging's zap configuration reaches the adapter (its level:
	// TestControllerRollsAdaptersOnLoggingChange).
	if !strings.Contains(env["K_LOGGING_CONFIG"], "zap-logger-config") {
		t.Errorf("K_LOGGING_CONFIG lacks config-logging's zap configuration: %s", env["K_LOGGING_CONFIG"])
	}
	cfg, err := adaptercontract.Decode(env[adaptercontract.EnvName])
	if err != nil {
		t.Fatalf("the adapter would refuse its config: %v", err)
	}
	if cfg.SourceUID != string(src.UID) || cfg.SourceName != src.Name || cfg.SourceNamespace != src.Namespace {
		t.Errorf("source identity in K_SOURCE_CONFIG = %s %s/%s, want %s %s/%s",
			cfg.SourceUID, cfg.SourceNamespace, cfg.SourceName, src.UID, src.Namespace, src.Name)
	}
	if !cfg.NotBefore.Equal(&src.CreationTimestamp) {
		t.Errorf("notBefore = %v, want the source's creation %v", cfg.NotBefore, src.CreationTimestamp)
	}
	return cfg
}

// TestControllerBrokerSink follows a source whose Broker only appears
// later: NotFound, then (the tracker, without touching the source) resolved,
// deployed, Ready once the Deployment is available, no update loop, and an
// address change rolls the adapter.
func TestControllerBrokerSink(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	ctx := context.Background()

	src := env.createSource(t, ns, newSourceObject("to-broker", duckv1.Destination{Ref: &duckv1.KReference{
		APIVersion: "eventing.knative.dev/v1", Kind: "Broker", Name: "default"}}))

	got := env.waitForSource(t, ns, src.Name, "SinkProvided=False/NotFound", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionFalse, "NotFound")
	})
	if msg := got.Status.GetCondition(v1alpha1.TektonStepSourceConditionSinkProvided).Message; !strings.Contains(msg, `brokers.eventing.knative.dev "default" not found`) {
		t.Errorf("SinkProvided message %q does not say the Broker is missing", msg)
	}
	if msg := env.waitForEvent(t, ns, src.Name, corev1.EventTypeWarning, "SinkNotFound"); !strings.Contains(msg, "Broker") {
		t.Errorf("SinkNotFound event %q does not name the sink", msg)
	}
	if _, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "to-broker-tektonstep-adapter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a source without a sink got a Deployment (err %v)", err)
	}

	// The Broker appears; the source is not touched.
	url := "http://broker-ingress.knative-eventing.svc.cluster.local/" + ns + "/default"
	env.createAddressable(t, brokerGVR, "Broker", ns, "default", url)
	got = env.waitForSource(t, ns, src.Name, "SinkProvided=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionTrue, "")
	})
	if got.Generation != src.Generation || got.Status.SinkURI.String() != url {
		t.Errorf("generation %d (created %d), sinkUri %s, want %s", got.Generation, src.Generation, got.Status.SinkURI, url)
	}

	d := env.waitForDeployment(t, ns, "to-broker-tektonstep-adapter", "creation", func(*appsv1.Deployment) bool { return true })
	cfg := checkAdapter(t, got, d, url, "to-broker-tektonstep-adapter")
	if diff := cmp.Diff([]string{ns}, cfg.Namespaces); diff != "" || cfg.AllNamespaces || cfg.LogMaxBytes != v1alpha1.DefaultLogMaxBytes || cfg.LabelSelector != "" {
		t.Errorf("K_SOURCE_CONFIG = %+v, want only namespace %s, default log cap, no selector", cfg, ns)
	}
	env.waitForEvent(t, ns, src.Name, corev1.EventTypeNormal, "DeploymentCreated")

	// The per-source account and its binding, in the source's namespace only.
	sa, err := env.kube.CoreV1().ServiceAccounts(ns).Get(ctx, "to-broker-tektonstep-adapter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := env.kube.RbacV1().RoleBindings(ns).Get(ctx, "to-broker-tektonstep-adapter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(sa, got) || !metav1.IsControlledBy(rb, got) {
		t.Errorf("service account or role binding not owned by the source: %+v %+v", sa.OwnerReferences, rb.OwnerReferences)
	}
	role, err := env.kube.RbacV1().Roles(ns).Get(ctx, "to-broker-tektonstep-adapter", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != role.Name || !metav1.IsControlledBy(role, got) ||
		len(rb.Subjects) != 1 || rb.Subjects[0].Name != sa.Name || rb.Subjects[0].Namespace != ns {
		t.Errorf("role binding = %+v %+v (role owners %+v)", rb.RoleRef, rb.Subjects, role.OwnerReferences)
	}
	// The journal, which the adapter may patch but not create.
	journal, err := env.kube.CoreV1().ConfigMaps(ns).Get(ctx, adaptercontract.JournalName(string(got.UID)), metav1.GetOptions{})
	if err != nil || !metav1.IsControlledBy(journal, got) {
		t.Errorf("journal ConfigMap: %v, owners %+v", err, journal.GetOwnerReferences())
	}
	// Deleting the source garbage-collects them all through their owner
	// references (the garbage collector is not running here); no finalizer.
	if len(got.Finalizers) != 0 {
		t.Errorf("finalizers = %v, want none", got.Finalizers)
	}

	got = env.waitForSource(t, ns, src.Name, "SufficientPermissions=True, Deployed=Unknown", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionTrue, "") &&
			conditionIs(s, v1alpha1.TektonStepSourceConditionDeployed, corev1.ConditionUnknown, "")
	})
	if got.Status.ObservedGeneration != got.Generation || !cmp.Equal([]string{ns}, got.Status.Namespaces) {
		t.Errorf("observedGeneration %d (generation %d), namespaces %v", got.Status.ObservedGeneration, got.Generation, got.Status.Namespaces)
	}
	var types []string
	for _, a := range got.Status.CloudEventAttributes {
		types = append(types, a.Type)
		if a.Source != "/apis/tekton.dev/v1/namespaces/"+ns+"/taskruns" {
			t.Errorf("ceAttributes source = %q", a.Source)
		}
	}
	if diff := cmp.Diff(v1alpha1.EventTypes, types); diff != "" {
		t.Errorf("ceAttributes types (-want +got):\n%s", diff)
	}

	// No kubelet here: make the Deployment available as one would.
	if _, err := inprocess.MarkAvailable(ctx, env.kube, d); err != nil {
		t.Fatal(err)
	}
	env.waitForSource(t, ns, src.Name, "Ready=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionReady, corev1.ConditionTrue, "")
	})
	// That reconcile compared the stored (apiserver-defaulted) Deployment
	// with the wanted one: equal, so no update.
	d = env.waitForDeployment(t, ns, d.Name, "no update", func(*appsv1.Deployment) bool { return true })
	if d.Generation != 1 {
		t.Errorf("the Deployment was updated without a change: generation %d", d.Generation)
	}

	// The Broker's address changes: the adapter follows.
	broker, err := env.dynamic.Resource(brokerGVR).Namespace(ns).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	newURL := "http://broker-ingress-2.knative-eventing.svc.cluster.local/" + ns + "/default"
	env.setAddress(t, brokerGVR, broker, newURL)
	d = env.waitForDeployment(t, ns, d.Name, "K_SINK updated", func(d *appsv1.Deployment) bool { return envOf(d)["K_SINK"] == newURL })
	env.waitForEvent(t, ns, src.Name, corev1.EventTypeNormal, "DeploymentUpdated")
	env.waitForSource(t, ns, src.Name, "the new sinkUri", func(s *v1alpha1.TektonStepSource) bool {
		return s.Status.SinkURI.String() == newURL
	})
	if d.Generation != 2 {
		t.Errorf("Deployment generation = %d after one sink change, want 2", d.Generation)
	}
}

// TestControllerEventListenerSink resolves a Tekton Triggers EventListener
// (status.address.url) and checks the adapter's pod template passes the
// restricted Pod Security Standard of a real apiserver.
func TestControllerEventListenerSink(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	ctx := context.Background()

	url := "http://el-on-step." + ns + ".svc.cluster.local:8080"
	env.createAddressable(t, eventListenerGVR, "EventListener", ns, "on-step", url)
	src := env.createSource(t, ns, newSourceObject("to-listener", duckv1.Destination{Ref: &duckv1.KReference{
		APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener", Name: "on-step"}}))
	got := env.waitForSource(t, ns, src.Name, "SinkProvided=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionTrue, "")
	})
	if got.Status.SinkURI.String() != url {
		t.Errorf("sinkUri = %s, want %s", got.Status.SinkURI, url)
	}
	d := env.waitForDeployment(t, ns, "to-listener-tektonstep-adapter", "creation", func(*appsv1.Deployment) bool { return true })
	// The recursion guard: the EventListener's own TaskRuns are not watched.
	if cfg := checkAdapter(t, got, d, url, "to-listener-tektonstep-adapter"); (cfg.ExcludeEventListener == nil || *cfg.ExcludeEventListener != adaptercontract.EventListenerRef{Name: "on-step", Namespace: ns}) {
		t.Errorf("K_SOURCE_CONFIG excludeEventListener = %+v, want on-step in %s", cfg.ExcludeEventListener, ns)
	}

	// Admission of a pod from the template in a namespace that enforces
	// "restricted" proves the security context is complete.
	restricted := cp.NewNamespace(t)
	env.labelNamespace(t, restricted, "pod-security.kubernetes.io/enforce", "restricted")
	env.createServiceAccount(t, restricted, d.Spec.Template.Spec.ServiceAccountName)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "adapter", Labels: d.Spec.Template.Labels},
		Spec:       d.Spec.Template.Spec,
	}
	if _, err := env.kube.CoreV1().Pods(restricted).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Errorf("the adapter pod is refused under the restricted Pod Security Standard: %v", err)
	}
}

// TestControllerURISink: a plain URI with every spec field that reaches the
// adapter's environment.
func TestControllerURISink(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	zero := int64(0)
	filter := eventingv1.SubscriptionsAPIFilter{Exact: map[string]string{"type": v1alpha1.StepFailedEventType}}
	url := "http://event-display." + ns + ".svc.cluster.local"
	src := env.createSource(t, ns, newSourceObject("to-uri", duckv1.Destination{URI: apis.HTTP("event-display." + ns + ".svc.cluster.local")},
		func(s *v1alpha1.TektonStepSourceSpec) {
			s.CloudEventOverrides = &duckv1.CloudEventOverrides{Extensions: map[string]string{"cluster": "dev"}}
			s.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "my-app"}}
			s.Filters = []eventingv1.SubscriptionsAPIFilter{filter}
			s.Log = &v1alpha1.LogSpec{MaxBytes: &zero}
		}))
	got := env.waitForSource(t, ns, src.Name, "SinkProvided=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSinkProvided, corev1.ConditionTrue, "")
	})
	d := env.waitForDeployment(t, ns, "to-uri-tektonstep-adapter", "creation", func(*appsv1.Deployment) bool { return true })
	cfg := checkAdapter(t, got, d, url, "to-uri-tektonstep-adapter")
	if cfg.LabelSelector != "app=my-app" || cfg.LogMaxBytes != 0 || !cmp.Equal([]eventingv1.SubscriptionsAPIFilter{filter}, cfg.Filters) {
		t.Errorf("K_SOURCE_CONFIG = %+v, want selector app=my-app, no logs, the filter", cfg)
	}
	if o := envOf(d)["K_CE_OVERRIDES"]; o != `{"extensions":{"cluster":"dev"}}` {
		t.Errorf("K_CE_OVERRIDES = %s", o)
	}
	if _, err := inprocess.MarkAvailable(context.Background(), env.kube, d); err != nil {
		t.Fatal(err)
	}
	env.waitForSource(t, ns, src.Name, "Ready=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionReady, corev1.ConditionTrue, "")
	})

	// Reconciles of a source whose objects are as wanted write nothing to
	// them: the Deployment the apiserver stored, with its defaults, is not
	// a change. Twice, each observed by its RoleBinding coming back, so the
	// first reconcile has finished (its Deployment step included) when the
	// second RoleBinding appears.
	for i := 0; i < 2; i++ {
		rbs := env.kube.RbacV1().RoleBindings(ns)
		if err := rbs.Delete(context.Background(), "to-uri-tektonstep-adapter", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := poll(context.Background(), func(ctx context.Context) (bool, error) {
			_, err := rbs.Get(ctx, "to-uri-tektonstep-adapter", metav1.GetOptions{})
			return err == nil, nil
		}); err != nil {
			t.Fatalf("the deleted RoleBinding did not come back: %v", err)
		}
	}
	updated, err := env.kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + src.Name + ",reason=" + tektonstepsource.ReasonDeploymentUpdated})
	if err != nil {
		t.Fatal(err)
	}
	if len(updated.Items) != 0 {
		t.Errorf("reconciles with nothing changed updated the adapter Deployment: %s", updated.Items[0].Message)
	}
}

// TestControllerInvalidSpec: what the CRD schema lets through but Go
// validation refuses (a CESQL syntax error) is reported, not deployed.
func TestControllerInvalidSpec(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	src := env.createSource(t, ns, newSourceObject("invalid", duckv1.Destination{URI: apis.HTTP("sink.example")},
		func(s *v1alpha1.TektonStepSourceSpec) {
			s.Filters = []eventingv1.SubscriptionsAPIFilter{{CESQL: "type = = 'x'"}}
		}))
	got := env.waitForSource(t, ns, src.Name, "Ready=False/InvalidSpec", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionReady, corev1.ConditionFalse, "InvalidSpec")
	})
	if msg := got.Status.GetCondition(v1alpha1.TektonStepSourceConditionReady).Message; !strings.Contains(msg, "spec.filters[0].cesql") {
		t.Errorf("Ready message %q lacks the field path", msg)
	}
	if msg := env.waitForEvent(t, ns, src.Name, corev1.EventTypeWarning, "InvalidSpec"); !strings.Contains(msg, "spec.filters[0].cesql") {
		t.Errorf("InvalidSpec event %q lacks the field path", msg)
	}
	if _, err := env.kube.AppsV1().Deployments(ns).Get(context.Background(), "invalid-tektonstep-adapter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an invalid source got a Deployment (err %v)", err)
	}
}

// TestControllerMissingServiceAccount: a serviceAccountName that does not
// exist is said to be missing, not listed with everything it may not do.
func TestControllerMissingServiceAccount(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	src := env.createSource(t, ns, newSourceObject("no-account", duckv1.Destination{URI: apis.HTTP("sink.example")},
		func(s *v1alpha1.TektonStepSourceSpec) { s.ServiceAccountName = "nobody" }))
	got := env.waitForSource(t, ns, src.Name, "SufficientPermissions=False, ServiceAccountNotFound", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionFalse, "ServiceAccountNotFound")
	})
	want := `Service account "nobody" does not exist in namespace "` + ns + `": create it and grant it what the adapter needs ` +
		`(docs/security.md), or remove spec.serviceAccountName for an account of the source's own`
	if msg := got.Status.GetCondition(v1alpha1.TektonStepSourceConditionSufficientPermissions).Message; msg != want {
		t.Errorf("SufficientPermissions message:\n got %s\nwant %s", msg, want)
	}
}

// TestControllerServiceAccountPermissions: a user-provided account gets no
// grant; what it lacks is listed until an administrator grants it.
func TestControllerServiceAccountPermissions(t *testing.T) {
	revalidation := tektonstepsource.ResyncInterval
	tektonstepsource.ResyncInterval = 2 * time.Second
	t.Cleanup(func() { tektonstepsource.ResyncInterval = revalidation })
	env := startController(t)
	ns := cp.NewNamespace(t)
	ctx := context.Background()
	env.createServiceAccount(t, ns, "watcher")
	src := env.createSource(t, ns, newSourceObject("own-account", duckv1.Destination{URI: apis.HTTP("sink.example")},
		func(s *v1alpha1.TektonStepSourceSpec) { s.ServiceAccountName = "watcher" }))

	got := env.waitForSource(t, ns, src.Name, "SufficientPermissions=False", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionFalse, "InsufficientPermissions")
	})
	want := `Service account "watcher" cannot get, patch configmaps ` + adaptercontract.JournalName(string(src.UID)) + ` in namespace "` + ns +
		`"; list, watch tektonstepsources.sources.knative.dev own-account in namespace "` + ns +
		`"; patch tektonstepsources/status.sources.knative.dev own-account in namespace "` + ns +
		`"; list, watch, patch taskruns.tekton.dev in namespace "` + ns + `"; get pods/log in namespace "` + ns + `"`
	if msg := got.Status.GetCondition(v1alpha1.TektonStepSourceConditionSufficientPermissions).Message; msg != want {
		t.Errorf("SufficientPermissions message:\n got %s\nwant %s", msg, want)
	}
	if msg := env.waitForEvent(t, ns, src.Name, corev1.EventTypeWarning, "InsufficientPermissions"); msg != want {
		t.Errorf("InsufficientPermissions event: %s", msg)
	}
	if _, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "own-account-tektonstep-adapter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deployed without permissions (err %v)", err)
	}
	if _, err := env.kube.RbacV1().RoleBindings(ns).Get(ctx, "own-account-tektonstep-adapter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the controller granted a user-provided account something (err %v)", err)
	}

	// Everything but pods/log, the journal granted by name: still
	// refused, and only pods/log is listed.
	env.grantJournal(t, ns, "watcher", src)
	partial := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "no-logs"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"tekton.dev"}, Resources: []string{"taskruns"}, Verbs: []string{"get", "list", "watch", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}},
		},
	}
	if _, err := env.kube.RbacV1().Roles(ns).Create(ctx, partial, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "no-logs"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "no-logs"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "watcher"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	env.touch(t, ns, src.Name) // instead of waiting PermissionRecheckInterval
	wantLogs := `Service account "watcher" cannot get pods/log in namespace "` + ns + `"`
	env.waitForSource(t, ns, src.Name, "only pods/log missing", func(s *v1alpha1.TektonStepSource) bool {
		c := s.Status.GetCondition(v1alpha1.TektonStepSourceConditionSufficientPermissions)
		return c != nil && c.IsFalse() && c.Message == wantLogs
	})
	if _, err := env.kube.AppsV1().Deployments(ns).Get(ctx, "own-account-tektonstep-adapter", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deployed without pods/log (err %v)", err)
	}

	env.grantAdapterRole(t, ns, ns, "watcher")
	env.touch(t, ns, src.Name)
	env.waitForSource(t, ns, src.Name, "SufficientPermissions=True", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionTrue, "")
	})
	d := env.waitForDeployment(t, ns, "own-account-tektonstep-adapter", "creation", func(*appsv1.Deployment) bool { return true })
	if sa := d.Spec.Template.Spec.ServiceAccountName; sa != "watcher" {
		t.Errorf("serviceAccountName = %q, want watcher", sa)
	}

	// Revoked again: RBAC changes raise no event, the periodic check finds it.
	if err := env.kube.RbacV1().RoleBindings(ns).Delete(ctx, "tekton-step-source-watcher", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.waitForSource(t, ns, src.Name, "SufficientPermissions=False after the revocation", func(s *v1alpha1.TektonStepSource) bool {
		c := s.Status.GetCondition(v1alpha1.TektonStepSourceConditionSufficientPermissions)
		return c != nil && c.IsFalse() && c.Message == wantLogs
	})
}

// TestControllerNamespaceSelector: the watched namespaces follow the
// selector as namespaces are labelled, each checked for permissions, in
// the status, which the adapter follows: its Deployment stays as it is.
func TestControllerNamespaceSelector(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	env.createServiceAccount(t, ns, "watcher")
	src, label, watched := env.selectorSource(t, ns, "selected")

	got := env.waitForSource(t, ns, src.Name, "two namespaces, SufficientPermissions=True", func(s *v1alpha1.TektonStepSource) bool {
		return cmp.Equal(watched, s.Status.Namespaces) &&
			conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionTrue, "")
	})
	for _, a := range got.Status.CloudEventAttributes {
		if a.Source != "/apis/tekton.dev/v1/taskruns" {
			t.Errorf("ceAttributes source = %q for several namespaces", a.Source)
		}
	}
	name := "selected-tektonstep-adapter"
	deployed := env.waitForDeployment(t, ns, name, "the namespaces from the status, a watch in each (granted per namespace)", func(d *appsv1.Deployment) bool {
		cfg, err := adaptercontract.Decode(envOf(d)[adaptercontract.EnvName])
		return err == nil && cfg.NamespacesFromStatus && len(cfg.Namespaces) == 0 && !cfg.ClusterWatch
	})
	unchanged := func(what string) {
		t.Helper()
		d, err := env.kube.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Generation != deployed.Generation {
			t.Errorf("%s: the adapter's Deployment changed (generation %d, was %d)", what, d.Generation, deployed.Generation)
		}
	}

	// A third namespace, granted and then labelled: followed without
	// touching the source.
	third := cp.NewNamespace(t)
	env.grantAdapterRole(t, third, ns, "watcher")
	env.labelNamespace(t, third, label, ns)
	watched = append(watched, third)
	sort.Strings(watched)
	env.waitForSource(t, ns, src.Name, "three namespaces", func(s *v1alpha1.TektonStepSource) bool {
		return cmp.Equal(watched, s.Status.Namespaces)
	})
	unchanged("a namespace joined")

	// A fourth, labelled without a grant: reported.
	fourth := cp.NewNamespace(t)
	env.labelNamespace(t, fourth, label, ns)
	got = env.waitForSource(t, ns, src.Name, "SufficientPermissions=False", func(s *v1alpha1.TektonStepSource) bool {
		return conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionFalse, "InsufficientPermissions")
	})
	// Counted, not named: a refused source shows no namespace names,
	// neither in the message nor in its status.
	msg := got.Status.GetCondition(v1alpha1.TektonStepSourceConditionSufficientPermissions).Message
	wantMsg := `Service account "watcher" cannot list, watch, patch taskruns.tekton.dev in at least 1 of the 4 other namespaces the namespaceSelector selects; ` +
		`get pods/log in at least 1 of the 4 other namespaces the namespaceSelector selects`
	if msg != wantMsg {
		t.Errorf("SufficientPermissions message:\n got %s\nwant %s", msg, wantMsg)
	}
	if len(got.Status.Namespaces) != 0 || len(got.Status.CloudEventAttributes) != 0 {
		t.Errorf("a refused source shows namespaces %v, ceAttributes %v", got.Status.Namespaces, got.Status.CloudEventAttributes)
	}

	// The fourth and the first leave the selection (relabelled): no longer
	// watched, the permissions suffice again.
	env.labelNamespace(t, fourth, label, "elsewhere")
	env.labelNamespace(t, watched[0], label, "elsewhere")
	watched = watched[1:]
	env.waitForSource(t, ns, src.Name, "two namespaces again, SufficientPermissions=True", func(s *v1alpha1.TektonStepSource) bool {
		return cmp.Equal(watched, s.Status.Namespaces) &&
			conditionIs(s, v1alpha1.TektonStepSourceConditionSufficientPermissions, corev1.ConditionTrue, "")
	})
	unchanged("namespaces left")
}

// selectorSource creates a source in ns run as the account "watcher" that
// selects two new namespaces by the label it returns, each granted to the
// account with a Role, and grants the journal (in ns, not watched); it
// returns the source and the namespaces, sorted.
func (e *controllerEnv) selectorSource(t *testing.T, ns, name string) (*v1alpha1.TektonStepSource, string, []string) {
	t.Helper()
	label := "test.tektonstep.dev/team"
	var watched []string
	for i := 0; i < 2; i++ {
		other := cp.NewNamespace(t)
		e.grantAdapterRole(t, other, ns, "watcher")
		e.labelNamespace(t, other, label, ns)
		watched = append(watched, other)
	}
	sort.Strings(watched)
	src := e.createSource(t, ns, newSourceObject(name, duckv1.Destination{URI: apis.HTTP("sink.example")},
		func(s *v1alpha1.TektonStepSourceSpec) {
			s.ServiceAccountName = "watcher"
			s.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{label: ns}}
		}))
	e.grantJournal(t, ns, "watcher", src)
	return src, label, watched
}

// TestControllerClusterWatch: an account that may list and watch TaskRuns
// in all namespaces (a ClusterRoleBinding) serves a selector's namespaces
// with one cluster-wide watch; what else the adapter does is granted per
// namespace.
func TestControllerClusterWatch(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	env.createServiceAccount(t, ns, "watcher")
	ctx := context.Background()
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "watch-taskruns-" + ns}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{"tekton.dev"}, Resources: []string{"taskruns"}, Verbs: []string{"list", "watch"}}}}
	if _, err := env.kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "watcher"}}}
	if _, err := env.kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), binding.Name, metav1.DeleteOptions{})
		_ = env.kube.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
	src, _, watched := env.selectorSource(t, ns, "wide")
	env.waitForSource(t, ns, src.Name, "the two namespaces", func(s *v1alpha1.TektonStepSource) bool {
		return cmp.Equal(watched, s.Status.Namespaces)
	})
	env.waitForDeployment(t, ns, "wide-tektonstep-adapter", "two namespaces through one cluster-wide watch", func(d *appsv1.Deployment) bool {
		cfg, err := adaptercontract.Decode(envOf(d)[adaptercontract.EnvName])
		return err == nil && cfg.NamespacesFromStatus && cfg.ClusterWatch && !cfg.AllNamespaces
	})
}

// TestControllerRollsAdaptersOnLoggingChange: a change to config-logging
// reaches every adapter's K_LOGGING_CONFIG without touching the sources.
func TestControllerRollsAdaptersOnLoggingChange(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	src := env.createSource(t, ns, newSourceObject("logs", duckv1.Destination{URI: apis.HTTP("sink.example")}))
	const key = "loglevel.tekton-step-source-adapter"
	// adapter/v2 reads the zap config of K_LOGGING_CONFIG, into which
	// Knative's config watcher writes the component's level.
	level := func(d *appsv1.Deployment) string {
		var cfg map[string]string
		var zapCfg struct{ Level string }
		if err := json.Unmarshal([]byte(envOf(d)["K_LOGGING_CONFIG"]), &cfg); err != nil {
			return "unreadable: " + err.Error()
		}
		if err := json.Unmarshal([]byte(cfg["zap-logger-config"]), &zapCfg); err != nil {
			return "unreadable zap-logger-config: " + err.Error()
		}
		return zapCfg.Level
	}
	name := src.Name + "-tektonstep-adapter"
	if got := level(env.waitForDeployment(t, ns, name, "creation", func(*appsv1.Deployment) bool { return true })); got != "info" {
		t.Fatalf("K_LOGGING_CONFIG level = %q, want config-logging's %s: info", got, key)
	}

	setLevel := func(value string) {
		patch := fmt.Sprintf(`{"data":{%q:%q}}`, key, value)
		if _, err := env.kube.CoreV1().ConfigMaps(controllerNamespace).Patch(context.Background(), "config-logging",
			types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	setLevel("debug")
	t.Cleanup(func() { setLevel("info") })
	env.waitForDeployment(t, ns, name, "K_LOGGING_CONFIG with the debug level", func(d *appsv1.Deployment) bool {
		return level(d) == "debug"
	})
}

// TestControllerAdapterResources: the config-tektonstep-adapter ConfigMap
// sets every adapter container's resources; an invalid value is refused
// and the adapters keep theirs; without the ConfigMap the default applies.
func TestControllerAdapterResources(t *testing.T) {
	env := startController(t)
	ns := cp.NewNamespace(t)
	src := env.createSource(t, ns, newSourceObject("sized", duckv1.Destination{URI: apis.HTTP("sink.example")}))
	name := src.Name + "-tektonstep-adapter"
	memoryLimit := func(d *appsv1.Deployment) string {
		return d.Spec.Template.Spec.Containers[0].Resources.Limits.Memory().String()
	}
	env.waitForDeployment(t, ns, name, "the default memory limit", func(d *appsv1.Deployment) bool {
		return memoryLimit(d) == "256Mi"
	})
	configMaps := env.kube.CoreV1().ConfigMaps(controllerNamespace)
	ctx := context.Background()
	set := func(value string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-tektonstep-adapter"},
			Data: map[string]string{"resources": value}}
		if _, err := configMaps.Update(ctx, cm, metav1.UpdateOptions{}); apierrors.IsNotFound(err) {
			_, err = configMaps.Create(ctx, cm, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = configMaps.Delete(context.Background(), "config-tektonstep-adapter", metav1.DeleteOptions{})
	})
	set("requests: {cpu: 100m, memory: 128Mi}\nlimits: {memory: 1Gi}")
	env.waitForDeployment(t, ns, name, "the ConfigMap's resources", func(d *appsv1.Deployment) bool {
		r := d.Spec.Template.Spec.Containers[0].Resources
		return memoryLimit(d) == "1Gi" && r.Requests.Cpu().String() == "100m" && r.Requests.Memory().String() == "128Mi"
	})
	// Refused: a request above its limit. A source created afterwards
	// still gets the last valid resources.
	set("requests: {memory: 2Gi}\nlimits: {memory: 1Gi}")
	later := env.createSource(t, ns, newSourceObject("sized-later", duckv1.Destination{URI: apis.HTTP("sink.example")}))
	env.waitForDeployment(t, ns, later.Name+"-tektonstep-adapter", "the last valid resources", func(d *appsv1.Deployment) bool {
		return memoryLimit(d) == "1Gi"
	})
	if err := configMaps.Delete(ctx, "config-tektonstep-adapter", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	env.waitForDeployment(t, ns, name, "the default again", func(d *appsv1.Deployment) bool {
		return memoryLimit(d) == "256Mi"
	})
}
