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
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"knative.dev/pkg/apis"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

// ReplayFieldManager owns the replays the plugin adds, so that `kn source
// tektonstep apply` (FieldManager's server-side apply), which lists none,
// does not take them away.
const ReplayFieldManager = FieldManager + "-replay"

type replayFlags struct {
	source, name, since, until, taskRun string
	types                               []string
	wait                                bool
	timeout                             time.Duration
}

func newReplayCommand(g *globalFlags) *cobra.Command {
	f := &replayFlags{}
	cmd := &cobra.Command{
		Use:   "replay NAME --since DURATION|TIME",
		Short: "Re-send a Tekton step source's step events since a point in time",
		Long: "Re-send the step events of the TaskRuns still in the cluster whose transitions fall in a\n" +
			"window, with their original ids, marked with the replay extension (the replay's name).\n" +
			"It adds the replay to spec.replays; the source's adapter does it once per name and\n" +
			"shows its progress in status.replays (kn source tektonstep describe).\n\n" +
			"--since and --until take a duration back from now (2h) or an RFC 3339 time. The same\n" +
			"replay again (its name, filters and the times given as times) does nothing more: give\n" +
			"--name, so that a command run again is a no-op; the name with another window or filters\n" +
			"is refused. A duration has no sign: --since 2h is two hours back (through kn, -2h would\n" +
			"be read as flags). A window must start in the past.\n\n" +
			"A source named list, ls or delete (replay's subcommands) is given as --source list.",
		Example: "  kn source tektonstep replay steps --since 2h --wait\n" +
			"  kn source tektonstep replay steps --since 2026-12-01T08:00:00Z --until 2026-12-01T09:00:00Z --type failed --name incident-42\n" +
			"  kn source tektonstep replay steps --since 1h --taskrun build-x7k2p",
		Args: func(cmd *cobra.Command, args []string) error {
			if f.source != "" {
				if len(args) > 0 {
					return fmt.Errorf("'%s' takes the source's name as an argument or as --source, not both", cmd.CommandPath())
				}
				return nil
			}
			return exactlyOneName(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.source != "" {
				args = []string{f.source}
			}
			want, err := f.spec(time.Now())
			if err != nil {
				return err
			}
			c, err := g.clients(false)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			added := false
			var notReady string
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				src, err := c.sources.Get(cmd.Context(), args[0], metav1.GetOptions{})
				if err != nil {
					return err
				}
				notReady = notReadyReason(src)
				if i := slices.IndexFunc(src.Spec.Replays, func(r v1alpha1.ReplaySpec) bool { return r.Name == want.Name }); i >= 0 {
					return f.sameReplay(src.Spec.Replays[i], want)
				}
				if src.Spec.Replays, err = withReplay(src, want); err != nil {
					return err
				}
				_, err = c.sources.Update(cmd.Context(), src, metav1.UpdateOptions{FieldManager: ReplayFieldManager})
				added = err == nil
				return err
			})
			if err != nil {
				return fmt.Errorf("cannot replay the events of %s '%s' in namespace '%s' because: %w", kind, args[0], c.namespace, err)
			}
			if notReady != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "Warning: %s '%s' is not Ready (%s): the replay runs once its adapter does.\n",
					kind, args[0], notReady)
			}
			if added {
				fmt.Fprintf(out, "Replay '%s' of %s '%s' requested in namespace '%s'.\n", want.Name, kind, args[0], c.namespace)
			} else {
				fmt.Fprintf(out, "Replay '%s' of %s '%s' was already requested: nothing more is sent.\n", want.Name, kind, args[0])
			}
			if !f.wait {
				return nil
			}
			st, err := waitForReplay(cmd.Context(), c, args[0], want.Name, f.timeout)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Replay '%s' succeeded: %d events of %d TaskRuns re-sent.\n", st.Name, st.Events, st.TaskRuns)
			return nil
		},
	}
	cmd.AddCommand(newReplayListCommand(g), newReplayDeleteCommand(g))
	fl := cmd.Flags()
	fl.StringVar(&f.since, "since", "", "start of the window: a duration back from now (2h, 30m) or an RFC 3339 time (required)")
	fl.StringVar(&f.until, "until", "", "end of the window, exclusive: a duration back from now or an RFC 3339 time (default: no end)")
	fl.StringVar(&f.taskRun, "taskrun", "", "replay only the TaskRuns of this name")
	fl.StringArrayVar(&f.types, "type", nil, "replay only these transitions: started, succeeded, failed, skipped (repeatable)")
	fl.StringVar(&f.source, "source", "", "the source, instead of the argument: for a source named list, ls or delete (replay's subcommands)")
	fl.StringVar(&f.name, "name", "", "the replay's name, a DNS label (default: derived from the resolved window and filters)")
	fl.BoolVar(&f.wait, "wait", false, "wait until the replay succeeded")
	f.timeout = 5 * time.Minute
	fl.Var((*waitTimeout)(&f.timeout), "wait-timeout", "how long --wait waits: seconds, as kn's --wait-timeout (300), or a duration (5m)")
	return cmd
}

