package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/internal/testfn"
	"github.com/lamina-dev/lamina/pkg/laminatest"
)

func TestReadPayloadFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(file, []byte(`{"from":"file"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		flag, stdin, want, err string
	}{
		{flag: "", want: "{}"},
		{flag: `{"a":1}`, want: `{"a":1}`},
		{flag: "@" + file, want: `{"from":"file"}`},
		{flag: "-", stdin: `[1,2]`, want: `[1,2]`},
		{flag: "not json", err: "the payload from --payload is not valid JSON"},
		{flag: "@" + file + ".missing", err: "reading the payload"},
		{flag: "-", stdin: "{", err: "the payload from stdin is not valid JSON"},
	}
	for _, tt := range tests {
		got, err := readPayloadFlag(tt.flag, strings.NewReader(tt.stdin))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.flag, err, tt.err)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("%q: %q, %v; want %q", tt.flag, got, err, tt.want)
		}
	}
}

func TestInvokeHelp(t *testing.T) {
	out, _, err := runCLI(t, "invoke", "--help")
	if err != nil || !strings.Contains(out, "Examples:") || !strings.Contains(out, "--payload") || !strings.Contains(out, "--dry-run") {
		t.Errorf("help (%v):\n%s", err, out)
	}
	_, _, err = runCLI(t, "invoke")
	if err == nil || !strings.Contains(err.Error(), "needs a function NAME") {
		t.Errorf("no argument: %v", err)
	}
}

// gofnBootstrapZip is the runtime's aws-lambda-go test function as a
// provided.al2023 package.
func gofnBootstrapZip(t *testing.T) []byte {
	t.Helper()
	requireGo(t)
	return testfn.Zip(t)
}

// TestInvokeCommand runs `lamina invoke` in-process against a whole
// platform running a real aws-lambda-go function.
func TestInvokeCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the platform and runs a function")
	}
	p := laminatest.Start(t)
	client := lambda.NewFromConfig(p.AWSConfig())
	ctx := t.Context()
	for _, name := range []string{"gofn", "off"} {
		if _, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.RuntimeProvidedal2023,
			Role:         aws.String("arn:aws:iam::000000000000:role/lambda"),
			Handler:      aws.String("bootstrap"),
			Code:         &types.FunctionCode{ZipFile: gofnBootstrapZip(t)},
			Publish:      true,
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("off"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	cli := func(stdin string, args ...string) (string, string, error) {
		t.Helper()
		root := newRootCommand()
		var out, errb bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&errb)
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs(append(args, "--endpoint", p.Endpoint))
		err := root.ExecuteContext(ctx)
		return out.String(), errb.String(), err
	}

	out, errOut, err := cli("", "invoke", "gofn", "--payload", `{"op":"echo","n":1}`)
	if err != nil || out != `{"op":"echo","n":1}`+"\n" || errOut != "" {
		t.Errorf("invoke: %q %q %v", out, errOut, err)
	}
	out, _, err = cli(`{"op":"echo","from":"stdin"}`, "invoke", "gofn:1", "--payload", "-")
	if err != nil || !strings.Contains(out, `"from":"stdin"`) {
		t.Errorf("invoke version 1 from stdin: %q %v", out, err)
	}
	out, errOut, err = cli("", "invoke", "gofn", "--qualifier", "1", "--log", "--payload", `{"op":"log","lines":1,"text":"hello"}`)
	if err != nil || out != `"logged"`+"\n" || !strings.Contains(errOut, "START RequestId:") || !strings.Contains(errOut, "hello 0") || !strings.Contains(errOut, "REPORT RequestId:") {
		t.Errorf("invoke --log: %q\nstderr:\n%s\n%v", out, errOut, err)
	}
	_, errOut, err = cli("", "invoke", "gofn", "--dry-run")
	if err != nil || !strings.Contains(errOut, "dry run: gofn can be invoked") {
		t.Errorf("dry run: %q %v", errOut, err)
	}

	// A function error prints the error document and fails.
	out, _, err = cli("", "invoke", "gofn", "--payload", `{"op":"error","message":"boom"}`)
	if err == nil || !strings.Contains(err.Error(), "function gofn failed (Unhandled)") || !strings.Contains(err.Error(), "boom") ||
		!strings.Contains(out, `"errorMessage":"boom"`) {
		t.Errorf("function error: %q %v", out, err)
	}
	// Throttling says why.
	_, _, err = cli("", "invoke", "off")
	if err == nil || !strings.Contains(err.Error(), "ReservedFunctionConcurrentInvocationLimitExceeded") || !strings.Contains(err.Error(), "reserved concurrency") {
		t.Errorf("throttled: %v", err)
	}
	_, _, err = cli("", "invoke", "missing")
	if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("missing function: %v", err)
	}
}
