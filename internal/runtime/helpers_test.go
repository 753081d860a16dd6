package runtime

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/telemetry"
)

// lambdaGoVersion is used when the main module does not require
// aws-lambda-go itself (go mod tidy drops it: only testdata imports it).
const lambdaGoVersion = "v1.55.1"

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildBinaries builds testdata/gofn (the aws-lambda-go test function) and
// testdata/httpecho (the one-hop baseline of the benchmarks) once per run.
func buildBinaries(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "lamina-runtime-test-")
		if buildErr != nil {
			return
		}
		buildErr = goBuild(buildDir)
	})
	if buildErr != nil {
		tb.Fatalf("building the test functions: %v", buildErr)
	}
	return buildDir
}

func goBuild(dir string) error {
	args := []string{"build", "-trimpath", "-tags", "lambda.norpc", "-ldflags", "-s -w"}
	env := append(os.Environ(), "CGO_ENABLED=0")
	if out, err := exec.Command("go", "list", "-m", "github.com/aws/aws-lambda-go").CombinedOutput(); err != nil {
		// Not in go.mod: build with a copy that requires it.
		gomod, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			return fmt.Errorf("go env GOMOD: %v (%s)", err, out)
		}
		root := filepath.Dir(strings.TrimSpace(string(gomod)))
		mod := filepath.Join(dir, "go.mod")
		for _, f := range []string{"go.mod", "go.sum"} {
			b, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				return err
			}
		}
		if out, err := exec.Command("go", "mod", "edit", "-modfile="+mod, "-require=github.com/aws/aws-lambda-go@"+lambdaGoVersion).CombinedOutput(); err != nil {
			return fmt.Errorf("go mod edit: %v: %s", err, out)
		}
		args = append(args, "-modfile="+mod, "-mod=mod")
		env = append(env, "GONOSUMDB=github.com/aws/aws-lambda-go", "GOFLAGS=")
	}
	for _, t := range []struct{ pkg, out string }{
		{"./testdata/gofn", "bootstrap"},
		{"./testdata/httpecho", "httpecho"},
	} {
		cmd := exec.Command("go", append(args, "-o", filepath.Join(dir, t.out), t.pkg)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", t.pkg, err, out)
		}
	}
	return nil
}

// zipFile is one entry of a test package.
type zipFile struct {
	name string
	data []byte
	mode os.FileMode
}

func makeZip(tb testing.TB, files ...zipFile) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var (
	gofnZipOnce sync.Once
	gofnZip     []byte
)

// goFunctionZip is the package of the aws-lambda-go test function.
func goFunctionZip(tb testing.TB) []byte {
	dir := buildBinaries(tb)
	gofnZipOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(dir, "bootstrap"))
		if err != nil {
			tb.Fatal(err)
		}
		gofnZip = makeZip(tb, zipFile{"bootstrap", b, 0o755})
	})
	return gofnZip
}

var keySeq atomic.Int64

// specFor is a provided.al2023 spec for zip under a fresh Key.
func specFor(name string, zipData []byte, env map[string]string) *Spec {
	sum := sha256.Sum256(zipData)
	return &Spec{
		Key:          fmt.Sprintf("%s:$LATEST:%d", name, keySeq.Add(1)),
		FunctionName: name,
		Version:      "$LATEST",
		Runtime:      "provided.al2023",
		Handler:      "bootstrap",
		CodeSha256:   base64.StdEncoding.EncodeToString(sum[:]),
		Code:         func(context.Context) ([]byte, error) { return zipData, nil },
		MemoryMB:     128,
		Timeout:      10 * time.Second,
		Environment:  env,
		Region:       "eu-west-1",
		AccountID:    "123456789012",
	}
}

func goSpec(tb testing.TB, name string, env map[string]string) *Spec {
	return specFor(name, goFunctionZip(tb), env)
}

// shellSpec runs a bash script as the bootstrap.
func shellSpec(tb testing.TB, name, script string) *Spec {
	return specFor(name, makeZip(tb, zipFile{"bootstrap", []byte("#!/bin/bash\n" + script), 0o755}), nil)
}

// logSink collects log lines.
type logSink struct {
	mu    sync.Mutex
	lines []telemetry.LogLine
}

func (s *logSink) WriteLog(l telemetry.LogLine) {
	s.mu.Lock()
	s.lines = append(s.lines, l)
	s.mu.Unlock()
}

func (s *logSink) forRequest(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.lines {
		if l.RequestID == id {
			out = append(out, l.Line)
		}
	}
	return out
}

func (s *logSink) all() []telemetry.LogLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]telemetry.LogLine(nil), s.lines...)
}

func newTestPool(tb testing.TB, opts Options) (*Pool, *logSink) {
	tb.Helper()
	sink := &logSink{}
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	if opts.Logs == nil {
		opts.Logs = sink
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{tb}, nil))
	}
	p, err := New(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := p.Close(ctx); err != nil {
			tb.Errorf("Close: %v", err)
		}
		// The code cache is read-only; let TempDir's cleanup remove it.
		removeTree(p.layout.codeDir())
	})
	return p, sink
}

// invoke runs one event and fails the test on a platform error.
func invoke(tb testing.TB, p *Pool, spec *Spec, payload string, mod ...func(*Invocation)) *Result {
	tb.Helper()
	inv := &Invocation{RequestID: newUUID(), Payload: []byte(payload)}
	for _, m := range mod {
		m(inv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, spec, inv)
	if err != nil {
		tb.Fatalf("Invoke(%s): %v", payload, err)
	}
	return res
}

// invokeAsync is invoke for goroutines other than the test's: a platform
// error is reported and becomes an empty Result.
func invokeAsync(tb testing.TB, p *Pool, spec *Spec, payload string) *Result {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, spec, &Invocation{RequestID: newUUID(), Payload: []byte(payload)})
	if err != nil {
		tb.Errorf("Invoke(%s): %v", payload, err)
		return &Result{FunctionError: "platform error"}
	}
	return res
}

func pidOf(tb testing.TB, res *Result) int {
	tb.Helper()
	var v struct{ PID int }
	if err := json.Unmarshal(res.Payload, &v); err != nil || v.PID == 0 {
		tb.Fatalf("no pid in %s (%s)", res.Payload, res.ErrorType)
	}
	return v.PID
}

// processGone reports whether pid has exited (a zombie counts as gone).
func processGone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// eventually polls cond for up to d.
func eventually(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func instancesOf(p *Pool, key string) []InstanceInfo {
	var out []InstanceInfo
	for _, i := range p.Instances() {
		if i.Key == key {
			out = append(out, i)
		}
	}
	return out
}

// testWriter sends the pool's own log to the test log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