// spec is the replay the flags ask for, with relative times resolved
// against now (to the second, as Tekton's times are).
func (f *replayFlags) spec(now time.Time) (v1alpha1.ReplaySpec, error) {
	if f.since == "" {
		return v1alpha1.ReplaySpec{}, fmt.Errorf("--since is required: a duration back from now (2h) or an RFC 3339 time")
	}
	since, err := pointInTime("--since", f.since, now)
	if err != nil {
		return v1alpha1.ReplaySpec{}, err
	}
	if d, err := time.ParseDuration(f.since); (err == nil && d < time.Second) || !since.Time.Before(now.Truncate(time.Second)) {
		return v1alpha1.ReplaySpec{}, fmt.Errorf("--since %q is not in the past: the window would hold no transition yet; "+
			"give a duration back from now of a second or more (2h) or an earlier RFC 3339 time", f.since)
	}
	r := v1alpha1.ReplaySpec{Name: f.name, Since: since, TaskRun: f.taskRun, Types: f.types}
	if f.until != "" {
		until, err := pointInTime("--until", f.until, now)
		if err != nil {
			return v1alpha1.ReplaySpec{}, err
		}
		if !until.After(since.Time) {
			return v1alpha1.ReplaySpec{}, fmt.Errorf("--until %q is not after --since %q", f.until, f.since)
		}
		r.Until = &until
	}
	if r.Name == "" {
		// The same window and filters make the same name.
		h := sha256.New()
		until := ""
		if r.Until != nil {
			until = r.Until.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(h, "%s|%s|%s|%s", r.Since.UTC().Format(time.RFC3339), until, r.TaskRun, strings.Join(r.Types, ","))
		r.Name = "replay-" + hex.EncodeToString(h.Sum(nil))[:10]
	}
	// The API's own validation, before anything is written: its messages
	// name the field, the value and what is accepted, where the CRD's
	// schema would answer with its raw rules.
	if err := r.Validate(); err != nil {
		return v1alpha1.ReplaySpec{}, replayFlagError(err)
	}
	return r, nil
}

// replayFieldFlags names, for a replay field the API's validation refuses, the
// flag that set it.
var replayFieldFlags = []struct{ field, flag string }{
	{"name", "--name"}, {"taskRun", "--taskrun"}, {"types", "--type"}, {"until", "--until"}, {"since", "--since"},
}

// replayFlagError says the API's refusal of a replay in the flags' words:
// each error below the flag that set its field, with the value and what
// is accepted.
func replayFlagError(err *apis.FieldError) error {
	var msgs []string
	for _, e := range err.WrappedErrors() {
		flag := "the replay"
		for _, p := range e.Paths {
			for _, ff := range replayFieldFlags {
				if p == ff.field || strings.HasPrefix(p, ff.field+"[") {
					flag = ff.flag
				}
			}
		}
		msgs = append(msgs, flag+": "+strings.ReplaceAll(e.Error(), "\n", ": "))
	}
	return errors.New(strings.Join(msgs, "; "))
}

// sameReplay checks that a replay of the name already listed is the one
// asked for again: the same filters, and the same times where they were
// given as times (a duration back from now moves with each run: the same
// command run again is the same replay). Another would be silently
// ignored: it is refused, naming both.
func (f *replayFlags) sameReplay(have, want v1alpha1.ReplaySpec) error {
	absolute := func(value string) bool { _, err := time.Parse(time.RFC3339, value); return err == nil }
	same := have.TaskRun == want.TaskRun && slices.Equal(sortedCopy(have.Types), sortedCopy(want.Types)) &&
		(have.Until == nil) == (want.Until == nil) &&
		(!absolute(f.since) || have.Since.Equal(&want.Since)) &&
		(want.Until == nil || !absolute(f.until) || have.Until.Equal(want.Until))
	if same {
		return nil
	}
	return fmt.Errorf("replay '%s' is already listed as %s, not %s: give the new replay another --name",
		want.Name, describeReplay(have), describeReplay(want))
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// describeReplay renders a replay's window and filters for messages.
func describeReplay(r v1alpha1.ReplaySpec) string {
	s := "since " + r.Since.UTC().Format(time.RFC3339)
	if r.Until != nil {
		s += " until " + r.Until.UTC().Format(time.RFC3339)
	}
	if r.TaskRun != "" {
		s += ", TaskRun " + r.TaskRun
	}
	if len(r.Types) > 0 {
		s += ", " + strings.Join(r.Types, "/")
	}
	return s
}

// notReadyReason is why the source is not Ready ("" when it is).
func notReadyReason(src *v1alpha1.TektonStepSource) string {
	if src.Status.IsReady() {
		return ""
	}
	c := src.Status.GetTopLevelCondition()
	switch {
	case c == nil:
		return "no status yet: is the controller running?"
	case c.Reason == "" && c.Message == "":
		return "Ready is " + string(c.Status)
	case c.Message == "":
		return c.Reason
	case c.Reason == "":
		return c.Message
	}
	return c.Reason + ": " + c.Message
}

// pointInTime reads an RFC 3339 time or a duration back from now.
func pointInTime(flag, value string, now time.Time) (metav1.Time, error) {
	if t, err := time.Parse(time.RFC3339, value); err == nil {
		// metav1.Time keeps whole seconds: so does the window.
		return metav1.NewTime(t.Truncate(time.Second)), nil
	}
	d, err := time.ParseDuration(value)
	if err != nil || d < 0 {
		return metav1.Time{}, fmt.Errorf("%s %q: want a duration back from now (2h, 30m) or an RFC 3339 time (2026-12-01T08:00:00Z)", flag, value)
	}
	return metav1.NewTime(now.Add(-d).Truncate(time.Second)), nil
}

// withReplay is spec.replays with the replay added: when the list is full,
// the oldest succeeded replay makes room (forgetting it: listing it again
// would replay it again).
func withReplay(src *v1alpha1.TektonStepSource, r v1alpha1.ReplaySpec) ([]v1alpha1.ReplaySpec, error) {
	replays := slices.Clone(src.Spec.Replays)
	if len(replays) >= v1alpha1.MaxReplays {
		i := slices.IndexFunc(replays, func(old v1alpha1.ReplaySpec) bool {
			return slices.ContainsFunc(src.Status.Replays, func(st v1alpha1.ReplayStatus) bool {
				return st.Name == old.Name && st.State == v1alpha1.ReplaySucceeded
			})
		})
		if i < 0 {
			return nil, fmt.Errorf("spec.replays holds %d replays, none of them succeeded yet: wait for one, or remove one", len(replays))
		}
		replays = slices.Delete(replays, i, i+1)
	}
	return append(replays, r), nil
}

// waitForReplay polls status.replays until the replay succeeded.
func waitForReplay(ctx context.Context, c *clients, source, name string, timeout time.Duration) (v1alpha1.ReplayStatus, error) {
	var last v1alpha1.ReplayStatus
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		src, err := c.sources.Get(ctx, source, metav1.GetOptions{})
		if err != nil {
			if ctx.Err() != nil {
				// The wait ran out during the request: say that, not the
				// client's rate limiter's words for it.
				return false, nil
			}
			return false, err
		}
		for _, st := range src.Status.Replays {
			if st.Name == name {
				last = st
				return st.State == v1alpha1.ReplaySucceeded, nil
			}
		}
		return false, nil
	})
	if err != nil {
		state := "not shown in status.replays yet (is the source's adapter running?)"
		if last.State != "" {
			state = string(last.State)
		}
		if ctx.Err() == nil && !wait.Interrupted(err) {
			return last, fmt.Errorf("waiting for replay '%s': %w", name, err)
		}
		return last, fmt.Errorf("replay '%s' did not succeed within %s (--wait-timeout): %s; kn source tektonstep replay list %s -n %s shows its progress",
			name, timeout, state, source, c.namespace)
	}
	return last, nil
}

// waitTimeout is --wait-timeout: kn's takes whole seconds (300), and a
// duration (5m) is taken too.
type waitTimeout time.Duration

func (w *waitTimeout) String() string { return time.Duration(*w).String() }
func (w *waitTimeout) Type() string   { return "duration" }
func (w *waitTimeout) Set(v string) error {
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		*w = waitTimeout(time.Duration(secs) * time.Second)
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive number of seconds (300) or a duration (5m)")
	}
	*w = waitTimeout(d)
	return nil
}
