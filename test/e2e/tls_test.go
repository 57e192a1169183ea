//go:build e2e

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

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/test/testca"
)

// TestTLSSink sends to an https receiver on the cluster whose certificate
// is signed by a CA of the test's own. With that CA in spec.sink.CACerts
// the events are delivered; with another CA's they never reach it (the
// receiver gets no request): with a dead-letter sink they end there with
// knativeerrorcode 500 and the certificate error in knativeerrordata,
// without one they are rejected and shown on the source as EventRejected
// Warning Events naming the error.
func TestTLSSink(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	// CAs of the test's own, so that it decides who trusts the receiver.
	ca, wrong := testca.New(t), testca.New(t)
	deployTLSReceiver(t, ns, "tls-display", ca)
	deployReceiver(t, ns, "tls-dls")
	sink := fmt.Sprintf("https://tls-display.%s.svc.cluster.local", ns)
	source := func(name, caPEM, extra string) {
		apply(t, ns, fmt.Sprintf(`
apiVersion: sources.knative.dev/v1alpha1
kind: TektonStepSource
metadata:
  name: %s
spec:
  ceOverrides:
    extensions: {via: %s}
  sink:
    uri: %s
    CACerts: %q
%s`, name, name, sink, caPEM, indent(extra, "  ")))
		waitSourceReady(t, ns, name)
	}
	source("trusted", ca.PEM(), "")
	source("untrusted-dls", wrong.PEM(), `
delivery:
  deadLetterSink:
    ref: {apiVersion: v1, kind: Service, name: tls-dls}
`)
	source("untrusted", wrong.PEM(), "")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: over-tls
spec:
  taskSpec:
    steps:
    - {name: only, image: "{{.Image}}", script: "echo over TLS"}
`)
	waitTaskRun(t, ns, "over-tls")

	checkVia(t, receiverEvents(t, ns, "tls-display", 2), "trusted", 2)
	refused := receiverEvents(t, ns, "tls-dls", 2)
	checkVia(t, refused, "untrusted-dls", 2)
	for _, e := range refused {
		data, err := base64.StdEncoding.DecodeString(ext(e, "knativeerrordata"))
		if code := ext(e, "knativeerrorcode"); code != "500" || err != nil || !strings.Contains(string(data), "is not trusted") {
			t.Errorf("dead-lettered event %s: knativeerrorcode %q, knativeerrordata %q (%v); want 500 and the certificate error",
				e.ID(), code, data, err)
		}
	}
	waitFor(t, "the rejections shown on the source untrusted", func(ctx context.Context) bool {
		events, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=untrusted,reason=EventRejected"})
		if err != nil {
			return false
		}
		rejected := 0
		for _, e := range events.Items {
			if e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "is not trusted") {
				rejected += max(int(e.Count), 1)
			}
		}
		return rejected >= 2
	})
	// By now every refused event was refused: none of them reached the
	// receiver since.
	checkVia(t, receiverEvents(t, ns, "tls-display", 2), "trusted", 2)
}
