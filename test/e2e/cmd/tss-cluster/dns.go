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

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// The cluster's DNS. There is no kube-proxy (Service virtual IPs need NAT,
// which this cluster does not set up), so <service>.<namespace>.svc.<domain>
// resolves to the ready endpoint addresses of the Service, as for a headless
// Service. Names outside the cluster domain are refused: nothing is
// forwarded off the machine.

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
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	slices := factory.Discovery().V1().EndpointSlices()
	lister := slices.Lister()
	slices.Informer()
	ctx := context.Background()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	conn, err := net.ListenPacket("udp", *listen)
	if err != nil {
		return err
	}
	log.Printf("serving DNS for *.svc.%s on %s", *domain, *listen)
	suffix := ".svc." + strings.ToLower(strings.TrimSuffix(*domain, ".")) + "."
	resolve := func(name string) ([]net.IP, bool) {
		if !strings.HasSuffix(name, suffix) {
			return nil, false
		}
		parts := strings.Split(strings.TrimSuffix(name, suffix), ".")
		if len(parts) != 2 {
			return nil, false
		}
		sel := labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: parts[0]})
		list, err := lister.EndpointSlices(parts[1]).List(sel)
		if err != nil || len(list) == 0 {
			return nil, false
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
		return ips, true
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return err
		}
		if resp := answer(buf[:n], *domain, resolve); resp != nil {
			_, _ = conn.WriteTo(resp, from)
		}
	}
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
