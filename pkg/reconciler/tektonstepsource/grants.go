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
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// This file watches what the grants of user-provided accounts rest on (every
// Role, RoleBinding and ClusterRole of the cluster), so that what
// allowedAccess remembers is forgotten when one of them changes.

// trimToNames keeps only the metadata that names a Role, RoleBinding or
// ClusterRole (what grantsChanged reads, and the informer keys and versions
// it by): the cluster's RBAC objects are cached by name, not rules.
func trimToNames(obj interface{}) (interface{}, error) {
	names := func(m metav1.ObjectMeta) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion}
	}
	switch o := obj.(type) {
	case *rbacv1.Role:
		return &rbacv1.Role{ObjectMeta: names(o.ObjectMeta)}, nil
	case *rbacv1.RoleBinding:
		return &rbacv1.RoleBinding{ObjectMeta: names(o.ObjectMeta)}, nil
	case *rbacv1.ClusterRole:
		return &rbacv1.ClusterRole{ObjectMeta: names(o.ObjectMeta)}, nil
	}
	return obj, nil
}

// grantsChanged tells c of every Role, RoleBinding or ClusterRole created,
// changed or deleted. The informer's first list is not a change: nothing
// was remembered before it.
func grantsChanged(c *allowedAccess) cache.ResourceEventHandler {
	changed := func(obj interface{}) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		now := time.Now()
		switch o := obj.(type) {
		case *rbacv1.ClusterRole:
			c.clusterRoleChanged(o.Name, now)
		case *rbacv1.Role:
			c.namespaceChanged(o.Namespace, now)
		case *rbacv1.RoleBinding:
			c.namespaceChanged(o.Namespace, now)
		}
	}
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj interface{}, isInInitialList bool) {
			if !isInInitialList {
				changed(obj)
			}
		},
		UpdateFunc: func(old, obj interface{}) {
			// The informer's resyncs repeat an object unchanged.
			if o, ok := old.(metav1.Object); !ok || o.GetResourceVersion() != obj.(metav1.Object).GetResourceVersion() {
				changed(obj)
			}
		},
		DeleteFunc: changed,
	}
}
