package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

func zipFiles(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const pythonApp = `
import os

def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad input: " + event["fail"])
    print("handling", context.aws_request_id)
    return {
        "hello": event.get("name"),
        "function": context.function_name,
        "memory": int(context.memory_limit_in_mb),  # a string, as in AWS's runtime
        "remaining_ok": context.get_remaining_time_in_millis() > 0,
        "region": os.environ["AWS_REGION"],
    }
`

const nodeApp = `
exports.handler = async (event, context) => {
  if (event.fail) {
    throw new TypeError("bad input: " + event.fail);
  }
  console.log("handling", context.awsRequestId);
  return {
    hello: event.name,
    function: context.functionName,
    memory: Number(context.memoryLimitInMB),
    remaining_ok: context.getRemainingTimeInMillis() > 0,
    region: process.env.AWS_REGION,
  };
};
`

// TestInterpretedRuntimes runs a Python and a Node handler through the
// embedded bootstraps: success with the context object, a raised error in
// Lambda's JSON shape, and the log tail.
func TestInterpretedRuntimes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts interpreters; skipped in -short")
	}
	p := laminatest.Start(t)
	c := lambda.NewFromConfig(p.AWSConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, tc := range []struct {
		name, runtime, handler string
		files                  map[string]string
		errorType              string
	}{
		{"py", "python3.12", "app.handler", map[string]string{"app.py": pythonApp}, "ValueError"},
		{"node", "nodejs20.x", "index.handler", map[string]string{"index.js": nodeApp}, "TypeError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "rt-" + tc.name
			_, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
				FunctionName: aws.String(name),
				Runtime:      types.Runtime(tc.runtime),
				Handler:      aws.String(tc.handler),
				Role:         aws.String("arn:aws:iam::000000000000:role/e2e"),
				Code:         &types.FunctionCode{ZipFile: zipFiles(t, tc.files)},
				MemorySize:   aws.Int32(256),
				Timeout:      aws.Int32(10),
			})
			if err != nil {
				t.Fatalf("create: %v", err)
			}

			out, err := c.Invoke(ctx, &lambda.InvokeInput{
				FunctionName: aws.String(name),
				Payload:      []byte(`{"name":"lamina"}`),
				LogType:      types.LogTypeTail,
			})
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if out.FunctionError != nil {
				t.Fatalf("function error %s: %s", *out.FunctionError, out.Payload)
			}
			var got map[string]any
			if err := json.Unmarshal(out.Payload, &got); err != nil {
				t.Fatalf("payload %s: %v", out.Payload, err)
			}
			want := map[string]any{"hello": "lamina", "function": name, "memory": 256.0, "remaining_ok": true, "region": "us-east-1"}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (payload %s)", k, got[k], v, out.Payload)
				}
			}
			tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
			if err != nil {
				t.Fatalf("LogResult: %v", err)
			}
			for _, want := range []string{"START RequestId:", "handling", "END RequestId:", "REPORT RequestId:"} {
				if !strings.Contains(string(tail), want) {
					t.Errorf("log tail lacks %q:\n%s", want, tail)
				}
			}

			out, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"fail":"x"}`)})
			if err != nil {
				t.Fatalf("invoke: %v", err)
			}
			if aws.ToString(out.FunctionError) != "Unhandled" {
				t.Fatalf("FunctionError = %v, want Unhandled; payload %s", out.FunctionError, out.Payload)
			}
			var fe struct {
				ErrorType    string `json:"errorType"`
				ErrorMessage string `json:"errorMessage"`
			}
			if err := json.Unmarshal(out.Payload, &fe); err != nil {
				t.Fatalf("error payload %s: %v", out.Payload, err)
			}
			if fe.ErrorType != tc.errorType || fe.ErrorMessage != "bad input: x" {
				t.Errorf("error = %+v, want %s / bad input: x", fe, tc.errorType)
			}
		})
	}
}
