package function

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Package size limits, as AWS's direct upload: 50 MiB zipped, 250 MiB
// unzipped (AWS's message names 262144000 bytes).
const (
	DefaultMaxZipSize      = 50 << 20
	DefaultMaxUnzippedSize = 250 << 20
)

const (
	msgUnzip        = "Could not unzip uploaded file. Please check your file, then try to upload again."
	msgEmptyZip     = "Uploaded file must be a non-empty zip"
	maxSymlinkLen   = 4096
	maxSymlinkHops  = 255
	entrypointFile  = "bootstrap"
	modeExecutables = 0o111
)

type entryKind int

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
)

// zipEntry is one checked entry of a deployment package.
type zipEntry struct {
	f      *zip.File
	name   string // cleaned, slash-separated, relative to the root
	kind   entryKind
	target string // symlink target
	exec   bool
}

// ValidateZip checks zip as a deployment package for runtime without storing
// anything: it must be a readable, non-empty zip whose entries all stay
// inside the package root (no "..", absolute paths, drive letters,
// backslash tricks, or symlinks leading out), whose content really
// decompresses (sizes are counted while decompressing, never taken from the
// headers, and reading stops as soon as maxUnzipped is passed), and, for the
// provided* runtimes, it must hold a "bootstrap" at its root. go1.x runs the
// executable named by the handler, which ValidateZip does not know: use
// ValidatePackage to check it too. maxUnzipped <= 0 means AWS's 262144000.
//
// Errors are fault.Invalid with a message for the caller. The zipped-size
// limit is the caller's to check (fault.TooLarge), before calling.
func ValidateZip(zip []byte, runtime string, maxUnzipped int64) error {
	return ValidatePackage(zip, runtime, "", maxUnzipped)
}

// ValidatePackage is ValidateZip that also knows the handler, so that for
// go1.x it requires the executable the handler names.
func ValidatePackage(zip []byte, runtime, handler string, maxUnzipped int64) error {
	return validatePackage(zip, runtime, handler, maxUnzipped, true)
}

func validatePackage(data []byte, runtime, handler string, maxUnzipped int64, entrypoint bool) error {
	entries, err := scanZip(data)
	if err != nil {
		return err
	}
	if entrypoint {
		if err := checkEntrypoint(entries, runtime, handler); err != nil {
			return err
		}
	}
	limit := limitOrDefault(maxUnzipped)
	remaining := limit
	for _, e := range entries {
		if e.kind != kindFile {
			continue
		}
		n, err := copyEntry(io.Discard, e.f, remaining)
		if errors.Is(err, errUnzippedTooLarge) {
			return unzippedTooLarge(limit)
		}
		if err != nil {
			return err
		}
		remaining -= n
	}
	return nil
}

func limitOrDefault(n int64) int64 {
	if n <= 0 {
		return DefaultMaxUnzippedSize
	}
	return n
}

func unzippedTooLarge(limit int64) error {
	return fault.New(fault.Invalid, "Unzipped size must be smaller than %d bytes", limit)
}

// errUnzippedTooLarge is returned by copyEntry when an entry goes over what
// is left of the limit; callers turn it into a message naming the limit.
var errUnzippedTooLarge = errors.New("unzipped size over the limit")

// copyEntry decompresses f into w, reading at most remaining+1 bytes, and
// returns how many bytes it wrote. Going over remaining is errUnzippedTooLarge;
// bad compressed data is a fault.Invalid; write errors are returned as they are.
func copyEntry(w io.Writer, f *zip.File, remaining int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, fault.Wrap(fault.Invalid, err, msgUnzip)
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, remaining+1))
	if n > remaining {
		return n, errUnzippedTooLarge
	}
	if err != nil {
		// Write errors (the output file, a cancelled context) come as
		// *fs.PathError; anything else is the entry's data: bad deflate
		// data, a checksum or declared-size mismatch.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return n, err
		}
		return n, fault.Wrap(fault.Invalid, err, msgUnzip)
	}
	return n, nil
}

