// Command apicount prints the exported top-level identifiers of a Go package
// (funcs, types, every const and var; methods and fields not counted), one a
// line with its file, read from the package's non-test files, and fails when
// there are more than -max.
//
//	go run ./internal/apicount -max 55 .
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	max := flag.Int("max", 55, "the most exported identifiers allowed")
	flag.Parse()
	dir := "."
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	names, err := exported(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicount:", err)
		os.Exit(2)
	}
	for _, n := range names {
		fmt.Println(n)
	}
	fmt.Printf("%d exported identifiers in %s (at most %d)\n", len(names), dir, *max)
	if len(names) > *max {
		fmt.Fprintf(os.Stderr, "apicount: %d exported identifiers, more than %d\n", len(names), *max)
		os.Exit(1)
	}
}

// exported returns "file: Name" for each exported top-level identifier of
// the package in dir, sorted by file then name.
func exported(dir string) ([]string, error) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		if f.Name.Name == "main" {
			continue
		}
		base := filepath.Base(path)
		add := func(id *ast.Ident) {
			if id.IsExported() {
				names = append(names, base+": "+id.Name)
			}
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					add(d.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						add(s.Name)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							add(n)
						}
					}
				}
			}
		}
	}
	sort.Strings(names)
	return names, nil
}
