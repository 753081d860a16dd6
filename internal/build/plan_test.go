package build

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestPlan(t *testing.T) {
	td, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                   string
		spec                   Spec
		kind                   Kind
		entry, goarch, modRoot string
		err                    string // substring of the error; "" = no error
	}{
		{name: "provided go main", spec: Spec{CodeURI: "gofn/cmd/hello", Runtime: "provided.al2023"},
			kind: KindGo, entry: "bootstrap", goarch: "amd64", modRoot: "gofn"},
		{name: "provided arm64", spec: Spec{CodeURI: "gofn/cmd/hello", Runtime: "provided.al2", Architecture: "arm64"},
			kind: KindGo, entry: "bootstrap", goarch: "arm64", modRoot: "gofn"},
		{name: "build method go1.x", spec: Spec{CodeURI: "gofn/cmd/hello", Runtime: "provided.al2023", BuildMethod: "go1.x"},
			kind: KindGo, entry: "bootstrap", goarch: "amd64", modRoot: "gofn"},
		{name: "go1.x runtime names the handler", spec: Spec{CodeURI: "gofn/cmd/hello", Runtime: "go1.x", Handler: "./bin/hello"},
			kind: KindGo, entry: "bin/hello", goarch: "amd64", modRoot: "gofn"},
		{name: "python is copied even over Go code", spec: Spec{CodeURI: "gofn/cmd/hello", Runtime: "python3.12"}, kind: KindCopy, goarch: "amd64"},
		{name: "node with its build method", spec: Spec{CodeURI: "node", Runtime: "nodejs20.x", BuildMethod: "nodejs20.x"}, kind: KindCopy, goarch: "amd64"},
		{name: "prebuilt bootstrap", spec: Spec{CodeURI: "provided/", Runtime: "provided"}, kind: KindCopy, goarch: "amd64"},
		{name: "zip", spec: Spec{CodeURI: "x.zip", Runtime: "python3.12"}, err: "does not exist"},
		{name: "missing dir", spec: Spec{Name: "Fn", CodeURI: "nowhere", Runtime: "python3.12"}, err: `Fn: CodeUri "nowhere": ` + filepath.Join(td, "nowhere") + " does not exist"},
		{name: "s3", spec: Spec{CodeURI: "s3://bucket/key.zip", Runtime: "python3.12"}, err: "only local paths"},
		{name: "architecture", spec: Spec{CodeURI: "node", Runtime: "nodejs20.x", Architecture: "ppc64"}, err: `unsupported architecture "ppc64"`},
		{name: "library, no bootstrap", spec: Spec{CodeURI: "gofn/notmain", Runtime: "provided.al2023"}, err: "needs an executable bootstrap"},
		{name: "go1.x method on a library", spec: Spec{CodeURI: "gofn/notmain", Runtime: "provided.al2023", BuildMethod: "go1.x"}, err: "is not a main package"},
		{name: "go1.x method without Go files", spec: Spec{CodeURI: "python", Runtime: "provided.al2023", BuildMethod: "go1.x"}, err: "has no Go files"},
		{name: "go1.x handler outside", spec: Spec{CodeURI: "gofn/cmd/hello", Runtime: "go1.x", Handler: "../hello"}, err: "must name an executable inside the package"},
		{name: "go1.x without handler", spec: Spec{CodeURI: "gofn/cmd/hello", Runtime: "go1.x"}, err: "must name an executable inside the package"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.TemplateDir = td
			p, err := plan(tt.spec)
			if tt.err != "" {
				var fe *fault.Error
				if !errors.As(err, &fe) || fe.Kind != fault.Invalid || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want a fault.Invalid containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.kind != tt.kind || p.entry != tt.entry || p.goarch != tt.goarch {
				t.Fatalf("kind %s entry %q goarch %s, want %s %q %s", p.kind, p.entry, p.goarch, tt.kind, tt.entry, tt.goarch)
			}
			if tt.modRoot != "" && p.moduleRoot != filepath.Join(td, tt.modRoot) {
				t.Fatalf("module root %s, want %s", p.moduleRoot, filepath.Join(td, tt.modRoot))
			}
		})
	}
}

func TestPlanWithoutModule(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "main.go"), "package main\n\nfunc main() {}\n")
	write(t, filepath.Join(dir, "bootstrap"), "#!/bin/sh\n")
	_, err := plan(Spec{TemplateDir: dir, Runtime: "provided.al2023", BuildMethod: "go1.x"})
	if err == nil || !strings.Contains(err.Error(), "BuildMethod go1.x: no go.mod in "+dir+" or any directory above it") {
		t.Fatalf("got %v", err)
	}
	// Without the build method, a provided* directory outside a module is
	// a prebuilt package.
	p, err := plan(Spec{TemplateDir: dir, Runtime: "provided.al2023"})
	if err != nil || p.kind != KindCopy {
		t.Fatalf("got %v, %v; want a copy", p, err)
	}
}

func TestLocalReplacements(t *testing.T) {
	gomod := `module example.com/app

go 1.26

require example.com/lib v0.0.0

replace example.com/lib => ../lib // a sibling checkout
replace example.com/fork v1.2.3 => github.com/me/fork v1.2.4
replace (
	example.com/a => ./third_party/a
	example.com/b v1.0.0 => "/opt/src/b"
	example.com/c => example.com/c2 v1.0.0
)
// replace example.com/d => ./commented
`
	want := []string{"../lib", "./third_party/a", "/opt/src/b"}
	for i := range want {
		want[i] = filepath.FromSlash(want[i])
	}
	if got := localReplacements([]byte(gomod)); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTrimOutput(t *testing.T) {
	var long []string
	for i := range 100 {
		long = append(long, "./main.go:"+string(rune('0'+i%10))+": undefined: x")
	}
	got := trimOutput([]byte(strings.Join(long, "\n") + "\n"))
	if lines := strings.Split(got, "\n"); len(lines) != 31 || lines[30] != "… (70 more lines)" {
		t.Fatalf("trimmed to %d lines, last %q", len(lines), lines[len(lines)-1])
	}
	if got := trimOutput([]byte("# example.com/x\n./a.go:1:1: oops\n")); got != "# example.com/x\n./a.go:1:1: oops" {
		t.Fatalf("short output changed: %q", got)
	}
}
