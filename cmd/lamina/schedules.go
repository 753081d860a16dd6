package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/spf13/cobra"
)

// schedulerRole is the RoleArn the schedules made here carry: the
// Scheduler API requires one, and Lamina does not assume roles.
const schedulerRole = "arn:aws:iam::000000000000:role/lamina-scheduler"

// schedulerClient returns an EventBridge Scheduler client for the resolved globals.
func (g *globals) schedulerClient(ctx context.Context) (*scheduler.Client, error) {
	cfg, endpoint, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return scheduler.NewFromConfig(cfg, func(o *scheduler.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}), nil
}

func newSchedulesCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "schedules",
		Aliases: []string{"schedule", "sched"},
		Short:   "Create, list, inspect and delete schedules that invoke functions",
		Long: `Manage EventBridge Scheduler schedules: rate(), cron() and at() expressions
that invoke a function asynchronously, in a time zone, optionally within a
flexible window. The commands use the Scheduler API, so the AWS SDKs, the AWS
CLI ("aws scheduler ...") and infrastructure tools manage the same schedules.

Expressions are AWS's: rate(5 minutes), cron(0 8 ? * MON-FRI *) (six fields,
Sunday is 1), at(2026-01-02T15:04:05). Lamina also accepts rate(N seconds).`,
		Example: `  lamina schedules create nightly --expression 'cron(0 3 * * ? *)' --function report --timezone Europe/Paris
  lamina schedules list
  lamina schedules get nightly
  lamina schedules delete nightly`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newSchedulesListCommand(g), newSchedulesGetCommand(g), newSchedulesCreateCommand(g), newSchedulesDeleteCommand(g))
	return cmd
}

func newSchedulesListCommand(g *globals) *cobra.Command {
	var group, prefix string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List schedules",
		Long: `List schedules of every group (or of --group), following all pages of the
ListSchedules API. The table shows NAME, GROUP, STATE, FUNCTION and LAST
MODIFIED; --output json prints the API's summaries.`,
		Example: `  lamina schedules list
  lamina schedules list --group reports --prefix nightly-`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := g.schedulerClient(cmd.Context())
			if err != nil {
				return err
			}
			in := &scheduler.ListSchedulesInput{}
			if group != "" {
				in.GroupName = aws.String(group)
			}
			if prefix != "" {
				in.NamePrefix = aws.String(prefix)
			}
			all := &scheduler.ListSchedulesOutput{Schedules: []types.ScheduleSummary{}}
			pages := scheduler.NewListSchedulesPaginator(client, in)
			for pages.HasMorePages() {
				page, err := pages.NextPage(cmd.Context())
				if err != nil {
					return g.apiError(err)
				}
				all.Schedules = append(all.Schedules, page.Schedules...)
			}
			out := cmd.OutOrStdout()
			if g.Output == outputJSON {
				return writeJSON(out, all)
			}
			if len(all.Schedules) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no schedules; create one with: lamina schedules create NAME --expression EXPR --function FUNCTION")
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "NAME\tGROUP\tSTATE\tFUNCTION\tLAST MODIFIED")
			for _, s := range all.Schedules {
				target := "-"
				if s.Target != nil {
					target = targetName(aws.ToString(s.Target.Arn))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", str(s.Name), str(s.GroupName), s.State, target, formatTime(s.LastModificationDate))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "list only the schedules of this schedule group")
	cmd.Flags().StringVar(&prefix, "prefix", "", "list only the schedules whose name starts with this")
	return cmd
}

func newSchedulesGetCommand(g *globals) *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a schedule",
		Long:  `Show a schedule's expression, time zone, window, target and dates.`,
		Example: `  lamina schedules get nightly
  lamina schedules get nightly --group reports --output json`,
		Args: exactArgs(1, "a schedule NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := g.schedulerClient(cmd.Context())
			if err != nil {
				return err
			}
			in := &scheduler.GetScheduleInput{Name: aws.String(args[0])}
			if group != "" {
				in.GroupName = aws.String(group)
			}
			s, err := client.GetSchedule(cmd.Context(), in)
			if err != nil {
				return g.apiError(err)
			}
			if g.Output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), s)
			}
			return writeRows(cmd.OutOrStdout(), scheduleRows(s))
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "the schedule's group (default: default)")
	return cmd
}

