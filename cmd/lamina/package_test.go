package main

import (
	"archive/zip"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// file is a file to create in a test tree.
type file struct {
	content string
	mode    fs.FileMode
}

// writeTree creates files (slash-separated names) under dir.
func writeTree(t *testing.T, dir string, files map[string]file) {
	t.Helper()
	for name, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(p, []byte(f.content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // not subject to umask
			t.Fatal(err)
		}
	}
}

// zipEntry is what a test checks of a zip entry.
type zipEntry struct {
	mode    fs.FileMode
	content []byte
	mod     time.Time
}

func readEntries(t *testing.T, data []byte) (names []string, entries map[string]zipEntry) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	entries = map[string]zipEntry{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, f.Name)
		entries[f.Name] = zipEntry{mode: f.Mode(), content: b, mod: f.Modified}
	}
	return names, entries
}

func mustPackage(t *testing.T, o packageOptions) *codePackage {
	t.Helper()
	var log bytes.Buffer
	if o.Log == nil {
		o.Log = &log
	}
	p, err := packageCode(t.Context(), o)
	if err != nil {
		t.Fatalf("packageCode: %v\n%s", err, log.String())
	}
	return p
}

func TestZipIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{
		"app.py":         {content: "def handler(e, c):\n    return 1\n"},
		"lib/z.py":       {content: "z = 1\n"},
		"lib/a.py":       {content: "a = 1\n"},
		"bin/tool":       {content: "#!/bin/sh\n", mode: 0o700},
		"data/empty.txt": {},
	})
	o := packageOptions{Path: dir, Runtime: "python3.12", Handler: "app.handler"}
	first := mustPackage(t, o)

	// Other times stamps and permission bits beyond "executable or not"
	// do not change the bytes.
	later := time.Now().Add(48 * time.Hour)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		return os.Chtimes(p, later, later)
	})
	os.Chmod(filepath.Join(dir, "bin/tool"), 0o755)
	os.Chmod(filepath.Join(dir, "app.py"), 0o600)
	second := mustPackage(t, o)

	if !bytes.Equal(first.Zip, second.Zip) {
		t.Fatal("the same files gave different zips")
	}
	if first.Files != 5 {
		t.Errorf("Files = %d, want 5", first.Files)
	}
	names, entries := readEntries(t, first.Zip)
	if !slices.IsSorted(names) {
		t.Errorf("entries not sorted: %v", names)
	}
	for name, e := range entries {
		if !e.mod.Equal(zipEpoch) {
			t.Errorf("%s: modified %v, want %v", name, e.mod, zipEpoch)
		}
	}
	if got := entries["lib/a.py"].content; string(got) != "a = 1\n" {
		t.Errorf("lib/a.py = %q", got)
	}
}

func TestZipModesAndExclusions(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{
		"index.js":            {content: "exports.handler = async () => 1\n"},
		"run.sh":              {content: "#!/bin/sh\n", mode: 0o755},
		"secret.txt":          {content: "x", mode: 0o600},
		"main.go":             {content: "package main\n"}, // not built for nodejs: kept
		".git/config":         {content: "[core]\n"},
		"sub/.git/HEAD":       {content: "ref\n"},
		".lamina/store/x":     {content: "data"},
		"sub/.lamina/kept":    {content: "only the root .lamina is Lamina's"},
		".gitignore":          {content: "node_modules\n"},
		"node_modules/a/a.js": {content: "1"},
	})
	if err := os.Symlink("index.js", filepath.Join(dir, "link.js")); err != nil {
		t.Fatal(err)
	}
	p := mustPackage(t, packageOptions{Path: dir, Runtime: "nodejs20.x", Handler: "index.handler"})
	names, entries := readEntries(t, p.Zip)
	want := []string{".gitignore", "index.js", "link.js", "main.go", "node_modules/a/a.js", "run.sh", "secret.txt", "sub/.lamina/kept"}
	if !slices.Equal(names, want) {
		t.Fatalf("entries = %v\nwant      %v", names, want)
	}
	for name, mode := range map[string]fs.FileMode{"run.sh": 0o755, "index.js": 0o644, "secret.txt": 0o644} {
		if got := entries[name].mode; got != mode {
			t.Errorf("%s: mode %v, want %v", name, got, mode)
		}
	}
	if string(entries["link.js"].content) != string(entries["index.js"].content) {
		t.Error("symbolic link not followed")
	}
}

