package build

import (
	"bufio"
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// modulePath reads the module's path from go.mod.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "module"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// localPackages lists, sorted, the directories of the module's packages that
// the package in dir imports, directly or not, dir included. Imports are read
// from every non-test .go file whatever its build constraints, so the set is
// never smaller than what any build of the package compiles. ok is false when
// a file cannot be parsed: the caller then keys on the whole module.
func localPackages(moduleRoot, modPath, dir string) (dirs []string, ok bool) {
	seen := map[string]bool{}
	queue := []string{dir}
	fset := token.NewFileSet()
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		entries, err := os.ReadDir(d)
		if err != nil {
			return nil, false
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(d, name), nil, parser.ImportsOnly)
			if err != nil {
				return nil, false
			}
			for _, imp := range f.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if path == modPath || strings.HasPrefix(path, modPath+"/") {
					rel := strings.TrimPrefix(strings.TrimPrefix(path, modPath), "/")
					queue = append(queue, filepath.Join(moduleRoot, filepath.FromSlash(rel)))
				}
			}
		}
	}
	for d := range seen {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	return dirs, true
}

// packageRules walk one package's directory: its files and the
// subdirectories that are not packages themselves (what //go:embed can
// reach), never test files or hidden entries.
func packageRules(cacheDir string) walkRules {
	gr := goRules(cacheDir)
	return walkRules{
		skipDir: func(abs, name string) bool {
			if gr.skipDir(abs, name) {
				return true
			}
			entries, err := os.ReadDir(abs)
			if err != nil {
				return false // the walk reports it
			}
			for _, e := range entries {
				if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
					return true // another package: counted if imported
				}
			}
			return false
		},
		skipFile: gr.skipFile,
	}
}
