package main

// Packaging for `lamina deploy`: turn a directory (building a Go main
// package first when the runtime needs an executable) or a ready .zip into
// the deployment package that CreateFunction and UpdateFunctionCode take.

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// zipEpoch is the modification time of every entry, so that the same files
// always give the same bytes, and so the same CodeSha256. It is the
// earliest time a zip (MS-DOS) timestamp can hold.
var zipEpoch = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// packageOptions say what to package and how.
type packageOptions struct {
	// Path is a directory or a .zip file.
	Path    string
	Runtime string
	Handler string
	// Arch is the Lambda architecture, x86_64 or arm64.
	Arch string
	// Log receives progress lines and the compiler's output.
	Log io.Writer
}

// codePackage is a deployment package.
type codePackage struct {
	Zip []byte
	// Files is the number of files in it.
	Files int
	// Built is the name of the executable built from Go sources, or "".
	Built string
}

// Error for a missing go command, so callers and tests can recognise it.
var errNoGo = errors.New("building a Go function needs the go command, and it is not on PATH (install Go from https://go.dev/dl/, or deploy a ready bootstrap or .zip)")

// needsExecutable reports the name of the executable a runtime starts at the
// root of the package: bootstrap for the custom runtimes, the handler for
// the deprecated go1.x runtime, and "" for runtimes that start a handler in
// an interpreter.
func needsExecutable(runtime, handler string) string {
	switch {
	case strings.HasPrefix(runtime, "provided"):
		return "bootstrap"
	case runtime == "go1.x":
		return handler
	}
	return ""
}

// lambdaArch maps an architecture flag onto Lambda's name and GOARCH.
func lambdaArch(arch string) (lambdaName, goarch string, err error) {
	switch strings.ToLower(arch) {
	case "", "x86_64", "amd64":
		return "x86_64", "amd64", nil
	case "arm64", "aarch64":
		return "arm64", "arm64", nil
	}
	return "", "", fmt.Errorf("invalid --arch %q: want x86_64 or arm64", arch)
}

// packageCode builds the deployment package described by o.
func packageCode(ctx context.Context, o packageOptions) (*codePackage, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	info, err := os.Stat(o.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist", o.Path)
	}
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		if !strings.EqualFold(filepath.Ext(o.Path), ".zip") {
			return nil, fmt.Errorf("%s is neither a directory nor a .zip file", o.Path)
		}
		return readZip(o.Path)
	}

	dir := o.Path
	exe := needsExecutable(o.Runtime, o.Handler)
	var built string // path of the binary built from Go sources
	if exe != "" {
		if !filepath.IsLocal(exe) {
			return nil, fmt.Errorf("handler %q must name a file inside the package", exe)
		}
		ready, err := isFile(filepath.Join(dir, exe))
		if err != nil {
			return nil, err
		}
		if !ready {
			isMain, err := isGoMainPackage(dir)
			if err != nil {
				return nil, err
			}
			if !isMain {
				if ok, _ := isFile(filepath.Join(dir, "go.mod")); ok {
					return nil, fmt.Errorf("%s has a go.mod but no package main: give the directory of the main package", dir)
				}
				return nil, fmt.Errorf("runtime %s starts the executable %q, and %s has neither that file nor a Go main package to build it from", o.Runtime, exe, dir)
			}
			_, goarch, err := lambdaArch(o.Arch)
			if err != nil {
				return nil, err
			}
			tmp, err := os.MkdirTemp("", "lamina-build-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(tmp)
			built = filepath.Join(tmp, "bootstrap")
			fmt.Fprintf(o.Log, "building %s (linux/%s)…\n", exe, goarch)
			if err := buildGo(ctx, dir, built, goarch, o.Log); err != nil {
				return nil, err
			}
		}
	}

	files, err := collectFiles(dir, built != "")
	if err != nil {
		return nil, err
	}
	if built != "" {
		files = append(files, zipFile{Name: filepath.ToSlash(exe), Source: built, Mode: 0o755})
	} else if exe != "" {
		// A runtime cannot start a bootstrap without its exec bit, which
		// is easy to lose (Windows, some archivers): always set it.
		for i := range files {
			if files[i].Name == filepath.ToSlash(exe) {
				files[i].Mode = 0o755
			}
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s has no files to package", dir)
	}
	data, err := writeZip(files)
	if err != nil {
		return nil, err
	}
	p := &codePackage{Zip: data, Files: len(files)}
	if built != "" {
		p.Built = exe
	}
	return p, nil
}

// readZip reads a ready deployment package, checking that it is a zip.
func readZip(name string) (*codePackage, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid zip file: %w", name, err)
	}
	n := 0
	for _, f := range zr.File {
		if !f.FileInfo().IsDir() {
			n++
		}
	}
	return &codePackage{Zip: data, Files: n}, nil
}

