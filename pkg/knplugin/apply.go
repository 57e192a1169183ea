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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/tektonstep/tekton-step-source/pkg/apis/sources/v1alpha1"
)

func newApplyCommand(g *globalFlags) *cobra.Command {
	f := &sourceFlags{}
	out := &outputFlag{}
	var files []string
	cmd := &cobra.Command{
		Use:   "apply (NAME --sink SINK [flags] | -f FILE)",
		Short: "Create or update a Tekton step source (idempotent)",
		Long: "Create a Tekton step source, or update it to exactly what the flags or the file describe.\n" +
			"Applying the same thing twice changes nothing. Uses server-side apply (field manager " + FieldManager + ").\n" +
			"With flags, the source is described completely by them: flags left out are removed.",
		Example: `  kn source tektonstep apply steps --sink broker:default -n ci
  kn source tektonstep apply -f config/samples/broker-source.yaml -n ci
  cat source.yaml | kn source tektonstep apply -f -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			var docs []*unstructured.Unstructured
			if len(files) > 0 {
				if len(args) > 0 || countChanged(cmd, specFlags...) > 0 {
					return errors.New("'apply -f' takes neither a NAME nor source flags: the file describes the source")
				}
				var err error
				if docs, err = readSources(files); err != nil {
					return err
				}
			} else if err := exactlyOneName(cmd, args); err != nil {
				return fmt.Errorf("%w (or -f FILE)", err)
			} else if f.sink == "" {
				return errors.New("required flag(s) \"sink\" not set (apply with flags describes the whole source)")
			}
			var sink *Sink
			if len(files) == 0 {
				var err error
				if sink, err = ParseSink(f.sink); err != nil {
					return err
				}
				if _, err := applyCEOverrides(nil, f.ceOverrides); err != nil {
					return err
				}
			}
			c, err := g.clients(false)
			if err != nil {
				return err
			}
			if sink != nil {
				dest, err := sink.Resolve(cmd.Context(), c.dynamic, c.mapper, c.namespace)
				if err != nil {
					return err
				}
				src := &v1alpha1.TektonStepSource{ObjectMeta: metav1.ObjectMeta{Name: args[0]}}
				if err := f.apply(cmd.Flags(), &src.Spec, dest, c.resolver(cmd.Context())); err != nil {
					return err
				}
				m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(src)
				if err != nil {
					return err
				}
				docs = []*unstructured.Unstructured{{Object: m}}
				unstructured.RemoveNestedField(m, "status")
				unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
			}
			for _, doc := range docs {
				doc.SetAPIVersion(v1alpha1.SchemeGroupVersion.String())
				doc.SetKind(kind)
				if ns := doc.GetNamespace(); ns != "" && ns != c.namespace && g.namespace != "" {
					return fmt.Errorf("%s '%s': the namespace of the file (%s) does not match --namespace (%s)", kind, doc.GetName(), ns, c.namespace)
				}
				cc := *c
				if ns := doc.GetNamespace(); ns != "" && ns != c.namespace {
					cl, err := g.clientsIn(ns)
					if err != nil {
						return err
					}
					cc = *cl
				}
				doc.SetNamespace(cc.namespace)
				body, err := json.Marshal(doc.Object)
				if err != nil {
					return err
				}
				applied, what, err := applyObject(cmd.Context(), &cc, doc.GetName(), body)
				if err != nil {
					return fmt.Errorf("cannot apply %s '%s' in namespace '%s' because: %w", kind, doc.GetName(), cc.namespace, err)
				}
				if err := out.printOr(cmd.OutOrStdout(), applied, "%s '%s' %s in namespace '%s'.\n", kind, applied.Name, what, applied.Namespace); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f.add(cmd.Flags())
	out.add(cmd)
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "File (YAML or JSON, one or more TektonStepSources) to apply; '-' reads standard input.")
	return cmd
}

// countChanged counts how many of the named flags were set.
func countChanged(cmd *cobra.Command, names ...string) int {
	n := 0
	for _, name := range names {
		if cmd.Flags().Changed(name) {
			n++
		}
	}
	return n
}

// clientsIn returns clients for another namespace.
func (g *globalFlags) clientsIn(namespace string) (*clients, error) {
	other := *g
	other.namespace = namespace
	return other.clients(false)
}

// readSources reads TektonStepSources from YAML or JSON files; any other
// kind is an error.
func readSources(files []string) ([]*unstructured.Unstructured, error) {
	var docs []*unstructured.Unstructured
	for _, file := range files {
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, err
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 1; ; i++ {
			raw, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
			obj := map[string]interface{}{}
			if err := utilyaml.Unmarshal(raw, &obj); err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
			}
			if len(obj) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: obj}
			if u.GetAPIVersion() != v1alpha1.SchemeGroupVersion.String() || u.GetKind() != kind {
				return nil, fmt.Errorf("%s: document %d is a %s %s, not a %s %s", file, i, u.GetAPIVersion(), u.GetKind(), v1alpha1.SchemeGroupVersion, kind)
			}
			if u.GetName() == "" {
				return nil, fmt.Errorf("%s: document %d: metadata.name is required", file, i)
			}
			docs = append(docs, u)
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no %s in %v", kind, files)
	}
	return docs, nil
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
