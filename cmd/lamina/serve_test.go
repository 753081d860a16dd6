package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// buildLamina compiles this command into a temporary directory once per test.
func buildLamina(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lamina")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// servedProcess is `lamina serve` running as a child process. One
// goroutine waits for it (exec.Cmd.Wait must not be called twice, nor
// concurrently with reading ProcessState); use exited and wait.
type servedProcess struct {
	cmd      *exec.Cmd
	endpoint string
	logs     *syncBuffer
	exited   chan struct{} // closed once the process has been waited for
	waitErr  error         // Wait's result, once exited is closed
}

// wait returns the process's exit error once it has exited.
func (p *servedProcess) wait() error {
	<-p.exited
	return p.waitErr
}

// syncBuffer collects a child's output while the test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startServe(t *testing.T, bin, dataDir string, extraEnv ...string) *servedProcess {
	t.Helper()
	edge := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--listen", edge, "--gateway-listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "LAMINA_DATA_DIR="+dataDir)
	cmd.Env = append(cmd.Env, extraEnv...)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &servedProcess{cmd: cmd, endpoint: "http://" + edge, logs: logs, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill() // an error when it has exited already
		<-p.exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.endpoint + "/_lamina/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("lamina serve did not become healthy; logs:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *servedProcess) client() *lambda.Client {
	return lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(p.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func testZip(t *testing.T, content string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "#!/bin/sh\necho %q\n", content)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// TestServeSurvivesSIGKILL creates functions, versions and aliases, kills
// the server without warning, restarts it on the same data directory and
// expects to find every one of them unchanged.
func TestServeSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short")
	}
	bin := buildLamina(t)
	dataDir := t.TempDir()
	ctx := context.Background()

	first := startServe(t, bin, dataDir)
	c := first.client()
	want := map[string]string{} // "name:qualifier" → CodeSha256
	for i := range 3 {
		name := fmt.Sprintf("fn-%d", i)
		v1 := testZip(t, name+"-v1")
		_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.RuntimeProvidedal2023,
			Role:         aws.String("arn:aws:iam::000000000000:role/lamina"),
			Code:         &types.FunctionCode{ZipFile: v1},
			Publish:      true,
		})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		v2 := testZip(t, name+"-v2")
		if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(name), ZipFile: v2, Publish: true}); err != nil {
			t.Fatalf("update %s: %v", name, err)
		}
		if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1"),
			RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"2": 0.25}}}); err != nil {
			t.Fatalf("alias %s: %v", name, err)
		}
		want[name+":1"] = sha(v1)
		want[name+":2"] = sha(v2)
		want[name+":$LATEST"] = sha(v2)
		want[name+":live"] = sha(v1)
	}

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.wait()

	second := startServe(t, bin, dataDir)
	c = second.client()
	for ref, sum := range want {
		name, q, _ := strings.Cut(ref, ":")
		out, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name), Qualifier: aws.String(q)})
		if err != nil {
			t.Fatalf("after restart, get %s: %v\nlogs:\n%s", ref, err, second.logs)
		}
		if got := aws.ToString(out.Configuration.CodeSha256); got != sum {
			t.Errorf("after restart, %s CodeSha256 = %s, want %s", ref, got, sum)
		}
	}
	alias, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("fn-0"), Name: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	if alias.RoutingConfig == nil || alias.RoutingConfig.AdditionalVersionWeights["2"] != 0.25 {
		t.Errorf("after restart, alias routing = %+v, want 25%% to version 2", alias.RoutingConfig)
	}
	list, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Functions) != 3 {
		t.Errorf("after restart, %d functions listed, want 3", len(list.Functions))
	}
}

// TestServeGracefulShutdown checks that SIGTERM stops the server cleanly
// (exit status 0) and says so.
func TestServeGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped in -short")
	}
	bin := buildLamina(t)
	p := startServe(t, bin, t.TempDir())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if err := p.wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v\nlogs:\n%s", err, p.logs)
		}
	case <-time.After(30 * time.Second):
		// Ask for the goroutines' stacks, to see what shutdown waits on.
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
		t.Fatalf("did not stop within 30s of SIGTERM; logs (with a goroutine dump):\n%s", p.logs)
	}
	if !strings.Contains(p.logs.String(), "stopped") {
		t.Errorf("logs do not report a clean stop:\n%s", p.logs)
	}
}
