package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

const (
	testFn   = "arn:aws:lambda:us-east-1:000000000000:function:tick"
	testRole = "arn:aws:iam::000000000000:role/lamina-scheduler"
)

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	ctx   context.Context
	st    store.Store
	svc   *Service
	clock *clock.Fake
	opts  Options
}

// newEnv opens a real (embedded JetStream) store in a temporary directory
// and a Service on it.
func newEnv(t *testing.T, edit ...func(*Options)) *env {
	t.Helper()
	t.Parallel()
	ctx := t.Context()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{ctx: ctx, st: st, clock: clock.NewFake(testStart)}
	e.opts = Options{Store: st, Clock: e.clock, Logger: slog.New(slog.DiscardHandler)}
	for _, f := range edit {
		f(&e.opts)
	}
	if e.svc, err = New(ctx, e.opts); err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// restart opens a new Service on the same store, as after a crash.
func (e *env) restart(t *testing.T) {
	t.Helper()
	svc, err := New(e.ctx, e.opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.svc = svc
}

func (e *env) kv(t *testing.T, bucket string) store.KV {
	t.Helper()
	kv, err := e.st.KV(e.ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// defs reads every stored definition by key.
func (e *env) defs(t *testing.T) map[string]Definition {
	t.Helper()
	entries, err := e.kv(t, DefinitionsBucket).List(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Definition{}
	for _, en := range entries {
		var d Definition
		if err := json.Unmarshal(en.Value, &d); err != nil {
			t.Fatalf("definition %s: %v", en.Key, err)
		}
		out[en.Key] = d
	}
	return out
}

func validInput(name string) ScheduleInput {
	return ScheduleInput{
		Name:               name,
		ScheduleExpression: "rate(5 minutes)",
		FlexibleTimeWindow: &FlexibleTimeWindow{Mode: ModeOff},
		Target:             &ScheduleTarget{Arn: testFn, RoleArn: testRole},
	}
}

func (e *env) create(t *testing.T, in ScheduleInput) *Schedule {
	t.Helper()
	sc, err := e.svc.CreateSchedule(e.ctx, in)
	if err != nil {
		t.Fatalf("CreateSchedule %s: %v", in.Name, err)
	}
	return sc
}

// wantFault checks err's kind and that its message contains msg.
func wantFault(t *testing.T, err error, kind fault.Kind, msg string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error %v, want a %s fault", err, kind)
	}
	if fe.Kind != kind || !strings.Contains(fe.Message, msg) {
		t.Fatalf("error %s %q, want %s containing %q", fe.Kind, fe.Message, kind, msg)
	}
}

func TestCreateScheduleValidation(t *testing.T) {
	e := newEnv(t)
	past := testStart.Add(-10 * time.Minute)
	soon := testStart.Add(time.Hour)
	tests := []struct {
		name string
		edit func(*ScheduleInput)
		msg  string
	}{
		{"empty name", func(in *ScheduleInput) { in.Name = "" }, "at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long name", func(in *ScheduleInput) { in.Name = strings.Repeat("a", 65) }, "length less than or equal to 64"},
		{"bad name", func(in *ScheduleInput) { in.Name = "a/b" }, "regular expression pattern: ^[0-9a-zA-Z-_.]+$"},
		{"bad group", func(in *ScheduleInput) { in.GroupName = "g g" }, "at 'groupName'"},
		{"no expression", func(in *ScheduleInput) { in.ScheduleExpression = "" }, "'scheduleExpression' failed to satisfy constraint: Member must not be null"},
		{"bad expression", func(in *ScheduleInput) { in.ScheduleExpression = "rate(0 minutes)" }, "Invalid Schedule Expression rate(0 minutes)"},
		{"unix cron", func(in *ScheduleInput) { in.ScheduleExpression = "cron(* * * * *)" }, "Invalid Schedule Expression"},
		{"bad timezone", func(in *ScheduleInput) { in.ScheduleExpressionTimezone = "Mars/Olympus" }, "Invalid ScheduleExpressionTimezone: Mars/Olympus"},
		{"local timezone", func(in *ScheduleInput) { in.ScheduleExpressionTimezone = "Local" }, "Invalid ScheduleExpressionTimezone"},
		{"no window", func(in *ScheduleInput) { in.FlexibleTimeWindow = nil }, "'flexibleTimeWindow' failed"},
		{"bad mode", func(in *ScheduleInput) { in.FlexibleTimeWindow.Mode = "ON" }, "[OFF, FLEXIBLE]"},
		{"flexible without window", func(in *ScheduleInput) { in.FlexibleTimeWindow.Mode = ModeFlexible }, "MaximumWindowInMinutes is required"},
		{"flexible window too long", func(in *ScheduleInput) {
			in.FlexibleTimeWindow = &FlexibleTimeWindow{Mode: ModeFlexible, MaximumWindowInMinutes: ptr(int32(1441))}
		}, "less than or equal to 1440"},
		{"window when off", func(in *ScheduleInput) { in.FlexibleTimeWindow.MaximumWindowInMinutes = ptr(int32(5)) }, "only when FlexibleTimeWindow.Mode is FLEXIBLE"},
		{"no target", func(in *ScheduleInput) { in.Target = nil }, "'target' failed"},
		{"no target arn", func(in *ScheduleInput) { in.Target.Arn = "" }, "'target.arn'"},
		{"no role", func(in *ScheduleInput) { in.Target.RoleArn = "" }, "'target.roleArn'"},
		{"bad role", func(in *ScheduleInput) { in.Target.RoleArn = "role" }, "at 'target.roleArn'"},
		{"kinesis target", func(in *ScheduleInput) { in.Target.Arn = "arn:aws:kinesis:us-east-1:000000000000:stream/s" }, "SNS topic targets only"},
		{"input not JSON", func(in *ScheduleInput) { in.Target.Input = ptr("{") }, "well-formed JSON"},
		{"empty input", func(in *ScheduleInput) { in.Target.Input = ptr("") }, "greater than or equal to 1"},
		{"retry attempts", func(in *ScheduleInput) { in.Target.RetryPolicy = &RetryPolicy{MaximumRetryAttempts: ptr(int32(186))} }, "less than or equal to 185"},
		{"event age", func(in *ScheduleInput) {
			in.Target.RetryPolicy = &RetryPolicy{MaximumEventAgeInSeconds: ptr(int32(59))}
		}, "greater than or equal to 60"},
		{"dead letter", func(in *ScheduleInput) {
			in.Target.DeadLetterConfig = &DeadLetterConfig{Arn: "arn:aws:sns:us-east-1:000000000000:t"}
		}, "deadLetterConfig.arn"},
		{"state", func(in *ScheduleInput) { in.State = "PAUSED" }, "[ENABLED, DISABLED]"},
		{"action", func(in *ScheduleInput) { in.ActionAfterCompletion = "ARCHIVE" }, "[NONE, DELETE]"},
		{"description", func(in *ScheduleInput) { in.Description = strings.Repeat("d", 513) }, "'description'"},
		{"client token", func(in *ScheduleInput) { in.ClientToken = "a b" }, "'clientToken'"},
		{"start date past", func(in *ScheduleInput) { in.StartDate = &past }, "cannot be earlier than 5 minutes ago"},
		{"end before start", func(in *ScheduleInput) { in.StartDate, in.EndDate = &soon, &soon }, "EndDate you specify must be after the StartDate"},
		{"missing group", func(in *ScheduleInput) { in.GroupName = "nope" }, "Schedule group nope does not exist."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := validInput("v")
			tc.edit(&in)
			_, err := e.svc.CreateSchedule(e.ctx, in)
			kind := fault.Invalid
			if strings.Contains(tc.msg, "does not exist") {
				kind = fault.NotFound
			}
			wantFault(t, err, kind, tc.msg)
		})
	}
	if defs := e.defs(t); len(defs) != 0 {
		t.Errorf("refused creates left definitions: %v", defs)
	}
	// One-time schedules ignore both dates, as AWS's do.
	in := validInput("once")
	in.ScheduleExpression = "at(2026-03-02T08:00:00)"
	in.StartDate, in.EndDate = &past, &past
	if _, err := e.svc.CreateSchedule(e.ctx, in); err != nil {
		t.Fatalf("at() with past dates: %v", err)
	}
	if d := e.defs(t)["schedule.default.once"]; !d.StartDate.IsZero() || !d.EndDate.IsZero() || !d.Anchor.Equal(testStart) {
		t.Errorf("one-time definition keeps dates: %+v", d)
	}
}

// TestConcurrentWriters checks that racing writers leave every definition
// matching its record, whatever order their writes interleave in.
func TestConcurrentWriters(t *testing.T) {
	e := newEnv(t)
	e.create(t, validInput("raced"))
	e.putRule(t, PutRuleInput{Name: "r", ScheduleExpression: "rate(1 hour)"})
	done := make(chan error)
	for i := range 5 {
		go func() {
			in := validInput("raced")
			in.ScheduleExpression = fmt.Sprintf("rate(%d minutes)", i+2)
			_, err := e.svc.UpdateSchedule(e.ctx, in)
			if fault.Is(err, fault.Conflict) {
				err = nil // the loser of a compare-and-set is told to retry
			}
			done <- err
		}()
		go func() {
			_, err := e.svc.PutTargets(e.ctx, "", "r", []RuleTarget{{ID: fmt.Sprint("t", i), Arn: testFn}})
			done <- err
		}()
	}
	for range 10 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	sc, err := e.svc.GetSchedule(e.ctx, "", "raced")
	if err != nil {
		t.Fatal(err)
	}
	defs := e.defs(t)
	if d := defs["schedule.default.raced"]; d.Expression != sc.ScheduleExpression {
		t.Errorf("definition %q, record %q", d.Expression, sc.ScheduleExpression)
	}
	if len(defs) != 6 {
		t.Errorf("%d definitions, want 1 schedule + 5 rule targets: %v", len(defs), defs)
	}
}

func TestScheduleLifecycle(t *testing.T) {
	e := newEnv(t)
	start := testStart.Add(time.Hour)
	end := testStart.Add(48 * time.Hour)
	in := validInput("nightly")
	in.ScheduleExpression = "cron(0 3 * * ? *)"
	in.ScheduleExpressionTimezone = "Europe/Paris"
	in.Description = "every night"
	in.StartDate, in.EndDate = &start, &end
	in.FlexibleTimeWindow = &FlexibleTimeWindow{Mode: ModeFlexible, MaximumWindowInMinutes: ptr(int32(15))}
	in.Target.Input = ptr(`{"job":"<aws.scheduler.execution-id>"}`)
	in.Target.DeadLetterConfig = &DeadLetterConfig{Arn: "arn:aws:sqs:us-east-1:000000000000:dlq"}
	in.Target.RetryPolicy = &RetryPolicy{MaximumRetryAttempts: ptr(int32(3))}
	created := e.create(t, in)

	const arn = "arn:aws:scheduler:us-east-1:000000000000:schedule/default/nightly"
	got, err := e.svc.GetSchedule(e.ctx, "", "nightly")
	if err != nil {
		t.Fatal(err)
	}
	if got.Arn != arn || created.Arn != arn || got.GroupName != DefaultGroup || got.State != StateEnabled ||
		got.ActionAfterCompletion != ActionNone || !got.CreationDate.Equal(testStart) || !got.LastModificationDate.Equal(testStart) ||
		!got.StartDate.Equal(start) || !got.EndDate.Equal(end) || got.Description != "every night" ||
		*got.Target.RetryPolicy.MaximumRetryAttempts != 3 || *got.Target.RetryPolicy.MaximumEventAgeInSeconds != 86400 ||
		got.Target.DeadLetterConfig.Arn != "arn:aws:sqs:us-east-1:000000000000:dlq" || *got.Target.Input != *in.Target.Input {
		t.Fatalf("GetSchedule = %+v", got)
	}

	key := "schedule.default.nightly"
	d, ok := e.defs(t)[key]
	if !ok {
		t.Fatalf("no definition under %s: %v", key, e.defs(t))
	}
	want := Definition{
		Kind: KindSchedule, ARN: arn, Group: "default", Name: "nightly", Expression: "cron(0 3 * * ? *)",
		Timezone: "Europe/Paris", StartDate: start, EndDate: end, Anchor: start, Enabled: true,
		FlexibleWindow: 15 * time.Minute,
		Target: TargetSpec{Arn: testFn, Input: in.Target.Input, MaximumRetryAttempts: 3,
			MaximumEventAgeInSeconds: 86400, DeadLetterArn: "arn:aws:sqs:us-east-1:000000000000:dlq"},
		Revision: int64(got.Revision),
	}
	if !sameDefinition(&d, &want) || d.Revision != want.Revision || d.Revision <= 0 {
		t.Fatalf("definition\n got %+v\nwant %+v", d, want)
	}

	// UpdateSchedule replaces everything: omitted members take defaults.
	e.clock.Advance(time.Minute)
	up := validInput("nightly")
	up.State = StateDisabled
	up.ActionAfterCompletion = ActionDelete
	updated, err := e.svc.UpdateSchedule(e.ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = e.svc.GetSchedule(e.ctx, DefaultGroup, "nightly")
	if updated.Revision <= created.Revision || got.StartDate != nil || got.Description != "" || got.ScheduleExpressionTimezone != "" ||
		!got.CreationDate.Equal(testStart) || !got.LastModificationDate.Equal(testStart.Add(time.Minute)) || got.State != StateDisabled {
		t.Fatalf("after update: %+v", got)
	}
	d = e.defs(t)[key]
	if d.Revision != int64(updated.Revision) || d.Enabled || !d.DeleteAfterCompletion || d.Expression != "rate(5 minutes)" ||
		!d.Anchor.Equal(testStart) || d.FlexibleWindow != 0 || d.Target.MaximumRetryAttempts != 185 || d.Target.Input != nil {
		t.Fatalf("definition after update: %+v", d)
	}

	// An update that changes nothing the engine sees keeps the definition,
	// so the engine does not restart its sequence.
	e.clock.Advance(time.Minute)
	again, err := e.svc.UpdateSchedule(e.ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	if again.Revision <= updated.Revision || e.defs(t)[key].Revision != int64(updated.Revision) {
		t.Errorf("no-op update: record %d, definition %d", again.Revision, e.defs(t)[key].Revision)
	}

	if _, err := e.svc.UpdateSchedule(e.ctx, validInput("missing")); err == nil {
		t.Error("update of a missing schedule succeeded")
	} else {
		wantFault(t, err, fault.NotFound, "Schedule missing does not exist.")
	}
	if err := e.svc.DeleteSchedule(e.ctx, "", "nightly"); err != nil {
		t.Fatal(err)
	}
	if len(e.defs(t)) != 0 {
		t.Errorf("definitions after delete: %v", e.defs(t))
	}
	_, err = e.svc.GetSchedule(e.ctx, "", "nightly")
	wantFault(t, err, fault.NotFound, "Schedule nightly does not exist.")
	wantFault(t, e.svc.DeleteSchedule(e.ctx, "", "nightly"), fault.NotFound, "does not exist")

	// Re-created, it has a newer revision than anything before it.
	re := e.create(t, validInput("nightly"))
	if re.Revision <= again.Revision {
		t.Errorf("re-created revision %d <= %d", re.Revision, again.Revision)
	}
}

func TestCreateScheduleConflictAndClientToken(t *testing.T) {
	e := newEnv(t)
	in := validInput("once")
	in.ClientToken = "token-1"
	first := e.create(t, in)
	// A retry of the same request answers as the first.
	again, err := e.svc.CreateSchedule(e.ctx, in)
	if err != nil || again.Arn != first.Arn || again.Revision != first.Revision {
		t.Fatalf("retried create: %+v, %v", again, err)
	}
	for _, token := range []string{"", "token-2"} {
		in.ClientToken = token
		_, err := e.svc.CreateSchedule(e.ctx, in)
		wantFault(t, err, fault.Conflict, "Schedule once already exists.")
	}
	// The same name in another group is another schedule.
	if _, err := e.svc.CreateScheduleGroup(e.ctx, "other", nil, ""); err != nil {
		t.Fatal(err)
	}
	in.GroupName, in.ClientToken = "other", ""
	if sc := e.create(t, in); sc.Arn != "arn:aws:scheduler:us-east-1:000000000000:schedule/other/once" {
		t.Errorf("ARN %s", sc.Arn)
	}
	if n := len(e.defs(t)); n != 2 {
		t.Errorf("%d definitions, want 2", n)
	}
}

func TestListSchedules(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.CreateScheduleGroup(e.ctx, "g", nil, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ group, name, state string }{
		{"", "b-2", StateEnabled}, {"", "a-1", StateDisabled}, {"", "b-1", StateEnabled},
		{"g", "a-1", StateEnabled}, {"g", "c.1", StateDisabled},
	} {
		in := validInput(s.name)
		in.GroupName, in.State = s.group, s.state
		e.create(t, in)
	}
	names := func(list []Schedule) string {
		var out []string
		for _, s := range list {
			out = append(out, s.GroupName+"/"+s.Name)
		}
		return strings.Join(out, " ")
	}
	tests := []struct {
		name string
		in   ListSchedulesInput
		want string
	}{
		{"all", ListSchedulesInput{}, "default/a-1 default/b-1 default/b-2 g/a-1 g/c.1"},
		{"group", ListSchedulesInput{GroupName: "g"}, "g/a-1 g/c.1"},
		{"prefix", ListSchedulesInput{NamePrefix: "b-"}, "default/b-1 default/b-2"},
		{"state", ListSchedulesInput{State: StateDisabled}, "default/a-1 g/c.1"},
		{"group and state", ListSchedulesInput{GroupName: "default", State: StateEnabled}, "default/b-1 default/b-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Two at a time, following the tokens.
			var all []Schedule
			in := tc.in
			in.MaxResults = 2
			for range 10 {
				list, next, err := e.svc.ListSchedules(e.ctx, in)
				if err != nil {
					t.Fatal(err)
				}
				if len(list) > 2 {
					t.Fatalf("page of %d", len(list))
				}
				all = append(all, list...)
				if next == "" {
					break
				}
				in.NextToken = next
			}
			if got := names(all); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		in   ListSchedulesInput
		kind fault.Kind
		msg  string
	}{
		{ListSchedulesInput{GroupName: "nope"}, fault.NotFound, "Schedule group nope does not exist."},
		{ListSchedulesInput{MaxResults: 101}, fault.Invalid, "between 1 and 100"},
		{ListSchedulesInput{State: "on"}, fault.Invalid, "[ENABLED, DISABLED]"},
		{ListSchedulesInput{NextToken: "!!"}, fault.Invalid, "Invalid NextToken"},
	} {
		_, _, err := e.svc.ListSchedules(e.ctx, tc.in)
		wantFault(t, err, tc.kind, tc.msg)
	}
}

func TestScheduleGroups(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Limits.MaxGroups = 3; o.Region = "eu-west-1"; o.AccountID = "123456789012" })
	def, err := e.svc.GetScheduleGroup(e.ctx, DefaultGroup)
	if err != nil || def.State != GroupStateActive || def.Arn != "arn:aws:scheduler:eu-west-1:123456789012:schedule-group/default" {
		t.Fatalf("default group: %+v, %v", def, err)
	}
	wantFault(t, e.svc.DeleteScheduleGroup(e.ctx, DefaultGroup), fault.Invalid, "default schedule group cannot be deleted")

	g, err := e.svc.CreateScheduleGroup(e.ctx, "team", []Tag{{"env", "dev"}}, "tok")
	if err != nil || g.Arn != "arn:aws:scheduler:eu-west-1:123456789012:schedule-group/team" || !g.CreationDate.Equal(testStart) {
		t.Fatalf("CreateScheduleGroup: %+v, %v", g, err)
	}
	if again, err := e.svc.CreateScheduleGroup(e.ctx, "team", nil, "tok"); err != nil || again.Arn != g.Arn {
		t.Errorf("retried create: %v", err)
	}
	_, err = e.svc.CreateScheduleGroup(e.ctx, "team", nil, "")
	wantFault(t, err, fault.Conflict, "Schedule group team already exists.")
	if _, err := e.svc.CreateScheduleGroup(e.ctx, "team2", nil, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.CreateScheduleGroup(e.ctx, "team3", nil, "")
	wantFault(t, err, fault.Conflict, "3 schedule groups, the most it may have")
	if fe := err.(*fault.Error); fe.Reason != ReasonLimitExceeded {
		t.Errorf("quota reason %q", fe.Reason)
	}

	list, next, err := e.svc.ListScheduleGroups(e.ctx, "te", 1, "")
	if err != nil || len(list) != 1 || list[0].Name != "team" || next == "" {
		t.Fatalf("first page: %v %q %v", list, next, err)
	}
	list, next, err = e.svc.ListScheduleGroups(e.ctx, "te", 1, next)
	if err != nil || len(list) != 1 || list[0].Name != "team2" || next != "" {
		t.Fatalf("second page: %v %q %v", list, next, err)
	}

	// Deleting a group deletes its schedules and their definitions.
	for _, n := range []string{"a", "b"} {
		in := validInput(n)
		in.GroupName = "team"
		in.Target.Arn = "arn:aws:lambda:eu-west-1:123456789012:function:f"
		e.create(t, in)
	}
	keep := validInput("a")
	e.create(t, keep)
	if n := len(e.defs(t)); n != 3 {
		t.Fatalf("%d definitions", n)
	}
	if err := e.svc.DeleteScheduleGroup(e.ctx, "team"); err != nil {
		t.Fatal(err)
	}
	defs := e.defs(t)
	if _, ok := defs["schedule.default.a"]; len(defs) != 1 || !ok {
		t.Errorf("definitions after group deletion: %v", defs)
	}
	_, err = e.svc.GetSchedule(e.ctx, "team", "a")
	wantFault(t, err, fault.NotFound, "does not exist")
	_, err = e.svc.GetScheduleGroup(e.ctx, "team")
	wantFault(t, err, fault.NotFound, "Schedule group team does not exist.")
	wantFault(t, e.svc.DeleteScheduleGroup(e.ctx, "team"), fault.NotFound, "does not exist")
}

func TestScheduleGroupTags(t *testing.T) {
	e := newEnv(t)
	g, err := e.svc.CreateScheduleGroup(e.ctx, "tagged", []Tag{{"b", "2"}, {"a", "1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	tagString := func(arn string) string {
		t.Helper()
		tags, err := e.svc.ListTagsForResource(e.ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tg := range tags {
			out = append(out, tg.Key+"="+tg.Value)
		}
		return strings.Join(out, ",")
	}
	if got := tagString(g.Arn); got != "a=1,b=2" {
		t.Errorf("tags %q", got)
	}
	if err := e.svc.TagResource(e.ctx, g.Arn, []Tag{{"b", "3"}, {"c", "4"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.UntagResource(e.ctx, g.Arn, []string{"a", "missing"}); err != nil {
		t.Fatal(err)
	}
	if got := tagString(g.Arn); got != "b=3,c=4" {
		t.Errorf("tags %q", got)
	}
	sc := e.create(t, validInput("s"))
	for _, tc := range []struct {
		arn  string
		tags []Tag
		kind fault.Kind
		msg  string
	}{
		{sc.Arn, nil, fault.Invalid, "at 'resourceArn' failed to satisfy constraint"},
		{"arn:aws:scheduler:eu-west-1:000000000000:schedule-group/tagged", nil, fault.NotFound, "does not exist"},
		{"arn:aws:scheduler:us-east-1:000000000000:schedule-group/none", nil, fault.NotFound, "does not exist"},
		{g.Arn, []Tag{{"aws:x", "1"}}, fault.Invalid, "reserved"},
		{g.Arn, []Tag{{"k", ""}}, fault.Invalid, "tags.member.value"},
	} {
		wantFault(t, e.svc.TagResource(e.ctx, tc.arn, tc.tags), tc.kind, tc.msg)
	}
}

func TestDeleteCompleted(t *testing.T) {
	e := newEnv(t)
	once := validInput("once")
	once.ScheduleExpression = "at(2026-03-01T13:00:00)"
	once.ActionAfterCompletion = ActionDelete
	e.create(t, once)
	keepIn := validInput("keep")
	keepIn.ScheduleExpression = "at(2026-03-01T13:00:00)"
	e.create(t, keepIn)
	changed := once
	changed.Name = "changed"
	e.create(t, changed)
	defs := e.defs(t)
	onceDef, keepDef, changedDef := defs["schedule.default.once"], defs["schedule.default.keep"], defs["schedule.default.changed"]
	if !onceDef.DeleteAfterCompletion || keepDef.DeleteAfterCompletion || !onceDef.StartDate.IsZero() {
		t.Fatalf("definitions %+v %+v", onceDef, keepDef)
	}
	// "changed" is updated after the engine read it: it must survive.
	changed.ScheduleExpression = "at(2026-03-02T13:00:00)"
	if _, err := e.svc.UpdateSchedule(e.ctx, changed); err != nil {
		t.Fatal(err)
	}
	for _, d := range []Definition{onceDef, keepDef, changedDef} {
		if err := e.svc.DeleteCompleted(e.ctx, &d); err != nil {
			t.Fatalf("DeleteCompleted %s: %v", d.Name, err)
		}
	}
	_, err := e.svc.GetSchedule(e.ctx, "", "once")
	wantFault(t, err, fault.NotFound, "does not exist")
	for _, n := range []string{"keep", "changed"} {
		if _, err := e.svc.GetSchedule(e.ctx, "", n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	defs = e.defs(t)
	if _, ok := defs["schedule.default.once"]; ok || len(defs) != 2 {
		t.Errorf("definitions after DeleteCompleted: %v", defs)
	}
	// A second call (the engine retries) is harmless.
	if err := e.svc.DeleteCompleted(e.ctx, &onceDef); err != nil {
		t.Error(err)
	}
}

func TestReconcileAfterCrash(t *testing.T) {
	e := newEnv(t)
	api, defsKV := e.kv(t, APIBucket), e.kv(t, DefinitionsBucket)
	put := func(kv store.KV, key string, v any) {
		t.Helper()
		b, _ := json.Marshal(v)
		if _, err := kv.Put(e.ctx, key, b); err != nil {
			t.Fatal(err)
		}
	}

	// 1. A record written without its definition (crash between writes).
	sc := e.create(t, validInput("lost"))
	if err := defsKV.Delete(e.ctx, "schedule.default.lost", 0); err != nil {
		t.Fatal(err)
	}
	// 2. A definition left behind by an interrupted deletion.
	put(defsKV, "schedule.default.ghost", Definition{Kind: KindSchedule, Name: "ghost", Group: "default", Revision: 1})
	// 3. A stale definition (an update whose definition write was lost).
	stale := e.create(t, validInput("stale"))
	up := validInput("stale")
	up.ScheduleExpression = "rate(1 hour)"
	upd, err := e.svc.UpdateSchedule(e.ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	old := scheduleDefinition(stale)
	put(defsKV, "schedule.default.stale", old)
	// 4. A group deletion interrupted after it was marked DELETING.
	g, err := e.svc.CreateScheduleGroup(e.ctx, "doomed", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	in := validInput("victim")
	in.GroupName = "doomed"
	e.create(t, in)
	g.State = GroupStateDeleting
	put(api, groupKey("doomed"), g)
	// 5. A rule target definition of a rule that no longer exists.
	put(defsKV, "rule.default.gone.t1", Definition{Kind: KindRule, Name: "gone", TargetID: "t1", Revision: 1})

	e.restart(t)
	defs := e.defs(t)
	if d, ok := defs["schedule.default.lost"]; !ok || d.Revision != int64(sc.Revision) {
		t.Errorf("lost definition not restored: %+v", defs)
	}
	if d := defs["schedule.default.stale"]; d.Expression != "rate(1 hour)" || d.Revision != int64(upd.Revision) {
		t.Errorf("stale definition not replaced: %+v", d)
	}
	for _, k := range []string{"schedule.default.ghost", "schedule.doomed.victim", "rule.default.gone.t1"} {
		if _, ok := defs[k]; ok {
			t.Errorf("orphan definition %s kept", k)
		}
	}
	if len(defs) != 2 {
		t.Errorf("definitions %v", defs)
	}
	_, err = e.svc.GetScheduleGroup(e.ctx, "doomed")
	wantFault(t, err, fault.NotFound, "does not exist")
	if _, err := api.Get(e.ctx, scheduleKey("doomed", "victim")); err == nil {
		t.Error("the schedule of the deleted group survived")
	}
}

func TestScheduleQuota(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Limits.MaxSchedules = 1 })
	e.create(t, validInput("one"))
	_, err := e.svc.CreateSchedule(e.ctx, validInput("two"))
	wantFault(t, err, fault.Conflict, "the most it may have")
}
