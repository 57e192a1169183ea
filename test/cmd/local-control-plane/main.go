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
// config/ installed, runs the real controller in this process (no kubelet
// runs here, so adapter Deployments are marked available as in the
// integration tests, and no events flow), writes a kubeconfig and keeps
// running until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	"knative.dev/pkg/logging"

	"github.com/tektonstep/tekton-step-source/test/controlplane"
	"github.com/tektonstep/tekton-step-source/test/inprocess"
)

func main() {
	kubeconfig := flag.String("write-kubeconfig", filepath.Join(controlplane.RepoRoot(), ".cache", "kubeconfig"),
		"where to write the kubeconfig of the local control plane")
	withController := flag.Bool("controller", true, "run the controller in this process (logs on stderr)")
	flag.Parse()
	if err := run(*kubeconfig, *withController); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
}

func run(kubeconfig string, withController bool) error {
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

	controllerNote := "No controller runs (-controller=false): sources get no status."
	if withController {
		zapCfg := zap.NewDevelopmentConfig()
		zapCfg.Level = zap.NewAtomicLevelAt(zap.InfoLevel)
		zapCfg.DisableStacktrace = true
		logger, err := zapCfg.Build()
		if err != nil {
			return err
		}
		ctx := logging.WithLogger(ctx, logger.Sugar().Named("controller"))
		go func() {
			if err := inprocess.RunController(ctx, cp.Config); err != nil && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "ERROR: controller:", err)
				stop()
			}
		}()
		go func() {
			_ = inprocess.SimulateAdapters(ctx, cp.Config, func(d *appsv1.Deployment) {
				fmt.Fprintf(os.Stderr, "marked the adapter Deployment %s/%s available (simulated: no kubelet here)\n", d.Namespace, d.Name)
			})
		}()
		controllerNote = `The real controller runs in this process (its logs on stderr). No kubelet
runs here: adapter Deployments are marked available by this process, so a
source with a reachable sink becomes Ready, but no adapter pod runs and no
events flow. hack/demo.sh runs the whole thing on a real cluster.`
	}

	fmt.Printf(`
Local control plane is up: kube-apiserver %s with etcd, Tekton Pipelines and
Knative Eventing CRDs, and TektonStepSource installed from config/.
%s

  export KUBECONFIG=%s PATH=%s:$PATH   # kubectl, built with the apiserver
  kubectl get crds
  kubectl apply -n default -f config/samples/uri-source.yaml
  kubectl get tektonstepsources -A
  kubectl -n default get deployments

Press Ctrl-C to stop it.
`, cp.Config.Host, controllerNote, kubeconfig, filepath.Join(controlplane.RepoRoot(), ".cache", "bin"))
	<-ctx.Done()
	fmt.Println("\nstopping the local control plane")
	return nil
}