// scanZip opens data as a zip and checks every entry's name, type and (for
// symlinks) target, without decompressing file contents.
func scanZip(data []byte) ([]zipEntry, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fault.Wrap(fault.Invalid, err, msgUnzip)
	}
	if zr == nil {
		return nil, fault.New(fault.Invalid, msgUnzip)
	}
	entries := make([]zipEntry, 0, len(zr.File))
	links := map[string]string{}
	for _, f := range zr.File {
		name, isDir, err := cleanEntryName(f.Name)
		if err != nil {
			return nil, err
		}
		if name == "" { // the root directory itself ("./")
			continue
		}
		mode := f.Mode()
		e := zipEntry{f: f, name: name}
		switch {
		case mode&fs.ModeSymlink != 0:
			if isDir {
				return nil, badEntry(f.Name, "is a symbolic link with a directory name")
			}
			target, err := readLinkTarget(f)
			if err != nil {
				return nil, err
			}
			e.kind, e.target = kindSymlink, target
			links[name] = target
		case isDir || mode.IsDir():
			e.kind = kindDir
		case mode.IsRegular():
			e.kind = kindFile
			e.exec = mode.Perm()&modeExecutables != 0
		default:
			return nil, badEntry(f.Name, "is not a regular file, directory or symbolic link")
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, fault.New(fault.Invalid, msgEmptyZip)
	}
	for _, e := range entries {
		if e.kind == kindSymlink && !linkStaysInside(links, e.name, e.target) {
			return nil, badEntry(e.f.Name, fmt.Sprintf("is a symbolic link to %q, outside the package", e.target))
		}
	}
	return entries, nil
}

func badEntry(name, why string) error {
	return fault.New(fault.Invalid, "Invalid deployment package: the entry %q %s.", name, why)
}

