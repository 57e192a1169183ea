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
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"strings"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// This file generates the property test's inputs (property_test.go): specs
// with every field, filled half with ordinary values and half with hostile
// ones (control characters, huge numbers, Unicode, CESQL and label selector
// corner cases, references of every kind), the controller's masking
// patterns, and a TaskRun whose step transition the event is built from.

// gen draws the values of one case from its own seeded source, so a case
// is reproduced from its seed alone. hostility is the chance that a value
// is drawn from the hostile ones: a spec with one hostile value tests that
// value, one with many is mostly refused for the first.
type gen struct {
	r         *rand.Rand
	hostility float64
}

// newGen is the generator of the case of the seed, its hostility drawn too.
func newGen(seed int64) gen {
	r := rand.New(rand.NewSource(seed))
	return gen{r: r, hostility: []float64{0, 0.03, 0.08, 0.15, 0.3}[r.Intn(5)]}
}

func (g gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g gen, from ...T) T { return from[g.r.Intn(len(from))] }

// either picks from hostile with the chance g.hostility, else from ordinary.
func either[T any](g gen, ordinary, hostile []T) T {
	if g.chance(g.hostility) {
		return pick(g, hostile...)
	}
	return pick(g, ordinary...)
}

// hostileStrings are strings that broke, or could break, something on the
// way from a spec to the sink: control characters, what HTTP headers trim,
// noncharacters, invalid UTF-8, quotes, escapes, numbers and sizes at the
// bounds.
var hostileStrings = []string{
	"", " ", "prod\n", "a\tb", "\r\n", "\x00", "\x1f", "\x7f", "\u0085", "\u009f", "\u00a0", "\u2028", "\ufeff",
	"\u200b", "\ufdd0", "\ufffe", "\U0010ffff", "\U0001fffe", "\xff", "\xed\xa0\x80", "é", "日本語", "🚀", "Zürich – Ost",
	"\"", "'", "''", "\\", "\\'", "%", "%25", "%0A", "a b", " lead", "trail ", "${HOME}", "$(x)", "<b>", "null", "true",
	"0", "-1", "2147483648", "9223372036854775808", "1e309", "NaN", "a=b", "a,b", "a;b", strings.Repeat("x", 20),
	strings.Repeat("x", 21), strings.Repeat("x", 63), strings.Repeat("x", 64), strings.Repeat("x", 65),
	strings.Repeat("é", 64), strings.Repeat("ab", 200),
}

// plainStrings are ordinary values.
var plainStrings = []string{"dev", "prod", "ci", "build", "compile", "release", "x", "team-a", "eu-west-1", "v1.2.3"}

func (g gen) value() string { return either(g, plainStrings, hostileStrings) }

// contractAttributes are the attributes of the source's events, which
// filters and the sink see (property_oracle_test.go checks them against
// the events).
var contractAttributes = []string{
	"id", "source", "specversion", "type", "subject", "time", "dataschema", "datacontenttype",
	"tektontaskrun", "tektontask", "tektonpipelinerun", "tektonpipeline", "tektonpipelinetask", "tektonstep",
	"tektonnamespace", "tektonattempt", "sequence", "partitionkey", "replay",
}

// attributeName is an attribute a filter or an override names.
func (g gen) attributeName() string {
	return either(g, contractAttributes, []string{"cluster", "env", "Env", "TektonStep", "TYPE", "my-ext", "my_ext", "",
		"a", "data", "data_base64", "knativeerrorcode", "tekton", "tektonx", "1abc", "ñ", strings.Repeat("a", 20),
		strings.Repeat("a", 21), strings.Repeat("a", 200), "schemaurl", "datamediatype"})
}

// extensionName is the name of a ceOverrides extension.
func (g gen) extensionName() string {
	return either(g, []string{"cluster", "env", "team", "region", "a1", strings.Repeat("a", 20)}, []string{"Env", "TYPE",
		"my-ext", "", "id", "tektonstep", "tekton", "sequence", "replay", "knativeerrorcode", "1abc", "ñ",
		strings.Repeat("a", 21), strings.Repeat("a", 200), "data", "data_base64"})
}

// matchingValue is a value the sample events' attributes often have, so
// that filters let some events through.
func (g gen) matchingValue() string {
	return pick(g, v1alpha1.StepStartedEventType, v1alpha1.StepFailedEventType, "dev.tekton.event.step.", ".v1",
		"compile", "test", "build", "release", "0", "1", "00000", "/apis/tekton.dev/v1/", "application/json", "1.0")
}

