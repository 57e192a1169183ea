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
	"k8s.io/client-go/util/retry"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

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
				if err := f.apply(cmd.Flags(), &src.Spec, dest, c.resolver(cmd.Context())); err != nil {
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
	out.add(cmd)
	return cmd
}
