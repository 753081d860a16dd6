package provision

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/testfn"
)

func TestPhysicalName(t *testing.T) {
	long := strings.Repeat("L", 80)
	tests := []struct {
		name, stack, id, suffix string
		max                     int
		want                    string
	}{
		{"short", "jobs", "Worker", "", 64, "jobs-Worker"},
		{"invalid chars replaced", "my.stack", "Fn", "", 64, "my-stack-Fn"},
		{"fifo suffix kept", "jobs", "Q", ".fifo", 80, "jobs-Q.fifo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := physicalName(tt.stack, tt.id, tt.max, tt.suffix); got != tt.want {
				t.Errorf("physicalName = %q, want %q", got, tt.want)
			}
		})
	}
	// A cut name fits, is stable, keeps its suffix, and differs from a
	// neighbour sharing the same prefix.
	a, b := physicalName("jobs", long+"A", 64, ".fifo"), physicalName("jobs", long+"B", 64, ".fifo")
	if len(a) != 64 || !strings.HasSuffix(a, ".fifo") || a == b || a != physicalName("jobs", long+"A", 64, ".fifo") {
		t.Errorf("cut names %q %q", a, b)
	}
}

const fnStack = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Runtime: provided.al2023
      Handler: bootstrap
      MemorySize: 128
      Environment:
        Variables:
          GREETING: hi
`

// TestFunctionCodeAndConfigUpdates checks that a configuration-only update
// uploads no code, a code-only update changes the code, and both are seen
// by the next invocation.
func TestFunctionCodeAndConfigUpdates(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	lc := lambda.NewFromConfig(e.p.AWSConfig())
	e.code = map[string]*deploy.Code{"Fn": e.code["Worker"]}

	greeting := func() string {
		t.Helper()
		out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("jobs-Fn"), Payload: []byte(`{"op":"env"}`)})
		if err != nil || out.FunctionError != nil {
			t.Fatalf("invoke: %v %s", err, out.Payload)
		}
		var r struct{ Env map[string]string }
		if err := json.Unmarshal(out.Payload, &r); err != nil {
			t.Fatal(err)
		}
		return r.Env["GREETING"]
	}
	sha := func() string {
		t.Helper()
		fn, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("jobs-Fn")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(fn.Configuration.CodeSha256)
	}

	s1, _, err := e.apply(ctx, fnStack, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := greeting(); got != "hi" {
		t.Errorf("GREETING = %q, want hi", got)
	}
	sha1 := sha()
	if sha1 != e.code["Fn"].SHA256 {
		t.Errorf("CodeSha256 %s, built %s", sha1, e.code["Fn"].SHA256)
	}

	// Configuration only: the code stays.
	s2, _, err := e.apply(ctx, strings.Replace(fnStack, "GREETING: hi", "GREETING: hello", 1), s1)
	if err != nil {
		t.Fatal(err)
	}
	if got := greeting(); got != "hello" {
		t.Errorf("after a config update GREETING = %q, want hello", got)
	}
	if got := sha(); got != sha1 {
		t.Errorf("a config update changed the code: %s -> %s", sha1, got)
	}

	// Code only: a different package replaces the code.
	zip := testfn.Zip(t, "v2")
	sum := sha256.Sum256(zip)
	e.code["Fn"] = &deploy.Code{Zip: zip, SHA256: base64.StdEncoding.EncodeToString(sum[:])}
	s3, _, err := e.apply(ctx, strings.Replace(fnStack, "GREETING: hi", "GREETING: hello", 1), s2)
	if err != nil {
		t.Fatal(err)
	}
	if got := sha(); got != e.code["Fn"].SHA256 || got == sha1 {
		t.Errorf("after a code update CodeSha256 %s, want %s", got, e.code["Fn"].SHA256)
	}
	if got := greeting(); got != "hello" {
		t.Errorf("after a code update GREETING = %q, want hello", got)
	}

	if _, _, err := e.apply(ctx, "", s3); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("jobs-Fn")}); !notFound(err) {
		t.Errorf("function after delete: %v", err)
	}
}