func TestZipFileIsUploadedAsIs(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"a.txt": {content: "a"}, "b/c.txt": {content: "c"}})
	built := mustPackage(t, packageOptions{Path: dir, Runtime: "python3.12"})
	zipPath := filepath.Join(t.TempDir(), "fn.ZIP")
	if err := os.WriteFile(zipPath, built.Zip, 0o644); err != nil {
		t.Fatal(err)
	}
	p := mustPackage(t, packageOptions{Path: zipPath, Runtime: "provided.al2023"})
	if !bytes.Equal(p.Zip, built.Zip) || p.Files != 2 {
		t.Errorf("zip not passed through: %d files", p.Files)
	}

	notZip := filepath.Join(t.TempDir(), "fn.zip")
	os.WriteFile(notZip, []byte("not a zip"), 0o644)
	if _, err := packageCode(t.Context(), packageOptions{Path: notZip}); err == nil || !strings.Contains(err.Error(), "not a valid zip") {
		t.Errorf("bad zip: %v", err)
	}
}

func TestPackageErrors(t *testing.T) {
	empty := t.TempDir()
	lib := t.TempDir()
	writeTree(t, lib, map[string]file{"go.mod": {content: "module example.com/lib\n"}, "lib.go": {content: "package lib\n"}})
	text := filepath.Join(t.TempDir(), "fn.txt")
	os.WriteFile(text, []byte("x"), 0o644)

	for _, tt := range []struct {
		name string
		o    packageOptions
		want string
	}{
		{"missing path", packageOptions{Path: filepath.Join(empty, "nope"), Runtime: "python3.12"}, "does not exist"},
		{"neither dir nor zip", packageOptions{Path: text, Runtime: "python3.12"}, "neither a directory nor a .zip"},
		{"empty dir", packageOptions{Path: empty, Runtime: "python3.12"}, "no files to package"},
		{"provided without bootstrap", packageOptions{Path: empty, Runtime: "provided.al2023"}, `neither that file nor a Go main package`},
		{"go.mod without main", packageOptions{Path: lib, Runtime: "provided.al2"}, "has a go.mod but no package main"},
		{"go1.x handler outside", packageOptions{Path: empty, Runtime: "go1.x", Handler: "../x"}, "must name a file inside"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := packageCode(t.Context(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestIsGoMainPackage(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string]file
		want  bool
		err   bool
	}{
		{name: "empty", files: map[string]file{}},
		{name: "not Go", files: map[string]file{"app.py": {content: "x"}}},
		{name: "main", files: map[string]file{"main.go": {content: "package main\nfunc main() {}\n"}}, want: true},
		{name: "main without go.mod, other files", files: map[string]file{"a.go": {content: "package main\n"}, "b.txt": {}}, want: true},
		{name: "library", files: map[string]file{"go.mod": {content: "module x\n"}, "lib.go": {content: "package lib\n"}}},
		{name: "only tests", files: map[string]file{"x_test.go": {content: "package main\n"}}},
		{name: "main only on windows", files: map[string]file{"main.go": {content: "//go:build windows\n\npackage main\n"}}},
		{name: "main for linux by file name", files: map[string]file{"main_linux.go": {content: "package main\n"}}, want: true},
		{name: "mixed packages", files: map[string]file{"a.go": {content: "package main\n"}, "b.go": {content: "package other\n"}}, err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			got, err := isGoMainPackage(dir)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("isGoMainPackage = %v, %v; want %v, error %v", got, err, tt.want, tt.err)
			}
		})
	}
}

// helloModule is a Go main package with no dependencies, so it builds offline.
var helloModule = map[string]file{
	"go.mod":       {content: "module example.com/hello\n\ngo 1.22\n"},
	"main.go":      {content: "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n"},
	"config.json":  {content: `{"greeting":"hello"}`},
	"main_test.go": {content: "package main\n"},
}

func requireGo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not on PATH")
	}
}