// scheduleRows describes a schedule for people.
func scheduleRows(s *scheduler.GetScheduleOutput) []row {
	window := "off"
	if s.FlexibleTimeWindow != nil && s.FlexibleTimeWindow.Mode == types.FlexibleTimeWindowModeFlexible {
		window = fmt.Sprintf("flexible, up to %d min", aws.ToInt32(s.FlexibleTimeWindow.MaximumWindowInMinutes))
	}
	tz := aws.ToString(s.ScheduleExpressionTimezone)
	if tz == "" {
		tz = "UTC"
	}
	rows := []row{
		{"Name", str(s.Name)},
		{"ARN", str(s.Arn)},
		{"Group", str(s.GroupName)},
		{"Expression", str(s.ScheduleExpression)},
		{"Time zone", tz},
		{"State", string(s.State)},
		{"Flexible window", window},
		{"Start", formatTime(s.StartDate)},
		{"End", formatTime(s.EndDate)},
		{"After completion", string(s.ActionAfterCompletion)},
		{"Description", str(s.Description)},
	}
	if t := s.Target; t != nil {
		rows = append(rows, row{"Function", str(t.Arn)}, row{"Input", str(t.Input)})
		if p := t.RetryPolicy; p != nil {
			rows = append(rows, row{"Retries", fmt.Sprintf("up to %d, for up to %s", aws.ToInt32(p.MaximumRetryAttempts),
				time.Duration(aws.ToInt32(p.MaximumEventAgeInSeconds))*time.Second)})
		}
		if t.DeadLetterConfig != nil {
			rows = append(rows, row{"Dead-letter queue", str(t.DeadLetterConfig.Arn)})
		}
	}
	return append(rows, row{"Created", formatTime(s.CreationDate)}, row{"Last modified", formatTime(s.LastModificationDate)})
}

type createScheduleFlags struct {
	expression, function, input, timezone, group, description string
	flexibleWindow                                            int32
	disabled, deleteAfterCompletion                           bool
}

