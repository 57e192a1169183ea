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

// Command local-control-plane starts the same real kube-apiserver and etcd
// the tests use, with the Tekton, Knative and TektonStepSource CRDs and our
// config/ installed, writes a kubeconfig and keeps running until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tektonstep/tekton-step-source/test/controlplane"
)

func main() {
	kubeconfig := flag.String("write-kubeconfig", filepath.Join(controlplane.RepoRoot(), ".cache", "kubeconfig"),
		"where to write the kubeconfig of the local control plane")
	flag.Parse()
	if err := run(*kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
}

func run(kubeconfig string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cp, err := controlplane.Start()
	if err != nil {
		return err
	}
	defer cp.Stop()

	files, err := filepath.Glob(filepath.Join(controlplane.RepoRoot(), "config", "[1-4]*.yaml"))
	if err != nil {
		return err
	}
	if _, err := controlplane.ApplyFiles(ctx, cp.Config, "default", files...); err != nil {
		return err
	}
	data, err := os.ReadFile(cp.KubeconfigPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(kubeconfig), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		return err
	}
	defer os.Remove(kubeconfig)

	fmt.Printf(`
Local control plane is up: kube-apiserver %s with etcd, Tekton Pipelines and
Knative Eventing CRDs, and TektonStepSource installed from config/.

  export KUBECONFIG=%s
  kubectl get crds
  kubectl apply -n default -f config/samples/
  kubectl get tektonstepsources -A

Press Ctrl-C to stop it.
`, cp.Config.Host, kubeconfig)
	<-ctx.Done()
	fmt.Println("\nstopping the local control plane")
	return nil
}
