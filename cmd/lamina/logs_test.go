package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/telemetry"
	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// logsPlatform is an edge with a real function registry and log store, the
// parts of the platform `lamina logs` talks to.
type logsPlatform struct {
	endpoint string
	logs     *telemetry.Logs
	reg      *function.Service
}

func startLogsPlatform(t *testing.T) *logsPlatform {
	t.Helper()
	ctx, st, quiet := openTestStore(t)
	reg, err := function.New(ctx, function.Options{Store: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := telemetry.NewLogs(ctx, st, telemetry.LogsOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logs.Close(context.Background()) })
	srv := httptest.NewServer(awsapi.New(awsapi.Options{Functions: reg, Logs: logs, Logger: quiet}))
	t.Cleanup(srv.Close)
	return &logsPlatform{endpoint: srv.URL, logs: logs, reg: reg}
}

func (p *logsPlatform) create(t *testing.T, name, logGroup string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	io.WriteString(w, "#!/bin/sh\n")
	zw.Close()
	in := function.CreateInput{FunctionName: name, ZipFile: buf.Bytes(), Config: function.Config{
		Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::000000000000:role/r", LogGroup: logGroup}}
	if _, err := p.reg.Create(t.Context(), in); err != nil {
		t.Fatal(err)
	}
}

// write stores a line and waits until it is stored.
func (p *logsPlatform) write(t *testing.T, fn string, at time.Time, line string) {
	t.Helper()
	p.logs.WriteLog(telemetry.LogLine{Time: at, FunctionName: fn, Version: "$LATEST",
		Stream: "2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef", RequestID: "r", Line: line})
	if err := p.logs.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestLogsCommand(t *testing.T) {
	p := startLogsPlatform(t)
	p.create(t, "hello", "")
	p.create(t, "custom", "/custom/group")
	now := time.Now()
	old := now.Add(-time.Hour).UTC().Truncate(time.Millisecond)
	p.write(t, "hello", old, "START RequestId: r Version: $LATEST")
	p.write(t, "hello", now.Add(-5*time.Second), "ERROR boom")
	p.write(t, "hello", now.Add(-4*time.Second), "END RequestId: r")
	p.write(t, "custom", now, "custom line")
	p.write(t, "gone", now, "a deleted function's line")

	logs := func(args ...string) (string, error) {
		t.Helper()
		out, _, err := runCLI(t, append([]string{"--endpoint", p.endpoint, "logs"}, args...)...)
		return out, err
	}
	out, err := logs("hello")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != old.Format("2006-01-02T15:04:05.000Z")+" START RequestId: r Version: $LATEST" ||
		!strings.HasSuffix(lines[1], " ERROR boom") || !strings.HasSuffix(lines[2], " END RequestId: r") {
		t.Fatalf("lamina logs hello:\n%s", out)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"hello", "--filter", "ERROR"}, []string{"ERROR boom"}},
		{[]string{"hello", "--filter", `"RequestId: r" -START`}, []string{"END RequestId: r"}},
		{[]string{"hello", "--since", "1m"}, []string{"ERROR boom", "END RequestId: r"}},
		{[]string{"hello", "--since", now.Add(-90 * time.Minute).UTC().Format(time.RFC3339)}, []string{"START", "ERROR boom", "END"}},
		{[]string{"hello", "--limit", "2"}, []string{"START", "ERROR boom"}},
		{[]string{"custom"}, []string{"custom line"}},
		{[]string{"/custom/group"}, []string{"custom line"}},
		{[]string{"gone"}, []string{"a deleted function's line"}},
		{[]string{"hello", "--filter", "nothing-matches"}, nil},
	} {
		out, err := logs(tc.args...)
		if err != nil {
			t.Errorf("logs %q: %v", tc.args, err)
			continue
		}
		got := strings.Split(strings.TrimSpace(out), "\n")
		if len(tc.want) == 0 {
			if strings.TrimSpace(out) != "" {
				t.Errorf("logs %q printed %q", tc.args, out)
			}
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("logs %q:\n%s", tc.args, out)
			continue
		}
		for i := range got {
			if !strings.Contains(got[i], tc.want[i]) {
				t.Errorf("logs %q line %d = %q, want %q in it", tc.args, i, got[i], tc.want[i])
			}
		}
	}

	out, err = logs("hello", "--output", "json", "--filter", "ERROR")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		EventId, LogStreamName, Message string
		Timestamp, IngestionTime        int64
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &ev); err != nil || ev.Message != "ERROR boom" ||
		ev.EventId == "" || ev.LogStreamName == "" || ev.Timestamp == 0 || ev.IngestionTime == 0 {
		t.Fatalf("--output json: %q, %v", out, err)
	}

	for args, want := range map[string]string{
		"nobody":                  `function "nobody" not found`,
		"/no/group":               "log group /no/group not found",
		"hello --since yesterday": "invalid --since",
		"hello --limit -1":        "invalid --limit",
		"hello --filter {$.a=1}":  "InvalidParameterException",
		"":                        "needs a function name",
		"a b":                     "needs a function name",
	} {
		_, err := logs(strings.Fields(args)...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("logs %s: %v, want %q", args, err, want)
		}
	}
}

func TestLogsFollow(t *testing.T) {
	p := startLogsPlatform(t)
	p.create(t, "tail", "")
	p.write(t, "tail", time.Now().Add(-time.Minute), "before the follow")
	p.write(t, "tail", time.Now().Add(-time.Hour), "older than the default 10 minutes")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	root := newRootCommand()
	var out syncBuffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"--endpoint", p.endpoint, "logs", "tail", "--follow", "--poll-interval", "50ms", "--filter", "-skip"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	waitOutput := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("%q not printed; output:\n%s", want, out.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOutput("before the follow")
	start := time.Now()
	p.write(t, "tail", time.Now(), "skip this one")
	p.write(t, "tail", time.Now(), "new line 1")
	p.write(t, "tail", time.Now(), "new line 2")
	waitOutput("new line 2")
	t.Logf("new lines printed %v after they were written", time.Since(start))
	time.Sleep(200 * time.Millisecond) // a few more polls: nothing printed twice
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not end when interrupted")
	}
	got := out.String()
	for _, line := range []string{"before the follow", "new line 1", "new line 2"} {
		if n := strings.Count(got, line); n != 1 {
			t.Errorf("%q printed %d times:\n%s", line, n, got)
		}
	}
	if strings.Contains(got, "older than") || strings.Contains(got, "skip this one") {
		t.Errorf("printed a line it should not have:\n%s", got)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"10m":                         now.Add(-10 * time.Minute),
		"1h30m":                       now.Add(-90 * time.Minute),
		"7d":                          now.Add(-7 * 24 * time.Hour),
		"0s":                          now,
		"2026-11-01T10:00:00Z":        time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC),
		"2026-11-01T10:00:00.5+01:00": time.Date(2026, 11, 1, 9, 0, 0, 500_000_000, time.UTC),
	} {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-5m", "d", "-1d", "yesterday", "2026-11-01"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}

// TestLogsAgainstPlatform invokes a real aws-lambda-go function on a whole
// in-process platform and reads its log with `lamina logs`: the function's
// lines and the platform's START, END and REPORT lines, at once.
func TestLogsAgainstPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the platform and runs a function")
	}
	p := laminatest.Start(t)
	client := lambda.NewFromConfig(p.AWSConfig())
	ctx := t.Context()
	if _, err := client.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("logger"),
		Runtime:      lambdatypes.RuntimeProvidedal2023,
		Role:         aws.String("arn:aws:iam::000000000000:role/lambda"),
		Handler:      aws.String("bootstrap"),
		Code:         &lambdatypes.FunctionCode{ZipFile: gofnBootstrapZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	out, err := client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("logger"), Payload: []byte(`{"op":"log","lines":3,"text":"hello"}`)})
	if err != nil || out.FunctionError != nil {
		t.Fatalf("invoke: %v %v", err, out)
	}
	var got string
	deadline := time.Now().Add(5 * time.Second)
	for {
		stdout, _, err := runCLI(t, "--endpoint", p.Endpoint, "logs", "logger")
		if err != nil {
			t.Fatal(err)
		}
		if got = stdout; strings.Contains(got, "REPORT RequestId:") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 6 || !strings.Contains(lines[0], " START RequestId: ") ||
		!strings.Contains(lines[4], " END RequestId: ") || !strings.Contains(lines[5], " REPORT RequestId: ") {
		t.Fatalf("lamina logs logger:\n%s", got)
	}
	// The function writes to stdout and stderr in turn: the two pipes are
	// read apart, so their lines may come in either order.
	middle := strings.Join(lines[1:4], "\n")
	for _, w := range []string{" hello 0", " hello 1", " hello 2"} {
		if !strings.Contains(middle, w) {
			t.Errorf("%q missing:\n%s", w, got)
		}
	}
}
