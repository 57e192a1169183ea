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
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"log"
	"net"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
)

// The cluster's DNS, as kube-dns answers A queries: <service>.<namespace>.svc.<domain>
// resolves to the Service's cluster IP (which `tss-cluster services` serves),
// to its ready endpoint addresses for a headless Service, and for an
// ExternalName Service inside the cluster domain (Knative's channel
// Services) to what that name resolves to. Names outside the cluster domain
// are refused: nothing is forwarded off the machine.

const (
	dnsTypeA   = 1
	dnsClassIN = 1

	rcodeOK       = 0
	rcodeFormErr  = 1
	rcodeNXDomain = 3
	rcodeRefused  = 5
)

func dns(args []string) error {
	fs := flag.NewFlagSet("dns", flag.ExitOnError)
	listen := fs.String("listen", "", "UDP address to serve on")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	domain := fs.String("domain", "cluster.local", "cluster domain")
	_ = fs.Parse(args)
	if *listen == "" || *kubeconfig == "" {
		return errors.New("dns needs -listen and -kubeconfig")
	}
	_, client, err := clientFor(*kubeconfig)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	services := factory.Core().V1().Services().Lister()
	slices := factory.Discovery().V1().EndpointSlices().Lister()
	ctx := context.Background()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	conn, err := net.ListenPacket("udp", *listen)
	if err != nil {
		return err
	}
	log.Printf("serving DNS for *.svc.%s on %s", *domain, *listen)
	suffix := ".svc." + strings.ToLower(strings.TrimSuffix(*domain, ".")) + "."
	r := resolver{suffix: suffix, services: services, slices: slices}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return err
		}
		if resp := answer(buf[:n], *domain, r.resolve); resp != nil {
			_, _ = conn.WriteTo(resp, from)
		}
	}
}

// resolver answers names from the cluster's Services and EndpointSlices.
type resolver struct {
	suffix   string // ".svc.<domain>."
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
}

// maxExternalNameHops bounds ExternalName chains (and loops).
const maxExternalNameHops = 4

// resolve: the A records of a fully qualified, lower-case name; false for
// a name that does not exist.
func (r resolver) resolve(name string) ([]net.IP, bool) {
	for hop := 0; hop <= maxExternalNameHops; hop++ {
		if !strings.HasSuffix(name, r.suffix) {
			return nil, false
		}
		parts := strings.Split(strings.TrimSuffix(name, r.suffix), ".")
		if len(parts) != 2 {
			return nil, false
		}
		svc, err := r.services.Services(parts[1]).Get(parts[0])
		if err != nil {
			return nil, false
		}
		switch {
		case svc.Spec.Type == corev1.ServiceTypeExternalName:
			name = strings.ToLower(strings.TrimSuffix(svc.Spec.ExternalName, ".")) + "."
		case svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != corev1.ClusterIPNone:
			ip := net.ParseIP(svc.Spec.ClusterIP).To4()
			if ip == nil {
				return nil, false
			}
			return []net.IP{ip}, true
		default:
			return r.endpoints(svc.Namespace, svc.Name), true
		}
	}
	return nil, false
}

// endpoints: the ready IPv4 endpoint addresses of a Service.
func (r resolver) endpoints(namespace, service string) []net.IP {
	sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service})
	list, err := r.slices.EndpointSlices(namespace).List(sel)
	if err != nil {
		return nil
	}
	var ips []net.IP
	for _, s := range list {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if ip := net.ParseIP(a).To4(); ip != nil {
					ips = append(ips, ip)
				}
			}
		}
	}
	return ips
}

// answer builds the response to one query (nil: not a query worth answering).
func answer(q []byte, domain string, resolve func(string) ([]net.IP, bool)) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 {
		return nil
	}
	id := q[0:2]
	opcode := (q[2] >> 3) & 0x0f
	rd := q[2] & 0x01
	reply := func(rcode byte, question []byte, ips []net.IP) []byte {
		out := make([]byte, 12, 12+len(question)+16*len(ips))
		copy(out, id)
		out[2] = 0x80 | opcode<<3 | 0x04 | rd // QR, AA
		out[3] = rcode
		if question != nil {
			binary.BigEndian.PutUint16(out[4:], 1)
		}
		binary.BigEndian.PutUint16(out[6:], uint16(len(ips)))
		out = append(out, question...)
		for _, ip := range ips {
			out = append(out, 0xc0, 12) // the name of the question
			out = binary.BigEndian.AppendUint16(out, dnsTypeA)
			out = binary.BigEndian.AppendUint16(out, dnsClassIN)
			out = binary.BigEndian.AppendUint32(out, 5)
			out = binary.BigEndian.AppendUint16(out, 4)
			out = append(out, ip...)
		}
		return out
	}
	if opcode != 0 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return reply(rcodeFormErr, nil, nil)
	}
	var labelsRead []string
	i := 12
	for {
		if i >= len(q) {
			return reply(rcodeFormErr, nil, nil)
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l&0xc0 != 0 || i+l > len(q) {
			return reply(rcodeFormErr, nil, nil)
		}
		labelsRead = append(labelsRead, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return reply(rcodeFormErr, nil, nil)
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	qclass := binary.BigEndian.Uint16(q[i+2:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labelsRead, ".")) + "."
	if !strings.HasSuffix(name, "."+strings.ToLower(strings.TrimSuffix(domain, "."))+".") {
		return reply(rcodeRefused, question, nil)
	}
	ips, ok := resolve(name)
	if !ok {
		return reply(rcodeNXDomain, question, nil)
	}
	if qclass != dnsClassIN || qtype != dnsTypeA {
		// The name exists; it has no records of this type (AAAA, ...).
		return reply(rcodeOK, question, nil)
	}
	return reply(rcodeOK, question, ips)
}
