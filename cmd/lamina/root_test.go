package main

import (
	"bytes"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runCLI runs the lamina command tree in-process with args, as the binary
// would, and returns what it printed.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err = root.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

func TestGlobalsPrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want globals
	}{
		{
			name: "defaults",
			want: globals{Endpoint: defaultEndpoint, Output: "table", Region: "us-east-1"},
		},
		{
			name: "environment over defaults",
			env:  map[string]string{"LAMINA_ENDPOINT": "http://env:1", "AWS_REGION": "eu-west-1"},
			want: globals{Endpoint: "http://env:1", Output: "table", Region: "eu-west-1"},
		},
		{
			name: "flags over environment",
			args: []string{"--endpoint", "http://flag:2", "--region", "ap-south-1", "--output", "json"},
			env:  map[string]string{"LAMINA_ENDPOINT": "http://env:1", "AWS_REGION": "eu-west-1"},
			want: globals{Endpoint: "http://flag:2", Output: "json", Region: "ap-south-1"},
		},
		{
			name: "flag given with its default value still wins",
			args: []string{"--endpoint", defaultEndpoint},
			env:  map[string]string{"LAMINA_ENDPOINT": "http://env:1"},
			want: globals{Endpoint: defaultEndpoint, Output: "table", Region: "us-east-1"},
		},
		{
			name: "empty environment variables are ignored",
			env:  map[string]string{"LAMINA_ENDPOINT": "", "AWS_REGION": ""},
			want: globals{Endpoint: defaultEndpoint, Output: "table", Region: "us-east-1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newRootCommand().PersistentFlags()
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			var got globals
			got.Endpoint, _ = fs.GetString("endpoint")
			got.Output, _ = fs.GetString("output")
			got.Region, _ = fs.GetString("region")
			if err := got.resolve(fs, func(k string) string { return tt.env[k] }); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGlobalsFromProcessEnvironment(t *testing.T) {
	t.Setenv("LAMINA_ENDPOINT", "http://127.0.0.1:1") // nothing listens on port 1
	_, _, err := runCLI(t, "functions", "list")
	if err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:1") {
		t.Fatalf("LAMINA_ENDPOINT not used: %v", err)
	}
	_, _, err = runCLI(t, "functions", "list", "--endpoint", "http://127.0.0.1:2")
	if err == nil || !strings.Contains(err.Error(), "http://127.0.0.1:2") {
		t.Fatalf("--endpoint did not win over LAMINA_ENDPOINT: %v", err)
	}
}

func TestInvalidOutput(t *testing.T) {
	_, _, err := runCLI(t, "functions", "list", "--output", "yaml")
	if err == nil || !strings.Contains(err.Error(), `invalid --output "yaml"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4566":  "http://127.0.0.1:4566",
		"http://127.0.0.1:4566/": "http://127.0.0.1:4566",
		"127.0.0.1:4566":         "http://127.0.0.1:4566",
		"https://lamina.example": "https://lamina.example",
	} {
		got, err := normalizeEndpoint(in)
		if err != nil || got != want {
			t.Errorf("normalizeEndpoint(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ftp://x", "http://"} {
		if _, err := normalizeEndpoint(in); err == nil {
			t.Errorf("normalizeEndpoint(%q) succeeded", in)
		}
	}
}

func TestUnreachableEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	ln.Close()

	for _, args := range [][]string{
		{"functions", "list"},
		{"functions", "get", "hello"},
		{"functions", "delete", "hello"},
	} {
		_, _, err := runCLI(t, append(args, "--endpoint", endpoint)...)
		want := "cannot reach Lamina at " + endpoint + ": is `lamina serve` running?"
		if err == nil || err.Error() != want {
			t.Errorf("%v: err = %v, want %q", args, err, want)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "lamina dev\ncommit: ") {
		t.Errorf("version output:\n%s", out)
	}
	out, _, err = runCLI(t, "version", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var v buildVersion
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if v.Version == "" || v.Commit == "" || v.Go == "" {
		t.Errorf("incomplete version: %+v", v)
	}
}

func TestVersionCommitFallback(t *testing.T) {
	if got := currentVersion().Commit; got == "" {
		t.Error("commit is empty; want a revision or \"unknown\"")
	}
	old := commit
	t.Cleanup(func() { commit = old })
	commit = "abc123"
	if got := currentVersion().Commit; got != "abc123" {
		t.Errorf("commit from -ldflags not used: %q", got)
	}
}

// Every command a user can run explains itself with examples.
func TestHelpHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Name() == "help" || c.Name() == "completion" || c.Parent() != nil && c.Parent().Name() == "completion" {
			return
		}
		if c.Example == "" || c.Long == "" {
			t.Errorf("%s: missing Long or Example", c.CommandPath())
		}
	}
	walk(newRootCommand())

	out, _, err := runCLI(t, "deploy", "--help")
	if err != nil || !strings.Contains(out, "Examples:") {
		t.Errorf("deploy --help: %v\n%s", err, out)
	}
}

func TestArgumentErrors(t *testing.T) {
	_, _, err := runCLI(t, "functions", "get")
	if err == nil || !strings.Contains(err.Error(), "needs a function NAME") {
		t.Errorf("get without NAME: %v", err)
	}
	_, _, err = runCLI(t, "deploy", "--nope")
	if err == nil || !strings.Contains(err.Error(), "unknown flag: --nope") || !strings.Contains(err.Error(), "lamina deploy --help") {
		t.Errorf("unknown flag: %v", err)
	}
}
