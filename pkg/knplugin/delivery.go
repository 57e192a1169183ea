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

package knplugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rickb777/date/period"
	"github.com/spf13/pflag"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// deliveryFlags are spec.delivery's flags, named as `kn broker create`
// and `kn trigger` name them.
type deliveryFlags struct {
	deadLetterSink string
	retry          int32
	timeout        string
	backoffPolicy  string
	backoffDelay   string
	retryAfterMax  string
}

// deliveryFlagNames are the flags of deliveryFlags.
var deliveryFlagNames = []string{"dl-sink", "retry", "timeout", "backoff-policy", "backoff-delay", "retry-after-max"}

func (f *deliveryFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.deadLetterSink, "dl-sink", "",
		"Dead-letter sink: where an event goes once the retries are used up or the sink refused it for good "+
			"(same forms as --sink). '-' removes it (update).")
	fs.Int32Var(&f.retry, "retry", 0,
		"Retries after the first attempt before an event is dead-lettered (or, without --dl-sink, rejected). "+
			"Never set: retried until the sink accepts it. A negative value removes it (update).")
	fs.StringVar(&f.timeout, "timeout", "", "Timeout of one request to the sink, e.g. 10s (or ISO 8601, PT10S); default 30s. '-' removes it (update).")
	fs.StringVar(&f.backoffPolicy, "backoff-policy", "", "Backoff policy between retries: exponential or linear. '-' removes it (update).")
	fs.StringVar(&f.backoffDelay, "backoff-delay", "", "Base delay between retries, e.g. 500ms (or ISO 8601, PT0.5S). '-' removes it (update).")
	fs.StringVar(&f.retryAfterMax, "retry-after-max", "",
		"Longest Retry-After (of a 429 or 503) that is honoured, e.g. 1m (or ISO 8601, PT1M); without it Retry-After is ignored. '-' removes it (update).")
}

// apply writes the delivery flags that were given into the spec; resolve
// turns --dl-sink into a Destination. The spec's validation (the
// controller's, and the CRD's) checks the values.
func (f *deliveryFlags) apply(fs *pflag.FlagSet, spec *v1alpha1.TektonStepSourceSpec, resolve func(*Sink) (*duckv1.Destination, error)) error {
	changed := false
	for _, name := range deliveryFlagNames {
		changed = changed || fs.Changed(name)
	}
	if !changed {
		return nil
	}
	d := &eventingduckv1.DeliverySpec{}
	if spec.Delivery != nil {
		d = spec.Delivery.DeepCopy()
	}
	if fs.Changed("dl-sink") {
		d.DeadLetterSink = nil
		if f.deadLetterSink != removeValue && f.deadLetterSink != "" {
			s, err := ParseSink(f.deadLetterSink)
			if err != nil {
				return fmt.Errorf("--dl-sink: %w", err)
			}
			if d.DeadLetterSink, err = resolve(s); err != nil {
				return fmt.Errorf("--dl-sink: %w", err)
			}
		}
	}
	if fs.Changed("retry") {
		d.Retry = nil
		if f.retry >= 0 {
			retry := f.retry
			d.Retry = &retry
		}
	}
	setDuration := func(flag, value string, field **string) error {
		if !fs.Changed(flag) {
			return nil
		}
		*field = nil
		if value == removeValue || value == "" {
			return nil
		}
		iso, err := isoDuration(flag, value)
		if err != nil {
			return err
		}
		*field = &iso
		return nil
	}
	for _, df := range []struct {
		flag, value string
		field       **string
	}{{"timeout", f.timeout, &d.Timeout}, {"backoff-delay", f.backoffDelay, &d.BackoffDelay}, {"retry-after-max", f.retryAfterMax, &d.RetryAfterMax}} {
		if err := setDuration(df.flag, df.value, df.field); err != nil {
			return err
		}
	}
	if fs.Changed("backoff-policy") {
		d.BackoffPolicy = nil
		if f.backoffPolicy != removeValue && f.backoffPolicy != "" {
			policy := eventingduckv1.BackoffPolicyType(f.backoffPolicy)
			if policy != eventingduckv1.BackoffPolicyExponential && policy != eventingduckv1.BackoffPolicyLinear {
				return fmt.Errorf("--backoff-policy %q: want exponential or linear", f.backoffPolicy)
			}
			d.BackoffPolicy = &policy
		}
	}
	if (*d == eventingduckv1.DeliverySpec{}) {
		d = nil
	}
	spec.Delivery = d
	return nil
}

// resolver resolves sinks in the clients' namespace.
func (c *clients) resolver(ctx context.Context) func(*Sink) (*duckv1.Destination, error) {
	return func(s *Sink) (*duckv1.Destination, error) { return s.Resolve(ctx, c.dynamic, c.mapper, c.namespace) }
}

// isoDuration takes a duration as kn and Go write it (10s, 1m30s, 500ms),
// or as the API stores it (ISO 8601: PT10S, left to the apiserver's
// validation), and returns the ISO 8601 form. The API's durations keep
// tenths of a second: a value they would round is refused rather than
// stored as another.
func isoDuration(flag, value string) (string, error) {
	if strings.HasPrefix(strings.ToUpper(value), "P") {
		return value, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 || (d == 0 && flag != "retry-after-max") {
		return "", fmt.Errorf("--%s %q: want a positive duration such as 10s, 1m30s or 500ms (or ISO 8601, e.g. PT10S)", flag, value)
	}
	if d == 0 {
		// As kn's help writes it (retryAfterMax: honour no Retry-After).
		return "PT0S", nil
	}
	p, _ := period.NewOf(d)
	if back, err := period.Parse(p.String()); err != nil || back.DurationApprox() != d {
		return "", fmt.Errorf("--%s %q: durations are kept to a tenth of a second (e.g. %s)", flag, value, d.Round(100*time.Millisecond))
	}
	return p.String(), nil
}
