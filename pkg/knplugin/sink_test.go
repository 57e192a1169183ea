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
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func TestParseSink(t *testing.T) {
	broker := schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"}
	ksvc := schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}
	tests := []struct {
		in      string
		want    *Sink
		wantErr string
	}{
		{in: "broker:default", want: &Sink{GVR: broker, Name: "default"}},
		{in: "broker:default:ci", want: &Sink{GVR: broker, Name: "default", Namespace: "ci"}},
		{in: "channel:pipe", want: &Sink{GVR: schema.GroupVersionResource{Group: "messaging.knative.dev", Version: "v1", Resource: "channels"}, Name: "pipe"}},
		{in: "ksvc:mysvc:other", want: &Sink{GVR: ksvc, Name: "mysvc", Namespace: "other"}},
		{in: "receiver", want: &Sink{GVR: ksvc, Name: "receiver"}},
		{in: "svc:receiver:ns1", want: &Sink{GVR: schema.GroupVersionResource{Version: "v1", Resource: "services"}, Name: "receiver", Namespace: "ns1"}},
		{in: "service:receiver", want: &Sink{GVR: schema.GroupVersionResource{Version: "v1", Resource: "services"}, Name: "receiver"}},
		{in: "messaging.knative.dev/v1/InMemoryChannels:pipe", want: &Sink{GVR: schema.GroupVersionResource{Group: "messaging.knative.dev", Version: "v1", Resource: "inmemorychannels"}, Name: "pipe"}},
		{in: "eventing.knative.dev/v1:Broker:default", want: &Sink{GVK: schema.GroupVersionKind{Group: "eventing.knative.dev", Version: "v1", Kind: "Broker"}, Name: "default"}},
		{in: "eventing.knative.dev/v1:Broker:default:ci", want: &Sink{GVK: schema.GroupVersionKind{Group: "eventing.knative.dev", Version: "v1", Kind: "Broker"}, Name: "default", Namespace: "ci"}},
		{in: "v1:Service:receiver", want: &Sink{GVK: schema.GroupVersionKind{Version: "v1", Kind: "Service"}, Name: "receiver"}},
		{in: "http://event-display.default.svc.cluster.local", want: &Sink{URI: apis.HTTP("event-display.default.svc.cluster.local")}},
		{in: "https://example.com:8443/path", want: &Sink{URI: &apis.URL{Scheme: "https", Host: "example.com:8443", Path: "/path"}}},

		{in: "", wantErr: "--sink is empty"},
		{in: "http://", wantErr: "no host"},
		{in: "broker:", wantErr: "the sink name is empty"},
		{in: "brokr:default", wantErr: `unknown sink prefix "brokr"`},
		{in: "broker:Default_1", wantErr: `invalid name "Default_1"`},
		{in: "broker:default:Bad_NS", wantErr: `invalid namespace "Bad_NS"`},
		{in: "a/b:x", wantErr: `unknown sink prefix "a/b"`},
		{in: "/v1/brokers:x", wantErr: "is not group/version/resource"},
		{in: "eventing.knative.dev/v1:Broker", wantErr: "no name after the kind Broker"},
		{in: "a/b/c/d:Broker:x", wantErr: "is not an apiVersion"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSink(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseSink(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseSink(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestSinkString(t *testing.T) {
	tests := []struct {
		name string
		dest duckv1.Destination
		want string
	}{
		{"broker", duckv1.Destination{Ref: &duckv1.KReference{Kind: "Broker", APIVersion: "eventing.knative.dev/v1", Name: "default", Namespace: "ci"}}, "broker:default"},
		{"other namespace", duckv1.Destination{Ref: &duckv1.KReference{Kind: "Broker", APIVersion: "eventing.knative.dev/v1", Name: "default", Namespace: "other"}}, "broker:default:other"},
		{"knative service", duckv1.Destination{Ref: &duckv1.KReference{Kind: "Service", APIVersion: "serving.knative.dev/v1", Name: "display"}}, "ksvc:display"},
		{"kubernetes service", duckv1.Destination{Ref: &duckv1.KReference{Kind: "Service", APIVersion: "v1", Name: "display"}}, "service:display"},
		{"uri", duckv1.Destination{URI: apis.HTTP("display.ci.svc")}, "http://display.ci.svc"},
		{"none", duckv1.Destination{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SinkString(tt.dest, "ci"); got != tt.want {
				t.Errorf("SinkString = %q, want %q", got, tt.want)
			}
			// What kn prints parses back to the same kind of sink.
			if tt.want == "" {
				return
			}
			if _, err := ParseSink(tt.want); err != nil {
				t.Errorf("%q does not parse back: %v", tt.want, err)
			}
		})
	}
}

func TestApplyCEOverrides(t *testing.T) {
	tests := []struct {
		name      string
		current   map[string]string
		overrides []string
		want      map[string]string
		wantErr   string
	}{
		{name: "set", overrides: []string{"cluster=dev", "team=ci"}, want: map[string]string{"cluster": "dev", "team": "ci"}},
		{name: "value with =", overrides: []string{"expr=a=b"}, want: map[string]string{"expr": "a=b"}},
		{name: "empty value", overrides: []string{"flag="}, want: map[string]string{"flag": ""}},
		{name: "replace and remove", current: map[string]string{"cluster": "dev", "team": "ci"}, overrides: []string{"cluster=prod", "team-"}, want: map[string]string{"cluster": "prod"}},
		{name: "remove missing", current: map[string]string{"a": "b"}, overrides: []string{"zzz-"}, want: map[string]string{"a": "b"}},
		{name: "no key", overrides: []string{"=x"}, wantErr: "the key is empty"},
		{name: "no value", overrides: []string{"cluster"}, wantErr: "want key=value, or key- to remove"},
		{name: "only dash", overrides: []string{"-"}, wantErr: "want key=value, or key- to remove"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := applyCEOverrides(tt.current, tt.overrides)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
