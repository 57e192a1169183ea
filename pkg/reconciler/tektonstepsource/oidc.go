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

	"knative.dev/eventing/pkg/apis/feature"
	"knative.dev/eventing/pkg/auth"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	"github.com/tektonstep/tekton-step-source/pkg/reconciler/tektonstepsource/resources"
)

// reconcileOIDCIdentity gives the source the sender identity Knative's
// own sources have, following Knative's authentication-oidc feature
// (config-features, read into ctx by the feature store), and reports
// whether it is on. On: the source's OIDC ServiceAccount, made by
// Knative's auth package and shown in status.auth.serviceAccountName
// (grantOIDCTokens then lets the adapter use it). Off: no account, and
// the token Role and RoleBinding grantOIDCTokens made are deleted (which
// ApiServerSource leaves behind).
func (r *Reconciler) reconcileOIDCIdentity(ctx context.Context, src *v1alpha1.TektonStepSource) (bool, error) {
	flags := feature.FromContext(ctx)
	if err := auth.SetupOIDCServiceAccount(ctx, flags, r.OIDCServiceAccountLister, r.KubeClientSet,
		src.GetGroupVersionKind(), src.ObjectMeta, &src.Status, func(a *duckv1.AuthStatus) { src.Status.Auth = a }); err != nil {
		return false, fmt.Errorf("the OIDC service account: %w", err)
	}
	if flags.IsOIDCAuthentication() {
		return true, nil
	}
	name := resources.OIDCTokenRoleName(src)
	if err := r.deleteRoleBinding(ctx, src, name); err != nil {
		return false, err
	}
	return false, r.deleteRole(ctx, src, name)
}

// grantOIDCTokens lets adapterServiceAccount, and no other account,
// request tokens for the source's OIDC ServiceAccount (the token Role and
// RoleBinding) and returns that account's name for the adapter's
// K_OIDC_SERVICE_ACCOUNT.
func (r *Reconciler) grantOIDCTokens(ctx context.Context, src *v1alpha1.TektonStepSource, adapterServiceAccount string) (string, error) {
	if err := r.applyRole(ctx, src, resources.MakeOIDCTokenRole(src), src.Status.MarkOIDCIdentityCreatedFailed); err != nil {
		return "", err
	}
	if err := r.applyRoleBinding(ctx, src, resources.MakeOIDCTokenRoleBinding(src, adapterServiceAccount),
		src.Status.MarkOIDCIdentityCreatedFailed); err != nil {
		return "", err
	}
	return resources.OIDCServiceAccountName(src), nil
}
