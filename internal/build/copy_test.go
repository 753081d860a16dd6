package build

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestCopyPackages(t *testing.T) {
	tests := []struct {
		dir, runtime, handler string
		want                  []string // entries, sorted
		exec                  []string // entries with mode 0755
	}{
		{dir: "python", runtime: "python3.12", handler: "app.handler", want: []string{"app.py", "requirements.txt"}},
		{dir: "node", runtime: "nodejs20.x", handler: "index.handler",
			want: []string{"index.js", "node_modules/leftpad/index.js", "node_modules/leftpad/package.json"}},
		{dir: "provided", runtime: "provided.al2", handler: "bootstrap", want: []string{"bootstrap"}, exec: []string{"bootstrap"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := copyTree(t, tt.dir)
			// What a checkout and a previous sam build leave behind.
			write(t, filepath.Join(dir, ".git/HEAD"), "ref: refs/heads/main\n")
			write(t, filepath.Join(dir, ".aws-sam/build/x"), "old build")
			spec := Spec{Name: "Fn", TemplateDir: filepath.Dir(dir), CodeURI: "./" + tt.dir, Runtime: tt.runtime, Handler: tt.handler}

			var progress bytes.Buffer
			b := newBuilder(t, t.TempDir(), &progress)
			first := mustBuild(t, b, spec)
			if first.Kind != KindCopy || first.Cached {
				t.Fatalf("kind %s cached %v, want copy, false", first.Kind, first.Cached)
			}
			files := readZip(t, first.Zip)
			if got := files.names(); !slices.Equal(got, tt.want) {
				t.Fatalf("entries %v, want %v", got, tt.want)
			}
			for name, f := range files {
				want := os.FileMode(0o644)
				if slices.Contains(tt.exec, name) {
					want = 0o755
				}
				if f.mode.Perm() != want {
					t.Errorf("%s: mode %v, want %v", name, f.mode.Perm(), want)
				}
				src, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || !bytes.Equal(src, f.data) {
					t.Errorf("%s: content differs from the source (err %v)", name, err)
				}
			}
			if !strings.HasPrefix(progress.String(), "packaging Fn (copy, "+tt.runtime+")… ") {
				t.Errorf("progress %q", progress.String())
			}

			if again := mustBuild(t, b, spec); !again.Cached || again.SHA256 != first.SHA256 {
				t.Fatalf("second build: cached %v, same sha %v", again.Cached, again.SHA256 == first.SHA256)
			}
			// Deterministic: a new cache, new file times, the same bytes.
			now := b.clk.Now()
			for _, name := range tt.want {
				if err := os.Chtimes(filepath.Join(dir, name), now, now); err != nil {
					t.Fatal(err)
				}
			}
			fresh := mustBuild(t, newBuilder(t, t.TempDir(), nil), spec)
			if fresh.Cached || fresh.SHA256 != first.SHA256 {
				t.Fatalf("fresh build: cached %v, same sha %v", fresh.Cached, fresh.SHA256 == first.SHA256)
			}
			// Any content change is a new package.
			write(t, filepath.Join(dir, tt.want[0]), "changed")
			if changed := mustBuild(t, b, spec); changed.Cached || changed.SHA256 == first.SHA256 {
				t.Fatalf("after a change: cached %v, same sha %v", changed.Cached, changed.SHA256 == first.SHA256)
			}
		})
	}
}

// TestConcurrentBuilds: the deployer builds functions in parallel with one
// Builder.
func TestConcurrentBuilds(t *testing.T) {
	b := newBuilder(t, t.TempDir(), io.Discard)
	specs := []Spec{
		{Name: "Py", TemplateDir: copyTree(t, "python"), Runtime: "python3.13"},
		{Name: "Node", TemplateDir: copyTree(t, "node"), Runtime: "nodejs22.x"},
		{Name: "Py2", TemplateDir: copyTree(t, "python"), Runtime: "python3.13"},
	}
	var wg sync.WaitGroup
	shas := make([]string, len(specs))
	for i, s := range specs {
		wg.Go(func() {
			art, err := b.Build(context.Background(), s)
			if err != nil {
				t.Error(err)
				return
			}
			shas[i] = art.SHA256
		})
	}
	wg.Wait()
	if shas[0] != shas[2] || shas[0] == shas[1] {
		t.Fatalf("shas %v: the two copies of one directory must match, and differ from the other", shas)
	}
}

// TestCopyFollowsSymlinks: links are packaged as what they point at (as
// sam build does), so links out of the directory still work once deployed;
// a loop is an error, not an endless zip.
func TestCopyFollowsSymlinks(t *testing.T) {
	dir := copyTree(t, "node")
	shared := filepath.Join(t.TempDir(), "shared")
	write(t, filepath.Join(shared, "util.js"), "module.exports = 1;\n")
	if err := os.Symlink(shared, filepath.Join(dir, "shared")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("index.js", filepath.Join(dir, "main.js")); err != nil {
		t.Fatal(err)
	}
	b := newBuilder(t, t.TempDir(), nil)
	spec := Spec{TemplateDir: dir, Runtime: "nodejs22.x", Handler: "index.handler"} // CodeUri "" is the template dir
	files := readZip(t, mustBuild(t, b, spec).Zip)
	if string(files["shared/util.js"].data) != "module.exports = 1;\n" || !bytes.Equal(files["main.js"].data, files["index.js"].data) {
		t.Fatalf("links not followed: entries %v", files.names())
	}

	if err := os.Symlink("..", filepath.Join(dir, "node_modules", "loop")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Build(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "symbolic link loop") {
		t.Fatalf("loop: got %v", err)
	}
}

func TestZipCodeURI(t *testing.T) {
	dir := t.TempDir()
	mkzip := func(name string, entries map[string]string) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for n, c := range entries {
			h := &zip.FileHeader{Name: n}
			h.SetMode(0o755)
			w, _ := zw.CreateHeader(h)
			w.Write([]byte(c))
		}
		zw.Close()
		write(t, filepath.Join(dir, name), buf.String())
	}
	mkzip("good.zip", map[string]string{"bootstrap": "#!/bin/sh\n"})
	mkzip("nobootstrap.ZIP", map[string]string{"main.py": "x"})
	write(t, filepath.Join(dir, "corrupt.zip"), "PK\x03\x04 this is not a zip")
	write(t, filepath.Join(dir, "code.jar"), "not a zip name")

	b := newBuilder(t, t.TempDir(), nil)
	art := mustBuild(t, b, Spec{Name: "Fn", TemplateDir: dir, CodeURI: "good.zip", Runtime: "provided.al2023"})
	src, _ := os.ReadFile(filepath.Join(dir, "good.zip"))
	if art.Kind != KindZip || !bytes.Equal(art.Zip, src) || art.ZipPath != filepath.Join(dir, "good.zip") {
		t.Fatalf("pass-through: kind %s, same bytes %v, path %s", art.Kind, bytes.Equal(art.Zip, src), art.ZipPath)
	}

	for _, tt := range []struct{ uri, runtime, want string }{
		{"corrupt.zip", "python3.12", "Could not unzip"},
		{"nobootstrap.ZIP", "provided.al2023", "bootstrap"},
		{"code.jar", "java21", "neither a directory nor a .zip"},
	} {
		_, err := b.Build(context.Background(), Spec{Name: "Fn", TemplateDir: dir, CodeURI: tt.uri, Runtime: tt.runtime})
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Kind != fault.Invalid || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.uri) {
			t.Errorf("%s: got %v, want a fault.Invalid naming it and saying %q", tt.uri, err, tt.want)
		}
	}
}
