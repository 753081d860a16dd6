package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const upTemplate = `Transform: AWS::Serverless-2016-10-31
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: hello
      Runtime: python3.12
      Handler: app.handler
      Events:
        Hello:
          Type: HttpApi
          Properties:
            Path: /hello
            Method: GET
`

const upHandler = `def handler(event, context):
    print("handled %s")
    return {"statusCode": 200, "body": "%s"}
`

func writeUpApp(t *testing.T, dir, version string) {
	t.Helper()
	code := strings.ReplaceAll(upHandler, "%s", version)
	// A new size as well as a new time, so a save within the same
	// mtime tick is still seen.
	if err := os.WriteFile(filepath.Join(dir, "hello", "app.py"), []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestUpDeploysFollowsLogsAndReloads runs `lamina up` as a user would: no
// server running, so it starts one, deploys, prints the API, follows the
// function's logs, redeploys when the code is saved, and stops on cancel.
func TestUpDeploysFollowsLogsAndReloads(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed (.ci/run installs it)")
	}
	dir := filepath.Join(t.TempDir(), "hello-app")
	if err := os.MkdirAll(filepath.Join(dir, "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	tmpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tmpl, []byte(upTemplate), 0o644); err != nil {
		t.Fatal(err)
	}
	writeUpApp(t, dir, "v1")

	endpoint := "http://127.0.0.1:" + strconv.Itoa(freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := newRootCommand()
	var out, errOut syncBuffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"up", "-t", tmpl, "--endpoint", endpoint, "--gateway-listen", "127.0.0.1:0",
		"--data-dir", filepath.Join(t.TempDir(), "data")})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	waitFor := func(what string, timeout time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			select {
			case err := <-done:
				t.Fatalf("up exited while waiting for %s: %v\nstdout:\n%s\nstderr:\n%s", what, err, out.String(), errOut.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\nstdout:\n%s\nstderr:\n%s", what, out.String(), errOut.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("the stack", 90*time.Second, func() bool { return strings.Contains(out.String(), "Following logs") })
	if !strings.Contains(errOut.String(), "starting Lamina at "+endpoint) {
		t.Errorf("up did not say it started Lamina:\n%s", errOut.String())
	}
	m := regexp.MustCompile(`api\s+ServerlessHttpApi\s+(\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no API line in:\n%s", out.String())
	}
	url := m[1] + "/hello"
	get := func() string {
		resp, err := http.Get(url)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get(); got != "v1" {
		t.Fatalf("GET %s = %q, want v1", url, got)
	}
	waitFor("the function's log line", 30*time.Second, func() bool { return strings.Contains(out.String(), "[HelloFunction] handled v1") })

	// Save new code: up redeploys and the route answers with it.
	writeUpApp(t, dir, "v2")
	waitFor("the reload", 60*time.Second, func() bool { return get() == "v2" })
	waitFor("the redeploy message", 10*time.Second, func() bool { return strings.Contains(errOut.String(), "redeployed in") })
	if !strings.Contains(errOut.String(), "app.py changed") {
		t.Errorf("the change was not named:\n%s", errOut.String())
	}

	// A broken template is reported; the running version keeps answering.
	if err := os.WriteFile(tmpl, []byte(upTemplate+"  Broken:\n    Type: AWS::Nothing::Here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("the error", 30*time.Second, func() bool { return strings.Contains(errOut.String(), "previous version keeps running") })
	if got := get(); got != "v2" {
		t.Errorf("after a failed redeploy GET = %q, want v2", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("up returned %v after cancel", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("up did not stop after cancel")
	}
	if !strings.Contains(errOut.String(), "stopping Lamina") {
		t.Errorf("no stop message:\n%s", errOut.String())
	}
	// Its server is gone.
	if healthy(context.Background(), endpoint) {
		t.Error("the embedded Lamina still answers after up stopped")
	}
}
