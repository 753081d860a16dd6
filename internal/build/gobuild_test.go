package build

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

// goWrapper returns a go command that counts its runs in a file, so tests
// can tell whether a Build started go at all.
func goWrapper(t *testing.T) (bin string, runs func() int) {
	t.Helper()
	real, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the tests need the go command on PATH:", err)
	}
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	bin = filepath.Join(dir, "go")
	script := "#!/bin/sh\necho run >> '" + count + "'\nexec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, func() int {
		data, _ := os.ReadFile(count)
		return strings.Count(string(data), "run")
	}
}

// checkStaticLinux checks that bin is a statically linked linux executable
// for machine and that the kernel runs it (outside Lambda it exits at once,
// complaining about the missing runtime API).
func checkStaticLinux(t *testing.T, bin []byte, machine elf.Machine) {
	t.Helper()
	if !bytes.HasPrefix(bin, []byte("\x7fELF")) {
		t.Fatalf("bootstrap is not an ELF file: % x", bin[:min(16, len(bin))])
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != machine || f.Type != elf.ET_EXEC || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		t.Fatalf("bootstrap: machine %v type %v osabi %v, want %v ET_EXEC linux", f.Machine, f.Type, f.OSABI, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("bootstrap has a %v program header: not static", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("bootstrap needs shared libraries %v", libs)
	}
}

func runBootstrap(t *testing.T, bin []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(path, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path)
	cmd.Env = []string{} // no AWS_LAMBDA_RUNTIME_API: aws-lambda-go gives up
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestGoBuild follows one Go function through the builds a deploy and its
// redeploys make: first build, cache hit (from a new Builder, without
// starting go), an edit that does not matter, an edit in a sibling package
// that does, and a compile error. It compiles the sample three times.
func TestGoBuild(t *testing.T) {
	mod := copyTree(t, "gofn")
	cache := t.TempDir()
	goBin, runs := goWrapper(t)
	var progress bytes.Buffer
	newB := func() *Builder {
		b, err := New(Options{CacheDir: cache, GoBinary: goBin, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	spec := Spec{Name: "HelloFunction", TemplateDir: mod, CodeURI: "cmd/hello", Runtime: "provided.al2023",
		Handler: "bootstrap", Architecture: "x86_64", Env: offlineEnv}

	first := mustBuild(t, newB(), spec)
	if first.Kind != KindGo || first.Cached || runs() != 1 {
		t.Fatalf("first build: kind %s cached %v go runs %d, want go, false, 1", first.Kind, first.Cached, runs())
	}
	files := readZip(t, first.Zip)
	if got := files.names(); len(got) != 1 || got[0] != "bootstrap" {
		t.Fatalf("zip entries %v, want [bootstrap]", got)
	}
	if m := files["bootstrap"].mode; m.Perm() != 0o755 || !m.IsRegular() {
		t.Fatalf("bootstrap mode %v, want -rwxr-xr-x", m)
	}
	checkStaticLinux(t, files["bootstrap"].data, elf.EM_X86_64)
	if out := runBootstrap(t, files["bootstrap"].data); !strings.Contains(out, "AWS_LAMBDA_RUNTIME_API") {
		t.Fatalf("running the bootstrap outside Lambda said %q, want aws-lambda-go's complaint about AWS_LAMBDA_RUNTIME_API", out)
	}
	if !strings.Contains(progress.String(), "building HelloFunction (go, linux/amd64)… ") {
		t.Fatalf("progress %q", progress.String())
	}

	// A new Builder (a new `lamina deploy`) over the same cache: no go run.
	progress.Reset()
	second := mustBuild(t, newB(), spec)
	if !second.Cached || second.SHA256 != first.SHA256 || runs() != 1 {
		t.Fatalf("second build: cached %v same sha %v go runs %d, want true, true, 1", second.Cached, second.SHA256 == first.SHA256, runs())
	}
	if got := progress.String(); got != "building HelloFunction (go, linux/amd64)… cached\n" {
		t.Fatalf("progress %q", got)
	}

	b := newB()
	// Test files and dot-directories never reach the binary.
	write(t, filepath.Join(mod, "cmd/hello/main_test.go"), "package main\n\n// edited\n")
	write(t, filepath.Join(mod, ".lamina/data/x"), "platform data")
	if art := mustBuild(t, b, spec); !art.Cached || runs() != 1 {
		t.Fatalf("after editing a test file: cached %v go runs %d, want true, 1", art.Cached, runs())
	}

	// A package the function does not import, a sibling function and a
	// file outside any package it imports do not count.
	write(t, filepath.Join(mod, "notmain/notmain.go"), "package notmain\n\n// edited\n")
	write(t, filepath.Join(mod, "cmd/other/main.go"), "package main\n\nfunc main() {}\n")
	write(t, filepath.Join(mod, "README.md"), "# edited\n")
	if art := mustBuild(t, b, spec); !art.Cached || runs() != 1 {
		t.Fatalf("after editing code the function does not import: cached %v go runs %d, want true, 1", art.Cached, runs())
	}
	// go.mod does.
	gomod, err := os.ReadFile(filepath.Join(mod, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mod, "go.mod"), string(gomod)+"\n// edited\n")
	if art := mustBuild(t, b, spec); art.Cached || runs() != 2 {
		t.Fatalf("after editing go.mod: cached %v go runs %d, want false, 2", art.Cached, runs())
	}

	// The function imports greet: editing it must rebuild.
	write(t, filepath.Join(mod, "greet/greet.go"), "package greet\n\nfunc Hello(name string) string { return \"hi, \" + name }\n")
	third := mustBuild(t, b, spec)
	if third.Cached || runs() != 3 || third.SHA256 == first.SHA256 {
		t.Fatalf("after editing a sibling package: cached %v go runs %d sha changed %v, want false, 3, true", third.Cached, runs(), third.SHA256 != first.SHA256)
	}

	write(t, filepath.Join(mod, "greet/greet.go"), "package greet\n\nfunc Hello(name string) string { return \"hi, \" + name\n")
	_, err = b.Build(context.Background(), spec)
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.Invalid {
		t.Fatalf("compile error: got %v, want a fault.Invalid", err)
	}
	for _, want := range []string{"HelloFunction", `CodeUri "cmd/hello"`, "go build failed", "greet/greet.go:4:", "syntax error"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("compile error %q does not mention %q", err, want)
		}
	}
	if !strings.HasSuffix(progress.String(), "building HelloFunction (go, linux/amd64)… failed\n") {
		t.Errorf("progress after the failure %q", progress.String())
	}
	if runs() != 4 {
		t.Fatalf("go runs %d, want 4", runs())
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoBuildGo1xHandler checks that the go1.x runtime gets its executable
// under the handler's name (Lamina's go1.x starts <code>/<Handler>), for
// arm64, built because Metadata says BuildMethod go1.x.
func TestGoBuildGo1xHandler(t *testing.T) {
	mod := copyTree(t, "gofn")
	b := newBuilder(t, t.TempDir(), nil)
	art := mustBuild(t, b, Spec{Name: "Legacy", TemplateDir: filepath.Join(mod, "cmd"), CodeURI: "hello/",
		Runtime: "go1.x", Handler: "hello", Architecture: "arm64", BuildMethod: "go1.x", Env: offlineEnv})
	files := readZip(t, art.Zip)
	if got := files.names(); len(got) != 1 || got[0] != "hello" {
		t.Fatalf("zip entries %v, want [hello]", got)
	}
	checkStaticLinux(t, files["hello"].data, elf.EM_AARCH64)
}

// TestGoBuildSourcesChangedMeanwhile: a save that lands while go runs must
// not leave a binary in the cache under the sources from before the save,
// or reverting that save would deploy the saved version.
func TestGoBuildSourcesChangedMeanwhile(t *testing.T) {
	mod := copyTree(t, "gofn")
	real, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	greet := filepath.Join(mod, "greet/greet.go")
	original, err := os.ReadFile(greet)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "go")
	count := bin + ".runs"
	// The first run edits greet.go as an editor would, then builds.
	script := "#!/bin/sh\necho run >> '" + count + "'\n" +
		"if [ ! -e '" + count + ".edited' ]; then touch '" + count + ".edited'; echo '// saved meanwhile' >> '" + greet + "'; fi\n" +
		"exec '" + real + "' \"$@\"\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{CacheDir: t.TempDir(), GoBinary: bin})
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{TemplateDir: mod, CodeURI: "cmd/hello", Runtime: "provided.al2023", Env: offlineEnv}
	mustBuild(t, b, spec)
	if err := os.WriteFile(greet, original, 0o644); err != nil {
		t.Fatal(err)
	}
	if art := mustBuild(t, b, spec); art.Cached {
		t.Fatal("the build that raced with a save was reused for the sources from before it")
	}
	if data, _ := os.ReadFile(count); strings.Count(string(data), "run") != 2 {
		t.Fatalf("go ran %d times, want 2", strings.Count(string(data), "run"))
	}
}
