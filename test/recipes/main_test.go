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

// Package recipes tests the recipes of docs/recipes.md (the YAML in
// config/samples/recipes) against events really produced by the receive
// adapter: it runs the adapter in-process against a real kube-apiserver,
// drives TaskRuns the way Tekton does (test/tektonsim), records the HTTP
// requests the adapter sends, and evaluates each recipe with the real
// implementation that would run it: Knative's Trigger filters, Tekton
// Triggers' CEL interceptor and binding/template resolution, the apiserver's
// RBAC authorizer, and the published JSON Schema of the event data.
package recipes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

var cp *controlplane.ControlPlane

// triggersCRDs are the Tekton Triggers CRDs the EventListener recipe uses,
// from the github.com/tektoncd/triggers module (the version in go.mod).
var triggersCRDs = []string{
	"config/300-eventlistener.yaml",
	"config/300-trigger.yaml",
	"config/300-triggerbinding.yaml",
	"config/300-triggertemplate.yaml",
	"config/300-clusterinterceptor.yaml",
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

// run is controlplane.RunTests plus the Triggers CRDs.
func run(m *testing.M) int {
	started, err := controlplane.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the local control plane:", err)
		return 1
	}
	cp = started
	defer func() {
		if err := started.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the local control plane:", err)
		}
	}()
	if err := installTriggersCRDs(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "installing Tekton Triggers CRDs:", err)
		return 1
	}
	return m.Run()
}

func installTriggersCRDs(ctx context.Context) error {
	dir, err := controlplane.ModuleDir("github.com/tektoncd/triggers")
	if err != nil {
		return err
	}
	client := apiextensionsclient.NewForConfigOrDie(cp.Config).ApiextensionsV1().CustomResourceDefinitions()
	var names []string
	for _, f := range triggersCRDs {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		objs, err := controlplane.DecodeYAML(data)
		if err != nil {
			return err
		}
		for _, o := range objs {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, crd); err != nil {
				return err
			}
			// No conversion webhook runs here.
			crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
			if _, err := client.Create(ctx, crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("%s: %w", f, err)
			}
			names = append(names, crd.Name)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for _, name := range names {
		for {
			crd, err := client.Get(ctx, name, metav1.GetOptions{})
			if err == nil && established(crd) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established: %v", name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
