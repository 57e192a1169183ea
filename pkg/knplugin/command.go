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
// tektonstep create|update|apply|describe|delete|list`, following the
// conventions of kn's own source commands (kn source ping, kn source
// apiserver): the same --sink syntax, --ce-override key=value / key-,
// -n/--namespace, --kubeconfig, -o yaml|json and kn's list columns.
package knplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
	versioned "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned"
	sourcesclient "github.com/tektonstep/tekton-step-source/pkg/client/clientset/versioned/typed/sources/v1alpha1"
)

// FieldManager is the field manager of every write the plugin makes.
const FieldManager = "kn-source-tektonstep"

// kind is how messages name the resource.
const kind = "TektonStepSource"

// globalFlags are kn's connection flags.
type globalFlags struct {
	kubeconfig string
	context    string
	namespace  string
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
	cfg := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: g.context})
	rest, err := cfg.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no usable kubeconfig (--kubeconfig, $KUBECONFIG or ~/.kube/config): %w", err)
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
	pf := root.PersistentFlags()
	pf.StringVar(&g.kubeconfig, "kubeconfig", "", "kubectl configuration file (default: $KUBECONFIG, else ~/.kube/config)")
	pf.StringVar(&g.context, "context", "", "name of the kubeconfig context to use")
	pf.StringVarP(&g.namespace, "namespace", "n", "", "Specify the namespace to operate in.")
	root.AddCommand(
		newCreateCommand(g), newUpdateCommand(g), newApplyCommand(g),
		newDescribeCommand(g), newDeleteCommand(g), newListCommand(g),
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

func newCreateCommand(g *globalFlags) *cobra.Command {
	f := &sourceFlags{}
	out := &outputFlag{}
	cmd := &cobra.Command{
		Use:   "create NAME --sink SINK",
		Short: "Create a Tekton step source",
		Example: `  # Send the step events of every TaskRun in namespace ci to the Broker "default"
  kn source tektonstep create steps --sink broker:default -n ci

  # Only TaskRuns of app=my-app, no step logs, to a URL, with an extra extension
  kn source tektonstep create steps --selector app=my-app --log-max-bytes 0 \
    --ce-override cluster=dev --sink http://event-display.default.svc.cluster.local`,
		Args: exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			if f.sink == "" {
				return errors.New("required flag(s) \"sink\" not set")
			}
			sink, err := ParseSink(f.sink)
			if err != nil {
				return err
			}
			c, err := g.clients(false)
			if err != nil {
				return err
			}
			dest, err := sink.Resolve(cmd.Context(), c.dynamic, c.mapper, c.namespace)
			if err != nil {
				return err
			}
			src := &v1alpha1.TektonStepSource{
				TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: kind},
				ObjectMeta: metav1.ObjectMeta{Name: args[0], Namespace: c.namespace},
			}
			if err := f.apply(cmd.Flags(), &src.Spec, dest); err != nil {
				return err
			}
			created, err := c.sources.Create(cmd.Context(), src, metav1.CreateOptions{FieldManager: FieldManager})
			if err != nil {
				return fmt.Errorf("cannot create %s '%s' in namespace '%s' because: %w", kind, args[0], c.namespace, err)
			}
			return out.printOr(cmd.OutOrStdout(), created, "%s '%s' created in namespace '%s'.\n", kind, created.Name, created.Namespace)
		},
	}
	f.add(cmd.Flags())
	out.add(cmd.Flags())
	return cmd
}

func newUpdateCommand(g *globalFlags) *cobra.Command {
	f := &sourceFlags{}
	out := &outputFlag{}
	cmd := &cobra.Command{
		Use:   "update NAME",
		Short: "Update a Tekton step source",
		Long:  "Update a Tekton step source: only the given flags change the source.",
		Example: `  # Send to another Broker and stop carrying step logs
  kn source tektonstep update steps --sink broker:alerts --log-max-bytes 0

  # Remove the extension "cluster" and the TaskRun selector
  kn source tektonstep update steps --ce-override cluster- --selector -`,
		Args: exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			var sink *Sink
			if cmd.Flags().Changed("sink") {
				var err error
				if sink, err = ParseSink(f.sink); err != nil {
					return err
				}
			}
			if _, err := applyCEOverrides(nil, f.ceOverrides); err != nil {
				return err
			}
			c, err := g.clients(false)
			if err != nil {
				return err
			}
			var updated *v1alpha1.TektonStepSource
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				src, err := c.sources.Get(cmd.Context(), args[0], metav1.GetOptions{})
				if err != nil {
					return err
				}
				var dest = &src.Spec.Sink
				if sink != nil {
					if dest, err = sink.Resolve(cmd.Context(), c.dynamic, c.mapper, c.namespace); err != nil {
						return err
					}
				}
				if err := f.apply(cmd.Flags(), &src.Spec, dest); err != nil {
					return err
				}
				updated, err = c.sources.Update(cmd.Context(), src, metav1.UpdateOptions{FieldManager: FieldManager})
				return err
			})
			if err != nil {
				return fmt.Errorf("cannot update %s '%s' in namespace '%s' because: %w", kind, args[0], c.namespace, err)
			}
			return out.printOr(cmd.OutOrStdout(), updated, "%s '%s' updated in namespace '%s'.\n", kind, updated.Name, updated.Namespace)
		},
	}
	f.add(cmd.Flags())
	out.add(cmd.Flags())
	return cmd
}

func newDeleteCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "delete NAME",
		Short:   "Delete a Tekton step source",
		Example: "  kn source tektonstep delete steps -n ci",
		Args:    exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients(false)
			if err != nil {
				return err
			}
			if err := c.sources.Delete(cmd.Context(), args[0], metav1.DeleteOptions{}); err != nil {
				return fmt.Errorf("cannot delete %s '%s' in namespace '%s' because: %w", kind, args[0], c.namespace, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s '%s' deleted in namespace '%s'.\n", kind, args[0], c.namespace)
			return nil
		},
	}
}

func newDescribeCommand(g *globalFlags) *cobra.Command {
	out := &outputFlag{}
	cmd := &cobra.Command{
		Use:     "describe NAME",
		Short:   "Show details of a Tekton step source: spec, sink URI, watched namespaces, conditions and recent warnings",
		Example: "  kn source tektonstep describe steps -n ci",
		Args:    exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			c, err := g.clients(false)
			if err != nil {
				return err
			}
			src, err := c.sources.Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("cannot describe %s '%s' in namespace '%s' because: %w", kind, args[0], c.namespace, err)
			}
			src.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: kind}
			if out.format != "" {
				return out.print(cmd.OutOrStdout(), src)
			}
			warnings, err := recentWarnings(cmd.Context(), c.kube, src.Namespace, src.UID)
			if err != nil {
				return err
			}
			return describe(cmd.OutOrStdout(), src, warnings)
		},
	}
	out.add(cmd.Flags())
	return cmd
}

func newListCommand(g *globalFlags) *cobra.Command {
	out := &outputFlag{}
	var all, noHeaders bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List Tekton step sources",
		Example: "  kn source tektonstep list -n ci\n  kn source tektonstep list -A -o yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			c, err := g.clients(all)
			if err != nil {
				return err
			}
			list, err := c.sources.List(cmd.Context(), metav1.ListOptions{})
			if err != nil {
				return fmt.Errorf("cannot list %ss: %w", kind, err)
			}
			sort.Slice(list.Items, func(i, j int) bool {
				a, b := list.Items[i], list.Items[j]
				if a.Namespace != b.Namespace {
					return a.Namespace < b.Namespace
				}
				return a.Name < b.Name
			})
			list.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: kind + "List"}
			for i := range list.Items {
				list.Items[i].TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.SchemeGroupVersion.String(), Kind: kind}
			}
			if out.format != "" {
				return out.print(cmd.OutOrStdout(), list)
			}
			if len(list.Items) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "No Tekton step sources found.")
				return nil
			}
			return listTable(cmd.OutOrStdout(), list.Items, all, noHeaders)
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "If present, list the requested object(s) across all namespaces. Namespace in current context is ignored even if specified with --namespace.")
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "When using the default output format, don't print headers (default: print headers).")
	out.add(cmd.Flags())
	return cmd
}

// exists reports whether the source exists, with its resourceVersion.
func exists(ctx context.Context, c *clients, name string) (bool, string, error) {
	cur, err := c.sources.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	return true, cur.ResourceVersion, nil
}

// applyObject server-side applies one source (JSON) and says what happened.
func applyObject(ctx context.Context, c *clients, name string, body []byte) (*v1alpha1.TektonStepSource, string, error) {
	existed, before, err := exists(ctx, c, name)
	if err != nil {
		return nil, "", err
	}
	force := true
	applied, err := c.sources.Patch(ctx, name, types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"})
	if err != nil {
		return nil, "", err
	}
	switch {
	case !existed:
		return applied, "created", nil
	case applied.ResourceVersion == before:
		return applied, "unchanged", nil
	default:
		return applied, "updated", nil
	}
}

// stdin is where `apply -f -` reads from (a variable for tests).
var stdin io.Reader = os.Stdin
