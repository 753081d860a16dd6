package function

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestValidateZip(t *testing.T) {
	ok := buildZip(t, zf{name: "app.py", body: "def handler(e, c): return 1\n"})
	bootstrap := buildZip(t, zf{name: "bootstrap", body: "#!/bin/sh\n", mode: 0o755}, zf{name: "lib/x.so", body: "x"})
	corruptCRC := buildZip(t, zf{name: "app.py", body: strings.Repeat("hello world ", 100)})
	// Flip a byte inside the compressed data (after the 30-byte local header and the name).
	corruptCRC = append([]byte(nil), corruptCRC...)
	corruptCRC[30+len("app.py")+3] ^= 0xff

	tests := []struct {
		name    string
		zip     []byte
		runtime string
		max     int64
		msg     string // "" = valid
	}{
		{name: "python ok", zip: ok, runtime: "python3.12"},
		{name: "provided with bootstrap", zip: bootstrap, runtime: "provided.al2023"},
		{name: "provided bootstrap symlink", zip: buildZip(t, zf{name: "bin/app", body: "x", mode: 0o755}, link("bootstrap", "bin/app")), runtime: "provided.al2"},
		{name: "dot-slash names", zip: buildZip(t, zf{name: "./", mode: fs.ModeDir | 0o755}, zf{name: "./bootstrap", body: "x", mode: 0o755}), runtime: "provided"},
		{name: "symlink inside", zip: buildZip(t, zf{name: "a/b/c.txt", body: "x"}, link("a/l", "b/c.txt"), link("top", "a/b/../b/c.txt")), runtime: "nodejs22.x"},
		{name: "symlink to root", zip: buildZip(t, zf{name: "a/f", body: "x"}, link("a/up", "..")), runtime: "nodejs22.x"},
		{name: "dangling symlink inside", zip: buildZip(t, zf{name: "f", body: "x"}, link("l", "missing")), runtime: "python3.12"},

		{name: "not a zip", zip: []byte("this is not a zip file at all"), runtime: "python3.12", msg: "Could not unzip uploaded file. Please check your file, then try to upload again."},
		{name: "truncated", zip: ok[:len(ok)-10], runtime: "python3.12", msg: "Could not unzip uploaded file."},
		{name: "bad data", zip: corruptCRC, runtime: "python3.12", msg: "Could not unzip uploaded file."},
		{name: "empty zip", zip: buildZip(t), runtime: "python3.12", msg: "Uploaded file must be a non-empty zip"},
		{name: "only root dir", zip: buildZip(t, zf{name: "./", mode: fs.ModeDir | 0o755}), runtime: "python3.12", msg: "Uploaded file must be a non-empty zip"},
		{name: "zip slip", zip: buildZip(t, zf{name: "../evil", body: "x"}), runtime: "python3.12", msg: "escapes the package root"},
		{name: "zip slip nested", zip: buildZip(t, zf{name: "a/../../evil", body: "x"}), runtime: "python3.12", msg: "escapes the package root"},
		{name: "absolute", zip: buildZip(t, zf{name: "/etc/cron.d/evil", body: "x"}), runtime: "python3.12", msg: "absolute path"},
		{name: "drive letter", zip: buildZip(t, zf{name: "C:/evil", body: "x"}), runtime: "python3.12", msg: "absolute path"},
		{name: "backslash slip", zip: buildZip(t, zf{name: `..\evil`, body: "x"}), runtime: "python3.12", msg: "escapes the package root"},
		{name: "backslash nested slip", zip: buildZip(t, zf{name: `a\..\..\evil`, body: "x"}), runtime: "python3.12", msg: "escapes the package root"},
		{name: "backslash absolute", zip: buildZip(t, zf{name: `\evil`, body: "x"}), runtime: "python3.12", msg: "absolute path"},
		{name: "symlink absolute", zip: buildZip(t, zf{name: "f", body: "x"}, link("l", "/etc/passwd")), runtime: "python3.12", msg: "outside the package"},
		{name: "symlink out", zip: buildZip(t, zf{name: "f", body: "x"}, link("l", "../../etc")), runtime: "python3.12", msg: "outside the package"},
		{name: "symlink out from subdir", zip: buildZip(t, zf{name: "a/f", body: "x"}, link("a/l", "../..")), runtime: "python3.12", msg: "outside the package"},
		{name: "symlink chain out", zip: buildZip(t, zf{name: "a/b/f", body: "x"}, link("a/b/s", "../.."), link("a/b/x", "s/../..")), runtime: "python3.12", msg: "outside the package"},
		{name: "symlink loop", zip: buildZip(t, link("a", "b"), link("b", "a/c")), runtime: "python3.12", msg: "outside the package"},
		{name: "fifo", zip: buildZip(t, zf{name: "p", mode: fs.ModeNamedPipe | 0o644}), runtime: "python3.12", msg: "not a regular file"},
		{name: "provided without bootstrap", zip: ok, runtime: "provided.al2023", msg: "must contain an executable file named bootstrap at its root"},
		{name: "bootstrap not at root", zip: buildZip(t, zf{name: "bin/bootstrap", body: "x", mode: 0o755}), runtime: "provided", msg: "bootstrap"},
		{name: "bootstrap is a directory", zip: buildZip(t, zf{name: "bootstrap/", mode: fs.ModeDir | 0o755}, zf{name: "bootstrap/x", body: "x"}), runtime: "provided.al2", msg: "bootstrap"},
		{name: "unzipped too large", zip: buildZip(t, zf{name: "a", body: strings.Repeat("a", 600)}, zf{name: "b", body: strings.Repeat("b", 600)}), runtime: "python3.12", max: 1000, msg: "Unzipped size must be smaller than 1000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateZip(tt.zip, tt.runtime, tt.max)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("ValidateZip: %v", err)
				}
				return
			}
			wantFault(t, err, fault.Invalid, tt.msg)
		})
	}
}