func (g gen) spec() v1alpha1.TektonStepSourceSpec {
	s := v1alpha1.TektonStepSourceSpec{SourceSpec: duckv1.SourceSpec{Sink: g.destination()}}
	if g.chance(0.5) {
		ext := map[string]string{}
		for range g.r.Intn(4) {
			ext[g.extensionName()] = g.value()
		}
		s.CloudEventOverrides = &duckv1.CloudEventOverrides{Extensions: ext}
	}
	if g.chance(0.3) {
		s.ServiceAccountName = either(g, []string{"watcher", "a.b", strings.Repeat("a", 253)}, []string{"Not_A_Name",
			strings.Repeat("a", 254), "-a"})
	}
	if g.chance(0.2) {
		s.NamespaceSelector = g.labelSelector()
		if s.ServiceAccountName == "" && !g.chance(g.hostility) {
			s.ServiceAccountName = "watcher"
		}
	}
	if g.chance(0.4) {
		s.Selector = g.labelSelector()
	}
	for range pick(g, 0, 0, 1, 1, 2, 3) {
		s.Filters = append(s.Filters, g.filter(3))
	}
	if g.chance(0.5) {
		s.Log = &v1alpha1.LogSpec{MaxBytes: either(g, []*int64{nil, ptrTo(int64(0)), ptrTo(int64(1)), ptrTo(int64(65536)),
			ptrTo(v1alpha1.MaxLogMaxBytes)}, []*int64{ptrTo(int64(-1)), ptrTo(v1alpha1.MaxLogMaxBytes + 1), ptrTo(int64(math.MaxInt64))})}
	}
	s.IncludeSinkTriggeredRuns = g.chance(0.3)
	if g.chance(0.4) {
		s.Delivery = g.delivery()
	}
	if g.chance(0.3) {
		s.DeletionGuard = &v1alpha1.DeletionGuardSpec{}
		if g.chance(0.7) {
			s.DeletionGuard.Deadline = &metav1.Duration{Duration: either(g, []time.Duration{time.Second, 90 * time.Minute,
				24 * time.Hour, 1500 * time.Millisecond}, []time.Duration{0, -time.Second, 24*time.Hour + time.Nanosecond,
				time.Duration(math.MaxInt64), 999 * time.Millisecond})}
		}
	}
	if g.chance(0.3) {
		s.Masking = &v1alpha1.MaskingSpec{SecretValues: g.chance(0.5)}
	}
	for i := range pick(g, 0, 0, 0, 1, 2) {
		r := g.replay()
		if i > 0 && !g.chance(g.hostility) {
			// Replays are keyed by name.
			r.Name = fmt.Sprintf("%s-%d", r.Name[:min(len(r.Name), 38)], i)
		}
		s.Replays = append(s.Replays, r)
	}
	if g.chance(0.4) {
		s.Replicas = either(g, []*int32{ptrTo(int32(1)), ptrTo(int32(3)), ptrTo(v1alpha1.MaxReplicas)},
			[]*int32{ptrTo(int32(-1)), ptrTo(int32(0)), ptrTo(v1alpha1.MaxReplicas + 1), ptrTo(int32(math.MaxInt32))})
	}
	return s
}

func ptrTo[T any](v T) *T { return &v }

// destination is a sink or dead-letter sink: a reference of every kind
// (with and without namespace, group or address), a URI of every shape,
// both, or neither.
func (g gen) destination() duckv1.Destination {
	var d duckv1.Destination
	switch either(g, []int{0, 1, 2}, []int{3, 4, 5}) {
	case 0:
		d.URI = pick(g, apis.HTTP("sink.example.svc"), mustURL("https://sink.example.com:8443/a/b?q=1#f"),
			mustURL("http://[::1]:8080/"), mustURL("http://例え.jp/"))
	case 1:
		d.Ref = g.reference()
	case 2:
		d.Ref, d.URI = g.reference(), mustURL("/path?x=1")
	case 3:
		d.URI = pick(g, mustURL("ftp://x/"), mustURL("/relative"), mustURL("http://"), mustURL("http://sink.example.svc/%0A"))
	case 4:
		d.Ref, d.URI = g.reference(), mustURL("http://a.example/")
	}
	if g.chance(0.15) {
		d.CACerts = ptrTo(either(g, []string{testCACert}, []string{"", "not a certificate"}))
	}
	if g.chance(0.15) {
		d.Audience = ptrTo(g.value())
	}
	return d
}