func isFile(name string) (bool, error) {
	info, err := os.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.Mode().IsRegular(), nil
}

// isGoMainPackage reports whether dir holds a Go main package that builds
// for Linux (test files and files excluded by build constraints do not
// count).
func isGoMainPackage(dir string) (bool, error) {
	bctx := build.Default
	bctx.GOOS = "linux"
	bctx.CgoEnabled = false
	p, err := bctx.ImportDir(dir, 0)
	var noGo *build.NoGoError
	if errors.As(err, &noGo) {
		return false, nil
	}
	if err != nil {
		var multi *build.MultiplePackageError
		if errors.As(err, &multi) {
			return false, fmt.Errorf("%s mixes Go packages %s", dir, strings.Join(multi.Packages, " and "))
		}
		return false, fmt.Errorf("reading Go sources in %s: %w", dir, err)
	}
	return p.Name == "main" && len(p.GoFiles) > 0, nil
}

// buildGo builds the main package in dir into out as a static Linux
// executable for goarch, the way Lambda's provided runtimes expect it,
// streaming the compiler's output to log.
func buildGo(ctx context.Context, dir, out, goarch string, log io.Writer) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return errNoGo
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	cmd.Stdout = log
	cmd.Stderr = log
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("go build in %s failed: %w", dir, err)
	}
	return nil
}

// zipFile is one entry of a package.
type zipFile struct {
	// Name is the slash-separated path in the zip.
	Name string
	// Source is the file on disk.
	Source string
	// Mode is 0644 or 0755.
	Mode fs.FileMode
}

// goSourceNames are left out of a package whose binary was built from them.
var goSourceNames = []string{"go.mod", "go.sum", "go.work", "go.work.sum"}

// excluded reports whether the file or directory at rel (slash-separated,
// relative to the package root) stays out of the package: version-control
// data, Lamina's own data directory, and the Go sources of a built binary.
func excluded(rel string, isDir, built bool) bool {
	base := path.Base(rel)
	if isDir && base == ".git" {
		return true
	}
	if isDir && rel == ".lamina" {
		return true
	}
	if built {
		if isDir && rel == "vendor" {
			return true
		}
		if !isDir && (strings.HasSuffix(base, ".go") || slices.Contains(goSourceNames, base)) {
			return true
		}
	}
	return false
}

// collectFiles lists the files of dir to package, following symbolic links
// to files; file modes are reduced to 0755 (any exec bit set) or 0644.
func collectFiles(dir string, built bool) ([]zipFile, error) {
	dir, err := filepath.EvalSymlinks(dir) // WalkDir does not enter a linked root
	if err != nil {
		return nil, err
	}
	var files []zipFile
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		info, err := os.Stat(p) // follows symbolic links
		if err != nil {
			return fmt.Errorf("packaging %s: %w", rel, err)
		}
		if excluded(rel, info.IsDir(), built) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			return nil
		case info.IsDir():
			return fmt.Errorf("packaging %s: symbolic links to directories are not supported", rel)
		case !info.Mode().IsRegular():
			return nil // sockets, devices, pipes
		}
		mode := fs.FileMode(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		files = append(files, zipFile{Name: rel, Source: p, Mode: mode})
		return nil
	})
	return files, err
}

// writeZip writes files into a zip, deterministically: entries sorted by
// name, all with the same time stamp, modes kept.
func writeZip(files []zipFile) ([]byte, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b zipFile) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i, f := range files {
		if i > 0 && files[i-1].Name == f.Name {
			return nil, fmt.Errorf("packaging: %s appears twice", f.Name)
		}
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: zipEpoch}
		h.SetMode(f.Mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		if err := copyFile(w, f.Source); err != nil {
			return nil, fmt.Errorf("packaging %s: %w", f.Name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func copyFile(w io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
