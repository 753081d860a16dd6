package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// file is one regular file found under a walked directory. Symbolic links
// are followed (as sam build does), so abs may be outside the root.
type file struct {
	rel   string // slash-separated, relative to the walked root
	abs   string // what to read
	exec  bool
	size  int64
	mtime time.Time
}

// walkRules say what a walk leaves out.
type walkRules struct {
	// skipDir reports whether the directory abs (base name name), below the
	// root, is left out with all it holds.
	skipDir func(abs, name string) bool
	// skipFile reports whether a file is left out.
	skipFile func(name string) bool
}

// copyRules are the rules for zipping a directory as it is: everything
// but version-control data, sam build's output and Lamina's own data
// directory (which a CodeUri of "." next to the template would otherwise
// pull in), and the build cache.
func copyRules(cacheDir string) walkRules {
	return walkRules{skipDir: func(abs, name string) bool {
		switch name {
		case ".git", ".aws-sam", ".lamina":
			return true
		}
		return abs == cacheDir
	}}
}

// goRules are the rules for the files a Go build can read under a module
// root: the go command ignores directories starting with "." (and
// //go:embed cannot name them without all:, which is rare enough to
// accept), nested modules are other modules, and test files never reach a
// binary. Everything else counts, testdata and non-Go files included,
// because //go:embed can read them.
func goRules(cacheDir string) walkRules {
	return walkRules{
		skipDir: func(abs, name string) bool {
			if strings.HasPrefix(name, ".") || abs == cacheDir {
				return true
			}
			fi, err := os.Stat(filepath.Join(abs, "go.mod"))
			return err == nil && !fi.IsDir()
		},
		skipFile: func(name string) bool { return strings.HasSuffix(name, "_test.go") },
	}
}

// collect lists the regular files under root, sorted by relative path.
// Symbolic links are followed; a link that loops back to a directory being
// walked or that leads nowhere is an error, so nothing is left out silently.
// Sockets, pipes and devices are skipped.
func collect(root string, rules walkRules) ([]file, error) {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	var files []file
	if err := walkDir(root, real, "", []string{real}, rules, &files); err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b file) int { return strings.Compare(a.rel, b.rel) })
	return files, nil
}

// walkDir walks dir, whose path with every link resolved is realDir;
// ancestors are the resolved paths of the directories being walked.
func walkDir(dir, realDir, rel string, ancestors []string, rules walkRules, out *[]file) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		abs := filepath.Join(dir, name)
		r := path.Join(rel, name)
		fi, err := os.Stat(abs) // follows links
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && e.Type()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s: symbolic link to nothing", r)
			}
			return err
		}
		switch {
		case fi.IsDir():
			if rules.skipDir != nil && rules.skipDir(abs, name) {
				continue
			}
			real := filepath.Join(realDir, name)
			if e.Type()&fs.ModeSymlink != 0 {
				if real, err = filepath.EvalSymlinks(abs); err != nil {
					return err
				}
				for _, a := range ancestors {
					if real == a || strings.HasPrefix(a, real+string(filepath.Separator)) {
						return fmt.Errorf("%s: symbolic link loop (to %s)", r, real)
					}
				}
			}
			if err := walkDir(abs, real, r, append(ancestors, real), rules, out); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if rules.skipFile != nil && rules.skipFile(name) {
				continue
			}
			*out = append(*out, file{rel: r, abs: abs, exec: fi.Mode().Perm()&0o111 != 0, size: fi.Size(), mtime: fi.ModTime()})
		}
	}
	return nil
}
