// Command gofn is a real aws-lambda-go function used by package runtime's
// tests and benchmarks. It is built from the main module during the tests
// (go build -tags lambda.norpc ./testdata/gofn) and its behaviour is chosen
// by the event: {"op":"echo"} and so on (see invoke). Without an "op" it
// echoes the payload, which is what the benchmarks send.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type event struct {
	Op      string `json:"op"`
	Message string `json:"message"`
	Code    int    `json:"code"`
	Millis  int    `json:"ms"`
	Bytes   int    `json:"bytes"`
	Lines   int    `json:"lines"`
	Text    string `json:"text"`
	MB      int    `json:"mb"`
}

type handler struct{}

func (handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if ms, err := strconv.Atoi(os.Getenv("SLEEP_MS")); err == nil && ms > 0 {
		// A slow function: sleeps before answering whatever it answers.
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	switch os.Getenv("AUTHORIZER") {
	case "simple":
		return simpleAuthorizer(payload)
	case "token":
		return tokenAuthorizer(payload)
	}
	if os.Getenv("ECHO_PROXY") == "1" {
		// An API Gateway proxy response (payload 1.0 needs one) whose body
		// is the event received, as JSON text.
		return json.Marshal(map[string]any{
			"statusCode": 200,
			"headers":    map[string]string{"Content-Type": "application/json"},
			"body":       string(payload),
		})
	}
	if f := os.Getenv("SQS_BATCH"); f != "" {
		return sqsBatch(f, payload)
	}
	if f := os.Getenv("RECORD_ALL"); f != "" {
		// A sink: every event is appended to the file, one compact JSON per line.
		var buf bytes.Buffer
		if err := json.Compact(&buf, payload); err != nil {
			return nil, err
		}
		buf.WriteByte('\n')
		if err := appendFile(f, buf.Bytes()); err != nil {
			return nil, err
		}
		return []byte(`"recorded"`), nil
	}
	if !bytes.Contains(payload, []byte(`"op"`)) {
		return payload, nil // echo, no JSON work: what the benchmarks measure
	}
	var ev event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	switch ev.Op {
	case "echo":
		return payload, nil
	case "record":
		// Sleeps ms, appends Text and a newline to the file named by
		// RECORD_FILE (one O_APPEND write: atomic among concurrent
		// instances), then fails if Code is not 0 or FAIL_RECORD=1. Tests
		// count what ran.
		time.Sleep(time.Duration(ev.Millis) * time.Millisecond)
		if err := appendFile(os.Getenv("RECORD_FILE"), []byte(ev.Text+"\n")); err != nil {
			return nil, err
		}
		if ev.Code != 0 || os.Getenv("FAIL_RECORD") == "1" {
			return nil, fmt.Errorf("recorded %s and failed as asked", ev.Text)
		}
		return []byte(`"recorded"`), nil
	case "pid":
		return json.Marshal(map[string]any{"pid": os.Getpid()})
	case "cpus":
		// What the Go runtime made of the CPUs the instance was given.
		return json.Marshal(map[string]any{"pid": os.Getpid(), "numCPU": runtime.NumCPU(), "gomaxprocs": runtime.GOMAXPROCS(0)})
	case "error":
		return nil, errors.New(ev.Message)
	case "panic":
		panic(ev.Message)
	case "exit":
		os.Exit(ev.Code)
	case "sleep":
		start := time.Now()
		time.Sleep(time.Duration(ev.Millis) * time.Millisecond)
		return json.Marshal(map[string]any{"pid": os.Getpid(), "start": start.UnixNano(), "end": time.Now().UnixNano()})
	case "grandchild":
		// Start a grandchild in the same process group, report it, then
		// outlive the timeout.
		cmd := exec.Command("/bin/sleep", "600")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		fmt.Printf("grandchild pid %d\n", cmd.Process.Pid)
		time.Sleep(time.Duration(ev.Millis) * time.Millisecond)
		return []byte(`"woke up"`), nil
	case "log":
		// Lines on both streams, the last ones immediately before the
		// response is posted.
		for i := 0; i < ev.Lines; i++ {
			if i%2 == 0 {
				fmt.Printf("%s %d\n", ev.Text, i)
			} else {
				fmt.Fprintf(os.Stderr, "%s %d\n", ev.Text, i)
			}
		}
		return []byte(`"logged"`), nil
	case "big":
		b := make([]byte, ev.Bytes)
		for i := range b {
			b[i] = 'x'
		}
		return b, nil
	case "oom":
		var keep [][]byte
		for i := 0; i < ev.MB; i++ {
			b := make([]byte, 1<<20)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			keep = append(keep, b)
		}
		return []byte(strconv.Itoa(len(keep))), nil
	case "env":
		return envReport(ctx)
	}
	return nil, fmt.Errorf("unknown op %q", ev.Op)
}

// simpleAuthorizer answers as an HTTP API Lambda REQUEST authorizer with
// payload 2.0 simple responses: authorized when the first identity source
// value is "allow", with the context {"user":"u1"}. When RECORD_FILE is set
// it appends one line per invocation (the identity), so tests can count
// how often the authorizer ran (result caching).
func simpleAuthorizer(payload []byte) ([]byte, error) {
	var ev struct {
		IdentitySource []string `json:"identitySource"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	first := ""
	if len(ev.IdentitySource) > 0 {
		first = ev.IdentitySource[0]
	}
	if f := os.Getenv("RECORD_FILE"); f != "" {
		if err := appendFile(f, []byte(strconv.Quote(first)+"\n")); err != nil {
			return nil, err
		}
	}
	return json.Marshal(map[string]any{
		"isAuthorized": first == "allow",
		"context":      map[string]any{"user": "u1"},
	})
}

// tokenAuthorizer is a REST API's TOKEN authorizer: it allows the method
// for the token "Bearer allow" (and says which token it saw), denies it
// for any other.
func tokenAuthorizer(payload []byte) ([]byte, error) {
	var ev struct {
		Type      string `json:"type"`
		Token     string `json:"authorizationToken"`
		MethodArn string `json:"methodArn"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	if ev.Type != "TOKEN" || ev.MethodArn == "" {
		return nil, fmt.Errorf("not a TOKEN authorizer event: %s", payload)
	}
	effect := "Deny"
	if ev.Token == "Bearer allow" {
		effect = "Allow"
	}
	return json.Marshal(map[string]any{
		"principalId": "user-1",
		"policyDocument": map[string]any{
			"Version":   "2012-10-17",
			"Statement": []map[string]any{{"Action": "execute-api:Invoke", "Effect": effect, "Resource": ev.MethodArn}},
		},
		"context": map[string]any{"token": ev.Token},
	})
}

// sqsBatch is a queue worker with partial batch responses: each SQS
// record's body is appended to file (one line each) unless the body
// contains "poison", in which case the record is reported as a batch item
// failure.
func sqsBatch(file string, payload []byte) ([]byte, error) {
	var ev struct {
		Records []struct {
			MessageID string `json:"messageId"`
			Body      string `json:"body"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	type failure struct {
		ItemIdentifier string `json:"itemIdentifier"`
	}
	failures := []failure{}
	var lines []byte
	for _, r := range ev.Records {
		if strings.Contains(r.Body, "poison") {
			failures = append(failures, failure{r.MessageID})
			continue
		}
		lines = append(lines, r.Body...)
		lines = append(lines, '\n')
	}
	if len(lines) > 0 {
		if err := appendFile(file, lines); err != nil {
			return nil, err
		}
	}
	return json.Marshal(map[string]any{"batchItemFailures": failures})
}

func envReport(ctx context.Context) ([]byte, error) {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cwd, _ := os.Getwd()
	r := map[string]any{
		"env": env, "cwd": cwd, "uid": os.Getuid(), "gid": os.Getgid(), "pid": os.Getpid(),
	}
	pgid, _ := syscall.Getpgid(0)
	r["pgid"] = pgid
	if err := os.WriteFile(filepath.Join(os.Getenv("TMPDIR"), "probe"), []byte("x"), 0o600); err != nil {
		r["tmpWriteError"] = err.Error()
	} else {
		r["tmpWritable"] = true
	}
	if f, err := os.Create(filepath.Join(os.Getenv("LAMBDA_TASK_ROOT"), "probe")); err != nil {
		r["codeWriteError"] = err.Error()
	} else {
		f.Close()
		r["codeWritable"] = true
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		r["nofile"] = rl.Cur
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &rl); err == nil {
		r["fsize"] = rl.Cur
	}
	lc, _ := lambdacontext.FromContext(ctx)
	if lc != nil {
		r["requestId"] = lc.AwsRequestID
		r["invokedArn"] = lc.InvokedFunctionArn
		r["clientContext"] = lc.ClientContext
		r["identity"] = lc.Identity
	}
	if dl, ok := ctx.Deadline(); ok {
		r["deadlineMs"] = dl.UnixMilli()
	}
	r["memoryLimit"] = lambdacontext.MemoryLimitInMB
	r["logStream"] = lambdacontext.LogStreamName
	r["traceId"] = os.Getenv("_X_AMZN_TRACE_ID")
	return json.Marshal(r)
}

func main() {
	switch os.Getenv("GOFN_INIT") {
	case "exit":
		fmt.Fprintln(os.Stderr, "init: failing as asked")
		os.Exit(2)
	case "panic":
		panic("init: panicking as asked")
	case "hang":
		time.Sleep(time.Hour)
	}
	log.SetFlags(0)
	lambda.StartHandler(handler{})
}

// appendFile appends b with one O_APPEND write (atomic among concurrent
// instances for small writes).
func appendFile(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
