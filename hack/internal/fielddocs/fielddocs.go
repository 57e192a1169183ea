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

// Package fielddocs reads the doc comments of struct fields from Go sources,
// for the schema generators (hack/schema, hack/eventschema).
package fielddocs

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
)

// Cache holds the parsed field docs of each package asked for.
type Cache map[string]map[string]string

// Get returns the doc comment of field of the named struct type of pkg
// ("" when it has none).
func (c Cache) Get(pkg, typeName, field string) string {
	if _, ok := c[pkg]; !ok {
		c[pkg] = parse(pkg)
	}
	return c[pkg][typeName+"."+field]
}

// parse reads the doc comment of every struct field in a package, finding
// its sources through the go command (so the module cache works).
func parse(pkg string) map[string]string {
	docs := map[string]string{}
	bp, err := build.Import(pkg, ".", build.FindOnly)
	if err != nil {
		panic(fmt.Sprintf("finding %s: %v", pkg, err))
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, bp.Dir, func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		panic(fmt.Sprintf("parsing %s: %v", pkg, err))
	}
	for _, p := range pkgs {
		for _, dt := range doc.New(p, pkg, doc.AllDecls).Types {
			for _, spec := range dt.Decl.Specs {
				ts, ok := spec.(*ast.TypeSpec)
				if !ok {
					continue
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, f := range st.Fields.List {
					for _, n := range f.Names {
						docs[dt.Name+"."+n.Name] = f.Doc.Text()
					}
				}
			}
		}
	}
	return docs
}
