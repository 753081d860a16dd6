package build

import (
	"errors"
	"fmt"
	"go/build"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// buildPlan is what Build decided to do with a Spec.
type buildPlan struct {
	spec       Spec
	kind       Kind
	path       string // the CodeUri, absolute: a directory, or the .zip
	moduleRoot string // KindGo: the directory holding go.mod
	goarch     string // amd64 | arm64
	entry      string // KindGo: the executable's name in the zip
}

func (p *buildPlan) name() string {
	if p.spec.Name != "" {
		return p.spec.Name
	}
	return p.spec.CodeURI
}

// fail is a build error about the function's code, naming the function and
// its CodeUri.
func (p *buildPlan) fail(format string, args ...any) error {
	return failSpec(p.spec, format, args...)
}

func failSpec(s Spec, format string, args ...any) error {
	uri := s.CodeURI
	if uri == "" {
		uri = "."
	}
	prefix := "CodeUri " + strconv.Quote(uri)
	if s.Name != "" {
		prefix = s.Name + ": " + prefix
	}
	return fault.New(fault.Invalid, "%s: %s", prefix, fmt.Sprintf(format, args...))
}

// plan decides the kind of build for spec and checks what can be checked
// before doing any work.
func plan(spec Spec) (*buildPlan, error) {
	p := &buildPlan{spec: spec}
	switch spec.Architecture {
	case "", "x86_64":
		p.goarch = "amd64"
	case "arm64":
		p.goarch = "arm64"
	default:
		return nil, p.fail("unsupported architecture %q (want x86_64 or arm64)", spec.Architecture)
	}
	uri := spec.CodeURI
	if uri == "" {
		uri = "." // sam build's default: the template's directory
	}
	if strings.Contains(uri, "://") {
		return nil, p.fail("only local paths can be built, not %s", uri)
	}
	abs := uri
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(spec.TemplateDir, uri)
	}
	abs, err := filepath.Abs(abs)
	if err != nil {
		return nil, p.fail("%v", err)
	}
	p.path = abs
	fi, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil, p.fail("%s does not exist", abs)
	}
	if err != nil {
		return nil, p.fail("%v", err)
	}
	if !fi.IsDir() {
		if !strings.EqualFold(filepath.Ext(abs), ".zip") {
			return nil, p.fail("%s is neither a directory nor a .zip file", abs)
		}
		p.kind = KindZip
		return p, nil
	}

	wantGo := spec.BuildMethod == "go1.x"
	mayGo := wantGo || spec.Runtime == "go1.x" || isProvided(spec.Runtime)
	if mayGo {
		root, isMain, err := goMainPackage(abs, p.goarch)
		switch {
		case err != nil && wantGo:
			return nil, p.fail("BuildMethod go1.x: %v", err)
		case err == nil && isMain:
			p.kind, p.moduleRoot = KindGo, root
			p.entry = "bootstrap"
			if spec.Runtime == "go1.x" {
				// go1.x starts the executable the handler names.
				e, err := localEntry(spec.Handler)
				if err != nil {
					return nil, p.fail("%v", err)
				}
				p.entry = e
			}
			return p, nil
		case wantGo:
			return nil, p.fail("BuildMethod go1.x: %s is not a main package (no Go file with package main for linux/%s)", abs, p.goarch)
		}
	}

	p.kind = KindCopy
	// The registry refuses a package without its entrypoint anyway; saying
	// so here names the directory instead of a zip entry.
	want := ""
	switch {
	case isProvided(spec.Runtime):
		want = "bootstrap"
	case spec.Runtime == "go1.x":
		e, err := localEntry(spec.Handler)
		if err != nil {
			return nil, p.fail("%v", err)
		}
		want = e
	}
	if want != "" {
		if fi, err := os.Stat(filepath.Join(abs, filepath.FromSlash(want))); err != nil || fi.IsDir() {
			return nil, p.fail("runtime %s needs an executable %s in %s, which has neither it nor a Go main package", spec.Runtime, want, abs)
		}
	}
	return p, nil
}

func isProvided(runtime string) bool {
	return runtime == "provided" || strings.HasPrefix(runtime, "provided.")
}

// localEntry is the zip name for the go1.x handler h.
func localEntry(h string) (string, error) {
	n := path.Clean(strings.ReplaceAll(h, `\`, "/"))
	if h == "" || !filepath.IsLocal(n) || n == "." {
		return "", errors.New("the go1.x handler " + strconv.Quote(h) + " must name an executable inside the package")
	}
	return n, nil
}

// goMainPackage finds the module holding dir (a go.mod in dir or above) and
// reports whether dir's Go files, under the constraints of the target
// (linux, goarch, no cgo, tag lambda.norpc), make a main package.
func goMainPackage(dir, goarch string) (moduleRoot string, isMain bool, err error) {
	moduleRoot, err = findModuleRoot(dir)
	if err != nil {
		return "", false, err
	}
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "linux", goarch, false
	ctx.BuildTags = []string{"lambda.norpc"}
	pkg, err := ctx.ImportDir(dir, build.ImportComment)
	var noGo *build.NoGoError
	if errors.As(err, &noGo) {
		return moduleRoot, false, errors.New(dir + " has no Go files")
	}
	if err != nil {
		return moduleRoot, false, err
	}
	return moduleRoot, pkg.Name == "main", nil
}

func findModuleRoot(dir string) (string, error) {
	for d := dir; ; {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !fi.IsDir() {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", errors.New("no go.mod in " + dir + " or any directory above it")
		}
		d = parent
	}
}
