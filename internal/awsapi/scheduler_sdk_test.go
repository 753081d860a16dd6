package awsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/schedule"
	"github.com/lamina-dev/lamina/internal/store"
)

// schedulerEdge is an edge with a real schedule service on an embedded
// JetStream, served over HTTP, and the SDK clients that talk to it.
type schedulerEdge struct {
	url    string
	svc    *schedule.Service
	st     store.Store
	sched  *scheduler.Client
	events *eventbridge.Client
}

func startSchedulerEdge(t *testing.T, limits schedule.Limits) *schedulerEdge {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := schedule.New(ctx, schedule.Options{Store: st, Logger: quietLogger(), Limits: limits})
	if err != nil {
		t.Fatal(err)
	}
	e := &schedulerEdge{svc: svc, st: st}
	e.url = serveEdge(t, awsapi.Options{Scheduler: svc, Logger: quietLogger()})
	e.sched, e.events = sdkClients(e.url)
	return e
}

func serveEdge(t *testing.T, opts awsapi.Options) string {
	srv := httptest.NewServer(awsapi.New(opts))
	t.Cleanup(srv.Close)
	return srv.URL
}

func sdkClients(url string) (*scheduler.Client, *eventbridge.Client) {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}
	s := scheduler.NewFromConfig(cfg, func(o *scheduler.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1 // an error is the answer under test, not something to retry
	})
	ev := eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
	return s, ev
}

const (
	sdkFn   = "arn:aws:lambda:us-east-1:000000000000:function:tick"
	sdkRole = "arn:aws:iam::000000000000:role/lamina-scheduler"
)

func sdkSchedule(name string) *scheduler.CreateScheduleInput {
	return &scheduler.CreateScheduleInput{
		Name:               aws.String(name),
		ScheduleExpression: aws.String("rate(5 minutes)"),
		FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
		Target:             &types.Target{Arn: aws.String(sdkFn), RoleArn: aws.String(sdkRole)},
	}
}

// TestSchedulerSDK drives the Scheduler API through the real
// aws-sdk-go-v2 client: every operation, the members it round-trips, and
// the typed errors users meet.
func TestSchedulerSDK(t *testing.T) {
	e := startSchedulerEdge(t, schedule.Limits{MaxGroups: 3})
	ctx := t.Context()
	c := e.sched
	start := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	end := start.Add(30 * 24 * time.Hour)

	t.Run("CreateSchedule and GetSchedule", func(t *testing.T) {
		in := sdkSchedule("nightly")
		in.ScheduleExpression = aws.String("cron(0 3 * * ? *)")
		in.ScheduleExpressionTimezone = aws.String("America/New_York")
		in.Description = aws.String("every night")
		in.StartDate, in.EndDate = aws.Time(start), aws.Time(end)
		in.State = types.ScheduleStateDisabled
		in.FlexibleTimeWindow = &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(10)}
		in.Target.Input = aws.String(`{"at":"<aws.scheduler.scheduled-time>"}`)
		in.Target.RetryPolicy = &types.RetryPolicy{MaximumRetryAttempts: aws.Int32(4)}
		in.Target.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String("arn:aws:sqs:us-east-1:000000000000:dlq")}
		out, err := c.CreateSchedule(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		const arn = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly"
		if aws.ToString(out.ScheduleArn) != arn {
			t.Errorf("ScheduleArn %q", aws.ToString(out.ScheduleArn))
		}
		got, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("nightly")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(got.Arn) != arn || aws.ToString(got.GroupName) != "default" || aws.ToString(got.Name) != "nightly" ||
			aws.ToString(got.ScheduleExpression) != "cron(0 3 * * ? *)" || aws.ToString(got.ScheduleExpressionTimezone) != "America/New_York" ||
			aws.ToString(got.Description) != "every night" || got.State != types.ScheduleStateDisabled ||
			got.ActionAfterCompletion != types.ActionAfterCompletionNone ||
			!aws.ToTime(got.StartDate).Equal(start) || !aws.ToTime(got.EndDate).Equal(end) ||
			got.CreationDate == nil || time.Since(*got.CreationDate) > time.Minute || !got.LastModificationDate.Equal(*got.CreationDate) {
			t.Errorf("GetSchedule = %+v", got)
		}
		w := got.FlexibleTimeWindow
		if w.Mode != types.FlexibleTimeWindowModeFlexible || aws.ToInt32(w.MaximumWindowInMinutes) != 10 {
			t.Errorf("FlexibleTimeWindow %+v", w)
		}
		tg := got.Target
		if aws.ToString(tg.Arn) != sdkFn || aws.ToString(tg.RoleArn) != sdkRole || aws.ToString(tg.Input) != *in.Target.Input ||
			aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) != 4 || aws.ToInt32(tg.RetryPolicy.MaximumEventAgeInSeconds) != 86400 ||
			aws.ToString(tg.DeadLetterConfig.Arn) != "arn:aws:sqs:us-east-1:000000000000:dlq" {
			t.Errorf("Target %+v", tg)
		}
	})

	t.Run("UpdateSchedule replaces", func(t *testing.T) {
		up := &scheduler.UpdateScheduleInput{
			Name:                  aws.String("nightly"),
			ScheduleExpression:    aws.String("at(2030-01-01T00:00:00)"),
			FlexibleTimeWindow:    &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
			Target:                &types.Target{Arn: aws.String(sdkFn), RoleArn: aws.String(sdkRole)},
			ActionAfterCompletion: types.ActionAfterCompletionDelete,
		}
		if _, err := c.UpdateSchedule(ctx, up); err != nil {
			t.Fatal(err)
		}
		got, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("nightly"), GroupName: aws.String("default")})
		if err != nil {
			t.Fatal(err)
		}
		if got.State != types.ScheduleStateEnabled || got.Description != nil || got.StartDate != nil || got.ScheduleExpressionTimezone != nil ||
			got.ActionAfterCompletion != types.ActionAfterCompletionDelete || got.Target.Input != nil ||
			got.FlexibleTimeWindow.Mode != types.FlexibleTimeWindowModeOff || got.FlexibleTimeWindow.MaximumWindowInMinutes != nil {
			t.Errorf("after UpdateSchedule: %+v", got)
		}
	})

	t.Run("schedule groups and tags", func(t *testing.T) {
		out, err := c.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{
			Name: aws.String("team"), Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}},
		})
		if err != nil {
			t.Fatal(err)
		}
		garn := aws.ToString(out.ScheduleGroupArn)
		if garn != "arn:aws:scheduler:us-east-1:000000000000:schedule-group/team" {
			t.Errorf("ScheduleGroupArn %q", garn)
		}
		g, err := c.GetScheduleGroup(ctx, &scheduler.GetScheduleGroupInput{Name: aws.String("team")})
		if err != nil || g.State != types.ScheduleGroupStateActive || aws.ToString(g.Arn) != garn || g.CreationDate == nil {
			t.Fatalf("GetScheduleGroup = %+v, %v", g, err)
		}
		if _, err := c.TagResource(ctx, &scheduler.TagResourceInput{ResourceArn: aws.String(garn),
			Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("me")}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.UntagResource(ctx, &scheduler.UntagResourceInput{ResourceArn: aws.String(garn), TagKeys: []string{"env", "x"}}); err != nil {
			t.Fatal(err)
		}
		tags, err := c.ListTagsForResource(ctx, &scheduler.ListTagsForResourceInput{ResourceArn: aws.String(garn)})
		if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "owner" || aws.ToString(tags.Tags[0].Value) != "me" {
			t.Errorf("ListTagsForResource = %+v, %v", tags, err)
		}

		for _, n := range []string{"b", "a"} {
			in := sdkSchedule(n)
			in.GroupName = aws.String("team")
			if _, err := c.CreateSchedule(ctx, in); err != nil {
				t.Fatal(err)
			}
		}
		var groups []string
		pages := scheduler.NewListScheduleGroupsPaginator(c, &scheduler.ListScheduleGroupsInput{MaxResults: aws.Int32(1)})
		for pages.HasMorePages() {
			p, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range p.ScheduleGroups {
				groups = append(groups, aws.ToString(g.Name))
			}
		}
		if strings.Join(groups, ",") != "default,team" {
			t.Errorf("groups %v", groups)
		}
	})

	t.Run("ListSchedules", func(t *testing.T) {
		list := func(in *scheduler.ListSchedulesInput) string {
			t.Helper()
			var names []string
			pages := scheduler.NewListSchedulesPaginator(c, in)
			for pages.HasMorePages() {
				p, err := pages.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range p.Schedules {
					names = append(names, aws.ToString(s.GroupName)+"/"+aws.ToString(s.Name)+"/"+string(s.State))
					if aws.ToString(s.Target.Arn) != sdkFn || s.CreationDate == nil || !strings.HasSuffix(aws.ToString(s.Arn), aws.ToString(s.Name)) {
						t.Errorf("summary %+v", s)
					}
				}
			}
			return strings.Join(names, " ")
		}
		for _, tc := range []struct {
			in   *scheduler.ListSchedulesInput
			want string
		}{
			{&scheduler.ListSchedulesInput{MaxResults: aws.Int32(1)}, "default/nightly/ENABLED team/a/ENABLED team/b/ENABLED"},
			{&scheduler.ListSchedulesInput{GroupName: aws.String("team")}, "team/a/ENABLED team/b/ENABLED"},
			{&scheduler.ListSchedulesInput{NamePrefix: aws.String("n"), State: types.ScheduleStateEnabled}, "default/nightly/ENABLED"},
			{&scheduler.ListSchedulesInput{State: types.ScheduleStateDisabled}, ""},
		} {
			if got := list(tc.in); got != tc.want {
				t.Errorf("ListSchedules(%+v) = %q, want %q", tc.in, got, tc.want)
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		var notFound *types.ResourceNotFoundException
		_, err := c.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("nope")})
		if !errors.As(err, &notFound) || aws.ToString(notFound.Message) != "Schedule nope does not exist." {
			t.Errorf("GetSchedule missing: %v", err)
		}
		var conflict *types.ConflictException
		if _, err := c.CreateSchedule(ctx, sdkSchedule("nightly")); !errors.As(err, &conflict) ||
			aws.ToString(conflict.Message) != "Schedule nightly already exists." {
			t.Errorf("CreateSchedule twice: %v", err)
		}
		var validation *types.ValidationException
		bad := sdkSchedule("bad")
		bad.ScheduleExpression = aws.String("rate(1 minutes)")
		if _, err := c.CreateSchedule(ctx, bad); !errors.As(err, &validation) ||
			!strings.Contains(aws.ToString(validation.Message), "Invalid Schedule Expression rate(1 minutes)") {
			t.Errorf("bad expression: %v", err)
		}
		bad = sdkSchedule("bad")
		bad.Target.EventBridgeParameters = &types.EventBridgeParameters{DetailType: aws.String("d"), Source: aws.String("s")}
		if _, err := c.CreateSchedule(ctx, bad); !errors.As(err, &validation) ||
			!strings.Contains(aws.ToString(validation.Message), "EventBridgeParameters is not supported") {
			t.Errorf("templated parameters: %v", err)
		}
		if _, err := c.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String("default")}); !errors.As(err, &validation) {
			t.Errorf("deleting the default group: %v", err)
		}
		if _, err := c.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String("nope")}); !errors.As(err, &notFound) {
			t.Errorf("ListSchedules of a missing group: %v", err)
		}
		if _, err := c.ListSchedules(ctx, &scheduler.ListSchedulesInput{MaxResults: aws.Int32(500)}); !errors.As(err, &validation) {
			t.Errorf("MaxResults 500: %v", err)
		}
		if _, err := c.ListTagsForResource(ctx, &scheduler.ListTagsForResourceInput{
			ResourceArn: aws.String("arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly")}); !errors.As(err, &validation) {
			t.Errorf("tags of a schedule: %v", err)
		}
		if _, err := c.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("g3")}); err != nil {
			t.Fatal(err)
		}
		var quota *types.ServiceQuotaExceededException
		if _, err := c.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String("g4")}); !errors.As(err, &quota) {
			t.Errorf("fourth group: %v", err)
		}
	})

	t.Run("wire shape of errors", func(t *testing.T) {
		for _, tc := range []struct {
			method, path, body string
			status             int
			code               string
		}{
			{"GET", "/schedules/nope", "", 404, "ResourceNotFoundException"},
			{"POST", "/schedule-groups/team", "{}", 409, "ConflictException"},
			{"POST", "/schedules/x", "{not json", 400, "ValidationException"},
			{"POST", "/schedules/x", `{"StartDate":"yesterday"}`, 400, "ValidationException"},
			{"GET", "/schedules?MaxResults=abc", "", 400, "ValidationException"},
		} {
			req, _ := http.NewRequest(tc.method, e.url+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var body map[string]string
			if resp.StatusCode != tc.status || resp.Header.Get("X-Amzn-ErrorType") != tc.code ||
				json.Unmarshal(b, &body) != nil || body["Message"] == "" || resp.Header.Get("X-Amzn-RequestId") == "" {
				t.Errorf("%s %s: %d %q %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := c.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("nightly")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteScheduleGroup(ctx, &scheduler.DeleteScheduleGroupInput{Name: aws.String("team")}); err != nil {
			t.Fatal(err)
		}
		out, err := c.ListSchedules(ctx, &scheduler.ListSchedulesInput{})
		if err != nil || len(out.Schedules) != 0 {
			t.Errorf("schedules left: %+v, %v", out, err)
		}
		defs, err := e.st.KV(ctx, schedule.DefinitionsBucket)
		if err != nil {
			t.Fatal(err)
		}
		if keys, _ := defs.Keys(ctx, ""); len(keys) != 0 {
			t.Errorf("definitions left: %v", keys)
		}
		var notFound *types.ResourceNotFoundException
		if _, err := c.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("nightly")}); !errors.As(err, &notFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}

// TestSchedulerDisabled checks the answer of an edge without a schedule service.
func TestSchedulerDisabled(t *testing.T) {
	url := serveEdge(t, awsapi.Options{Logger: quietLogger()})
	s, ev := sdkClients(url)
	_, err := s.ListSchedules(t.Context(), &scheduler.ListSchedulesInput{})
	if apiCode(err) != "UnsupportedOperationException" || !strings.Contains(err.Error(), "Scheduler is not enabled") {
		t.Errorf("ListSchedules: %v", err)
	}
	_, err = ev.ListRules(t.Context(), &eventbridge.ListRulesInput{})
	if apiCode(err) != "UnsupportedOperationException" || !strings.Contains(err.Error(), "rules are not enabled") {
		t.Errorf("ListRules: %v", err)
	}
}