func TestValidatePackageGo1x(t *testing.T) {
	z := buildZip(t, zf{name: "main", body: "ELF", mode: 0o755})
	if err := ValidatePackage(z, "go1.x", "main", 0); err != nil {
		t.Fatalf("go1.x with its handler: %v", err)
	}
	wantFault(t, ValidatePackage(z, "go1.x", "handler", 0), fault.Invalid, `must contain the executable "handler"`)
	// ValidateZip does not know the handler: it cannot require it.
	if err := ValidateZip(z, "go1.x", 0); err != nil {
		t.Fatalf("ValidateZip go1.x: %v", err)
	}
}

// heapGrowth runs f and reports how many bytes it allocated.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestZipBomb(t *testing.T) {
	const gib = 1 << 30
	honest := bombZip(t, "bootstrap", gib, gib)
	lying := bombZip(t, "bootstrap", gib, 100)
	if len(honest) > 8<<20 {
		t.Fatalf("bomb is %d bytes, expected a few MB", len(honest))
	}
	for _, tc := range []struct {
		name string
		zip  []byte
		msg  string
	}{
		{"honest headers", honest, "Unzipped size must be smaller than 262144000 bytes"},
		{"lying headers", lying, "Could not unzip uploaded file."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			start := time.Now()
			alloc := heapGrowth(func() { err = ValidateZip(tc.zip, "provided.al2023", 0) })
			wantFault(t, err, fault.Invalid, tc.msg)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("rejecting the bomb took %v", d)
			}
			if alloc > 64<<20 {
				t.Errorf("rejecting the bomb allocated %d MB", alloc>>20)
			}
		})
	}
	t.Run("extract", func(t *testing.T) {
		dir := t.TempDir()
		err := Extract(context.Background(), honest, dir, 1<<20)
		wantFault(t, err, fault.Invalid, "Unzipped size must be smaller than 1048576 bytes")
		fi, err := os.Stat(filepath.Join(dir, "bootstrap"))
		if err == nil && fi.Size() > 1<<20+1 {
			t.Errorf("extract wrote %d bytes, limit 1 MiB", fi.Size())
		}
	})
}

