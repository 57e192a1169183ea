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

// Package knplugin is the kn plugin kn-source-tektonstep: `kn source
// tektonstep create|update|apply|describe|delete|list|replay`, following the
// conventions of kn's own source commands (kn source ping, kn source
// apiserver): the same --sink syntax, --ce-override key=value / key-,
// kn's global options, -o as kn takes it (cli-runtime's printers) and kn's
// list columns.
//
// Each subcommand is in a file of its own (create.go, update.go, apply.go,
// describe.go, delete.go, list.go, replay.go); command.go is the root command, kn's
// connection flags and the clients built from them; flags.go, sink.go and
// print.go are what the subcommands share.
package knplugin

import (
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	versioned "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned/typed/sources/v1alpha1"
)

// FieldManager is the field manager of every write the plugin makes.
const FieldManager = "kn-source-tektonstep"

// kind is how messages name the resource.
const kind = "TektonStepSource"

// globalFlags are kn's global options (`kn options`), which kn passes on
// to plugins: the kubeconfig, its context and cluster, impersonation, -n,
// and --log-http.
type globalFlags struct {
	kubeconfig string
	context    string
	cluster    string
	namespace  string
	as         string
	asGroups   []string
	asUID      string
	logHTTP    bool
	// stderr is where --log-http writes (the command's error stream).
	stderr io.Writer
}

// clients are built lazily from the global flags.
type clients struct {
	namespace string
	sources   sourcesclient.TektonStepSourceInterface
	kube      kubernetes.Interface
	dynamic   dynamic.Interface
	mapper    meta.RESTMapper
}

func (g *globalFlags) clients(allNamespaces bool) (*clients, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = g.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: g.context}
	overrides.Context.Cluster = g.cluster
	overrides.AuthInfo.Impersonate = g.as
	overrides.AuthInfo.ImpersonateGroups = g.asGroups
	overrides.AuthInfo.ImpersonateUID = g.asUID
	cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	rest, err := cfg.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no usable kubeconfig (--kubeconfig, $KUBECONFIG or ~/.kube/config) with the --context and --cluster given: %w", err)
	}
	if g.logHTTP {
		out := g.stderr
		if out == nil {
			out = os.Stderr
		}
		rest.Wrap(func(next http.RoundTripper) http.RoundTripper { return &httpLog{next: next, out: out} })
	}
	ns := g.namespace
	if ns == "" {
		if ns, _, err = cfg.Namespace(); err != nil {
			return nil, err
		}
	}
	if allNamespaces {
		ns = metav1.NamespaceAll
	}
	src, err := versioned.NewForConfig(rest)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rest)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rest)
	if err != nil {
		return nil, err
	}
	return &clients{
		namespace: ns,
		sources:   src.SourcesV1alpha1().TektonStepSources(ns),
		kube:      kube,
		dynamic:   dyn,
		mapper:    restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
	}, nil
}

// NewCommand returns the plugin's root command. kn runs the executable
// kn-source-tektonstep for `kn source tektonstep ...`, passing the rest of
// the command line.
func NewCommand() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "kn-source-tektonstep",
		Short: "Manage Tekton step sources (TektonStepSource): one CloudEvent per Tekton step transition",
		Long: "Manage TektonStepSources (sources.knative.dev/v1alpha1), which send one CloudEvent per\n" +
			"Tekton step transition (started, succeeded, failed, skipped) to a sink.\n\n" +
			"Installed as an executable named kn-source-tektonstep on the PATH, it runs as\n" +
			"`kn source tektonstep`.",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kn source tektonstep"},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// kn's global options, as `kn options` describes them: kn passes
	// them on to the plugin.
	pf := root.PersistentFlags()
	pf.StringVar(&g.kubeconfig, "kubeconfig", "", "kubectl configuration file (default: $KUBECONFIG, else ~/.kube/config)")
	pf.StringVar(&g.context, "context", "", "name of the kubeconfig context to use")
	pf.StringVar(&g.cluster, "cluster", "", "name of the kubeconfig cluster to use")
	pf.StringVar(&g.as, "as", "", "Username to impersonate for the operation")
	pf.StringArrayVar(&g.asGroups, "as-group", nil, "Group to impersonate for the operation, this flag can be repeated to specify multiple groups.")
	pf.StringVar(&g.asUID, "as-uid", "", "UID to impersonate for the operation")
	pf.BoolVar(&g.logHTTP, "log-http", false, "log http traffic")
	// kn passes its --config (kn's own configuration file) on too; the
	// plugin has nothing in it to read.
	pf.String("config", "", "kn configuration file (read by kn itself; accepted and ignored by the plugin)")
	_ = pf.MarkHidden("config")
	pf.StringVarP(&g.namespace, "namespace", "n", "", "Specify the namespace to operate in.")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) { g.stderr = cmd.ErrOrStderr() }
	root.AddCommand(
		newCreateCommand(g), newUpdateCommand(g), newApplyCommand(g),
		newDescribeCommand(g), newDeleteCommand(g), newListCommand(g),
		newReplayCommand(g),
	)
	return root
}

// Main runs the plugin with the process's arguments and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	cmd := NewCommand()
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	return 0
}

func exactlyOneName(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 1:
		return nil
	case 0:
		return fmt.Errorf("'%s' requires the name of the source as single argument", cmd.CommandPath())
	default:
		return fmt.Errorf("'%s' requires the name of the source as single argument, got %d arguments", cmd.CommandPath(), len(args))
	}
}
