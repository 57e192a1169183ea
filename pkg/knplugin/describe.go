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

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

func newDescribeCommand(g *globalFlags) *cobra.Command {
	out := &outputFlag{}
	var verbose bool
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
			if out.given() {
				return out.print(cmd.OutOrStdout(), src)
			}
			warnings, err := recentWarnings(cmd.Context(), c.kube, src.Namespace, src.UID)
			if err != nil {
				return err
			}
			return describe(cmd.OutOrStdout(), src, warnings, verbose)
		},
	}
	out.add(cmd)
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "More output.")
	return cmd
}
