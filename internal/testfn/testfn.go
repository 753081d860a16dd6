// Package testfn builds the repository's aws-lambda-go test function
// (internal/runtime/testdata/gofn: echo, errors, panics, timeouts, and
// recording the events it gets) into a provided.al2023 deployment package,
// for the tests of any package. It is imported by tests only.
package testfn

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	once      sync.Once
	bootstrap []byte
	buildErr  error
)

// Bootstrap returns the function's static linux binary, built once per
// test process with the Go toolchain.
func Bootstrap(t testing.TB) []byte {
	t.Helper()
	once.Do(func() { bootstrap, buildErr = build() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return bootstrap
}

// Zip returns a deployment package with the function as its bootstrap,
// plus extra files named extra-<i>.txt holding the given contents (to
// make packages that differ).
func Zip(t testing.TB, extra ...string) []byte {
	t.Helper()
	bin := Bootstrap(t)
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	f, err := w.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(bin)
	for i, e := range extra {
		f, err := w.Create(fmt.Sprintf("extra-%d.txt", i))
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(e))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func build() ([]byte, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("testfn: the Go toolchain is needed to build the test function: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	dir, err := os.MkdirTemp("", "lamina-testfn-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./internal/runtime/testdata/gofn")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("testfn: building the gofn fixture: %v\n%s", err, b)
	}
	return os.ReadFile(out)
}
