package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/spf13/cobra"
)

const (
	// followSince is how far back --follow starts without --since.
	followSince = 10 * time.Minute
	// followOverlap is how far before the newest line seen the next poll
	// of --follow starts, for lines stored a little after later ones.
	followOverlap = 2 * time.Second
	// logsPageLimit is CloudWatch's largest page of events.
	logsPageLimit = 10000
)

type logsFlags struct {
	follow bool
	since  string
	filter string
	limit  int
	poll   time.Duration
}

func newLogsCommand(g *globals) *cobra.Command {
	f := &logsFlags{}
	cmd := &cobra.Command{
		Use:   "logs FUNCTION",
		Short: "Show a function's logs, and follow them",
		Long: `Show the lines a function wrote to stdout and stderr, with Lambda's START, END
and REPORT lines, oldest first, as "<time> <line>" (times in UTC). Lamina stores
lines as they are written, so they show at once.

Without --since, every line still kept is shown; with --follow, the last
10 minutes, then new lines as they come, until interrupted (Ctrl-C).

--filter takes a CloudWatch Logs filter pattern: terms that must all appear
(case-sensitive), "quoted phrases", -terms that must not appear, ?terms of
which one must appear, and %regular expressions%.

FUNCTION may also be a log group name starting with "/". The lines are read
with the CloudWatch Logs API (FilterLogEvents), so "aws logs tail" works too.
--output json prints one JSON object per line.`,
		Example: `  lamina logs hello
  lamina logs hello --since 1h --filter ERROR
  lamina logs hello --follow
  lamina logs hello --since 2026-01-02T15:04:05Z --filter '"Task timed out"' --limit 20
  lamina logs hello --output json | jq -r .Message`,
		Args: exactArgs(1, "a function name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd, g, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep printing new lines until interrupted")
	fl.StringVar(&f.since, "since", "", "show lines from this long ago (30s, 10m, 2h, 7d) or since this time (RFC 3339)")
	fl.StringVar(&f.filter, "filter", "", "show only lines that match this filter pattern")
	fl.IntVar(&f.limit, "limit", 0, "stop after this many lines (0 = no limit)")
	fl.DurationVar(&f.poll, "poll-interval", time.Second, "how often --follow asks for new lines")
	_ = fl.MarkHidden("poll-interval")
	return cmd
}

func runLogs(cmd *cobra.Command, g *globals, f *logsFlags, name string) error {
	if f.limit < 0 {
		return fmt.Errorf("invalid --limit %d: want 0 or more", f.limit)
	}
	if f.poll <= 0 {
		return fmt.Errorf("invalid --poll-interval %v", f.poll)
	}
	now := time.Now()
	var since time.Time
	switch {
	case f.since != "":
		var err error
		if since, err = parseSince(f.since, now); err != nil {
			return err
		}
	case f.follow:
		since = now.Add(-followSince)
	}
	ctx := cmd.Context()
	group, err := logGroupOf(ctx, g, name)
	if err != nil {
		return err
	}
	client, err := g.logsClient(ctx)
	if err != nil {
		return err
	}
	p := &logPrinter{w: cmd.OutOrStdout(), json: g.Output == outputJSON, limit: f.limit}
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group)}
	if f.filter != "" {
		in.FilterPattern = aws.String(f.filter)
	}
	if !since.IsZero() {
		in.StartTime = aws.Int64(since.UnixMilli())
	}
	notFound := func(err error) error {
		if errorCode(err) == "ResourceNotFoundException" {
			if strings.HasPrefix(name, "/") {
				return fmt.Errorf("log group %s not found", name)
			}
			return fmt.Errorf("function %q not found, and no logs are kept for it", name)
		}
		return g.apiError(err)
	}
	if !f.follow {
		if err := p.pages(ctx, client, in, nil); err != nil && !errors.Is(err, errLimitReached) {
			return notFound(err)
		}
		return nil
	}

	// Follow: poll with a start time that moves up behind the newest line,
	// skipping the lines already printed.
	seen := map[string]int64{} // event id → timestamp
	start := aws.ToInt64(in.StartTime)
	for {
		in.StartTime = aws.Int64(start)
		err := p.pages(ctx, client, in, seen)
		switch {
		case errors.Is(err, errLimitReached) || ctx.Err() != nil:
			return nil
		case err != nil:
			return notFound(err)
		}
		start = max(start, p.newest-followOverlap.Milliseconds())
		for id, ts := range seen {
			if ts < start {
				delete(seen, id)
			}
		}
		t := time.NewTimer(f.poll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// logGroupOf is the log group a function writes to: its
// LoggingConfig.LogGroup, /aws/lambda/<name> by default or when the
// function is gone (its logs may still be kept). A name starting with "/"
// is a log group already.
func logGroupOf(ctx context.Context, g *globals, name string) (string, error) {
	if strings.HasPrefix(name, "/") {
		return name, nil
	}
	group := "/aws/lambda/" + name
	lc, err := g.lambdaClient(ctx)
	if err != nil {
		return "", err
	}
	out, err := lc.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	switch {
	case err == nil:
		if out.LoggingConfig != nil && aws.ToString(out.LoggingConfig.LogGroup) != "" {
			group = aws.ToString(out.LoggingConfig.LogGroup)
		}
	case errorCode(err) == "ResourceNotFoundException":
	default:
		return "", g.apiError(err)
	}
	return group, nil
}

var errLimitReached = errors.New("--limit reached")

// logPrinter prints events, counting them against --limit.
type logPrinter struct {
	w       io.Writer
	json    bool
	limit   int
	printed int
	newest  int64 // the newest timestamp printed (epoch ms)
}

// pages prints every page of in's events; with seen, it skips the events
// already printed and records the others. It returns errLimitReached once
// --limit lines are printed.
func (p *logPrinter) pages(ctx context.Context, client *cloudwatchlogs.Client, in *cloudwatchlogs.FilterLogEventsInput, seen map[string]int64) error {
	in.NextToken = nil
	for {
		in.Limit = aws.Int32(logsPageLimit)
		if p.limit > 0 {
			in.Limit = aws.Int32(int32(min(p.limit-p.printed, logsPageLimit)))
		}
		out, err := client.FilterLogEvents(ctx, in)
		if err != nil {
			return err
		}
		for _, ev := range out.Events {
			if seen != nil {
				id := aws.ToString(ev.EventId)
				if _, ok := seen[id]; ok {
					continue
				}
				seen[id] = aws.ToInt64(ev.Timestamp)
			}
			if err := p.print(ev); err != nil {
				return err
			}
			if p.limit > 0 && p.printed >= p.limit {
				return errLimitReached
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

func (p *logPrinter) print(ev types.FilteredLogEvent) error {
	p.printed++
	p.newest = max(p.newest, aws.ToInt64(ev.Timestamp))
	if p.json {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", b)
		return err
	}
	ts := time.UnixMilli(aws.ToInt64(ev.Timestamp)).UTC().Format("2006-01-02T15:04:05.000Z07:00")
	_, err := fmt.Fprintf(p.w, "%s %s\n", ts, strings.TrimRight(aws.ToString(ev.Message), "\n"))
	return err
}

// parseSince reads --since: a duration back from now (Go syntax, plus "d"
// for days) or a time in RFC 3339.
func parseSince(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.Add(-time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid --since %q: want a duration such as 10m, 2h or 7d, or a time such as 2026-01-02T15:04:05Z", s)
}

// logsClient returns a CloudWatch Logs client for the resolved globals.
func (g *globals) logsClient(ctx context.Context) (*cloudwatchlogs.Client, error) {
	cfg, endpoint, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}), nil
}
