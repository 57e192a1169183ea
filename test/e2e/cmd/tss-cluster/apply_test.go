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

package main

import (
	"errors"
	"fmt"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TestWebhookUnreachable: only the apiserver's failure to call a webhook
// is waited out, as Apply wraps it; a webhook's refusal and other errors
// are not.
func TestWebhookUnreachable(t *testing.T) {
	interceptors := schema.GroupResource{Group: "triggers.tekton.dev", Resource: "clusterinterceptors"}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"webhook not serving yet", apierrors.NewInternalError(errors.New(`failed calling webhook "webhook.triggers.tekton.dev": failed to call webhook: Post "https://tekton-triggers-webhook.tekton-pipelines.svc:443/defaulting?timeout=10s": dial tcp 198.51.100.45:443: connect: connection refused`)), true},
		{"wrapped by Apply", fmt.Errorf("applying ClusterInterceptor /bitbucket: %w", apierrors.NewInternalError(errors.New(`failed calling webhook "w": EOF`))), true},
		{"refused by the webhook", apierrors.NewBadRequest(`admission webhook "webhook.triggers.tekton.dev" denied the request: invalid`), false},
		{"another internal error", apierrors.NewInternalError(errors.New("etcdserver: request timed out")), false},
		{"forbidden", apierrors.NewForbidden(interceptors, "bitbucket", errors.New("no")), false},
		{"not an API error", errors.New("failed calling webhook"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := webhookUnreachable(c.err); got != c.want {
				t.Errorf("webhookUnreachable(%v) = %t, want %t", c.err, got, c.want)
			}
		})
	}
}
