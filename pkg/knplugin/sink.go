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
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// SinkHelp is the --sink flag's help, in kn's words.
const SinkHelp = "Addressable sink for events. You can specify a broker, channel, Knative service, Kubernetes service or URI. " +
	"Examples: '--sink broker:nest' for a broker 'nest', '--sink channel:pipe' for a channel 'pipe', " +
	"'--sink ksvc:mysvc:mynamespace' for a Knative service 'mysvc' in another namespace 'mynamespace', " +
	"'--sink https://event.receiver.uri' for an HTTP URI, '--sink ksvc:receiver' or simply '--sink receiver' for a Knative service 'receiver' in the current namespace, " +
	"'--sink svc:receiver:mynamespace' for a Kubernetes service 'receiver' in the 'mynamespace' namespace, " +
	"'--sink special.eventing.dev/v1alpha1/channels:pipe' for GroupVersionResource of v1alpha1 'pipe', " +
	"'--sink eventing.knative.dev/v1:Broker:default' for apiVersion:Kind:name. " +
	"If a prefix is not provided, it is considered as a Knative service in the current namespace."

// sinkPrefixes are kn's sink shorthands (knative.dev/client-pkg's default
// sink mappings).
var sinkPrefixes = map[string]schema.GroupVersionResource{
	"broker":  {Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"},
	"channel": {Group: "messaging.knative.dev", Version: "v1", Resource: "channels"},
	"ksvc":    {Group: "serving.knative.dev", Version: "v1", Resource: "services"},
	"svc":     {Version: "v1", Resource: "services"},
	"service": {Version: "v1", Resource: "services"},
}

// Sink is a parsed --sink value: either a URI or a reference to an object,
// named by a kn prefix (broker, channel, ksvc, svc), by
// group/version/resource, or by apiVersion and Kind.
type Sink struct {
	URI *apis.URL
	// GVR is set for prefixes and group/version/resource forms.
	GVR schema.GroupVersionResource
	// GVK is set for the apiVersion:Kind:name form.
	GVK       schema.GroupVersionKind
	Name      string
	Namespace string
}

// ParseSink parses a --sink value with kn's syntax:
//
//	http(s)://...                          a URI
//	NAME                                   ksvc:NAME
//	PREFIX:NAME[:NAMESPACE]                broker, channel, ksvc, svc (service)
//	GROUP/VERSION/RESOURCE:NAME[:NAMESPACE] any Addressable, e.g. messaging.knative.dev/v1/inmemorychannels:pipe
//
// and, as an extension that cannot clash with kn's forms (object names are
// lowercase, kinds are not), APIVERSION:KIND:NAME[:NAMESPACE], e.g.
// eventing.knative.dev/v1:Broker:default.
func ParseSink(value string) (*Sink, error) {
	if value == "" {
		return nil, fmt.Errorf("--sink is empty")
	}
	parts := strings.SplitN(value, ":", 3)
	switch {
	case parts[0] == "http" || parts[0] == "https":
		uri, err := apis.ParseURL(value)
		if err != nil {
			return nil, fmt.Errorf("--sink %q is not a valid URI: %w", value, err)
		}
		if uri.Host == "" {
			return nil, fmt.Errorf("--sink %q is not a valid URI: no host", value)
		}
		return &Sink{URI: uri}, nil
	case len(parts) == 1:
		parts = []string{"ksvc", parts[0]}
	}
	prefix, name, namespace := parts[0], parts[1], ""
	if len(parts) == 3 {
		namespace = parts[2]
	}
	s := &Sink{}
	if gvr, ok := sinkPrefixes[prefix]; ok {
		s.GVR = gvr
	} else if r := []rune(name); len(r) > 0 && unicode.IsUpper(r[0]) {
		// apiVersion:Kind:name[:namespace]
		gv, err := schema.ParseGroupVersion(prefix)
		if err != nil || gv.Version == "" {
			return nil, fmt.Errorf("--sink %q: %q is not an apiVersion (want apiVersion:Kind:name, e.g. eventing.knative.dev/v1:Broker:default)", value, prefix)
		}
		rest := strings.SplitN(namespace, ":", 2)
		if rest[0] == "" {
			return nil, fmt.Errorf("--sink %q: no name after the kind %s (want apiVersion:Kind:name)", value, name)
		}
		s.GVK = gv.WithKind(name)
		name, namespace = rest[0], ""
		if len(rest) == 2 {
			namespace = rest[1]
		}
	} else if strings.Count(prefix, "/") == 2 {
		i := strings.LastIndex(prefix, "/")
		gv, err := schema.ParseGroupVersion(prefix[:i])
		if err != nil || prefix[i+1:] == "" || gv.Group == "" {
			return nil, fmt.Errorf("--sink %q: %q is not group/version/resource", value, prefix)
		}
		s.GVR = gv.WithResource(strings.ToLower(prefix[i+1:]))
	} else {
		return nil, fmt.Errorf("--sink %q: unknown sink prefix %q: use broker:, channel:, ksvc:, svc:, group/version/resource:, apiVersion:Kind:name or an http(s) URI", value, prefix)
	}
	if name == "" {
		return nil, fmt.Errorf("--sink %q: the sink name is empty", value)
	}
	for _, n := range []struct{ what, v string }{{"name", name}, {"namespace", namespace}} {
		if n.v == "" {
			continue
		}
		if msgs := validation.IsDNS1123Subdomain(n.v); len(msgs) > 0 {
			return nil, fmt.Errorf("--sink %q: invalid %s %q: %s", value, n.what, n.v, strings.Join(msgs, "; "))
		}
	}
	s.Name, s.Namespace = name, namespace
	return s, nil
}

// Resolve turns the sink into a Destination. As kn does, a reference must
// name an object that exists; its namespace defaults to namespace.
func (s *Sink) Resolve(ctx context.Context, client dynamic.Interface, mapper meta.RESTMapper, namespace string) (*duckv1.Destination, error) {
	if s.URI != nil {
		return &duckv1.Destination{URI: s.URI}, nil
	}
	if s.Namespace != "" {
		namespace = s.Namespace
	}
	gvr := s.GVR
	if s.GVK.Kind != "" {
		mapping, err := mapper.RESTMapping(s.GVK.GroupKind(), s.GVK.Version)
		if err != nil {
			return nil, fmt.Errorf("cannot resolve sink: the cluster does not serve kind %s in %s: %w", s.GVK.Kind, s.GVK.GroupVersion(), err)
		}
		gvr = mapping.Resource
	} else {
		full, err := mapper.ResourceFor(gvr)
		if err != nil {
			return nil, fmt.Errorf("cannot resolve sink: the cluster does not serve %s: %w", describeGVR(gvr), err)
		}
		gvr = full
	}
	obj, err := client.Resource(gvr).Namespace(namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("cannot resolve sink: %s %q not found in namespace %q", describeGVR(gvr), s.Name, namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot resolve sink %s %q in namespace %q: %w", describeGVR(gvr), s.Name, namespace, err)
	}
	return &duckv1.Destination{Ref: &duckv1.KReference{
		APIVersion: obj.GetAPIVersion(),
		Kind:       obj.GetKind(),
		Name:       obj.GetName(),
		Namespace:  namespace,
	}}, nil
}

func describeGVR(gvr schema.GroupVersionResource) string {
	if gvr.Group == "" {
		return gvr.Version + " " + gvr.Resource
	}
	return gvr.Group + "/" + gvr.Version + " " + gvr.Resource
}

// SinkString renders a Destination as kn's list commands do (kn's
// SinkToString): ksvc:NAME for a Knative Service, kind:NAME (lowercase) for
// other references, with :NAMESPACE when it is not the source's, else the URI.
func SinkString(d duckv1.Destination, sourceNamespace string) string {
	if d.Ref != nil {
		kind := strings.ToLower(d.Ref.Kind)
		if d.Ref.Kind == "Service" && strings.HasPrefix(d.Ref.APIVersion, "serving.knative.dev/") {
			kind = "ksvc"
		}
		s := kind + ":" + d.Ref.Name
		if d.Ref.Namespace != "" && d.Ref.Namespace != sourceNamespace {
			s += ":" + d.Ref.Namespace
		}
		return s
	}
	if d.URI != nil {
		return d.URI.String()
	}
	return ""
}
