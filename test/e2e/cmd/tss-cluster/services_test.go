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
	"fmt"
	"net"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

func service(ns, name string, mutate func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	mutate(s)
	return s
}

func slice(ns, svc string, ports map[string]int32, ready map[string]bool) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: svc + "-abc", Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for name, p := range ports {
		s.Ports = append(s.Ports, discoveryv1.EndpointPort{Name: ptr.To(name), Port: ptr.To(p)})
	}
	for _, ip := range []string{"198.51.100.70", "198.51.100.71"} {
		if r, ok := ready[ip]; ok {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(r)}})
		}
	}
	return s
}

// listers over fixed objects, as the informers would hold them.
func listers(t *testing.T, objs ...any) (corelisters.ServiceLister, discoverylisters.EndpointSliceLister) {
	t.Helper()
	svcs := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	slices := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, o := range objs {
		var err error
		switch o.(type) {
		case *corev1.Service:
			err = svcs.Add(o)
		case *discoveryv1.EndpointSlice:
			err = slices.Add(o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return corelisters.NewServiceLister(svcs), discoverylisters.NewEndpointSliceLister(slices)
}

func TestResolve(t *testing.T) {
	services, slices := listers(t,
		service("knative-eventing", "broker-ingress", func(s *corev1.Service) { s.Spec.ClusterIP = "198.51.100.5" }),
		service("e2e", "display", func(s *corev1.Service) { s.Spec.ClusterIP = corev1.ClusterIPNone }),
		slice("e2e", "display", map[string]int32{"http": 80}, map[string]bool{"198.51.100.70": true, "198.51.100.71": false}),
		service("e2e", "steps-kn-channel", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "broker-ingress.knative-eventing.svc.cluster.local"
		}),
		service("e2e", "outside", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "example.com"
		}),
		service("e2e", "loop", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "loop.e2e.svc.cluster.local"
		}),
	)
	r := resolver{suffix: ".svc.cluster.local.", services: services, slices: slices}
	for _, tc := range []struct {
		name   string
		want   []string
		exists bool
	}{
		{name: "broker-ingress.knative-eventing.svc.cluster.local.", want: []string{"198.51.100.5"}, exists: true},
		{name: "display.e2e.svc.cluster.local.", want: []string{"198.51.100.70"}, exists: true},
		{name: "steps-kn-channel.e2e.svc.cluster.local.", want: []string{"198.51.100.5"}, exists: true},
		{name: "outside.e2e.svc.cluster.local."},
		{name: "loop.e2e.svc.cluster.local."},
		{name: "missing.e2e.svc.cluster.local."},
		{name: "pod.display.e2e.svc.cluster.local."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ips, ok := r.resolve(tc.name)
			var got []string
			for _, ip := range ips {
				got = append(got, ip.String())
			}
			if ok != tc.exists || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("resolve = %v, %v; want %v, %v", got, ok, tc.want, tc.exists)
			}
		})
	}
}

func TestBackends(t *testing.T) {
	svc := service("knative-eventing", "imc-dispatcher", func(s *corev1.Service) {
		s.Spec.ClusterIP = "198.51.100.6"
		s.Spec.Ports = []corev1.ServicePort{
			{Name: "http-dispatcher", Port: 80, TargetPort: intstr.FromString("http")},
			{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090)},
			{Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP},
		}
	})
	_, slices := listers(t, slice("knative-eventing", "imc-dispatcher",
		map[string]int32{"http-dispatcher": 8080, "metrics": 9090}, map[string]bool{"198.51.100.70": true, "198.51.100.71": false}))
	p := &serviceProxy{slices: slices}
	got, err := p.backends(svc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][]string{80: {"198.51.100.70:8080"}, 9090: {"198.51.100.70:9090"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backends = %v, want %v", got, want)
	}
	for _, tc := range []struct {
		ip   string
		want bool
	}{{"198.51.100.6", true}, {"198.51.100.1", false}, {corev1.ClusterIPNone, false}, {"", false}, {"fd00::1", false}} {
		s := svc.DeepCopy()
		s.Spec.ClusterIP = tc.ip
		if got := (&serviceProxy{skip: "198.51.100.1"}).proxied(s); got != tc.want {
			t.Errorf("proxied(%q) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

// TestForward runs a listener with two backends, one refusing: every
// connection reaches the live one, both ways, half-close included.
func TestForward(t *testing.T) {
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	go func() {
		for {
			c, err := backend.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				n, _ := c.Read(buf)
				_, _ = fmt.Fprintf(c, "echo %s", buf[:n])
			}()
		}
	}()
	refusing, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := refusing.Addr().String()
	refusing.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &portListener{ln: ln, backends: []string{dead, backend.Addr().String()}}
	go l.serve()
	defer ln.Close()
	for i := range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fmt.Fprintf(c, "hello %d", i)
		_ = c.(*net.TCPConn).CloseWrite()
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		c.Close()
		if got, want := string(buf[:n]), fmt.Sprintf("echo hello %d", i); got != want {
			t.Errorf("connection %d: got %q, want %q", i, got, want)
		}
	}
}