// testCACert is a well-formed self-signed certificate, made once.
var testCACert = func() string {
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"}, IsCA: true,
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}()

func (g gen) reference() *duckv1.KReference {
	ref := either(g, []duckv1.KReference{
		{APIVersion: "eventing.knative.dev/v1", Kind: "Broker"},
		{APIVersion: "v1", Kind: "Service"},
		{APIVersion: "serving.knative.dev/v1", Kind: "Service"},
		{APIVersion: "messaging.knative.dev/v1", Kind: "InMemoryChannel"},
		{APIVersion: "triggers.tekton.dev/v1beta1", Kind: "EventListener"},
		{APIVersion: "triggers.tekton.dev/v1alpha1", Kind: "EventListener"},
		{APIVersion: "example.com/v9", Kind: "EventListener"},
	}, []duckv1.KReference{
		{APIVersion: "triggers.tekton.dev/v1beta1/extra", Kind: "EventListener"},
		{Group: "eventing.knative.dev", Kind: "Broker"},
		{Kind: "Broker"},
		{APIVersion: "eventing.knative.dev/v1"},
	})
	ref.Name = either(g, []string{"default", "el", "my-listener", "a.b", strings.Repeat("l", 63), strings.Repeat("l", 253)},
		[]string{"Bad_Name", "bad name", "", strings.Repeat("l", 254), "é", "-a"})
	if g.chance(0.4) {
		ref.Namespace = either(g, []string{"other", "default"}, []string{"Bad_NS", strings.Repeat("n", 64)})
	}
	if g.chance(0.1) {
		ref.Address = ptrTo(pick(g, "", "a", "https://x"))
	}
	return &ref
}

func mustURL(s string) *apis.URL {
	u, err := apis.ParseURL(s)
	if err != nil {
		panic(err)
	}
	return u
}

// labelSelector is a selector with label selector corner cases: prefixed,
// empty and overlong keys and values, every operator and a made-up one,
// values where none may be and none where some must.
func (g gen) labelSelector() *metav1.LabelSelector {
	key := func() string {
		return either(g, []string{"app", "tekton.dev/pipeline", "a.b-c/e", "App", "a_b", strings.Repeat("k", 63),
			strings.Repeat("p", 200) + "/k"}, []string{"", "-a", "a/", "/a", "x/y/z", strings.Repeat("k", 64),
			strings.Repeat("p", 254) + "/k", "é", "a b"})
	}
	value := func() string {
		return either(g, []string{"", "v", "a_b.c", strings.Repeat("v", 63), "true", "V1"},
			[]string{"-v", "v-", "a b", strings.Repeat("v", 64), "é"})
	}
	sel := &metav1.LabelSelector{}
	if g.chance(0.5) {
		sel.MatchLabels = map[string]string{}
		for range g.r.Intn(3) {
			sel.MatchLabels[key()] = value()
		}
	}
	for range g.r.Intn(3) {
		op := either(g, []metav1.LabelSelectorOperator{metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn,
			metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist}, []metav1.LabelSelectorOperator{"Near", "", "in"})
		req := metav1.LabelSelectorRequirement{Key: key(), Operator: op}
		values := 0
		if op == metav1.LabelSelectorOpIn || op == metav1.LabelSelectorOpNotIn {
			values = 1 + g.r.Intn(3)
		}
		for range either(g, []int{values}, []int{0, 1, 2}) {
			req.Values = append(req.Values, value())
		}
		sel.MatchExpressions = append(sel.MatchExpressions, req)
	}
	return sel
}

