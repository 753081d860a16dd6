package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestCLIAgainstPlatform runs the client commands in-process against a whole
// Lamina platform, through the AWS SDK, as a user would.
func TestCLIAgainstPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the platform")
	}
	p := laminatest.Start(t)
	cli := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, append(args, "--endpoint", p.Endpoint)...)
	}
	mustCLI := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, err := cli(args...)
		if err != nil {
			t.Fatalf("lamina %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
		}
		return out, errOut
	}

	// Deploy a Python function from a directory.
	dir := t.TempDir()
	writeTree(t, dir, map[string]file{"app.py": {content: "def handler(event, context):\n    return 1\n"}})
	zip1 := mustPackage(t, packageOptions{Path: dir}).Zip
	deploy := []string{"deploy", dir, "--name", "hello", "--runtime", "python3.12", "--handler", "app.handler"}
	out, errOut := mustCLI(deploy...)
	if !strings.Contains(errOut, "created function hello") {
		t.Errorf("deploy progress:\n%s", errOut)
	}
	if !strings.Contains(out, codeSha(zip1)) {
		t.Errorf("deploy printed:\n%s", out)
	}

	// It is listed, with its runtime, in both output modes.
	out, _ = mustCLI("functions", "list")
	if !hasRow(out, "hello", "python3.12") {
		t.Errorf("list:\n%s", out)
	}
	out, _ = mustCLI("functions", "list", "--output", "json")
	var list struct {
		Functions []struct{ FunctionName, Runtime string }
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Functions) != 1 ||
		list.Functions[0].FunctionName != "hello" || list.Functions[0].Runtime != "python3.12" {
		t.Errorf("list json: %v\n%s", err, out)
	}

	// get reports the CodeSha256 of the zip, as AWS computes it.
	out, _ = mustCLI("functions", "get", "hello")
	if !strings.Contains(out, "Code SHA-256:") || !strings.Contains(out, codeSha(zip1)) {
		t.Errorf("get:\n%s", out)
	}
	got := getJSON(t, mustCLI)
	if got.Configuration.CodeSha256 != codeSha(zip1) || got.Configuration.Handler != "app.handler" {
		t.Errorf("get json: %+v", got.Configuration)
	}

	// Redeploying updates code and the settings given; a ready .zip is
	// uploaded as is.
	writeTree(t, dir, map[string]file{"app.py": {content: "def handler(event, context):\n    return 2\n"}})
	zip2 := mustPackage(t, packageOptions{Path: dir}).Zip
	zipPath := filepath.Join(t.TempDir(), "hello.zip")
	if err := os.WriteFile(zipPath, zip2, 0o644); err != nil {
		t.Fatal(err)
	}
	deploy[1] = zipPath
	_, errOut = mustCLI(append(deploy, "--env", "GREETING=hi", "--memory", "256", "--output", "json")...)
	if !strings.Contains(errOut, "updated function hello") {
		t.Errorf("redeploy progress:\n%s", errOut)
	}
	got = getJSON(t, mustCLI)
	c := got.Configuration
	if c.CodeSha256 != codeSha(zip2) || c.MemorySize != 256 || c.Environment.Variables["GREETING"] != "hi" {
		t.Errorf("after redeploy: %+v", c)
	}

	// Deploy a Go function, built by the CLI.
	requireGo(t)
	goDir := t.TempDir()
	writeTree(t, goDir, helloModule)
	_, errOut = mustCLI("deploy", goDir, "--name", "gofn", "--runtime", "provided.al2023", "--publish")
	if !strings.Contains(errOut, "building bootstrap") || !strings.Contains(errOut, "created function gofn") {
		t.Errorf("go deploy progress:\n%s", errOut)
	}
	out, _ = mustCLI("functions", "list")
	if !hasRow(out, "gofn", "provided.al2023") || !hasRow(out, "hello", "python3.12") {
		t.Errorf("list:\n%s", out)
	}

	// Delete removes it.
	out, _ = mustCLI("functions", "delete", "hello")
	if out != "deleted function hello\n" {
		t.Errorf("delete printed %q", out)
	}
	if _, _, err := cli("functions", "get", "hello"); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("get after delete: %v", err)
	}
	out, _ = mustCLI("functions", "list")
	if hasRow(out, "hello", "python3.12") {
		t.Errorf("hello still listed:\n%s", out)
	}
}

// hasRow reports whether a table has a row starting with the given cells.
func hasRow(table string, cells ...string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(cells) && strings.Join(f[:len(cells)], " ") == strings.Join(cells, " ") {
			return true
		}
	}
	return false
}

type getOutput struct {
	Configuration struct {
		CodeSha256, Handler string
		MemorySize          int
		Environment         struct{ Variables map[string]string }
	}
}

func getJSON(t *testing.T, mustCLI func(...string) (string, string)) getOutput {
	t.Helper()
	out, _ := mustCLI("functions", "get", "hello", "--output", "json")
	var g getOutput
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("get json: %v\n%s", err, out)
	}
	return g
}
