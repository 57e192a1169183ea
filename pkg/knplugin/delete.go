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
)

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
