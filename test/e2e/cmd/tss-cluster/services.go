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
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
)

// The cluster's Service virtual IPs, without kube-proxy: kube-proxy's modes
// all program the kernel's NAT (iptables, nftables, IPVS), which this
// cluster leaves alone. Instead, as kube-proxy's old userspace mode did,
// each Service's cluster IP is an address on the cluster's bridge (the
// Service range is inside the bridge's subnet, so pods reach it without a
// route) with a TCP listener per Service port that forwards each connection
// to a ready endpoint's target port. A Service without ready endpoints has
// no listeners, so connecting is refused, as kube-proxy's REJECT rule does.
// UDP Service ports are not served (nothing here uses them).

func services(args []string) error {
	fs := flag.NewFlagSet("services", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	dev := fs.String("dev", "", "the bridge the cluster IPs are added to")
	skip := fs.String("skip", "", "a cluster IP served by someone else (the apiserver's, the kubernetes Service)")
	_ = fs.Parse(args)
	if *kubeconfig == "" || *dev == "" {
		return errors.New("services needs -kubeconfig and -dev")
	}
	_, client, err := clientFor(*kubeconfig)
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(client, 10*time.Minute)
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	p := &serviceProxy{
		dev: *dev, skip: *skip, queue: queue,
		services: factory.Core().V1().Services().Lister(),
		slices:   factory.Discovery().V1().EndpointSlices().Lister(),
		served:   map[string]*servedService{},
	}
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	if _, err := factory.Core().V1().Services().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, obj any) { enqueue(obj) }, DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	// An EndpointSlice belongs to the Service its label names.
	enqueueOwner := func(obj any) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelServiceName] != "" {
			queue.Add(s.Namespace + "/" + s.Labels[discoveryv1.LabelServiceName])
		}
	}
	if _, err := factory.Discovery().V1().EndpointSlices().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueueOwner, UpdateFunc: func(_, obj any) { enqueueOwner(obj) }, DeleteFunc: enqueueOwner,
	}); err != nil {
		return err
	}
	ctx := context.Background()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	log.Printf("serving the cluster IPs of Services on %s", *dev)
	for {
		key, shutdown := queue.Get()
		if shutdown {
			return nil
		}
		if err := p.sync(key); err != nil {
			log.Printf("service %s: %v (retrying)", key, err)
			queue.AddRateLimited(key)
		} else {
			queue.Forget(key)
		}
		queue.Done(key)
	}
}

// serviceProxy holds what is served for each Service (by namespace/name).
type serviceProxy struct {
	dev, skip string
	queue     workqueue.TypedRateLimitingInterface[string]
	services  corelisters.ServiceLister
	slices    discoverylisters.EndpointSliceLister
	served    map[string]*servedService // only the sync loop touches it
}

// servedService is one Service's address and its listeners by port.
type servedService struct {
	ip        string
	listeners map[int32]*portListener
}

// portListener forwards one Service port's connections to its backends.
type portListener struct {
	ln       net.Listener
	mu       sync.Mutex
	backends []string // host:port of the ready endpoints' target port
	next     int
}

func (p *serviceProxy) sync(key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	svc, err := p.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && !p.proxied(svc)) {
		p.stop(key)
		return nil
	}
	if err != nil {
		return err
	}
	s := p.served[key]
	if s != nil && s.ip != svc.Spec.ClusterIP {
		p.stop(key)
		s = nil
	}
	if s == nil {
		// replace: idempotent when a restarted proxy finds the address there.
		if out, err := exec.Command("ip", "addr", "replace", svc.Spec.ClusterIP+"/32", "dev", p.dev).CombinedOutput(); err != nil {
			return fmt.Errorf("adding %s to %s: %v: %s", svc.Spec.ClusterIP, p.dev, err, out)
		}
		s = &servedService{ip: svc.Spec.ClusterIP, listeners: map[int32]*portListener{}}
		p.served[key] = s
	}
	backends, err := p.backends(svc)
	if err != nil {
		return err
	}
	var errs []error
	for port, l := range s.listeners {
		if len(backends[port]) == 0 {
			_ = l.ln.Close()
			delete(s.listeners, port)
		}
	}
	for port, addrs := range backends {
		if len(addrs) == 0 {
			continue
		}
		l := s.listeners[port]
		if l == nil {
			ln, err := net.Listen("tcp", net.JoinHostPort(s.ip, strconv.Itoa(int(port))))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			l = &portListener{ln: ln}
			s.listeners[port] = l
			go l.serve()
		}
		l.mu.Lock()
		l.backends = addrs
		l.mu.Unlock()
	}
	return errors.Join(errs...)
}

// proxied: a Service with a cluster IP of its own (not headless, not
// ExternalName, not the apiserver's address).
func (p *serviceProxy) proxied(svc *corev1.Service) bool {
	ip := svc.Spec.ClusterIP
	return svc.Spec.Type != corev1.ServiceTypeExternalName && ip != "" && ip != corev1.ClusterIPNone &&
		ip != p.skip && net.ParseIP(ip).To4() != nil
}

// backends: for each TCP Service port, the ready endpoints' addresses with
// the port their EndpointSlice gives for it (the resolved target port; a
// named target port may differ between pods).
func (p *serviceProxy) backends(svc *corev1.Service) (map[int32][]string, error) {
	list, err := p.slices.EndpointSlices(svc.Namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: svc.Name}))
	if err != nil {
		return nil, err
	}
	out := map[int32][]string{}
	for _, sp := range svc.Spec.Ports {
		if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
			continue
		}
		out[sp.Port] = nil
		for _, s := range list {
			if s.AddressType != discoveryv1.AddressTypeIPv4 {
				continue
			}
			for _, ep := range s.Ports {
				if ep.Port == nil || ptr.Deref(ep.Name, "") != sp.Name {
					continue
				}
				for _, e := range s.Endpoints {
					if e.Conditions.Ready != nil && !*e.Conditions.Ready {
						continue
					}
					for _, a := range e.Addresses {
						out[sp.Port] = append(out[sp.Port], net.JoinHostPort(a, strconv.Itoa(int(*ep.Port))))
					}
				}
			}
		}
	}
	return out, nil
}

// stop closes a Service's listeners and removes its address.
func (p *serviceProxy) stop(key string) {
	s := p.served[key]
	if s == nil {
		return
	}
	for _, l := range s.listeners {
		_ = l.ln.Close()
	}
	if out, err := exec.Command("ip", "addr", "del", s.ip+"/32", "dev", p.dev).CombinedOutput(); err != nil {
		log.Printf("removing %s from %s: %v: %s", s.ip, p.dev, err, out)
	}
	delete(p.served, key)
}

// serve accepts until the listener is closed.
func (l *portListener) serve() {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return
		}
		go l.forward(conn.(*net.TCPConn))
	}
}

// forward connects to a backend (round robin, the next one when a backend
// refuses) and copies both ways, passing half-closes on.
func (l *portListener) forward(in *net.TCPConn) {
	defer in.Close()
	l.mu.Lock()
	backends, start := l.backends, l.next
	l.next++
	l.mu.Unlock()
	var out *net.TCPConn
	for i := range backends {
		c, err := net.DialTimeout("tcp", backends[(start+i)%len(backends)], 5*time.Second)
		if err == nil {
			out = c.(*net.TCPConn)
			break
		}
	}
	if out == nil {
		return
	}
	defer out.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, in)
		_ = out.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(in, out)
	_ = in.CloseWrite()
	<-done
}