func TestPackageBuildsGoBootstrap(t *testing.T) {
	requireGo(t)
	for _, tt := range []struct {
		runtime, handler, arch, exe string
		machine                     elf.Machine
	}{
		{"provided.al2023", "", "x86_64", "bootstrap", elf.EM_X86_64},
		{"provided.al2", "", "arm64", "bootstrap", elf.EM_AARCH64},
		{"go1.x", "hello", "", "hello", elf.EM_X86_64},
	} {
		t.Run(tt.runtime+"/"+tt.arch, func(t *testing.T) {
			if tt.arch == "arm64" && testing.Short() {
				t.Skip("cross-compiling the standard library for arm64 is slow the first time")
			}
			dir := t.TempDir()
			writeTree(t, dir, helloModule)
			var log bytes.Buffer
			p := mustPackage(t, packageOptions{Path: dir, Runtime: tt.runtime, Handler: tt.handler, Arch: tt.arch, Log: &log})
			if p.Built != tt.exe {
				t.Errorf("Built = %q, want %q", p.Built, tt.exe)
			}
			if !strings.Contains(log.String(), "building "+tt.exe) {
				t.Errorf("no progress line; log:\n%s", log.String())
			}
			names, entries := readEntries(t, p.Zip)
			want := []string{tt.exe, "config.json"}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("entries = %v, want %v (Go sources left out)", names, want)
			}
			e := entries[tt.exe]
			if e.mode != 0o755 {
				t.Errorf("%s mode = %v, want 0755", tt.exe, e.mode)
			}
			bin, err := elf.NewFile(bytes.NewReader(e.content))
			if err != nil {
				t.Fatalf("%s is not an ELF executable: %v", tt.exe, err)
			}
			if bin.Machine != tt.machine || bin.Type != elf.ET_EXEC {
				t.Errorf("ELF machine %v type %v, want %v ET_EXEC", bin.Machine, bin.Type, tt.machine)
			}
			if bin.Section(".interp") != nil {
				t.Error("binary is dynamically linked; want CGO_ENABLED=0")
			}
		})
	}
}

func TestPackageKeepsReadyBootstrap(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{
		"bootstrap": {content: "#!/bin/sh\nexec ./app\n", mode: 0o644}, // exec bit lost
		"main.go":   {content: "package main\nfunc main() {}\n"},
	})
	p := mustPackage(t, packageOptions{Path: dir, Runtime: "provided.al2023"})
	if p.Built != "" {
		t.Fatal("built although a bootstrap was there")
	}
	names, entries := readEntries(t, p.Zip)
	if !slices.Equal(names, []string{"bootstrap", "main.go"}) {
		t.Errorf("entries = %v", names)
	}
	if entries["bootstrap"].mode != 0o755 {
		t.Errorf("bootstrap mode = %v, want 0755", entries["bootstrap"].mode)
	}
}

func TestPackageBuildFailureIsShown(t *testing.T) {
	requireGo(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{
		"go.mod":  {content: "module example.com/broken\n\ngo 1.22\n"},
		"main.go": {content: "package main\n\nfunc main() { undefinedThing() }\n"},
	})
	var log bytes.Buffer
	_, err := packageCode(t.Context(), packageOptions{Path: dir, Runtime: "provided.al2023", Log: &log})
	if err == nil || !strings.Contains(err.Error(), "go build") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(log.String(), "undefined: undefinedThing") {
		t.Errorf("compiler errors not streamed; log:\n%s", log.String())
	}
}

func TestPackageWithoutGoCommand(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, helloModule)
	t.Setenv("PATH", t.TempDir())
	_, err := packageCode(t.Context(), packageOptions{Path: dir, Runtime: "provided.al2023"})
	if !errors.Is(err, errNoGo) {
		t.Fatalf("err = %v, want errNoGo", err)
	}
}

func TestLambdaArch(t *testing.T) {
	for in, want := range map[string][2]string{"": {"x86_64", "amd64"}, "x86_64": {"x86_64", "amd64"}, "amd64": {"x86_64", "amd64"}, "arm64": {"arm64", "arm64"}, "aarch64": {"arm64", "arm64"}} {
		name, goarch, err := lambdaArch(in)
		if err != nil || name != want[0] || goarch != want[1] {
			t.Errorf("lambdaArch(%q) = %q, %q, %v", in, name, goarch, err)
		}
	}
	if _, _, err := lambdaArch("mips"); err == nil {
		t.Error("lambdaArch(mips) succeeded")
	}
}
