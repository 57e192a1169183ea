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
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestPlantedSecretsNeverLeave plants Secret values in a real TaskRun that
// prints them every way a step does: an env secretKeyRef, envFrom, a Secret
// volume (a one-line and a multi-line value), `set -x`, base64, and a
// token-shaped param substituted into a script. Two sources watch it: one
// masks secret values, one does not. Every event the receiver got and every
// log line of the controller and both adapters is searched: the masking
// source's events carry none of the values, no event carries the token
// (its pattern is always masked), and no log line carries any of them. The
// other source's events do carry a planted value, so the search can see one.
func TestPlantedSecretsNeverLeave(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	token, password := "e2e-planted-token-"+suffix, "e2e-planted-password-"+suffix
	file, lines := "e2e-planted-file-"+suffix, []string{"e2e-planted-line-one-" + suffix, "e2e-planted-line-two-" + suffix}
	ghToken := "ghp_" + strings.Repeat(suffix, 5)[:36]
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "planted"}, StringData: map[string]string{
		"token": token, "password": password, "file": file, "multiline": strings.Join(lines, "\n") + "\n",
	}}
	if _, err := kube.CoreV1().Secrets(ns).Create(ctxFor(t, time.Minute), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	masked := newSource(t, ns, "masked", "masking:\n  secretValues: true\nceOverrides:\n  extensions:\n    via: masked")
	plain := newSource(t, ns, "plain", "ceOverrides:\n  extensions:\n    via: plain")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: planted
spec:
  params:
  - {name: gh, value: "`+ghToken+`"}
  taskSpec:
    params:
    - {name: gh}
    volumes:
    - {name: planted, secret: {secretName: planted}}
    steps:
    - name: env-ref
      image: "{{.Image}}"
      env:
      - {name: TOKEN, valueFrom: {secretKeyRef: {name: planted, key: token}}}
      script: 'echo "token=$TOKEN"'
    - name: env-from
      image: "{{.Image}}"
      envFrom:
      - secretRef: {name: planted}
      script: 'echo "password=$password"'
    - name: file
      image: "{{.Image}}"
      volumeMounts:
      - {name: planted, mountPath: /etc/planted}
      script: 'cat /etc/planted/file; echo; cat /etc/planted/multiline'
    - name: set-x
      image: "{{.Image}}"
      env:
      - {name: TOKEN, valueFrom: {secretKeyRef: {name: planted, key: token}}}
      script: |
        set -x
        : "$TOKEN"
    - name: encoded
      image: "{{.Image}}"
      env:
      - {name: TOKEN, valueFrom: {secretKeyRef: {name: planted, key: token}}}
      script: 'printf %s "$TOKEN" | base64'
    - name: param
      image: "{{.Image}}"
      script: 'echo "using $(params.gh)"'
`)
	waitTaskRun(t, ns, "planted")
	const steps = 6
	got := waitEvents(t, 2*2*steps, func(e cloudevents.Event) bool {
		return ext(e, "tektonnamespace") == ns && ext(e, "tektontaskrun") == "planted"
	})

	values := append([]string{token, password, file, base64.StdEncoding.EncodeToString([]byte(token))}, lines...)
	found := func(text string, of []string) []string {
		var out []string
		for _, v := range of {
			if strings.Contains(text, v) {
				out = append(out, v)
			}
		}
		return out
	}
	plainSawToken := false
	for _, e := range got {
		raw := e.String()
		if leaked := found(raw, []string{ghToken}); len(leaked) > 0 {
			t.Errorf("event %s (via %s) carries the token-shaped param %v", e.ID(), ext(e, "via"), leaked)
		}
		switch ext(e, "via") {
		case "masked":
			if leaked := found(raw, values); len(leaked) > 0 {
				t.Errorf("event %s of the masking source carries planted values %v:\n%s", e.ID(), leaked, raw)
			}
		case "plain":
			plainSawToken = plainSawToken || strings.Contains(raw, "token="+token)
		default:
			t.Errorf("event %s from no known source: %s", e.ID(), raw)
		}
	}
	if !plainSawToken {
		t.Errorf("the source that does not mask values never sent the planted token: the search cannot see leaks")
	}
	if d := eventData(stepEvent(t, got, "masked", "env-ref", "succeeded")); d.Log == nil || !strings.Contains(*d.Log, "token=***") {
		t.Errorf("the masking source's env-ref log = %v (logError %q), want the value masked", d.Log, d.LogError)
	}

	// The logs of the controller and of both adapters.
	all := append(append([]string{ghToken}, values...), strings.Join(lines, "\n"))
	pods, err := kube.CoreV1().Pods("tekton-step-source").List(ctxFor(t, time.Minute), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	for _, p := range pods.Items {
		logs = append(logs, podLog(t, p.Namespace, p.Name))
	}
	for _, src := range []string{masked.Name, plain.Name} {
		adapterPods, err := kube.CoreV1().Pods(ns).List(ctxFor(t, time.Minute), metav1.ListOptions{LabelSelector: "sources.knative.dev/tektonstepsource=" + src})
		if err != nil || len(adapterPods.Items) == 0 {
			t.Fatalf("adapter pods of %s: %v (%d)", src, err, len(adapterPods.Items))
		}
		for _, p := range adapterPods.Items {
			logs = append(logs, podLog(t, p.Namespace, p.Name))
		}
	}
	for i, l := range logs {
		if leaked := found(l, all); len(leaked) > 0 {
			t.Errorf("log %d carries planted values %v", i, leaked)
		}
	}
}

// stepEvent is the event of a step's transition sent through one source
// (its "via" extension).
func stepEvent(t *testing.T, evs []cloudevents.Event, via, step, kind string) cloudevents.Event {
	t.Helper()
	for _, e := range evs {
		if ext(e, "via") == via && ext(e, "tektonstep") == step && e.Type() == typePrefix+kind+".v1" {
			return e
		}
	}
	t.Fatalf("no %s event of step %s via %s", kind, step, via)
	return cloudevents.Event{}
}

// podLog is the whole log of every container of a pod.
func podLog(t *testing.T, ns, name string) string {
	t.Helper()
	pod, err := kube.CoreV1().Pods(ns).Get(ctxFor(t, time.Minute), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range pod.Spec.Containers {
		raw, err := kube.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: c.Name}).DoRaw(ctxFor(t, time.Minute))
		if err != nil {
			t.Fatalf("log of %s/%s %s: %v", ns, name, c.Name, err)
		}
		b.Write(raw)
	}
	return b.String()
}

// TestCutKeysAndWrappedEncodingsMasked: on real Tekton, with the log cut to
// 1 KiB, a PEM private key a step prints (from a ConfigMap: no Secret value
// covers it, only the key pattern) leaves none of its lines in the event,
// though the cut removed its BEGIN line; a long Secret value printed by
// busybox's base64 (wrapped at 76 columns) and a short one printed as the
// base64 of user:value (HTTP Basic) leave no line of their encodings
// either.
func TestCutKeysAndWrappedEncodingsMasked(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	key, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	long := strings.Repeat("long-planted-"+suffix+"-", 5)
	short := "short-planted-" + suffix
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctxFor(t, time.Minute), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "key"}, Data: map[string]string{"key.pem": pemKey}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().Secrets(ns).Create(ctxFor(t, time.Minute), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "values"}, StringData: map[string]string{"long": long, "short": short}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	newSource(t, ns, "masked", "log:\n  maxBytes: 1024\nmasking:\n  secretValues: true")
	apply(t, ns, `
apiVersion: tekton.dev/v1
kind: TaskRun
metadata:
  name: encoded
spec:
  taskSpec:
    volumes:
    - {name: key, configMap: {name: key}}
    steps:
    - name: key
      image: "{{.Image}}"
      volumeMounts:
      - {name: key, mountPath: /etc/key}
      script: 'cat /etc/key/key.pem'
    - name: wrapped
      image: "{{.Image}}"
      env:
      - {name: LONG, valueFrom: {secretKeyRef: {name: values, key: long}}}
      script: 'printf %s "$LONG" | base64'
    - name: basic
      image: "{{.Image}}"
      env:
      - {name: SHORT, valueFrom: {secretKeyRef: {name: values, key: short}}}
      script: 'printf "user:%s" "$SHORT" | base64'
`)
	waitTaskRun(t, ns, "encoded")
	got := eventsOf(t, ns, "encoded", 6)

	// What must not be in any event: each line of the key's body, each
	// line of the wrapped encoding, and the encoding of user:short.
	var forbidden []string
	for _, l := range strings.Split(pemKey, "\n") {
		if l != "" && !strings.HasPrefix(l, "-----") {
			forbidden = append(forbidden, l)
		}
	}
	wrapped := base64.StdEncoding.EncodeToString([]byte(long))
	for len(wrapped) > 76 {
		forbidden, wrapped = append(forbidden, wrapped[:76]), wrapped[76:]
	}
	forbidden = append(forbidden, wrapped, base64.StdEncoding.EncodeToString([]byte("user:"+short)))
	for _, e := range got {
		raw := e.String()
		for _, f := range forbidden {
			if strings.Contains(raw, f) {
				t.Errorf("event %s (%s of step %s) carries %q", e.ID(), e.Type(), e.Subject(), f)
			}
		}
	}
	// The logs were read and cut, not withheld: masking had something to do.
	for _, step := range []string{"key", "wrapped", "basic"} {
		for _, e := range got {
			if e.Subject() == step && e.Type() == typePrefix+"succeeded.v1" {
				if d := eventData(e); d.Log == nil || !strings.Contains(*d.Log, "***") {
					t.Errorf("step %s: log %v (logError %q), want it masked", step, d.Log, d.LogError)
				}
			}
		}
	}
}
