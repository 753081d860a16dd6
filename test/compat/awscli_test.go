package compat

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// requireTool fails (rather than skips) when a tool CI is meant to install
// is missing, so a broken machine is not mistaken for a passing suite.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; .ci/run installs it (apt-get install awscli python3-boto3)", name)
	}
	return p
}

func writeZip(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	_, _ = w.Write([]byte("#!/bin/sh\nexit 0\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "function.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func awsEnv() []string {
	return append(os.Environ(),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
}

// TestAWSCLIWalkthrough runs the README's walk-through with the AWS CLI.
func TestAWSCLIWalkthrough(t *testing.T) {
	aws := requireTool(t, "aws")
	p := laminatest.Start(t)
	zipPath := writeZip(t)

	run := func(args ...string) (map[string]any, string, error) {
		t.Helper()
		cmd := exec.Command(aws, append([]string{"--endpoint-url", p.Endpoint, "--output", "json", "lambda"}, args...)...)
		cmd.Env = awsEnv()
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var out map[string]any
		if stdout.Len() > 0 {
			if jerr := json.Unmarshal(stdout.Bytes(), &out); jerr != nil {
				t.Fatalf("aws lambda %s: output is not JSON: %v\n%s", args[0], jerr, stdout.String())
			}
		}
		return out, stderr.String(), err
	}
	must := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, err := run(args...)
		if err != nil {
			t.Fatalf("aws lambda %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}

	created := must("create-function", "--function-name", "hello", "--runtime", "provided.al2023",
		"--role", "arn:aws:iam::000000000000:role/lamina", "--handler", "bootstrap",
		"--zip-file", "fileb://"+zipPath, "--environment", "Variables={GREETING=hi}")
	if created["FunctionArn"] != "arn:aws:lambda:us-east-1:000000000000:function:hello" {
		t.Errorf("FunctionArn = %v", created["FunctionArn"])
	}
	if created["State"] != "Active" {
		t.Errorf("State = %v, want Active", created["State"])
	}
	if lm, _ := created["LastModified"].(string); !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`).MatchString(lm) {
		t.Errorf("LastModified = %q, want AWS's 2024-01-31T12:34:56.789+0000 form", lm)
	}

	// The CLI's waiters poll GetFunction(Configuration) for these two fields.
	must("wait", "function-active-v2", "--function-name", "hello")
	must("wait", "function-updated-v2", "--function-name", "hello")
	if conf := must("get-function-configuration", "--function-name", "hello"); conf["LastUpdateStatus"] != "Successful" {
		t.Errorf("LastUpdateStatus = %v, want Successful", conf["LastUpdateStatus"])
	}

	list := must("list-functions")
	fns, _ := list["Functions"].([]any)
	if len(fns) != 1 {
		t.Fatalf("list-functions: %d functions, want 1: %v", len(fns), list)
	}

	if v := must("publish-version", "--function-name", "hello"); v["Version"] != "1" {
		t.Errorf("publish-version Version = %v, want 1", v["Version"])
	}
	if a := must("create-alias", "--function-name", "hello", "--name", "live", "--function-version", "1"); a["AliasArn"] != "arn:aws:lambda:us-east-1:000000000000:function:hello:live" {
		t.Errorf("AliasArn = %v", a["AliasArn"])
	}
	got := must("get-function", "--function-name", "hello:live")
	cfg, _ := got["Configuration"].(map[string]any)
	if cfg["Version"] != "1" {
		t.Errorf("get-function hello:live Version = %v, want 1", cfg["Version"])
	}
	env, _ := cfg["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	if vars["GREETING"] != "hi" {
		t.Errorf("Environment = %v, want GREETING=hi", cfg["Environment"])
	}

	must("delete-function", "--function-name", "hello")
	_, stderr, err := run("get-function", "--function-name", "hello")
	if err == nil || !strings.Contains(stderr, "ResourceNotFoundException") {
		t.Errorf("get-function after delete: err=%v stderr=%q, want ResourceNotFoundException", err, stderr)
	}
}

// TestBoto3 drives the API with boto3, whose error parsing differs from the Go SDK's.
func TestBoto3(t *testing.T) {
	python := requireTool(t, "python3")
	if err := exec.Command(python, "-c", "import boto3").Run(); err != nil {
		t.Fatalf("boto3 is not installed for %s; .ci/run installs it", python)
	}
	p := laminatest.Start(t)
	cmd := exec.Command(python, "testdata/boto3_lambda.py", p.Endpoint, writeZip(t))
	cmd.Env = awsEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("boto3 script failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "boto3 ok") {
		t.Fatalf("boto3 script did not finish:\n%s", out)
	}
}
