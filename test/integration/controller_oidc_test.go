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
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/ptr"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource"
)

// TestControllerOIDC: the controller, running with config/'s RBAC against a
// real apiserver, follows Knative Eventing's authentication-oidc in
// config-features as Knative's sources do. On: the source's OIDC
// ServiceAccount, shown in status.auth, a Role and RoleBinding with which
// the adapter's account (and no other) may request tokens for it (a real
// TokenRequest, whose token names the OIDC account), and the adapter's
// K_OIDC_SERVICE_ACCOUNT. Off: all of it gone. On again: back.
func TestControllerOIDC(t *testing.T) {
	ctx := context.Background()
	// Eventing's namespace of this test only: config-features is global.
	eventingNS := cp.NewNamespace(t)
	t.Setenv(tektonstepsource.EventingNamespaceEnv, eventingNS)
	admin := kubernetes.NewForConfigOrDie(cp.Config)
	setOIDC := func(state string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-features", Namespace: eventingNS},
			Data: map[string]string{"authentication-oidc": state}}
		if _, err := admin.CoreV1().ConfigMaps(eventingNS).Update(ctx, cm, metav1.UpdateOptions{}); apierrors.IsNotFound(err) {
			_, err = admin.CoreV1().ConfigMaps(eventingNS).Create(ctx, cm, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	// On before the controller starts: its first reconciles see it.
	setOIDC("enabled")
	env := startController(t)

	ns := cp.NewNamespace(t)
	sink := duckv1.Destination{URI: apis.HTTP("sink.example"), Audience: ptr.String("the-sink")}
	src := env.createSource(t, ns, newSourceObject("ident", sink))
	const (
		oidcSA      = "ident-oidc-sources.knative.dev-tektonstepsource"
		tokenRole   = "ident-tektonstep-oidc-token"
		adapterSA   = "ident-tektonstep-adapter"
		deployment  = "ident-tektonstep-adapter"
		disabledWhy = "authentication-oidc feature disabled"
	)
	hasIdentity := func(s *v1alpha1.TektonStepSource) bool {
		return s.Status.Auth != nil && s.Status.Auth.ServiceAccountName != nil && *s.Status.Auth.ServiceAccountName == oidcSA &&
			conditionIs(s, v1alpha1.TektonStepSourceConditionOIDCIdentityCreated, corev1.ConditionTrue, "")
	}
	checkOn := func(when string) {
		t.Helper()
		env.waitForSource(t, ns, src.Name, "status.auth "+when, hasIdentity)
		env.waitForDeployment(t, ns, deployment, "K_OIDC_SERVICE_ACCOUNT "+when, func(d *appsv1.Deployment) bool {
			e := envOf(d)
			return e["K_OIDC_SERVICE_ACCOUNT"] == oidcSA && e["K_AUDIENCE"] == "the-sink"
		})
		sa, err := admin.CoreV1().ServiceAccounts(ns).Get(ctx, oidcSA, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: the OIDC service account: %v", when, err)
		}
		if !metav1.IsControlledBy(sa, src) {
			t.Errorf("%s: the OIDC service account is not controlled by the source: %v", when, sa.OwnerReferences)
		}
		// The adapter's account may request a token for the OIDC account
		// (the apiserver's own TokenRequest and RBAC), for that audience...
		asAdapter := impersonate(t, "system:serviceaccount:"+ns+":"+adapterSA)
		var tr *authenticationv1.TokenRequest
		err = poll(ctx, func(ctx context.Context) (bool, error) {
			tr, err = asAdapter.CoreV1().ServiceAccounts(ns).CreateToken(ctx, oidcSA, &authenticationv1.TokenRequest{
				Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"the-sink"}}}, metav1.CreateOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("%s: the adapter's account cannot request a token for %s: %v", when, oidcSA, err)
		}
		if sub := tokenSubject(t, tr.Status.Token); sub != "system:serviceaccount:"+ns+":"+oidcSA {
			t.Errorf("%s: the token's subject is %q, want the OIDC account", when, sub)
		}
		// ...and for no other account, its own included; and no other
		// account of the namespace may request one for the OIDC account.
		if _, err := asAdapter.CoreV1().ServiceAccounts(ns).CreateToken(ctx, adapterSA, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"the-sink"}}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("%s: a token for the adapter's own account: %v, want forbidden", when, err)
		}
		asDefault := impersonate(t, "system:serviceaccount:"+ns+":default")
		if _, err := asDefault.CoreV1().ServiceAccounts(ns).CreateToken(ctx, oidcSA, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"the-sink"}}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("%s: the namespace's default account requesting a token for %s: %v, want forbidden", when, oidcSA, err)
		}
		role, err := admin.RbacV1().Roles(ns).Get(ctx, tokenRole, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: the token Role: %v", when, err)
		}
		want := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"},
			ResourceNames: []string{oidcSA}, Verbs: []string{"create"}}}
		if fmt.Sprint(role.Rules) != fmt.Sprint(want) {
			t.Errorf("%s: the token Role's rules are %v, want %v", when, role.Rules, want)
		}
	}
	checkOn("with OIDC on")

	setOIDC("disabled")
	env.waitForSource(t, ns, src.Name, "no status.auth with OIDC off", func(s *v1alpha1.TektonStepSource) bool {
		return s.Status.Auth == nil && conditionIs(s, v1alpha1.TektonStepSourceConditionOIDCIdentityCreated, corev1.ConditionTrue, disabledWhy)
	})
	env.waitForDeployment(t, ns, deployment, "no K_OIDC_SERVICE_ACCOUNT with OIDC off", func(d *appsv1.Deployment) bool {
		_, set := envOf(d)["K_OIDC_SERVICE_ACCOUNT"]
		return !set
	})
	err := poll(ctx, func(ctx context.Context) (bool, error) {
		_, saErr := admin.CoreV1().ServiceAccounts(ns).Get(ctx, oidcSA, metav1.GetOptions{})
		_, roleErr := admin.RbacV1().Roles(ns).Get(ctx, tokenRole, metav1.GetOptions{})
		_, rbErr := admin.RbacV1().RoleBindings(ns).Get(ctx, tokenRole, metav1.GetOptions{})
		return apierrors.IsNotFound(saErr) && apierrors.IsNotFound(roleErr) && apierrors.IsNotFound(rbErr), nil
	})
	if err != nil {
		t.Fatalf("with OIDC off, the OIDC account, token Role or RoleBinding is left: %v", err)
	}

	setOIDC("enabled")
	checkOn("with OIDC on again")
}

// impersonate is a client acting as user (a service account's user name).
func impersonate(t *testing.T, user string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	ns := strings.Split(user, ":")[2]
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}}
	return kubernetes.NewForConfigOrDie(cfg)
}

// tokenSubject is the sub claim of a JWT (its signature is the
// apiserver's, which issued it to the test).
func tokenSubject(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Sub
}