func TestExtract(t *testing.T) {
	z := buildZip(t,
		zf{name: "bin/", mode: fs.ModeDir | 0o755},
		zf{name: "bootstrap", body: "#!/bin/sh\necho hi\n", mode: 0o755},
		zf{name: "lib/data.txt", body: "data"},
		zf{name: `win\style.txt`, body: "w"},
		link("lib/link", "data.txt"),
		link("bin/up", "../lib"),
	)
	base := t.TempDir()
	dir := filepath.Join(base, "task")
	if err := Extract(context.Background(), z, dir, 0); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	check := func(name string, mode fs.FileMode, body string) {
		t.Helper()
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s mode = %v, want %v", name, fi.Mode().Perm(), mode)
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != body {
			t.Errorf("%s = %q, want %q", name, b, body)
		}
	}
	check("bootstrap", 0o755, "#!/bin/sh\necho hi\n")
	check("lib/data.txt", 0o644, "data")
	check("win/style.txt", 0o644, "w")
	check("lib/link", 0o644, "data")
	check("bin/up/data.txt", 0o644, "data")
	if target, err := os.Readlink(filepath.Join(dir, "lib/link")); err != nil || target != "data.txt" {
		t.Errorf("lib/link -> %q, %v", target, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "bin")); err != nil || !fi.IsDir() {
		t.Errorf("bin: %v", err)
	}
}

func TestExtractRejectsEscapes(t *testing.T) {
	for _, z := range [][]byte{
		buildZip(t, zf{name: "ok", body: "x"}, zf{name: "../evil", body: "x"}),
		buildZip(t, zf{name: "ok", body: "x"}, zf{name: "/tmp/evil", body: "x"}),
		buildZip(t, link("l", "../"), zf{name: "l/evil", body: "x"}),
		buildZip(t, link("l", "/tmp"), zf{name: "l/evil", body: "x"}),
		buildZip(t, zf{name: `..\evil`, body: "x"}),
	} {
		base := t.TempDir()
		dir := filepath.Join(base, "task")
		err := Extract(context.Background(), z, dir, 0)
		wantFault(t, err, fault.Invalid, "Invalid deployment package")
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if e.Name() != "task" {
				t.Errorf("Extract wrote %s outside its directory", e.Name())
			}
		}
	}
}

func TestExtractCancelled(t *testing.T) {
	z := buildZip(t, zf{name: "a", body: "x"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Extract(ctx, z, t.TempDir(), 0); err == nil {
		t.Fatal("Extract with a cancelled context succeeded")
	}
}

// FuzzValidateZip feeds arbitrary bytes (seeded with the packages in
// testdata/zips) to ValidateZip and, when it accepts them, to Extract, and
// checks that nothing panics, errors are fault.Invalid, and nothing is ever
// written outside the target directory.
func FuzzValidateZip(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "zips", "*.zip"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		err := ValidateZip(data, "provided.al2023", limit)
		if err != nil {
			if !fault.Is(err, fault.Invalid) {
				t.Fatalf("ValidateZip: %v is not fault.Invalid", err)
			}
			if err := ValidateZip(data, "python3.12", limit); err != nil {
				return
			}
		}
		base := t.TempDir()
		dir := filepath.Join(base, "task")
		_ = Extract(context.Background(), data, dir, limit)
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			if e.Name() != "task" {
				t.Fatalf("Extract wrote %s outside its directory", e.Name())
			}
		}
		var total int64
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				if real, err := filepath.EvalSymlinks(p); err == nil {
					if rel, err := filepath.Rel(dir, real); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
						t.Fatalf("symlink %s resolves to %s, outside %s", p, real, dir)
					}
				}
			}
			if d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					total += fi.Size()
				}
			}
			return nil
		})
		if total > limit {
			t.Fatalf("extracted %d bytes, limit %d", total, limit)
		}
	})
}
