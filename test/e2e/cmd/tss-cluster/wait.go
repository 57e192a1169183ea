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
	"os"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func clientFor(kubeconfig string) (*rest.Config, kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	c, err := kubernetes.NewForConfig(cfg)
	return cfg, c, err
}

// waitNode waits until the apiserver answers and the node is Ready.
func waitNode(args []string) error {
	fs := flag.NewFlagSet("wait-node", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	node := fs.String("node", "", "node name")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait")
	_ = fs.Parse(args)
	_, c, err := clientFor(*kubeconfig)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, *timeout, true,
		func(ctx context.Context) (bool, error) {
			n, err := c.CoreV1().Nodes().Get(ctx, *node, metav1.GetOptions{})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			for _, cond := range n.Status.Conditions {
				if cond.Type == corev1.NodeReady {
					last = fmt.Sprintf("Ready=%s: %s", cond.Status, cond.Message)
					return cond.Status == corev1.ConditionTrue, nil
				}
			}
			last = "no Ready condition yet"
			return false, nil
		})
	if err != nil {
		return fmt.Errorf("node %s not Ready after %s (%s)", *node, *timeout, last)
	}
	return nil
}

// waitDeployments waits until every Deployment in a namespace (or the one
// named) is available with all replicas updated. When it gives up it prints
// what the namespace holds, so a CI log says why.
func waitDeployments(args []string) error {
	fs := flag.NewFlagSet("wait-deploy", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	namespace := fs.String("namespace", "", "namespace")
	name := fs.String("name", "", "only this Deployment")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait")
	_ = fs.Parse(args)
	_, c, err := clientFor(*kubeconfig)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(context.Background(), time.Second, *timeout, true,
		func(ctx context.Context) (bool, error) {
			list, err := c.AppsV1().Deployments(*namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				last = err.Error()
				return false, nil
			}
			seen := false
			for _, d := range list.Items {
				if *name != "" && d.Name != *name {
					continue
				}
				seen = true
				if !deploymentAvailable(&d) {
					last = fmt.Sprintf("deployment %s: %d/%d available", d.Name, d.Status.AvailableReplicas, d.Status.Replicas)
					return false, nil
				}
			}
			if !seen {
				last = "no deployments"
			}
			return seen, nil
		})
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		diagnoseNamespace(ctx, c, *namespace, os.Stderr)
		return fmt.Errorf("deployments in %s not available after %s (%s)", *namespace, *timeout, last)
	}
	return nil
}

func deploymentAvailable(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == want &&
		d.Status.AvailableReplicas == want && d.Status.Replicas == want
}

func waitCRDsEstablished(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	c, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true,
			func(ctx context.Context) (bool, error) {
				crd, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, o.GetName(), metav1.GetOptions{})
				if err != nil {
					return false, nil
				}
				for _, cond := range crd.Status.Conditions {
					if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
						return true, nil
					}
				}
				return false, nil
			})
		if err != nil {
			return errors.New("CRD " + o.GetName() + " not established")
		}
	}
	return nil
}

// waitAggregated waits until every aggregating ClusterRole whose selector
// matches one of objs' ClusterRoles holds that role's rules: the
// controller manager fills aggregates in asynchronously.
func waitAggregated(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	var labelled []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "ClusterRole" && len(o.GetLabels()) > 0 {
			labelled = append(labelled, o)
		}
	}
	if len(labelled) == 0 {
		return nil
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var missing string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true,
		func(ctx context.Context) (bool, error) {
			all, err := c.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
			if err != nil {
				missing = err.Error()
				return false, nil
			}
			for _, agg := range all.Items {
				if agg.AggregationRule == nil {
					continue
				}
				for _, o := range labelled {
					role := &rbacv1.ClusterRole{}
					if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, role); err != nil {
						return false, err
					}
					if !selectedBy(agg.AggregationRule, role.Labels) {
						continue
					}
					for _, r := range role.Rules {
						if !slices.ContainsFunc(agg.Rules, func(a rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(a, r) }) {
							missing = fmt.Sprintf("ClusterRole %s does not aggregate %s yet", agg.Name, role.Name)
							return false, nil
						}
					}
				}
			}
			return true, nil
		})
	if err != nil {
		return fmt.Errorf("%s: %w", missing, err)
	}
	return nil
}

// selectedBy: one of the aggregation rule's selectors matches the labels.
func selectedBy(rule *rbacv1.AggregationRule, set map[string]string) bool {
	for _, ls := range rule.ClusterRoleSelectors {
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(set)) {
			return true
		}
	}
	return false
}
