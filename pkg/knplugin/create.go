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
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

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
			if err := f.apply(cmd.Flags(), &src.Spec, dest, c.resolver(cmd.Context())); err != nil {
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
	out.add(cmd)
	return cmd
}
