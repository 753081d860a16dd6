package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTemplate puts a copy of the deploy package's v1 test template at
// DIR/shop/template.yaml, so the default stack name is "shop".
func writeTemplate(t *testing.T, body string) string {
	t.Helper()
	if body == "" {
		raw, err := os.ReadFile("../../internal/deploy/testdata/app_v1.yaml")
		if err != nil {
			t.Fatal(err)
		}
		body = string(raw)
	}
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDeployTemplateDryRunTable(t *testing.T) {
	path := writeTemplate(t, "")
	// No server listens: a dry run must not call any API.
	out, errOut, err := runCLI(t, "deploy", "-t", path, "--dry-run", "--endpoint", "http://127.0.0.1:1")
	if err != nil {
		t.Fatalf("err = %v, stderr %s", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "ACTION") || !strings.Contains(lines[0], "LOGICAL ID") {
		t.Errorf("header = %q", lines[0])
	}
	if got, want := lines[len(lines)-1], "stack shop: 12 to create, 0 to update, 0 to delete, 0 unchanged"; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	// Dependencies first: the queue before the function that refers to it.
	queue, fn := strings.Index(out, "OrdersQueue "), strings.Index(out, "ApiFunction ")
	if queue < 0 || fn < 0 || queue > fn {
		t.Errorf("OrdersQueue at %d, ApiFunction at %d:\n%s", queue, fn, out)
	}
	if !strings.Contains(out, "create   WorkerFunctionOrders ") || !strings.Contains(out, "AWS::Lambda::EventSourceMapping") {
		t.Errorf("missing the event source mapping:\n%s", out)
	}
	if !strings.Contains(errOut, "planning against an empty stack") {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestDeployTemplateDryRunJSON(t *testing.T) {
	path := writeTemplate(t, "")
	out, _, err := runCLI(t, "deploy", "--template", path, "--dry-run", "--output", "json", "--stack", "orders-prod", "--endpoint", "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	var plan struct {
		Stack   string
		Changes []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if plan.Stack != "orders-prod" || len(plan.Changes) != 12 {
		t.Fatalf("stack %q, %d changes", plan.Stack, len(plan.Changes))
	}
	for _, c := range plan.Changes {
		for _, k := range []string{"logicalId", "resourceType", "action", "reason"} {
			if _, ok := c[k]; !ok {
				t.Errorf("change %v has no %q", c, k)
			}
		}
		if c["action"] != "create" {
			t.Errorf("%v: want create against an empty stack", c)
		}
	}
}

// TestDeployTemplateBuildsBeforeTouchingAnything: code that cannot be built
// stops the deploy before any API is called, naming every function.
func TestDeployTemplateBuildsBeforeTouchingAnything(t *testing.T) {
	path := writeTemplate(t, "")
	_, _, err := runCLI(t, "deploy", "-t", path, "--endpoint", "http://127.0.0.1:1")
	if err == nil {
		t.Fatal("deploy of a template without its code succeeded")
	}
	for _, want := range []string{"ApiFunction", "WorkerFunction", "functions/api", "does not exist"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("the server was contacted before the build: %v", err)
	}
}

func TestDeployTemplateErrors(t *testing.T) {
	bad := writeTemplate(t, `Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Handler: bootstrap
      Runtime: provided.al2023
      CodeUri: .
      NoSuchProperty: 1
`)
	params := writeTemplate(t, `Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
Resources:
  Q:
    Type: AWS::SQS::Queue
`)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad template", []string{"-t", bad, "--dry-run"}, []string{"template.yaml:9", `"Fn"`, "NoSuchProperty"}},
		{"missing template", []string{"-t", bad + ".nope", "--dry-run"}, []string{"read template"}},
		{"override without =", []string{"-t", params, "--dry-run", "--parameter-overrides", "Env"}, []string{`invalid --parameter-overrides "Env": want KEY=VALUE`}},
		{"override bad key", []string{"-t", params, "--dry-run", "--parameter-overrides", "E-nv=dev"}, []string{"parameter names are letters and digits"}},
		{"override empty", []string{"-t", params, "--dry-run", "--parameter-overrides", " "}, []string{"want KEY=VALUE"}},
		{"override bad SAM form", []string{"-t", params, "--dry-run", "--parameter-overrides", "ParameterKey=Env"}, []string{"ParameterKey=KEY,ParameterValue=VALUE"}},
		{"override not allowed", []string{"-t", params, "--dry-run", "--parameter-overrides", "Env=qa"}, []string{`parameter "Env"`, "qa"}},
		{"bad stack", []string{"-t", params, "--dry-run", "--stack", "1st"}, []string{`invalid stack name "1st"`}},
		{"PATH with -t", []string{"-t", params, "--dry-run", "./src"}, []string{"takes no PATH"}},
		{"function flag with -t", []string{"-t", params, "--dry-run", "--name", "f"}, []string{"--name is for deploying one function"}},
		{"template flag without -t", []string{"./src", "--name", "f", "--dry-run"}, []string{"--dry-run needs -t/--template"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(t, append([]string{"deploy"}, tt.args...)...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want %q in it", err, w)
				}
			}
		})
	}
	// A valid override reaches the template.
	out, _, err := runCLI(t, "deploy", "-t", params, "--dry-run", "--parameter-overrides", "ParameterKey=Env,ParameterValue=prod")
	if err != nil || !strings.Contains(out, "1 to create") {
		t.Errorf("err = %v, out:\n%s", err, out)
	}
}

func TestParseOverrides(t *testing.T) {
	got, err := parseOverrides([]string{"A=1 B=x=y", "C=", "ParameterKey=D,ParameterValue=a,b", "A=2"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "2", "B": "x=y", "C": "", "D": "a,b"}
	if !maps.Equal(got, want) {
		t.Errorf("parseOverrides = %v, want %v", got, want)
	}
}