// filter is a Trigger filter tree of at most depth levels: every dialect,
// empty and doubled dialects, and CESQL from cesql.
func (g gen) filter(depth int) eventingv1.SubscriptionsAPIFilter {
	attrs := func() map[string]string {
		m := map[string]string{}
		for range 1 + g.r.Intn(2) {
			m[g.attributeName()] = either(g, []string{g.matchingValue(), g.matchingValue(), g.value()}, []string{""})
		}
		return m
	}
	choice := either(g, []int{0, 1, 2, 3, 6, 7, 8, 9, 10, 11}, []int{4, 5, 12})
	if depth <= 0 && choice >= 6 && choice <= 8 {
		choice = 9
	}
	var f eventingv1.SubscriptionsAPIFilter
	switch choice {
	case 0, 1:
		f.Exact = attrs()
	case 2:
		f.Prefix = attrs()
	case 3:
		f.Suffix = attrs()
	case 4:
		f.Exact, f.Suffix = attrs(), attrs()
	case 5:
		// An empty filter: no dialect at all.
	case 6:
		for range either(g, []int{1, 2, 3}, []int{0}) {
			f.All = append(f.All, g.filter(depth-1))
		}
	case 7:
		for range either(g, []int{1, 2, 3}, []int{0}) {
			f.Any = append(f.Any, g.filter(depth-1))
		}
	case 8:
		f.Not = ptrTo(g.filter(depth - 1))
	case 12:
		f.Not = &eventingv1.SubscriptionsAPIFilter{}
	default:
		f.CESQL = g.cesql()
	}
	return f
}

// cesql is a CESQL expression: mostly a condition built from the grammar
// (comparisons, LIKE, IN, EXISTS, logic, every function with right and
// wrong arities, arithmetic, literals at the integer bounds, strings with
// quotes and escapes), sometimes a value that is no condition, sometimes
// text that is not CESQL at all or breaks its implementation.
func (g gen) cesql() string {
	switch either(g, []int{2}, []int{0, 1}) {
	case 0:
		return g.cesqlValue(2)
	case 1:
		return pick(g, "", " ", "tektonstep = 'x' #", "é = 'x'", "'a' 'b'", "x.y", "1 = 1 AND", "tektonstep IN ()",
			"((tektonstep = 'x')", "tektonstep = 'x')", "TRUE", "NOT", "tektonstep LIKE", "\x00", "tektonstep = 'a\nb'",
			"tektonstep = \"x\"", "tektonstep = 'x' -- comment", "SUBSTRING(tektonstep, 1, -1) = 'c'",
			"SUBSTRING(tektonstep, 3, -2) = 'c'", "SUBSTRING(tektonstep, 90, -2) = 'c'", "LEFT(tektonstep, -1) = 'c'",
			"ABS(-2147483648) > 0", "-2147483648 / -1 = 0", "tektonattempt / 0 = 1", "LIKE", "EXISTS",
			"tektonpipeline = 'release' AND SUBSTRING(tektonstep, 2, -1) = 'x'", "tektonstep = 'x' é")
	default:
		return g.cesqlCondition(3)
	}
}

func (g gen) cesqlCondition(depth int) string {
	if depth <= 0 {
		return pick(g, "TRUE", "FALSE", "EXISTS "+g.cesqlIdentifier(), g.cesqlIdentifier()+" = "+g.cesqlLiteral())
	}
	switch g.r.Intn(10) {
	case 0:
		return g.cesqlValue(depth-1) + " " + pick(g, "=", "!=", "<>", "<", "<=", ">", ">=") + " " + g.cesqlValue(depth-1)
	case 1:
		return g.cesqlValue(depth-1) + pick(g, " LIKE ", " NOT LIKE ") + g.cesqlString(pick(g, "%", "dev%", "%.v1", "_ompile",
			"\\%", "%%%", "", "a\\_b", "%\\", strings.Repeat("%a", 20)))
	case 2:
		var items []string
		for range 1 + g.r.Intn(3) {
			items = append(items, g.cesqlValue(depth-1))
		}
		return g.cesqlValue(depth-1) + pick(g, " IN (", " NOT IN (") + strings.Join(items, ", ") + ")"
	case 3:
		return "EXISTS " + g.cesqlIdentifier()
	case 4:
		return "NOT " + g.cesqlCondition(depth-1)
	case 5, 6:
		return "(" + g.cesqlCondition(depth-1) + pick(g, " AND ", " OR ", " XOR ") + g.cesqlCondition(depth-1) + ")"
	case 7:
		return pick(g, "BOOL", "IS_INT", "IS_BOOL") + "(" + g.cesqlValue(depth-1) + ")"
	default:
		return g.cesqlIdentifier() + " = " + g.cesqlLiteral()
	}
}

