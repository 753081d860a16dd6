package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/schedule"
)

// startSchedulesPlatform serves an edge with a real function registry and
// schedule service, the parts `lamina schedules` talks to, and creates the
// function "hello".
func startSchedulesPlatform(t *testing.T) (endpoint string, svc *schedule.Service) {
	t.Helper()
	ctx, st, quiet := openTestStore(t)
	reg, err := function.New(ctx, function.Options{Store: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	svc, err = schedule.New(ctx, schedule.Options{Store: st, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, _ := zw.CreateHeader(h)
	io.WriteString(w, "#!/bin/sh\n")
	zw.Close()
	if _, err := reg.Create(ctx, function.CreateInput{FunctionName: "hello", ZipFile: buf.Bytes(), Config: function.Config{
		Runtime: "provided.al2023", Handler: "bootstrap", Role: "arn:aws:iam::000000000000:role/r"}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(awsapi.New(awsapi.Options{Functions: reg, Scheduler: svc, Logger: quiet}))
	t.Cleanup(srv.Close)
	return srv.URL, svc
}

func TestSchedulesCommand(t *testing.T) {
	endpoint, svc := startSchedulesPlatform(t)
	run := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, append([]string{"--endpoint", endpoint, "schedules"}, args...)...)
	}

	_, stderr, err := run("list")
	if err != nil || !strings.Contains(stderr, "no schedules") {
		t.Fatalf("empty list: %q %v", stderr, err)
	}

	const fnArn = "arn:aws:lambda:us-east-1:000000000000:function:hello"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "tick", "--expression", "rate(5 minutes)", "--function", "hello"},
			"created schedule tick (arn:aws:scheduler:us-east-1:000000000000:schedule/default/tick), invoking " + fnArn},
		{[]string{"create", "nightly", "--expression", "cron(0 3 * * ? *)", "--function", fnArn, "--timezone", "Europe/Paris",
			"--input", `{"full":true}`, "--flexible-window", "15", "--disabled", "--description", "the report"}, "created schedule nightly"},
		{[]string{"create", "once", "--expression", "at(2030-01-01T09:00:00)", "--function", "hello", "--group", "default",
			"--delete-after-completion"}, "created schedule once"},
	} {
		out, _, err := run(tc.args...)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Fatalf("schedules %q: %q, %v", tc.args, out, err)
		}
	}

	// What the service stored is what the flags said.
	s, err := svc.GetSchedule(t.Context(), "", "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if s.ScheduleExpressionTimezone != "Europe/Paris" || *s.Target.Input != `{"full":true}` || s.State != schedule.StateDisabled ||
		*s.FlexibleTimeWindow.MaximumWindowInMinutes != 15 || s.Target.Arn != fnArn || s.Description != "the report" ||
		s.Target.RoleArn != schedulerRole {
		t.Errorf("nightly = %+v", s)
	}
	if s, _ := svc.GetSchedule(t.Context(), "", "once"); s == nil || s.ActionAfterCompletion != schedule.ActionDelete {
		t.Errorf("once = %+v", s)
	}

	out, _, err := run("list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[1], "nightly") ||
		!strings.Contains(lines[1], "DISABLED") || !strings.Contains(lines[1], "hello") || !strings.HasPrefix(lines[3], "tick") {
		t.Errorf("list:\n%s", out)
	}
	out, _, err = run("list", "--prefix", "ti", "--group", "default", "--output", "json")
	if err != nil {
		t.Fatal(err)
	}
	var listed struct {
		Schedules []struct{ Name, State string }
	}
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed.Schedules) != 1 || listed.Schedules[0].Name != "tick" {
		t.Errorf("list --output json: %s (%v)", out, err)
	}

	out, _, err = run("get", "nightly")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cron(0 3 * * ? *)", "Europe/Paris", "flexible, up to 15 min", "DISABLED", fnArn, `{"full":true}`, "up to 185, for up to 24h0m0s"} {
		if !strings.Contains(out, want) {
			t.Errorf("get lacks %q:\n%s", want, out)
		}
	}
	out, _, err = run("get", "tick", "--output", "json")
	var got map[string]any
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got["ScheduleExpression"] != "rate(5 minutes)" {
		t.Errorf("get --output json: %s (%v)", out, err)
	}

	// Errors say what is wrong, before anything is created.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "x", "--expression", "rate(5 minutes)", "--function", "nope"}, "GetFunction: ResourceNotFoundException"},
		{[]string{"create", "x", "--expression", "rate(5 minute)", "--function", "hello"}, "CreateSchedule: ValidationException: Invalid Schedule Expression"},
		{[]string{"create", "tick", "--expression", "rate(5 minutes)", "--function", "hello"}, "ConflictException: Schedule tick already exists."},
		{[]string{"create", "x", "--function", "hello"}, `required flag(s) "expression" not set`},
		{[]string{"get", "nope"}, "GetSchedule: ResourceNotFoundException: Schedule nope does not exist."},
		{[]string{"list", "--group", "nope"}, "ResourceNotFoundException: Schedule group nope does not exist."},
	} {
		_, _, err := run(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("schedules %q: %v, want %q", tc.args, err, tc.want)
		}
	}

	out, _, err = run("delete", "tick")
	if err != nil || strings.TrimSpace(out) != "deleted schedule tick" {
		t.Fatalf("delete: %q %v", out, err)
	}
	if _, _, err := run("delete", "tick"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("second delete: %v", err)
	}
}
