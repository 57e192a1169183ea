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

package tektonstepsource

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis/duck"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"knative.dev/pkg/client/injection/ducks/duck/v1/addressable"
	"knative.dev/pkg/controller"
	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/clients/dynamicclient"
	"knative.dev/pkg/logging"
)

// crdResource is the resource of CustomResourceDefinitions.
var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// The informer of the addressable CustomResourceDefinitions is injected
// like the controller's other informers, so that it is started, and has
// synced, before the controller reconciles: a source must not be refused
// for a Broker sink because the controller did not know Brokers yet.
func init() {
	injection.Default.RegisterInformer(withAddressableCRDs)
}

type addressableCRDsKey struct{}

func withAddressableCRDs(ctx context.Context) (context.Context, controller.Informer) {
	client, err := metadata.NewForConfig(injection.GetConfig(ctx))
	if err != nil {
		logging.FromContext(ctx).Panicw("Cannot build the metadata client", "error", err)
	}
	return withAddressableCRDsOf(ctx, client)
}

// withAddressableCRDsOf adds to the context an informer of the names of
// the CustomResourceDefinitions labelled addressable: the apiserver
// filters them by the label, and only their metadata is read (a CRD's
// schema can weigh hundreds of kilobytes), of which only the name is kept.
func withAddressableCRDsOf(ctx context.Context, client metadata.Interface) (context.Context, controller.Informer) {
	inf := metadatainformer.NewFilteredMetadataInformer(client, crdResource, metav1.NamespaceAll,
		controller.GetResyncPeriod(ctx), cache.Indexers{}, func(opts *metav1.ListOptions) {
			opts.LabelSelector = AddressableLabel + "=true"
		})
	if err := inf.Informer().SetTransform(nameOnly); err != nil {
		logging.FromContext(ctx).Panicw("Cannot trim the CustomResourceDefinitions the controller caches", "error", err)
	}
	return context.WithValue(ctx, addressableCRDsKey{}, inf), inf.Informer()
}

// addressableCRDs is the context's informer of the addressable
// CustomResourceDefinitions.
func addressableCRDs(ctx context.Context) informers.GenericInformer {
	inf, ok := ctx.Value(addressableCRDsKey{}).(informers.GenericInformer)
	if !ok {
		logging.FromContext(ctx).Panic("No informer of the addressable CustomResourceDefinitions in the context")
	}
	return inf
}

// labelledIn tells, from the informer's cache, whether a
// CustomResourceDefinition is labelled addressable.
func labelledIn(lister cache.GenericLister) func(crd string) bool {
	return func(crd string) bool {
		_, err := lister.Get(crd)
		return err == nil
	}
}

// nameOnly keeps an object's name and resourceVersion.
func nameOnly(obj interface{}) (interface{}, error) {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		return &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: m.Name, UID: m.UID, ResourceVersion: m.ResourceVersion}}, nil
	}
	return obj, nil
}

// withSlimAddressables replaces, in the context given to Knative's
// resolver, the addressable duck informer factory with slimAddressables.
func withSlimAddressables(ctx context.Context) context.Context {
	return context.WithValue(ctx, addressable.Key{}, &slimAddressables{
		client: dynamicclient.Get(ctx),
		resync: controller.GetResyncPeriod(ctx),
		stop:   ctx.Done(),
	})
}

// slimAddressables is Knative's duck.TypedInformerFactory of Addressables
// (an informer per resource, of the objects read as
// duckv1.AddressableType) with two differences: it checks that the
// resource can be listed with a LIST of one object, not of all of them,
// and its informers keep of each object only what resolving reads (the
// kind, name and namespace the tracker and the lister use, and the
// addresses), not its labels, annotations and managedFields. The resolver
// caches what it returns per resource.
type slimAddressables struct {
	client dynamic.Interface
	resync time.Duration
	stop   <-chan struct{}
}

var _ duck.InformerFactory = (*slimAddressables)(nil)

// Get implements duck.InformerFactory.
func (f *slimAddressables) Get(ctx context.Context, gvr schema.GroupVersionResource) (cache.SharedIndexInformer, cache.GenericLister, error) {
	// An informer of a resource that cannot be listed would never sync:
	// find out first, as Knative's factory does, but with one object.
	if _, err := f.client.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return nil, nil, err
	}
	resource := f.client.Resource(gvr)
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			list, err := resource.List(ctx, opts)
			if err != nil {
				return nil, err
			}
			out := &duckv1.AddressableTypeList{}
			if err := duck.FromUnstructured(list, out); err != nil {
				return nil, err
			}
			return out, nil
		},
		WatchFuncWithContext: duck.AsStructuredWatcher(resource.Watch, &duckv1.AddressableType{}),
	}, f.client)
	inf := cache.NewSharedIndexInformer(lw, &duckv1.AddressableType{}, f.resync,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := inf.SetTransform(slimAddressable); err != nil {
		return nil, nil, err
	}
	go inf.Run(f.stop)
	if !cache.WaitForCacheSync(f.stop, inf.HasSynced) {
		return nil, nil, fmt.Errorf("the informer of %s did not sync", gvr)
	}
	return inf, cache.NewGenericLister(inf.GetIndexer(), gvr.GroupResource()), nil
}

// slimAddressable keeps of an Addressable its kind, name, namespace, UID,
// resourceVersion and addresses.
func slimAddressable(obj interface{}) (interface{}, error) {
	if a, ok := obj.(*duckv1.AddressableType); ok {
		return &duckv1.AddressableType{
			TypeMeta: a.TypeMeta,
			ObjectMeta: metav1.ObjectMeta{Name: a.Name, Namespace: a.Namespace, UID: a.UID,
				ResourceVersion: a.ResourceVersion},
			Status: a.Status,
		}, nil
	}
	return obj, nil
}