// cleanEntryName turns a zip entry name into a clean relative path, or
// rejects it when it could land outside the root: absolute paths, Windows
// drive letters, ".." components (also hidden behind backslashes, which are
// read as separators), NUL bytes.
func cleanEntryName(raw string) (name string, isDir bool, err error) {
	if raw == "" || strings.ContainsRune(raw, 0) {
		return "", false, badEntry(raw, "has an invalid name")
	}
	n := strings.ReplaceAll(raw, `\`, "/")
	if strings.HasPrefix(n, "/") {
		return "", false, badEntry(raw, "has an absolute path")
	}
	if len(n) >= 2 && n[1] == ':' && (n[0]|0x20 >= 'a' && n[0]|0x20 <= 'z') {
		return "", false, badEntry(raw, "has an absolute path")
	}
	isDir = strings.HasSuffix(n, "/")
	for _, c := range strings.Split(n, "/") {
		if c == ".." {
			return "", false, badEntry(raw, "escapes the package root")
		}
	}
	n = path.Clean(n)
	if n == "." {
		return "", true, nil
	}
	return n, isDir, nil
}

func readLinkTarget(f *zip.File) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", fault.Wrap(fault.Invalid, err, msgUnzip)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxSymlinkLen+1))
	if err != nil {
		return "", fault.Wrap(fault.Invalid, err, msgUnzip)
	}
	if len(b) == 0 || len(b) > maxSymlinkLen || bytes.IndexByte(b, 0) >= 0 {
		return "", badEntry(f.Name, "is a symbolic link with an invalid target")
	}
	return string(b), nil
}

// linkStaysInside resolves the symlink at name (target target) through the
// package's own symlinks, as the kernel would once extracted, and reports
// whether every step stays inside the root. Dangling targets inside the root
// are fine; absolute targets, escapes and loops are not.
func linkStaysInside(links map[string]string, name, target string) bool {
	stack := strings.Split(path.Dir(name), "/")
	if path.Dir(name) == "." {
		stack = stack[:0]
	}
	hops := 0
	var pending []string
	push := func(t string) bool {
		if strings.HasPrefix(t, "/") || strings.Contains(t, `\`) {
			return false
		}
		pending = append(strings.Split(t, "/"), pending...)
		return true
	}
	if !push(target) {
		return false
	}
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return false
			}
			stack = stack[:len(stack)-1]
			continue
		}
		stack = append(stack, c)
		if t, ok := links[strings.Join(stack, "/")]; ok {
			hops++
			if hops > maxSymlinkHops {
				return false
			}
			stack = stack[:len(stack)-1]
			if !push(t) {
				return false
			}
		}
	}
	return true
}

// runtimeEntrypoint names the file a runtime starts, "" when the runtime
// itself brings the entrypoint (python, node).
func runtimeEntrypoint(runtime, handler string) string {
	switch {
	case runtime == "go1.x":
		if handler == "" {
			return ""
		}
		return path.Clean(strings.ReplaceAll(handler, `\`, "/"))
	case runtime == "provided" || strings.HasPrefix(runtime, "provided."):
		return entrypointFile
	}
	return ""
}

func checkEntrypoint(entries []zipEntry, runtime, handler string) error {
	want := runtimeEntrypoint(runtime, handler)
	if want == "" {
		return nil
	}
	for _, e := range entries {
		if e.name == want && (e.kind == kindFile || e.kind == kindSymlink) {
			return nil
		}
	}
	if runtime == "go1.x" {
		return fault.New(fault.Invalid, "The deployment package for the go1.x runtime must contain the executable %q named by the handler.", want)
	}
	return fault.New(fault.Invalid, "The deployment package for the %s runtime must contain an executable file named bootstrap at its root.", runtime)
}

// Extract writes the deployment package into dir (created if needed) under
// the same rules as ValidateZip (but without the entrypoint check): entries
// may not leave dir, symlinks must resolve inside it, and the total size is
// counted while decompressing, stopping at maxUnzipped (<= 0: 262144000).
// Files keep the zip's executable bits (0755, else 0644); directories are
// 0755. All writes go through an os.Root, so even a path missed by the
// checks cannot leave dir. On error dir may hold part of the package: the
// caller removes it.
func Extract(ctx context.Context, zip []byte, dir string, maxUnzipped int64) error {
	entries, err := scanZip(zip)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	limit := limitOrDefault(maxUnzipped)
	remaining := limit
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.kind != kindDir {
			if parent := path.Dir(e.name); parent != "." {
				if err := root.MkdirAll(parent, 0o755); err != nil {
					return fmt.Errorf("extract %s: %w", e.name, err)
				}
			}
		}
		switch e.kind {
		case kindDir:
			if err := root.MkdirAll(e.name, 0o755); err != nil {
				return fmt.Errorf("extract %s: %w", e.name, err)
			}
		case kindSymlink:
			if err := root.Remove(e.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("extract %s: %w", e.name, err)
			}
			if err := root.Symlink(e.target, e.name); err != nil {
				return fmt.Errorf("extract %s: %w", e.name, err)
			}
		case kindFile:
			perm := fs.FileMode(0o644)
			if e.exec {
				perm = 0o755
			}
			n, err := extractFile(ctx, root, e, perm, remaining)
			if errors.Is(err, errUnzippedTooLarge) {
				return unzippedTooLarge(limit)
			}
			if err != nil {
				return err
			}
			remaining -= n
		}
	}
	return nil
}

func extractFile(ctx context.Context, root *os.Root, e zipEntry, perm fs.FileMode, remaining int64) (int64, error) {
	out, err := root.OpenFile(e.name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return 0, fmt.Errorf("extract %s: %w", e.name, err)
	}
	n, cerr := copyEntry(ctxWriter{ctx, out}, e.f, remaining)
	if err := out.Close(); err != nil && cerr == nil {
		cerr = fmt.Errorf("extract %s: %w", e.name, err)
	}
	if cerr != nil {
		return n, cerr
	}
	if err := root.Chmod(e.name, perm); err != nil {
		return n, fmt.Errorf("extract %s: %w", e.name, err)
	}
	return n, nil
}

// ctxWriter stops a long copy when its context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, &fs.PathError{Op: "write", Path: "", Err: err}
	}
	return c.w.Write(p)
}
