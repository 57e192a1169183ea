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
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/logging"
	"sigs.k8s.io/yaml"

	"github.com/tektonstep/tekton-step-source/pkg/adaptercontract"
	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource"
	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/inprocess"
)

const (
	controllerNamespace = "tekton-step-source"
	// The controller runs as the service account config/ gives it, so the
	// tests also prove config/'s RBAC is enough (envtest authorizes with RBAC).
	controllerUser = "system:serviceaccount:tekton-step-source:tekton-step-source-controller"
	// The adapter image the tests give the controller (TEKTON_STEP_SOURCE_RA_IMAGE).
	testAdapterImage = "registry.example/tekton-step-source/receive-adapter:integration"

	pollInterval = 50 * time.Millisecond
	waitTimeout  = 20 * time.Second
)

var (
	brokerGVR        = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"}
	eventListenerGVR = schema.GroupVersionResource{Group: "triggers.tekton.dev", Version: "v1beta1", Resource: "eventlisteners"}
)

// controllerEnv holds admin clients of the control plane the controller runs against.
type controllerEnv struct {
	kube    kubernetes.Interface
	sources sourcesclient.Interface
	dynamic dynamic.Interface
}

// startController installs config/ (namespace, RBAC, ConfigMaps, CRD) and
// Knative's addressable-resolver roles, aggregates the controller's
// addressable-resolver ClusterRole (no controller manager runs here), and
// runs the real controller in-process, impersonating its service account,
// until the test ends. Its client rate is the control plane config's
// (envtest's 1000 requests/s, burst 2000) unless a rate is given.
func startController(t testing.TB, rate ...clientRate) *controllerEnv {
	t.Helper()
	ctx := context.Background()
	t.Setenv("SYSTEM_NAMESPACE", controllerNamespace)
	t.Setenv(tektonstepsource.AdapterImageEnv, testAdapterImage)

	start := time.Now()
	defer func() { t.Logf("controller started in %v", time.Since(start)) }()
	files, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "[1-4]*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in config/: %v", err)
	}
	eventing, err := controlplane.ModuleDir("knative.dev/eventing")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(eventing, "config", "core", "roles", "addressable-resolvers-clusterrole.yaml"))
	if _, err := controlplane.ApplyFiles(ctx, cp.Config, "default", files...); err != nil {
		t.Fatal(err)
	}
	t.Logf("applied in %v", time.Since(start))
	if err := controlplane.AggregateClusterRoles(ctx, cp.Config); err != nil {
		t.Fatal(err)
	}

	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: controllerUser,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + controllerNamespace, "system:authenticated"},
	}
	for _, r := range rate {
		cfg.QPS, cfg.Burst = r.qps, r.burst
	}
	logger, stopLogging := testLogger(t)
	runCtx, cancel := context.WithCancel(logging.WithLogger(ctx, logger))
	done := make(chan error, 1)
	go func() { done <- inprocess.RunController(runCtx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("controller: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the controller did not stop within 30s")
		}
		stopLogging()
		t.Logf("controller stopped")
	})
	return &controllerEnv{
		kube:    kubernetes.NewForConfigOrDie(cp.Config),
		sources: sourcesclient.NewForConfigOrDie(cp.Config),
		dynamic: dynamic.NewForConfigOrDie(cp.Config),
	}
}

// clientRate is a client's request rate limit (client-go's QPS and Burst;
// the controller's KUBE_API_QPS and KUBE_API_BURST).
type clientRate struct {
	qps   float32
	burst int
}

func (r clientRate) String() string { return fmt.Sprintf("%g requests/s, burst %d", r.qps, r.burst) }

// testLogger logs through t.Log (shown for failed tests and with -v) until
// stop is called; later lines (goroutines winding down) are dropped, since
// t.Log after the test ends panics.
func testLogger(t testing.TB) (*zap.SugaredLogger, func()) {
	w := &testWriter{t: t}
	enc := zap.NewDevelopmentEncoderConfig()
	level := zapcore.InfoLevel
	if _, ok := t.(*testing.B); ok {
		// A benchmark prints its log: warnings and errors only.
		level = zapcore.WarnLevel
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), level)
	return zap.New(core).Sugar().Named("controller"), w.stop
}

type testWriter struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
}

func poll(ctx context.Context, f func(context.Context) (bool, error)) error {
	return wait.PollUntilContextTimeout(ctx, pollInterval, waitTimeout, true, f)
}

// waitForSource polls the source until ok holds and returns it.
func (e *controllerEnv) waitForSource(t testing.TB, ns, name, what string, ok func(*v1alpha1.TektonStepSource) bool) *v1alpha1.TektonStepSource {
	t.Helper()
	var last *v1alpha1.TektonStepSource
	err := poll(context.Background(), func(ctx context.Context) (bool, error) {
		s, err := e.sources.SourcesV1alpha1().TektonStepSources(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = s
		return ok(s), nil
	})
	if err != nil {
		status := "<never read>"
		if last != nil {
			b, _ := yaml.Marshal(last.Status)
			status = string(b)
		}
		t.Fatalf("source %s/%s: waiting for %s: %v; last status:\n%s", ns, name, what, err, status)
	}
	return last
}

// conditionIs tells whether the source's condition has the status and,
// when reason is not empty, the reason.
func conditionIs(s *v1alpha1.TektonStepSource, typ apis.ConditionType, status corev1.ConditionStatus, reason string) bool {
	c := s.Status.GetCondition(typ)
	return c != nil && c.Status == status && (reason == "" || c.Reason == reason)
}

// waitForDeployment polls the Deployment until ok holds and returns it.
func (e *controllerEnv) waitForDeployment(t *testing.T, ns, name, what string, ok func(*appsv1.Deployment) bool) *appsv1.Deployment {
	t.Helper()
	var last *appsv1.Deployment
	err := poll(context.Background(), func(ctx context.Context) (bool, error) {
		d, err := e.kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = d
		return ok(d), nil
	})
	if err != nil {
		t.Fatalf("deployment %s/%s: waiting for %s: %v; last: %+v", ns, name, what, err, last)
	}
	return last
}

// waitForEvent waits for a Kubernetes Event about the source and returns its message.
func (e *controllerEnv) waitForEvent(t *testing.T, ns, source, eventType, reason string) string {
	t.Helper()
	var msg string
	err := poll(context.Background(), func(ctx context.Context) (bool, error) {
		list, err := e.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + source + ",reason=" + reason + ",type=" + eventType,
		})
		if err != nil || len(list.Items) == 0 {
			return false, nil
		}
		msg = list.Items[0].Message
		return true, nil
	})
	if err != nil {
		t.Fatalf("no %s event %s about %s/%s: %v", eventType, reason, ns, source, err)
	}
	return msg
}

