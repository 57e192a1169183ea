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
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

// apply server-side applies YAML files (or every *.yaml of folders, in name
// order), after textual replacements (image references), optionally turning
// CRD conversion webhooks off (no webhook runs in this cluster and only
// storage versions are used).
func apply(args []string) error {
	fs := flag.NewFlagSet("apply", flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig")
	namespace := fs.String("namespace", "default", "namespace for namespaced objects without one")
	noConversion := fs.Bool("crd-conversion-none", false, "set spec.conversion.strategy None on CRDs")
	var files, replaces multiFlag
	fs.Var(&files, "f", "file or folder (repeatable)")
	fs.Var(&replaces, "replace", "OLD=NEW textual replacement (repeatable)")
	_ = fs.Parse(args)
	if *kubeconfig == "" || len(files) == 0 {
		return errors.New("apply needs -kubeconfig and -f")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return err
	}
	var paths []string
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			paths = append(paths, f)
			continue
		}
		matches, err := filepath.Glob(filepath.Join(f, "*.yaml"))
		if err != nil {
			return err
		}
		sort.Strings(matches)
		paths = append(paths, matches...)
	}
	var objs []*unstructured.Unstructured
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, r := range replaces {
			old, repl, ok := strings.Cut(r, "=")
			if !ok {
				return fmt.Errorf("bad -replace %q", r)
			}
			data = bytes.ReplaceAll(data, []byte(old), []byte(repl))
		}
		fileObjs, err := controlplane.DecodeYAML(data)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		for _, o := range fileObjs {
			if *noConversion && o.GetKind() == "CustomResourceDefinition" {
				if err := conversionNone(o); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
			}
		}
		objs = append(objs, fileObjs...)
	}
	// Namespaces and cluster roles first, then CRDs, so the objects that
	// need them can map. The roles go before the CRDs (as config/'s file
	// order applies them) and are waited for until aggregated: Knative's
	// eventing controller starts a source CRD's informer once, when the CRD
	// appears, and never again if it was refused then (v0.50).
	rank := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "Namespace", "ClusterRole", "ClusterRoleBinding":
			return 0
		case "CustomResourceDefinition":
			return 1
		}
		return 2
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
	upTo := func(r int) int {
		n := 0
		for n < len(objs) && rank(objs[n]) <= r {
			n++
		}
		return n
	}
	roles, first := upTo(0), upTo(1)
	ctx := context.Background()
	if _, err := controlplane.Apply(ctx, cfg, *namespace, objs[:roles]...); err != nil {
		return err
	}
	if err := waitAggregated(ctx, cfg, objs[:roles]); err != nil {
		return err
	}
	// A source CRD (label duck.knative.dev/source) is created without that
	// label and labelled once established: Knative's eventing controller
	// also fails for good when it lists a CRD that is not served yet.
	crds := objs[roles:first]
	unlabelled := make([]*unstructured.Unstructured, len(crds))
	for i, o := range crds {
		unlabelled[i] = o.DeepCopy()
		l := unlabelled[i].GetLabels()
		delete(l, sourceDuckLabel)
		unlabelled[i].SetLabels(l)
	}
	if _, err := controlplane.Apply(ctx, cfg, *namespace, unlabelled...); err != nil {
		return err
	}
	if err := waitCRDsEstablished(ctx, cfg, crds); err != nil {
		return err
	}
	if _, err := controlplane.Apply(ctx, cfg, *namespace, crds...); err != nil {
		return err
	}
	applied, err := applyAwaitingWebhooks(ctx, cfg, *namespace, objs[first:])
	for _, o := range append(objs[:first], applied...) {
		fmt.Printf("%s/%s %s applied\n", strings.ToLower(o.GetKind()), o.GetName(), o.GetNamespace())
	}
	return err
}

// applyAwaitingWebhooks applies objs in order and, while an admission
// webhook cannot be reached, applies the rest again every 2 s for up to
// two minutes: a webhook the same manifests install starts with them, and
// may call for objects applied before its pod serves (Tekton Triggers'
// webhook defaults its own ClusterInterceptors).
func applyAwaitingWebhooks(ctx context.Context, cfg *rest.Config, namespace string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	deadline := time.Now().Add(2 * time.Minute)
	var all []*unstructured.Unstructured
	for {
		applied, err := controlplane.Apply(ctx, cfg, namespace, objs...)
		all = append(all, applied...)
		if err == nil || !webhookUnreachable(err) || time.Now().After(deadline) {
			return all, err
		}
		log.Printf("%v (retrying)", err)
		objs = objs[len(applied):]
		time.Sleep(2 * time.Second)
	}
}

// webhookUnreachable: the apiserver could not call an admission webhook
// (not a webhook's refusal).
func webhookUnreachable(err error) bool {
	return apierrors.IsInternalError(err) && strings.Contains(err.Error(), "failed calling webhook")
}

// sourceDuckLabel marks a Knative source CRD (kn source list, EventTypes).
const sourceDuckLabel = "duck.knative.dev/source"

func conversionNone(o *unstructured.Unstructured) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, crd); err != nil {
		return err
	}
	crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		return err
	}
	delete(m, "status")
	o.Object = m
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }
