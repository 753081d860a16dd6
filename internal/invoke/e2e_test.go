package invoke_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/internal/testfn"
	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// These tests run real aws-lambda-go functions (the runtime's fixture,
// internal/runtime/testdata/gofn, built during the test) on a whole
// in-process platform, through the aws-sdk-go-v2 Lambda client.

// gofnZip is the aws-lambda-go fixture as a provided.al2023 package;
// extra files make a package with another CodeSha256.
func gofnZip(t *testing.T, extra ...string) []byte { return testfn.Zip(t, extra...) }

type platform struct {
	p      *laminatest.Platform
	client *lambda.Client
	ctx    context.Context
}

func startPlatform(t *testing.T) *platform {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real functions on a whole platform")
	}
	p := laminatest.Start(t)
	client := lambda.NewFromConfig(p.AWSConfig(), func(o *lambda.Options) {
		o.RetryMaxAttempts = 1 // a 429 is the answer under test, not something to retry
	})
	return &platform{p: p, client: client, ctx: t.Context()}
}

func (pl *platform) create(t *testing.T, name string, edit ...func(*lambda.CreateFunctionInput)) {
	t.Helper()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name),
		Runtime:      types.RuntimeProvidedal2023,
		Role:         aws.String("arn:aws:iam::000000000000:role/lambda"),
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: gofnZip(t)},
		Timeout:      aws.Int32(5),
	}
	for _, e := range edit {
		e(in)
	}
	if _, err := pl.client.CreateFunction(pl.ctx, in); err != nil {
		t.Fatal(err)
	}
}

func (pl *platform) invoke(t *testing.T, name string, payload string, edit ...func(*lambda.InvokeInput)) *lambda.InvokeOutput {
	t.Helper()
	out, err := pl.try(name, payload, edit...)
	if err != nil {
		t.Fatalf("Invoke %s %s: %v", name, payload, err)
	}
	return out
}

func (pl *platform) try(name string, payload string, edit ...func(*lambda.InvokeInput)) (*lambda.InvokeOutput, error) {
	in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload)}
	for _, e := range edit {
		e(in)
	}
	return pl.client.Invoke(pl.ctx, in)
}

func qualifier(q string) func(*lambda.InvokeInput) {
	return func(in *lambda.InvokeInput) { in.Qualifier = aws.String(q) }
}

func field[T any](t *testing.T, payload []byte, key string) T {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatalf("payload %s: %v", payload, err)
	}
	var v T
	if err := json.Unmarshal(m[key], &v); err != nil {
		t.Fatalf("payload %s, field %s: %v", payload, key, err)
	}
	return v
}