// envOf returns the adapter container's environment as a map.
func envOf(d *appsv1.Deployment) map[string]string {
	env := map[string]string{}
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	return env
}

// createAddressable creates a sink of the given resource and then, through
// the status subresource (as its controller would), gives it an address.
func (e *controllerEnv) createAddressable(t *testing.T, gvr schema.GroupVersionResource, kind, ns, name, url string) {
	t.Helper()
	ctx := context.Background()
	client := e.dynamic.Resource(gvr).Namespace(ns)
	obj := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": gvr.GroupVersion().String(),
		"kind":       kind,
		"metadata":   map[string]interface{}{"name": name},
		"spec":       map[string]interface{}{},
	}}
	created, err := client.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating %s %s/%s: %v", kind, ns, name, err)
	}
	e.setAddress(t, gvr, created, url)
}

// setAddress sets status.address.url of a sink.
func (e *controllerEnv) setAddress(t *testing.T, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, url string) {
	t.Helper()
	obj = obj.DeepCopy()
	if err := unstructured.SetNestedField(obj.Object, url, "status", "address", "url"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dynamic.Resource(gvr).Namespace(obj.GetNamespace()).UpdateStatus(context.Background(), obj, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("setting the address of %s %s/%s: %v", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
}

// touch changes an annotation of the source: a reconcile without a spec change.
func (e *controllerEnv) touch(t testing.TB, ns, name string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"test.tektonstep.dev/touched":%q}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := e.sources.SourcesV1alpha1().TektonStepSources(ns).Patch(context.Background(), name,
		types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// updateSpec changes the source's spec, read again on a conflict: the
// controller writes the status meanwhile, and each write is a new version.
func (e *controllerEnv) updateSpec(t testing.TB, ns, name string, change func(*v1alpha1.TektonStepSourceSpec)) {
	t.Helper()
	client := e.sources.SourcesV1alpha1().TektonStepSources(ns)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		latest, err := client.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		change(&latest.Spec)
		_, err = client.Update(context.Background(), latest, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// adapterRules is what an adapter does in a namespace it watches (written
// out, not taken from the controller's code), as an administrator granting
// a user-provided account would write it: TaskRuns first, then step logs.
func adapterRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"tekton.dev"}, Resources: []string{"taskruns"}, Verbs: []string{"list", "watch", "patch"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}}}
}

// grantAdapterRole gives a service account, in a namespace, what an
// adapter does there (adapterRules) with a Role.
func (e *controllerEnv) grantAdapterRole(t testing.TB, inNamespace, saNamespace, sa string) {
	t.Helper()
	e.grantRole(t, inNamespace, "tekton-step-source-"+sa, saNamespace, sa, adapterRules()...)
}

// grantJournal gives a service account, in the source's namespace, the
// narrowest grant of the source's progress journal: get and patch of that
// one ConfigMap (the controller creates it).
// The source itself, by name, for its replays: list and watch it, patch
// its status.
func (e *controllerEnv) grantJournal(t testing.TB, ns, sa string, src *v1alpha1.TektonStepSource) {
	t.Helper()
	e.grantRole(t, ns, "journal-"+sa, ns, sa, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"},
		ResourceNames: []string{adaptercontract.JournalName(string(src.UID))}, Verbs: []string{"get", "patch"}},
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.SchemeGroupVersion.Group}, Resources: []string{"tektonstepsources"},
			ResourceNames: []string{src.Name}, Verbs: []string{"list", "watch"}},
		rbacv1.PolicyRule{APIGroups: []string{v1alpha1.SchemeGroupVersion.Group}, Resources: []string{"tektonstepsources/status"},
			ResourceNames: []string{src.Name}, Verbs: []string{"patch"}})
}

// grantRole creates a Role of the rules in ns and binds it to a service
// account.
func (e *controllerEnv) grantRole(t testing.TB, ns, name, saNamespace, sa string, rules ...rbacv1.PolicyRule) {
	t.Helper()
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}
	if _, err := e.kube.RbacV1().Roles(ns).Create(context.Background(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.kube.RbacV1().RoleBindings(ns).Create(context.Background(), &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: saNamespace, Name: sa}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (e *controllerEnv) createServiceAccount(t testing.TB, ns, name string) {
	t.Helper()
	if _, err := e.kube.CoreV1().ServiceAccounts(ns).Create(context.Background(),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// labelNamespace sets a label on a namespace.
func (e *controllerEnv) labelNamespace(t testing.TB, ns, key, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q}}}`, key, value)
	if _, err := e.kube.CoreV1().Namespaces().Patch(context.Background(), ns, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}