func newSchedulesCreateCommand(g *globals) *cobra.Command {
	f := &createScheduleFlags{}
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a schedule that invokes a function",
		Long: `Create a schedule that invokes FUNCTION asynchronously (an Event invocation)
each time EXPRESSION comes due. The function must exist: its ARN is looked up
first. The event is --input (JSON) if given, else {}; in --input the
placeholders <aws.scheduler.schedule-arn>, <aws.scheduler.scheduled-time>,
<aws.scheduler.execution-id> and <aws.scheduler.attempt-number> are replaced
at each firing.

--flexible-window N lets each firing happen at any time within N minutes of
its due time. --delete-after-completion deletes a one-time (at()) schedule
once it has fired.`,
		Example: `  lamina schedules create tick --expression 'rate(5 minutes)' --function hello
  lamina schedules create nightly --expression 'cron(0 3 * * ? *)' --function report --timezone Europe/Paris --input '{"full":true}'
  lamina schedules create reminder --expression 'at(2026-06-01T09:00:00)' --function notify --delete-after-completion`,
		Args: exactArgs(1, "a schedule NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			lc, err := g.lambdaClient(ctx)
			if err != nil {
				return err
			}
			name, qualifier := splitQualifier(f.function)
			fin := &lambda.GetFunctionInput{FunctionName: aws.String(name)}
			if qualifier != "" {
				fin.Qualifier = aws.String(qualifier)
			}
			fn, err := lc.GetFunction(ctx, fin)
			if err != nil {
				return g.apiError(err)
			}
			if fn.Configuration == nil || fn.Configuration.FunctionArn == nil {
				return fmt.Errorf("function %s has no ARN", f.function)
			}
			in := &scheduler.CreateScheduleInput{
				Name:               aws.String(args[0]),
				ScheduleExpression: aws.String(f.expression),
				FlexibleTimeWindow: &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
				Target:             &types.Target{Arn: fn.Configuration.FunctionArn, RoleArn: aws.String(schedulerRole)},
				State:              types.ScheduleStateEnabled,
			}
			if f.input != "" {
				in.Target.Input = aws.String(f.input)
			}
			if f.timezone != "" {
				in.ScheduleExpressionTimezone = aws.String(f.timezone)
			}
			if f.group != "" {
				in.GroupName = aws.String(f.group)
			}
			if f.description != "" {
				in.Description = aws.String(f.description)
			}
			if f.flexibleWindow > 0 {
				in.FlexibleTimeWindow = &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeFlexible, MaximumWindowInMinutes: aws.Int32(f.flexibleWindow)}
			}
			if f.disabled {
				in.State = types.ScheduleStateDisabled
			}
			if f.deleteAfterCompletion {
				in.ActionAfterCompletion = types.ActionAfterCompletionDelete
			}
			sc, err := g.schedulerClient(ctx)
			if err != nil {
				return err
			}
			out, err := sc.CreateSchedule(ctx, in)
			if err != nil {
				return g.apiError(err)
			}
			if g.Output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "created schedule %s (%s), invoking %s\n", args[0], aws.ToString(out.ScheduleArn), aws.ToString(fn.Configuration.FunctionArn))
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.expression, "expression", "", "when to invoke: rate(...), cron(...) or at(...) (required)")
	fl.StringVar(&f.function, "function", "", "the function to invoke: NAME, NAME:QUALIFIER or ARN (required)")
	fl.StringVar(&f.input, "input", "", "the JSON event to send (default {})")
	fl.StringVar(&f.timezone, "timezone", "", "IANA time zone of cron() and at(), e.g. Europe/Paris (default UTC)")
	fl.StringVar(&f.group, "group", "", "schedule group (default: default)")
	fl.StringVar(&f.description, "description", "", "a description")
	fl.Int32Var(&f.flexibleWindow, "flexible-window", 0, "fire anywhere within this many minutes of the due time (1-1440; 0 = exactly)")
	fl.BoolVar(&f.disabled, "disabled", false, "create the schedule disabled")
	fl.BoolVar(&f.deleteAfterCompletion, "delete-after-completion", false, "delete the schedule once it has no firing left")
	_ = cmd.MarkFlagRequired("expression")
	_ = cmd.MarkFlagRequired("function")
	return cmd
}

func newSchedulesDeleteCommand(g *globals) *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"rm"},
		Short:   "Delete a schedule",
		Long: `Delete a schedule: it fires no more. A firing already handed to the
function's async queue still runs.`,
		Example: `  lamina schedules delete nightly
  lamina schedules delete nightly --group reports`,
		Args: exactArgs(1, "a schedule NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := g.schedulerClient(cmd.Context())
			if err != nil {
				return err
			}
			in := &scheduler.DeleteScheduleInput{Name: aws.String(args[0])}
			if group != "" {
				in.GroupName = aws.String(group)
			}
			out, err := client.DeleteSchedule(cmd.Context(), in)
			if err != nil {
				return g.apiError(err)
			}
			if g.Output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "deleted schedule", args[0])
			return err
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "the schedule's group (default: default)")
	return cmd
}

// targetName shortens a Lambda function ARN to the function's name (with
// its qualifier); other ARNs are shown whole.
func targetName(arn string) string {
	if _, fn, ok := strings.Cut(arn, ":function:"); ok && strings.HasPrefix(arn, "arn:") {
		return fn
	}
	if arn == "" {
		return "-"
	}
	return arn
}

// formatTime shows an optional time in UTC, "-" when unset.
func formatTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