func (g gen) cesqlValue(depth int) string {
	if depth <= 0 {
		return pick(g, g.cesqlIdentifier(), g.cesqlLiteral())
	}
	switch g.r.Intn(8) {
	case 0, 1:
		return g.cesqlIdentifier()
	case 2, 3:
		return g.cesqlLiteral()
	case 4:
		return "(" + g.cesqlValue(depth-1) + " " + pick(g, "+", "-", "*", "/", "%") + " " + g.cesqlValue(depth-1) + ")"
	case 5:
		return "-" + g.cesqlValue(depth-1)
	default:
		fn := pick(g, "ABS", "LENGTH", "CONCAT", "CONCAT_WS", "LOWER", "UPPER", "TRIM", "LEFT", "RIGHT", "SUBSTRING",
			"INT", "STRING", "BOOL", "IS_INT", "FOO", "length")
		var args []string
		for range g.r.Intn(4) {
			args = append(args, g.cesqlValue(depth-1))
		}
		return fn + "(" + strings.Join(args, ", ") + ")"
	}
}

func (g gen) cesqlIdentifier() string {
	return either(g, append([]string{"TektonStep", "TEKTONATTEMPT"}, contractAttributes...),
		[]string{"cluster", "foo", "data", "a1", "x_y"})
}

func (g gen) cesqlLiteral() string {
	if g.chance(0.4) {
		return either(g, []string{"0", "1", "-1", "2147483647", "-2147483648", "00007", "TRUE", "false"},
			[]string{"2147483648", "99999999999"})
	}
	if g.chance(0.7) {
		return g.cesqlString(g.matchingValue())
	}
	return g.cesqlString(g.value())
}

