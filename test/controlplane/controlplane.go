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

// Package controlplane starts a real kube-apiserver and etcd (built from their
// Go modules by hack/build-control-plane.sh) with the CRDs this project works
// with installed: TektonStepSource from config/, Tekton Pipelines' CRDs from
// the tektoncd/pipeline module and Knative Eventing's sink CRDs from the
// knative.dev/eventing module. Tests get a rest.Config and a kubeconfig.
package controlplane

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"
)

// Modules whose config/ folders provide CRDs, with the files to take; the
// project's go.mod pins each of them.
var crdSources = []struct {
	module string
	globs  []string
}{
	{module: "github.com/tektoncd/pipeline", globs: []string{"config/300-crds/*.yaml"}},
	{module: "knative.dev/eventing", globs: []string{
		"config/core/resources/broker.yaml",
		"config/core/resources/trigger.yaml",
		"config/core/resources/channel.yaml",
		"config/core/resources/subscription.yaml",
		"config/core/resources/eventtype.yaml",
		"config/channels/in-memory-channel/resources/in-memory-channel.yaml",
	}},
	// The EventListener is an Addressable: a TektonStepSource's sink can be one.
	{module: "github.com/tektoncd/triggers", globs: []string{"config/300-eventlistener.yaml"}},
}

// ControlPlane is a running kube-apiserver with etcd.
type ControlPlane struct {
	// Config is an admin (system:masters) client config.
	Config *rest.Config
	// KubeconfigPath is a kubeconfig file for the same admin user.
	KubeconfigPath string

	env *envtest.Environment
	dir string
}

// RepoRoot returns the root of this repository.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinaryDir is where hack/build-control-plane.sh puts etcd and kube-apiserver.
func BinaryDir() string {
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		return dir
	}
	cache := os.Getenv("TSS_CACHE_DIR")
	if cache == "" {
		cache = filepath.Join(RepoRoot(), ".cache")
	}
	return filepath.Join(cache, "bin")
}

// Start starts etcd and kube-apiserver and installs the CRDs. The binaries
// must have been built with hack/build-control-plane.sh (hack/test.sh does).
func Start() (*ControlPlane, error) {
	bin := BinaryDir()
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run hack/build-control-plane.sh first: %w", name, bin, err)
		}
	}
	crds, err := CRDs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tss-controlplane-")
	if err != nil {
		return nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory:    bin,
		CRDs:                     crds,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	// etcd's fsync makes every write slow on CI disks and buys nothing for a
	// throw-away test store.
	// A fixed certificate folder keeps the serving certificate across
	// RestartAPIServer, so clients reconnect instead of failing TLS.
	env.ControlPlane.APIServer = &envtest.APIServer{CertDir: filepath.Join(dir, "apiserver")}
	if err := os.MkdirAll(env.ControlPlane.APIServer.CertDir, 0o700); err != nil {
		return nil, err
	}
	env.ControlPlane.Etcd = &envtest.Etcd{}
	env.ControlPlane.Etcd.Configure().Append("unsafe-no-fsync", "true")
	cfg, err := env.Start()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting kube-apiserver and etcd: %w", err)
	}
	cp := &ControlPlane{Config: cfg, env: env, dir: dir, KubeconfigPath: filepath.Join(dir, "kubeconfig")}
	if err := os.WriteFile(cp.KubeconfigPath, env.KubeConfig, 0o600); err != nil {
		cp.Stop()
		return nil, err
	}
	return cp, nil
}

// Stop stops the control plane and removes its files.
func (c *ControlPlane) Stop() error {
	err := c.env.Stop()
	return errors.Join(err, os.RemoveAll(c.dir))
}

// RestartAPIServer kills kube-apiserver (SIGKILL: a crash, and no wait for
// its graceful shutdown of open watches), waits down, and starts it again on
// the same address with the same certificates; etcd keeps running, so all
// objects survive, as in a real control-plane restart.
func (c *ControlPlane) RestartAPIServer(down time.Duration) error {
	api := c.env.ControlPlane.APIServer
	if err := killProcessesWithArg(api.CertDir); err != nil {
		return err
	}
	if err := api.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver: %w", err)
	}
	time.Sleep(down)
	if err := api.Start(); err != nil {
		return fmt.Errorf("restarting kube-apiserver: %w", err)
	}
	return nil
}

// killProcessesWithArg SIGKILLs this user's processes whose command line
// contains arg (a path unique to one control plane).
func killProcessesWithArg(arg string) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	killed := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(arg)) {
			continue
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			killed++
		}
	}
	if killed == 0 {
		return fmt.Errorf("no process with %s in its command line", arg)
	}
	return nil
}

// CRDs loads every CRD the tests need: ours from config/ and the Tekton and
// Knative ones from their modules. Conversion webhooks are turned off: no
// webhook runs here, and objects are only used at their storage version.
func CRDs() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	files, err := filepath.Glob(filepath.Join(RepoRoot(), "config", "*.yaml"))
	if err != nil {
		return nil, err
	}
	for _, src := range crdSources {
		dir, err := ModuleDir(src.module)
		if err != nil {
			return nil, err
		}
		for _, g := range src.globs {
			matches, err := filepath.Glob(filepath.Join(dir, g))
			if err != nil || len(matches) == 0 {
				return nil, fmt.Errorf("no CRD files match %s in %s", g, src.module)
			}
			files = append(files, matches...)
		}
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, f := range files {
		fileCRDs, err := readCRDs(f)
		if err != nil {
			return nil, err
		}
		crds = append(crds, fileCRDs...)
	}
	return crds, nil
}

func readCRDs(path string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var crds []*apiextensionsv1.CustomResourceDefinition
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return crds, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		var meta struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil || meta.Kind != "CustomResourceDefinition" {
			continue
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(doc, crd); err != nil {
			return nil, fmt.Errorf("decoding CRD in %s: %w", path, err)
		}
		crd.Spec.Conversion = &apiextensionsv1.CustomResourceConversion{Strategy: apiextensionsv1.NoneConverter}
		crds = append(crds, crd)
	}
}

// ModuleDir finds a dependency's folder in the module cache through the go
// command, downloading the module at the version pinned in go.mod when it is
// not there yet, so CRDs and manifests taken from its config/ always match
// that version.
func ModuleDir(module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = RepoRoot()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("downloading module %s: %v: %s%s", module, err, out, stderr.String())
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("reading go mod download's answer for %s: %w", module, err)
	}
	if info.Dir == "" {
		return "", fmt.Errorf("module %s could not be downloaded: %s", module, info.Error)
	}
	return info.Dir, nil
}
