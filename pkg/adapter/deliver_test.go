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

package adapter

import (
	"context"
	"net/http"
	"testing"

	"knative.dev/eventing/pkg/kncloudevents"
)

// TestRetryableAsKnative: the adapter retries exactly the sink answers
// Knative's own dispatcher (Triggers, Subscriptions) retries.
func TestRetryableAsKnative(t *testing.T) {
	for status := 100; status < 600; status++ {
		knative, err := kncloudevents.SelectiveRetry(context.Background(), &http.Response{StatusCode: status}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := retryable(status); got != knative {
			t.Errorf("retryable(%d) = %v, Knative's dispatcher retries: %v", status, got, knative)
		}
	}
}