// cesqlString quotes s as a CESQL string literal, escaping the quote.
func (g gen) cesqlString(s string) string {
	if g.chance(0.5) {
		return "'" + strings.ReplaceAll(s, "'", "\\'") + "'"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func (g gen) delivery() *eventingduckv1.DeliverySpec {
	duration := func() *string {
		return ptrTo(either(g, []string{"PT0.5S", "PT1S", "PT10M", "P1D", "PT1.5M", "PT0.001S"},
			[]string{"PT0S", "PT10M1S", "PT999999999H", "1s", "", "P", "PT", "-PT1S", "P300Y", "P3277Y", "PT9999999999S"}))
	}
	d := &eventingduckv1.DeliverySpec{}
	if g.chance(0.5) {
		d.Retry = either(g, []*int32{ptrTo(int32(0)), ptrTo(int32(3)), ptrTo(int32(math.MaxInt32))}, []*int32{ptrTo(int32(-1))})
	}
	if g.chance(0.3) {
		d.BackoffPolicy = ptrTo(either(g, []eventingduckv1.BackoffPolicyType{eventingduckv1.BackoffPolicyExponential,
			eventingduckv1.BackoffPolicyLinear}, []eventingduckv1.BackoffPolicyType{"random", ""}))
	}
	if g.chance(0.3) {
		d.BackoffDelay = duration()
	}
	if g.chance(0.3) {
		d.Timeout = duration()
	}
	if g.chance(0.3) {
		d.RetryAfterMax = duration()
	}
	if g.chance(0.4) {
		d.Format = ptrTo(either(g, []eventingduckv1.FormatType{eventingduckv1.DeliveryFormatJson,
			eventingduckv1.DeliveryFormatBinary}, []eventingduckv1.FormatType{"xml", ""}))
	}
	if g.chance(0.4) {
		d.DeadLetterSink = ptrTo(g.destination())
	}
	return d
}

func (g gen) replay() v1alpha1.ReplaySpec {
	valid := []time.Time{time.Unix(0, 0), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 500, time.UTC),
		time.Date(9999, 12, 31, 22, 59, 59, 0, time.UTC)}
	since := g.r.Intn(len(valid))
	r := v1alpha1.ReplaySpec{
		Name: either(g, []string{"backfill", "r", strings.Repeat("r", 40), "a-1"},
			[]string{"Back_fill", "", strings.Repeat("r", 41), "-r", "é"}),
		Since: metav1.NewTime(either(g, []time.Time{valid[since]}, []time.Time{{}})),
	}
	if g.chance(0.5) {
		// After since, or (hostile) not.
		r.Until = ptrTo(metav1.NewTime(either(g, []time.Time{valid[since].Add(time.Hour)}, valid)))
	}
	if g.chance(0.3) {
		r.TaskRun = either(g, []string{"build-1", "a.b", strings.Repeat("t", 253)}, []string{"Build", strings.Repeat("t", 254)})
	}
	for range g.r.Intn(3) {
		r.Types = append(r.Types, either(g, []string{"started", "succeeded", "failed", "skipped"}, []string{"finished", ""}))
	}
	return r
}

// maskPatterns is the text of the controller's config-masking ConfigMap:
// ordinary token patterns, and ones that match everywhere or nothing.
func (g gen) maskPatterns() string {
	var lines []string
	for range g.r.Intn(3) {
		lines = append(lines, pick(g, "token-[a-z0-9]+", "(?i)secret=\\S+", "x*", "(?:)", "^", "$", "\\b", "[", "a{1001}",
			".", "é+", "# a comment", "", "(a|b)*c"))
	}
	return strings.Join(lines, "\n")
}

// taskRun is a TaskRun in ns whose steps are in every state (running,
// succeeded, failed, skipped, retried), with Tekton's labels present or
// not and a script, arguments and environment that carry a token.
func (g gen) taskRun(ns string, uid types.UID) *pipelinev1.TaskRun {
	created := metav1.NewTime(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	tr := &pipelinev1.TaskRun{ObjectMeta: metav1.ObjectMeta{
		Name: pick(g, "build-42", "b", strings.Repeat("r", 63), "release-42-build"), Namespace: ns, UID: uid,
		CreationTimestamp: created, Labels: map[string]string{},
	}}
	for _, label := range []string{"tekton.dev/task", "tekton.dev/pipelineRun", "tekton.dev/pipeline", "tekton.dev/pipelineTask"} {
		if g.chance(0.6) {
			tr.Labels[label] = pick(g, "build", "release", "release-42", "a_b.c", strings.Repeat("l", 63))
		}
	}
	if pr := tr.Labels["tekton.dev/pipelineRun"]; pr != "" && g.chance(0.8) {
		tr.OwnerReferences = []metav1.OwnerReference{pipelineRunOwner(pr)}
	}
	steps := 1 + g.r.Intn(3)
	spec := &pipelinev1.TaskSpec{}
	started := metav1.NewTime(created.Add(time.Second))
	finished := metav1.NewTime(created.Add(2 * time.Second))
	for i := range steps {
		name := pick(g, "compile", "test", "publish", "unnamed", strings.Repeat("s", 63))
		name = fmt.Sprintf("%s%d", name[:min(len(name), 62)], i)
		spec.Steps = append(spec.Steps, pipelinev1.Step{
			Name: name, Image: "busybox", Script: "echo token-abc123 " + g.value(),
			Args: []string{"--password=hunter2", g.value()},
			Env:  []corev1.EnvVar{{Name: "TOKEN", Value: "s3cr3t-" + g.value()}, {Name: "LEVEL", Value: "debug"}},
		})
		state := pipelinev1.StepState{Name: name, Container: "step-" + name}
		switch g.r.Intn(4) {
		case 0:
			state.Running = &corev1.ContainerStateRunning{StartedAt: started}
		case 1:
			state.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: started, FinishedAt: finished,
				Message: `[{"key":"digest","value":"sha256:` + strings.Repeat("a", 8) + `","type":1}]`}
			state.TerminationReason = "Completed"
		case 2:
			state.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", StartedAt: started, FinishedAt: finished}
			state.TerminationReason = "Error"
		default:
			state.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Skipped", StartedAt: started, FinishedAt: finished}
			state.TerminationReason = "Skipped"
		}
		tr.Status.Steps = append(tr.Status.Steps, state)
	}
	tr.Status.TaskSpec = spec
	tr.Status.PodName = tr.Name + "-pod"
	if g.chance(0.2) {
		tr.Status.RetriesStatus = []pipelinev1.TaskRunStatus{{TaskRunStatusFields: pipelinev1.TaskRunStatusFields{
			PodName: tr.Name + "-pod-0", Steps: tr.Status.Steps, TaskSpec: spec,
		}}}
	}
	return tr
}

// logText is a step log: ordinary lines, a token to mask, and hostile
// content (control characters, invalid UTF-8, long lines).
func (g gen) logText() string {
	var b strings.Builder
	for range g.r.Intn(6) {
		b.WriteString(pick(g, "building...\n", "token-abc123\n", "password: hunter2\n", g.value()+"\n", strings.Repeat("z", 2000)))
	}
	return b.String()
}
