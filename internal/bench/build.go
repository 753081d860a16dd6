package bench

import (
	"archive/zip"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

//go:embed echofn/main.go
var echoSource []byte

//go:embed httpfn/main.go
var httpSource []byte

//go:embed noopfn/main.go
var noopSource []byte

// Pinned so the benchmark builds the same function on every machine.
const lambdaGoModule = "github.com/aws/aws-lambda-go v1.55.1"

// buildPrograms compiles the benchmark function (as a static linux
// bootstrap) and the baseline server into dir, from sources embedded in
// this binary, so the benchmark works outside the source tree too.
func buildPrograms(ctx context.Context, dir string) (bootstrap, baseline string, err error) {
	if bootstrap, err = buildProgram(ctx, dir, "echofn", echoSource, "lambda.norpc"); err != nil {
		return "", "", err
	}
	if baseline, err = buildProgram(ctx, dir, "httpfn", httpSource); err != nil {
		return "", "", err
	}
	return bootstrap, baseline, nil
}

// buildNoop compiles the do-nothing aws-lambda-go function into dir.
func buildNoop(ctx context.Context, dir string) (string, error) {
	return buildProgram(ctx, dir, "noopfn", noopSource, "lambda.norpc")
}

// buildProgram compiles the one-file program src as dir/name, in a module
// of its own that requires aws-lambda-go.
func buildProgram(ctx context.Context, dir, name string, src []byte, tags ...string) (string, error) {
	mod := filepath.Join(dir, name+"-src")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return "", err
	}
	gomod := "module laminabench/" + name + "\n\ngo 1.26\n\nrequire " + lambdaGoModule + "\n"
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), src, 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", tags[0])
	}
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir = mod
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=mod")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", name, err, msg)
	}
	return out, nil
}

// zipBootstrap packages the executable at path as a function's bootstrap,
// with extra (if not nil) as a second file so that each package is distinct.
func zipBootstrap(path string, extra []byte) ([]byte, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(bin); err != nil {
		return nil, err
	}
	if extra != nil {
		w, err := zw.Create("nonce.txt")
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(extra); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
