package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/lamina-dev/lamina/internal/server"
	"github.com/lamina-dev/lamina/internal/testfn"
	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// gofnZip is the runtime's aws-lambda-go test function (which can record
// the events it gets in a file) as a provided.al2023 package.
func gofnZip(t *testing.T) []byte { return testfn.Zip(t) }

// recordDir is a directory the functions (running as an unprivileged
// user) can write their records to.
func recordDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lamina-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readLines(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\n' })
}

// waitLines waits until the file has at least n lines and returns them.
func waitLines(t *testing.T, path string, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		lines := readLines(path)
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d lines after %s, want %d: %q", filepath.Base(path), len(lines), within, n, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type deadLetters struct {
	DeadLetters []struct {
		ID           string          `json:"id"`
		FunctionName string          `json:"functionName"`
		Condition    string          `json:"condition"`
		Attempts     int             `json:"attempts"`
		ErrorMessage string          `json:"errorMessage"`
		Payload      json.RawMessage `json:"payload"`
	} `json:"deadLetters"`
}

func listDeadLetters(t *testing.T, endpoint, function string) deadLetters {
	t.Helper()
	resp, err := http.Get(endpoint + "/_lamina/v1/dead-letters?function=" + function)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out deadLetters
	if resp.StatusCode != 200 {
		t.Fatalf("list dead letters: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAsyncInvocation drives Event invocations of a real function through
// the Lambda API: success, retries exactly as configured, the on-failure
// destination, the dead-letter store and its redrive, and a 404 for a
// missing function.
func TestAsyncInvocation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real functions")
	}
	p := laminatest.Start(t, laminatest.WithConfig(func(c *server.Config) {
		c.AsyncRetryDelay = 50 * time.Millisecond
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := lambda.NewFromConfig(p.AWSConfig())
	code := gofnZip(t)
	dir := recordDir(t)
	create := func(name string, env map[string]string) {
		t.Helper()
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.RuntimeProvidedal2023,
			Role:         aws.String("arn:aws:iam::000000000000:role/e2e"),
			Handler:      aws.String("bootstrap"),
			Code:         &types.FunctionCode{ZipFile: code},
			Timeout:      aws.Int32(10),
			Environment:  &types.Environment{Variables: env},
		}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	event := func(name, payload string) {
		t.Helper()
		out, err := c.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:   aws.String(name),
			InvocationType: types.InvocationTypeEvent,
			Payload:        []byte(payload),
		})
		if err != nil {
			t.Fatalf("invoke %s: %v", name, err)
		}
		if out.StatusCode != 202 || len(out.Payload) != 0 {
			t.Fatalf("invoke %s: status %d payload %q, want 202 and none", name, out.StatusCode, out.Payload)
		}
	}

	t.Run("success", func(t *testing.T) {
		rec := filepath.Join(dir, "ok")
		create("async-ok", map[string]string{"RECORD_FILE": rec})
		event("async-ok", `{"op":"record","text":"hello"}`)
		if got := waitLines(t, rec, 1, 30*time.Second); got[0] != "hello" {
			t.Fatalf("recorded %q", got)
		}
	})

	t.Run("missing function is a 404 at once", func(t *testing.T) {
		_, err := c.Invoke(ctx, &lambda.InvokeInput{
			FunctionName:   aws.String("no-such-function"),
			InvocationType: types.InvocationTypeEvent,
			Payload:        []byte(`{}`),
		})
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) {
			t.Fatalf("err = %v, want ResourceNotFoundException", err)
		}
	})

	t.Run("retries then on-failure destination", func(t *testing.T) {
		rec := filepath.Join(dir, "fail")
		sink := filepath.Join(dir, "sink")
		create("async-fail", map[string]string{"RECORD_FILE": rec})
		create("async-sink", map[string]string{"RECORD_ALL": sink})
		sinkARN := "arn:aws:lambda:us-east-1:000000000000:function:async-sink"
		if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName:         aws.String("async-fail"),
			MaximumRetryAttempts: aws.Int32(1),
			DestinationConfig: &types.DestinationConfig{
				OnFailure: &types.OnFailure{Destination: aws.String(sinkARN)},
			},
		}); err != nil {
			t.Fatal(err)
		}
		event("async-fail", `{"op":"record","text":"boom","code":1}`)
		lines := waitLines(t, sink, 1, 30*time.Second)
		if got := readLines(rec); len(got) != 2 {
			t.Fatalf("the function ran %d times, want 1 + MaximumRetryAttempts = 2", len(got))
		}
		var record struct {
			RequestContext struct {
				Condition              string `json:"condition"`
				ApproximateInvokeCount int    `json:"approximateInvokeCount"`
				FunctionArn            string `json:"functionArn"`
			} `json:"requestContext"`
			RequestPayload  map[string]any `json:"requestPayload"`
			ResponseContext struct {
				FunctionError string `json:"functionError"`
			} `json:"responseContext"`
			ResponsePayload struct {
				ErrorMessage string `json:"errorMessage"`
			} `json:"responsePayload"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &record); err != nil {
			t.Fatal(err)
		}
		rc := record.RequestContext
		if rc.Condition != "RetriesExhausted" || rc.ApproximateInvokeCount != 2 || !strings.HasSuffix(rc.FunctionArn, ":function:async-fail:$LATEST") {
			t.Errorf("requestContext = %+v", rc)
		}
		if record.RequestPayload["text"] != "boom" || record.ResponseContext.FunctionError != "Unhandled" ||
			!strings.Contains(record.ResponsePayload.ErrorMessage, "failed as asked") {
			t.Errorf("record = %s", lines[0])
		}
		// Exactly twice, also later.
		time.Sleep(300 * time.Millisecond)
		if got := readLines(rec); len(got) != 2 {
			t.Fatalf("the function ran %d times, want 2", len(got))
		}
	})

	t.Run("dead-letter store and redrive", func(t *testing.T) {
		rec := filepath.Join(dir, "dlq")
		create("async-dlq", map[string]string{"RECORD_FILE": rec, "FAIL_RECORD": "1"})
		if _, err := c.PutFunctionEventInvokeConfig(ctx, &lambda.PutFunctionEventInvokeConfigInput{
			FunctionName:         aws.String("async-dlq"),
			MaximumRetryAttempts: aws.Int32(2),
		}); err != nil {
			t.Fatal(err)
		}
		event("async-dlq", `{"op":"record","text":"lost?"}`)
		deadline := time.Now().Add(30 * time.Second)
		var dl deadLetters
		for len(dl.DeadLetters) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("no dead letter appeared")
			}
			time.Sleep(50 * time.Millisecond)
			dl = listDeadLetters(t, p.Endpoint, "async-dlq")
		}
		d := dl.DeadLetters[0]
		if d.Condition != "RetriesExhausted" || d.Attempts != 3 || !strings.Contains(string(d.Payload), "lost?") {
			t.Fatalf("dead letter = %+v", d)
		}
		if got := readLines(rec); len(got) != 3 {
			t.Fatalf("the function ran %d times, want 3", len(got))
		}
		// Fix the function, then replay.
		if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String("async-dlq"),
			Environment:  &types.Environment{Variables: map[string]string{"RECORD_FILE": rec}},
		}); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(p.Endpoint+"/_lamina/v1/dead-letters/redrive", "application/json",
			strings.NewReader(`{"function":"async-dlq"}`))
		if err != nil {
			t.Fatal(err)
		}
		var redriven struct{ Redriven int }
		json.NewDecoder(resp.Body).Decode(&redriven)
		resp.Body.Close()
		if redriven.Redriven != 1 {
			t.Fatalf("redriven = %d, want 1", redriven.Redriven)
		}
		waitLines(t, rec, 4, 30*time.Second)
		time.Sleep(200 * time.Millisecond)
		if got := readLines(rec); len(got) != 4 {
			t.Fatalf("after redrive the function ran %d times in all, want 4 (one successful run)", len(got))
		}
		if left := listDeadLetters(t, p.Endpoint, "async-dlq"); len(left.DeadLetters) != 0 {
			t.Fatalf("dead letters left after a successful redrive: %+v", left)
		}
	})
}

// TestSchedulesFireFunctions creates an EventBridge Scheduler schedule and
// an EventBridge rule, both every second, with the real SDK clients, and
// expects the target function to receive the schedule's input and the
// rule's Scheduled Event envelope.
func TestSchedulesFireFunctions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real functions for several seconds")
	}
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := p.AWSConfig()
	c := lambda.NewFromConfig(cfg)
	dir := recordDir(t)
	sink := filepath.Join(dir, "ticks")
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("ticker"),
		Runtime:      types.RuntimeProvidedal2023,
		Role:         aws.String("arn:aws:iam::000000000000:role/e2e"),
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: gofnZip(t)},
		Environment:  &types.Environment{Variables: map[string]string{"RECORD_ALL": sink}},
	}); err != nil {
		t.Fatal(err)
	}
	fnARN := "arn:aws:lambda:us-east-1:000000000000:function:ticker"

	sch := scheduler.NewFromConfig(cfg)
	start := time.Now()
	if _, err := sch.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name:               aws.String("every-second"),
		ScheduleExpression: aws.String("rate(1 second)"),
		FlexibleTimeWindow: &schtypes.FlexibleTimeWindow{Mode: schtypes.FlexibleTimeWindowModeOff},
		Target: &schtypes.Target{
			Arn:     aws.String(fnARN),
			RoleArn: aws.String("arn:aws:iam::000000000000:role/scheduler"),
			Input:   aws.String(`{"from":"scheduler","at":"<aws.scheduler.scheduled-time>"}`),
		},
	}); err != nil {
		t.Fatal(err)
	}
	// A schedule whose target the async service refuses for good (a
	// function in another region): its firings become dead letters and
	// never hold up the others.
	if _, err := sch.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name:               aws.String("elsewhere"),
		ScheduleExpression: aws.String("rate(1 second)"),
		FlexibleTimeWindow: &schtypes.FlexibleTimeWindow{Mode: schtypes.FlexibleTimeWindowModeOff},
		Target: &schtypes.Target{
			Arn:     aws.String("arn:aws:lambda:eu-west-1:000000000000:function:ticker"),
			RoleArn: aws.String("arn:aws:iam::000000000000:role/scheduler"),
		},
	}); err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name:               aws.String("rule-every-second"),
		ScheduleExpression: aws.String("rate(1 second)"),
	}); err != nil {
		t.Fatal(err)
	}
	if out, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule:    aws.String("rule-every-second"),
		Targets: []ebtypes.Target{{Id: aws.String("fn"), Arn: aws.String(fnARN)}},
	}); err != nil || out.FailedEntryCount != 0 {
		t.Fatalf("put targets: %v %+v", err, out)
	}

	time.Sleep(5*time.Second - time.Since(start))
	var fromScheduler, fromRule int
	for _, line := range readLines(sink) {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("bad event %q: %v", line, err)
		}
		switch {
		case ev["from"] == "scheduler":
			fromScheduler++
			if at, _ := ev["at"].(string); !strings.HasPrefix(at, fmt.Sprint(time.Now().UTC().Year())) {
				t.Errorf("placeholder not substituted: %q", line)
			}
		case ev["detail-type"] == "Scheduled Event":
			fromRule++
			res, _ := ev["resources"].([]any)
			if ev["source"] != "aws.events" || len(res) != 1 || !strings.HasSuffix(fmt.Sprint(res[0]), ":rule/rule-every-second") {
				t.Errorf("envelope = %s", line)
			}
		default:
			t.Errorf("unexpected event %s", line)
		}
	}
	if fromScheduler < 4 || fromRule < 3 {
		t.Fatalf("in 5 s: %d scheduler firings (want ≥ 4) and %d rule firings (want ≥ 3)", fromScheduler, fromRule)
	}
	if fromScheduler > 6 {
		t.Fatalf("%d scheduler firings in 5 s of rate(1 second)", fromScheduler)
	}
	dl := listDeadLetters(t, p.Endpoint, "ticker")
	if len(dl.DeadLetters) < 3 {
		t.Fatalf("%d dead letters for the schedule with an unreachable target, want one per firing (≥ 3)", len(dl.DeadLetters))
	}
	if d := dl.DeadLetters[0]; d.Condition != "DeliveryFailed" || !strings.Contains(d.ErrorMessage, "Function not found") {
		t.Errorf("dead letter = %+v", d)
	}
}
