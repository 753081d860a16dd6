package build

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// copyTree copies testdata/<name> into a fresh temporary directory, so tests
// may edit it, and returns the copy's path.
func copyTree(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("testdata", name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func newBuilder(t *testing.T, cacheDir string, progress io.Writer) *Builder {
	t.Helper()
	b, err := New(Options{CacheDir: cacheDir, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// offlineEnv makes the go command use only the module cache, as the brief
// for these tests requires: the sample must build without a network.
var offlineEnv = []string{"GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local"}

func mustBuild(t *testing.T, b *Builder, spec Spec) Artifact {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	art, err := b.Build(ctx, spec)
	if err != nil {
		t.Fatalf("Build(%s): %v", spec.Name, err)
	}
	if art.SHA256 != codeSHA256(art.Zip) {
		t.Fatalf("SHA256 %s does not match the zip", art.SHA256)
	}
	onDisk, err := os.ReadFile(art.ZipPath)
	if err != nil || !bytes.Equal(onDisk, art.Zip) {
		t.Fatalf("ZipPath %s does not hold the zip (err %v)", art.ZipPath, err)
	}
	return art
}

// unzipped is a package's entries: name → mode and content.
type unzipped map[string]struct {
	mode fs.FileMode
	data []byte
}

func (u unzipped) names() []string {
	var n []string
	for k := range u {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

func readZip(t *testing.T, data []byte) unzipped {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	out := unzipped{}
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
		out[f.Name] = struct {
			mode fs.FileMode
			data []byte
		}{f.Mode(), b}
	}
	return out
}
