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
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// `replay list` and `replay delete`: the replays a source lists, and taking
// them off the list (kn's own subcommands for a resource's parts).

func newReplayListCommand(g *globalFlags) *cobra.Command {
	var noHeaders bool
	cmd := &cobra.Command{
		Use:     "list SOURCE",
		Aliases: []string{"ls"},
		Short:   "List the replays of a Tekton step source and how far each got",
		Example: "  kn source tektonstep replay list steps -n ci",
		Args:    exactlyOneName,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients(false)
			if err != nil {
				return err
			}
			src, err := c.sources.Get(cmd.Context(), args[0], metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("cannot list the replays of %s '%s' in namespace '%s' because: %w", kind, args[0], c.namespace, err)
			}
			out := cmd.OutOrStdout()
			if len(src.Spec.Replays) == 0 {
				fmt.Fprintf(out, "No replays of %s '%s' in namespace '%s'.\n", kind, args[0], c.namespace)
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 3, ' ', 0)
			if !noHeaders {
				fmt.Fprintln(tw, "NAME\tWINDOW\tSTATE\tTASKRUNS\tEVENTS")
			}
			for _, r := range src.Spec.Replays {
				state, taskRuns, events := string(v1alpha1.ReplayPending), "", ""
				for _, st := range src.Status.Replays {
					if st.Name == r.Name {
						state, taskRuns, events = string(st.State), fmt.Sprint(st.TaskRuns), fmt.Sprint(st.Events)
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, describeReplay(r), state, taskRuns, events)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "When using the default output format, don't print headers (default: print headers).")
	return cmd
}

func newReplayDeleteCommand(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "delete SOURCE REPLAY...",
		Short: "Take replays off a Tekton step source's list",
		Long: "Take the named replays off spec.replays. The adapter forgets them, so listing a name\n" +
			"again replays again. It also makes room: spec.replays holds 20.",
		Example: "  kn source tektonstep replay delete steps incident-42 -n ci",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return fmt.Errorf("'%s' requires the name of the source and of at least one replay", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.clients(false)
			if err != nil {
				return err
			}
			source, names := args[0], args[1:]
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				src, err := c.sources.Get(cmd.Context(), source, metav1.GetOptions{})
				if err != nil {
					return err
				}
				var unknown []string
				for _, n := range names {
					if !slices.ContainsFunc(src.Spec.Replays, func(r v1alpha1.ReplaySpec) bool { return r.Name == n }) {
						unknown = append(unknown, n)
					}
				}
				if len(unknown) > 0 {
					return fmt.Errorf("no replay named %s (kn source tektonstep replay list %s -n %s lists them)", strings.Join(unknown, ", "), source, c.namespace)
				}
				src.Spec.Replays = slices.DeleteFunc(src.Spec.Replays, func(r v1alpha1.ReplaySpec) bool { return slices.Contains(names, r.Name) })
				_, err = c.sources.Update(cmd.Context(), src, metav1.UpdateOptions{FieldManager: ReplayFieldManager})
				return err
			})
			if err != nil {
				return fmt.Errorf("cannot delete the replays of %s '%s' in namespace '%s' because: %w", kind, source, c.namespace, err)
			}
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "Replay '%s' of %s '%s' deleted in namespace '%s'.\n", n, kind, source, c.namespace)
			}
			return nil
		},
	}
}
