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
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// removeValue clears a selector on update.
const removeValue = "-"

// sourceFlags are the flags that describe a TektonStepSource's spec.
type sourceFlags struct {
	sink              string
	namespaceSelector string
	selector          string
	serviceAccount    string
	ceOverrides       []string
	logMaxBytes       int64
	replicas          int32
	includeTriggered  bool
	maskSecretValues  bool
	deletionGuard     string
	deliveryFlags
}

// specFlags are the flags apply -f refuses to mix with a file.
var specFlags = append([]string{"sink", "namespace-selector", "selector", "service-account", "ce-override", "log-max-bytes",
	"replicas", "include-sink-triggered-runs", "mask-secret-values", "deletion-guard"}, deliveryFlagNames...)

func (f *sourceFlags) add(fs *pflag.FlagSet) {
	fs.StringVarP(&f.sink, "sink", "s", "", SinkHelp)
	fs.StringVar(&f.namespaceSelector, "namespace-selector", "",
		"Label selector of the namespaces whose TaskRuns are watched, e.g. 'team=ci' or 'env in (dev,test)'; '' selects every namespace. "+
			"Without it only the source's namespace is watched. Requires --service-account. '-' removes it (update).")
	fs.StringVar(&f.selector, "selector", "",
		"Label selector of the TaskRuns to watch, e.g. 'app=my-app,tekton.dev/pipeline'. '' or '-' removes it (update): every TaskRun.")
	fs.StringVar(&f.serviceAccount, "service-account", "",
		"Name of the service account the receive adapter runs as; empty: a per-source account that may only read the source's namespace.")
	fs.StringArrayVar(&f.ceOverrides, "ce-override", nil,
		"Cloud Event overrides to apply before sending event to sink. Example: '--ce-override key=value' "+
			"You may be provide this flag multiple times. To unset, append \"-\" to the key (e.g. --ce-override key-).")
	fs.Int64Var(&f.logMaxBytes, "log-max-bytes", 0,
		"Tail of the step log carried in succeeded and failed events, in bytes; 0: no log. Default (when never set): 65536.")
	fs.Int32Var(&f.replicas, "replicas", 0,
		fmt.Sprintf("Number of receive adapter pods (1-%d); more than one share the TaskRuns through leader-elected buckets. Default (when never set): %d.",
			v1alpha1.MaxReplicas, v1alpha1.DefaultReplicas))
	fs.BoolVar(&f.includeTriggered, "include-sink-triggered-runs", false,
		"Also send events for the TaskRuns created by the EventListener that is the sink (turns off the recursion guard).")
	fs.BoolVar(&f.maskSecretValues, "mask-secret-values", false,
		"Mask the values of the Secrets each step references in its events (log, script, args, env, results); "+
			"lets the adapter read those pods and Secrets. --mask-secret-values=false turns it off (update).")
	fs.StringVar(&f.deletionGuard, "deletion-guard", "",
		"Hold deleted TaskRuns until their step events are recorded, at most this long after their deletion (e.g. 10m); "+
			"'' = the default deadline (10m), '-' turns the guard off (update).")
	f.deliveryFlags.add(fs)
}

// apply writes the flags that were given (changed) into the spec. sink is
// the already resolved --sink; resolve resolves --dl-sink.
func (f *sourceFlags) apply(fs *pflag.FlagSet, spec *v1alpha1.TektonStepSourceSpec, sink *duckv1.Destination,
	resolve func(*Sink) (*duckv1.Destination, error)) error {
	if sink != nil {
		spec.Sink = *sink
	}
	if fs.Changed("namespace-selector") {
		switch f.namespaceSelector {
		case removeValue:
			spec.NamespaceSelector = nil
		default:
			sel, err := parseSelector("--namespace-selector", f.namespaceSelector)
			if err != nil {
				return err
			}
			spec.NamespaceSelector = sel
		}
	}
	if fs.Changed("selector") {
		switch f.selector {
		case removeValue, "":
			spec.Selector = nil
		default:
			sel, err := parseSelector("--selector", f.selector)
			if err != nil {
				return err
			}
			spec.Selector = sel
		}
	}
	if fs.Changed("service-account") {
		spec.ServiceAccountName = f.serviceAccount
	}
	if fs.Changed("ce-override") {
		var current map[string]string
		if spec.CloudEventOverrides != nil {
			current = spec.CloudEventOverrides.Extensions
		}
		ext, err := applyCEOverrides(current, f.ceOverrides)
		if err != nil {
			return err
		}
		if len(ext) == 0 {
			spec.CloudEventOverrides = nil
		} else {
			spec.CloudEventOverrides = &duckv1.CloudEventOverrides{Extensions: ext}
		}
	}
	if fs.Changed("log-max-bytes") {
		v := f.logMaxBytes
		spec.Log = &v1alpha1.LogSpec{MaxBytes: &v}
	}
	if fs.Changed("replicas") {
		v := f.replicas
		spec.Replicas = &v
	}
	if fs.Changed("include-sink-triggered-runs") {
		spec.IncludeSinkTriggeredRuns = f.includeTriggered
	}
	if fs.Changed("mask-secret-values") {
		spec.Masking = nil
		if f.maskSecretValues {
			spec.Masking = &v1alpha1.MaskingSpec{SecretValues: true}
		}
	}
	if fs.Changed("deletion-guard") {
		switch f.deletionGuard {
		case removeValue:
			spec.DeletionGuard = nil
		case "":
			spec.DeletionGuard = &v1alpha1.DeletionGuardSpec{}
		default:
			d, err := time.ParseDuration(f.deletionGuard)
			if err != nil {
				return fmt.Errorf("--deletion-guard %q: want a duration such as 10m or 1h (or '-' to turn it off)", f.deletionGuard)
			}
			spec.DeletionGuard = &v1alpha1.DeletionGuardSpec{Deadline: &metav1.Duration{Duration: d}}
		}
	}
	return f.deliveryFlags.apply(fs, spec, resolve)
}

// parseSelector parses a label selector in kubectl's syntax
// (a=b,c!=d,e in (f,g),!h).
func parseSelector(flag, value string) (*metav1.LabelSelector, error) {
	sel, err := metav1.ParseToLabelSelector(value)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not a label selector: %w", flag, value, err)
	}
	return sel, nil
}

// applyCEOverrides applies kn's --ce-override syntax to the current
// extensions: key=value sets, key- removes.
func applyCEOverrides(current map[string]string, overrides []string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range current {
		out[k] = v
	}
	for _, o := range overrides {
		if key, value, ok := strings.Cut(o, "="); ok {
			if key == "" {
				return nil, fmt.Errorf("--ce-override %q: the key is empty (want key=value, or key- to remove)", o)
			}
			out[key] = value
			continue
		}
		if key, ok := strings.CutSuffix(o, "-"); ok && key != "" {
			delete(out, key)
			continue
		}
		return nil, fmt.Errorf("--ce-override %q: want key=value, or key- to remove", o)
	}
	return out, nil
}