func TestInvokeEndToEnd(t *testing.T) {
	pl := startPlatform(t)
	pl.create(t, "gofn", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"WHICH": "latest"}}
	})

	t.Run("success", func(t *testing.T) {
		out := pl.invoke(t, "gofn", `{"op":"echo","message":"hi"}`)
		if out.StatusCode != 200 || string(out.Payload) != `{"op":"echo","message":"hi"}` || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil {
			t.Errorf("out = %d %s %v %v", out.StatusCode, out.Payload, aws.ToString(out.ExecutedVersion), out.FunctionError)
		}
	})

	t.Run("warm reuse", func(t *testing.T) {
		a := field[int](t, pl.invoke(t, "gofn", `{"op":"pid"}`).Payload, "pid")
		b := field[int](t, pl.invoke(t, "gofn", `{"op":"pid"}`).Payload, "pid")
		if a == 0 || a != b {
			t.Errorf("pids %d then %d: the warm instance was not reused", a, b)
		}
	})

	t.Run("what the function is told", func(t *testing.T) {
		cc := base64.StdEncoding.EncodeToString([]byte(`{"custom":{"k":"v"}}`))
		out := pl.invoke(t, "gofn", `{"op":"env"}`, func(in *lambda.InvokeInput) { in.ClientContext = aws.String(cc) })
		if arn := field[string](t, out.Payload, "invokedArn"); arn != "arn:aws:lambda:us-east-1:000000000000:function:gofn" {
			t.Errorf("invoked ARN %s", arn)
		}
		// The function's request id is the API's x-amzn-RequestId, as on Lambda.
		if id, _ := awsmw.GetRequestIDMetadata(out.ResultMetadata); id == "" || field[string](t, out.Payload, "requestId") != id {
			t.Errorf("request id %q, x-amzn-RequestId %q", field[string](t, out.Payload, "requestId"), id)
		}
		if cctx := string(field[json.RawMessage](t, out.Payload, "clientContext")); !strings.Contains(cctx, `"k":"v"`) {
			t.Errorf("client context %s", cctx)
		}
		if tr := field[string](t, out.Payload, "traceId"); !strings.HasPrefix(tr, "Root=1-") {
			t.Errorf("trace id %q", tr)
		}
		if env := field[map[string]string](t, out.Payload, "env"); env["WHICH"] != "latest" || env["AWS_LAMBDA_FUNCTION_VERSION"] != "$LATEST" {
			t.Errorf("env WHICH=%q version=%q", env["WHICH"], env["AWS_LAMBDA_FUNCTION_VERSION"])
		}
	})

	t.Run("function error", func(t *testing.T) {
		out := pl.invoke(t, "gofn", `{"op":"error","message":"boom"}`)
		if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || field[string](t, out.Payload, "errorMessage") != "boom" {
			t.Errorf("out = %d %s %v", out.StatusCode, out.Payload, aws.ToString(out.FunctionError))
		}
	})

	t.Run("log tail", func(t *testing.T) {
		out := pl.invoke(t, "gofn", `{"op":"log","lines":2,"text":"hello"}`, func(in *lambda.InvokeInput) { in.LogType = types.LogTypeTail })
		tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		if err != nil || !strings.HasPrefix(string(tail), "START RequestId: ") || !strings.Contains(string(tail), "hello 0") ||
			!strings.Contains(string(tail), "\nREPORT RequestId: ") {
			t.Errorf("log tail (%v):\n%s", err, tail)
		}
	})

	t.Run("dry run", func(t *testing.T) {
		out := pl.invoke(t, "gofn", `{}`, func(in *lambda.InvokeInput) { in.InvocationType = types.InvocationTypeDryRun })
		if out.StatusCode != 204 || len(out.Payload) != 0 {
			t.Errorf("out = %d %s", out.StatusCode, out.Payload)
		}
		_, err := pl.try("missing", `{}`, func(in *lambda.InvokeInput) { in.InvocationType = types.InvocationTypeDryRun })
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("dry run of a missing function: %v", err)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		_, err := pl.try("gofn", `not json`)
		var ic *types.InvalidRequestContentException
		if !errors.As(err, &ic) {
			t.Errorf("non-JSON payload: %v", err)
		}
		_, err = pl.try("gofn", `"`+strings.Repeat("x", 6291456)+`"`)
		var tl *types.RequestTooLargeException
		if !errors.As(err, &tl) {
			t.Errorf("7 MB payload: %v", err)
		}
	})

	t.Run("unsigned curl-style POST", func(t *testing.T) {
		resp, err := http.Post(pl.p.Endpoint+"/2015-03-31/functions/gofn/invocations", "application/json", strings.NewReader(`{"curl":true}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != `{"curl":true}` || resp.Header.Get("X-Amz-Executed-Version") != "$LATEST" {
			t.Errorf("%d %s %v", resp.StatusCode, body, resp.Header)
		}
	})
}

func TestInvokeTimeout(t *testing.T) {
	pl := startPlatform(t)
	pl.create(t, "slow", func(in *lambda.CreateFunctionInput) { in.Timeout = aws.Int32(1) })
	start := time.Now()
	out := pl.invoke(t, "slow", `{"op":"sleep","ms":5000}`)
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("a 1 s timeout answered after %v", d)
	}
	if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Task timed out after 1") {
		t.Errorf("out = %d %s %v", out.StatusCode, out.Payload, aws.ToString(out.FunctionError))
	}
	// The next invocation gets a fresh instance and works.
	if out := pl.invoke(t, "slow", `{"op":"echo"}`); out.FunctionError != nil {
		t.Errorf("after a timeout: %s", out.Payload)
	}
}

func TestInvokeQualifiers(t *testing.T) {
	pl := startPlatform(t)
	pl.create(t, "q", func(in *lambda.CreateFunctionInput) {
		in.Environment = &types.Environment{Variables: map[string]string{"WHICH": "one"}}
	})
	publish := func(which string) string {
		t.Helper()
		if _, err := pl.client.UpdateFunctionConfiguration(pl.ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("q"), Environment: &types.Environment{Variables: map[string]string{"WHICH": which}},
		}); err != nil {
			t.Fatal(err)
		}
		v, err := pl.client.PublishVersion(pl.ctx, &lambda.PublishVersionInput{FunctionName: aws.String("q")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(v.Version)
	}
	v1, v2 := publish("one"), publish("two")
	if _, err := pl.client.UpdateFunctionConfiguration(pl.ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String("q"), Environment: &types.Environment{Variables: map[string]string{"WHICH": "latest"}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := pl.client.CreateAlias(pl.ctx, &lambda.CreateAliasInput{FunctionName: aws.String("q"), Name: aws.String("live"), FunctionVersion: aws.String(v1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pl.client.CreateAlias(pl.ctx, &lambda.CreateAliasInput{FunctionName: aws.String("q"), Name: aws.String("split"), FunctionVersion: aws.String(v1),
		RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{v2: 0.5}}}); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name, qualifier, which, executed, arnSuffix string
	}{
		{"$LATEST", "", "latest", "$LATEST", ""},
		{"version 1", v1, "one", "1", ":1"},
		{"version 2 in the name", "", "two", "2", ":2"},
		{"alias", "live", "one", "1", ":live"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := "q"
			var edit []func(*lambda.InvokeInput)
			if tt.qualifier != "" {
				edit = append(edit, qualifier(tt.qualifier))
			} else if tt.arnSuffix != "" {
				name += tt.arnSuffix
			}
			out := pl.invoke(t, name, `{"op":"env"}`, edit...)
			env := field[map[string]string](t, out.Payload, "env")
			if env["WHICH"] != tt.which || aws.ToString(out.ExecutedVersion) != tt.executed ||
				field[string](t, out.Payload, "invokedArn") != "arn:aws:lambda:us-east-1:000000000000:function:q"+tt.arnSuffix {
				t.Errorf("WHICH=%s executed %s invoked %s", env["WHICH"], aws.ToString(out.ExecutedVersion), field[string](t, out.Payload, "invokedArn"))
			}
		})
	}

	t.Run("weighted alias", func(t *testing.T) {
		seen := map[string]int{}
		for range 60 {
			out := pl.invoke(t, "q", `{"op":"env"}`, qualifier("split"))
			env := field[map[string]string](t, out.Payload, "env")
			seen[aws.ToString(out.ExecutedVersion)+"/"+env["WHICH"]]++
		}
		if len(seen) != 2 || seen["1/one"] < 10 || seen["2/two"] < 10 {
			t.Errorf("executed versions over 60 invocations at 0.5: %v", seen)
		}
	})

	t.Run("missing qualifier", func(t *testing.T) {
		_, err := pl.try("q", `{}`, qualifier("nope"))
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) || !strings.Contains(err.Error(), "function:q:nope") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("provisioned concurrency", func(t *testing.T) {
		put, err := pl.client.PutProvisionedConcurrencyConfig(pl.ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("q"), Qualifier: aws.String("live"), ProvisionedConcurrentExecutions: aws.Int32(2),
		})
		if err != nil {
			t.Fatal(err)
		}
		if put.Status != types.ProvisionedConcurrencyStatusEnumReady || aws.ToInt32(put.AvailableProvisionedConcurrentExecutions) != 2 ||
			aws.ToInt32(put.RequestedProvisionedConcurrentExecutions) != 2 {
			t.Errorf("put: %s %d/%d %s", put.Status, aws.ToInt32(put.AvailableProvisionedConcurrentExecutions),
				aws.ToInt32(put.RequestedProvisionedConcurrentExecutions), aws.ToString(put.StatusReason))
		}
		get, err := pl.client.GetProvisionedConcurrencyConfig(pl.ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String("q"), Qualifier: aws.String("live")})
		if err != nil || get.Status != types.ProvisionedConcurrencyStatusEnumReady {
			t.Errorf("get: %+v, %v", get, err)
		}
		list, err := pl.client.ListProvisionedConcurrencyConfigs(pl.ctx, &lambda.ListProvisionedConcurrencyConfigsInput{FunctionName: aws.String("q")})
		if err != nil || len(list.ProvisionedConcurrencyConfigs) != 1 || aws.ToString(list.ProvisionedConcurrencyConfigs[0].FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:q:live" {
			t.Errorf("list: %+v, %v", list, err)
		}
		_, err = pl.client.GetProvisionedConcurrencyConfig(pl.ctx, &lambda.GetProvisionedConcurrencyConfigInput{FunctionName: aws.String("q"), Qualifier: aws.String(v2)})
		var nf *types.ProvisionedConcurrencyConfigNotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("get of an unset qualifier: %v", err)
		}
		_, err = pl.client.PutProvisionedConcurrencyConfig(pl.ctx, &lambda.PutProvisionedConcurrencyConfigInput{
			FunctionName: aws.String("q"), Qualifier: aws.String("$LATEST"), ProvisionedConcurrentExecutions: aws.Int32(1),
		})
		var ip *types.InvalidParameterValueException
		if !errors.As(err, &ip) {
			t.Errorf("put on $LATEST: %v", err)
		}
		if _, err := pl.client.DeleteProvisionedConcurrencyConfig(pl.ctx, &lambda.DeleteProvisionedConcurrencyConfigInput{FunctionName: aws.String("q"), Qualifier: aws.String("live")}); err != nil {
			t.Error(err)
		}
	})
}

// 64 overlapping invocations run in 64 instances at once.
func TestInvokeParallel(t *testing.T) {
	pl := startPlatform(t)
	pl.create(t, "par")
	const n = 64
	pids := make([]int, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			out, err := pl.try("par", `{"op":"sleep","ms":500}`)
			if err != nil {
				t.Error(err)
				return
			}
			if out.FunctionError != nil {
				t.Errorf("function error: %s", out.Payload)
				return
			}
			pids[i] = field[int](t, out.Payload, "pid")
		})
	}
	wg.Wait()
	distinct := map[int]bool{}
	for _, p := range pids {
		distinct[p] = true
	}
	if len(distinct) != n {
		t.Errorf("%d invocations ran in %d instances", n, len(distinct))
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("64 overlapping 500 ms invocations took %v", d)
	}
}

func TestInvokeReservedConcurrency(t *testing.T) {
	pl := startPlatform(t)
	pl.create(t, "res")
	if _, err := pl.client.PutFunctionConcurrency(pl.ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("res"), ReservedConcurrentExecutions: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := pl.try("res", `{"op":"sleep","ms":2000}`); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // both hold their slot by now
	_, err := pl.try("res", `{"op":"echo"}`)
	var tm *types.TooManyRequestsException
	if !errors.As(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded || aws.ToString(tm.Message) != "Rate Exceeded." {
		t.Errorf("third invocation: %v", err)
	}
	wg.Wait()
	if _, err := pl.try("res", `{"op":"echo"}`); err != nil {
		t.Errorf("after the others ended: %v", err)
	}

	if _, err := pl.client.PutFunctionConcurrency(pl.ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("res"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = pl.try("res", `{"op":"echo"}`)
	if !errors.As(err, &tm) || tm.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded {
		t.Errorf("reserved 0: %v", err)
	}
}

// Updating the code retires the old instance: the next invocation runs in
// a new process, and the old one exits.
func TestInvokeUpdateRetires(t *testing.T) {
	pl := startPlatform(t)
	pl.create(t, "upd")
	old := field[int](t, pl.invoke(t, "upd", `{"op":"pid"}`).Payload, "pid")
	if _, err := pl.client.UpdateFunctionCode(pl.ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("upd"), ZipFile: gofnZip(t, "v2")}); err != nil {
		t.Fatal(err)
	}
	now := field[int](t, pl.invoke(t, "upd", `{"op":"pid"}`).Payload, "pid")
	if now == old {
		t.Fatalf("the same process %d ran after the code changed", now)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(old, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the old instance (pid %d) is still running", old)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Deleting the function retires its instances too.
	if _, err := pl.client.DeleteFunction(pl.ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("upd")}); err != nil {
		t.Fatal(err)
	}
	for syscall.Kill(now, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the instance of the deleted function (pid %d) is still running", now)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
