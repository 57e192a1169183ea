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

package knplugin

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

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
			if out.given() {
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
	out.add(cmd)
	return cmd
}
