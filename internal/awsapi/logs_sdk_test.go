package awsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/store"
	"github.com/lamina-dev/lamina/internal/telemetry"
)

// logsEdge is an edge with a real function registry and a real log store
// on an embedded JetStream, served over HTTP.
type logsEdge struct {
	url    string
	client *cloudwatchlogs.Client
	logs   *telemetry.Logs
	reg    *function.Service
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startLogsEdge(t *testing.T, withLogs bool) *logsEdge {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := function.New(ctx, function.Options{Store: st, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e := &logsEdge{reg: reg}
	opts := awsapi.Options{Functions: reg, Logger: quietLogger()}
	if withLogs {
		e.logs, err = telemetry.NewLogs(ctx, st, telemetry.LogsOptions{Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.logs.Close(context.Background()) })
		opts.Logs = e.logs
	}
	srv := httptest.NewServer(awsapi.New(opts))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.client = cloudwatchlogs.NewFromConfig(aws.Config{
		Region:      "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *cloudwatchlogs.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.RetryMaxAttempts = 1 // an error is the answer under test, not something to retry
	})
	return e
}

func (e *logsEdge) createFunction(t *testing.T, name, logGroup string) {
	t.Helper()
	in := function.CreateInput{
		FunctionName: name,
		Config: function.Config{
			Runtime: "provided.al2023",
			Handler: "bootstrap",
			Role:    "arn:aws:iam::000000000000:role/lambda",
		},
		ZipFile: bootstrapZip(t, "#!/bin/sh\necho hi\n"),
	}
	in.LogGroup = logGroup
	if _, err := e.reg.Create(t.Context(), in); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

// Log streams of the fixture.
const (
	streamA1 = "2026/11/22/[$LATEST]a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	streamA2 = "2026/11/22/[$LATEST]a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
	streamB  = "2026/11/22/[3]bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	streamG  = "2026/11/22/[$LATEST]gggggggggggggggggggggggggggggggg"
	streamX  = "2026/11/22/[$LATEST]xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
)

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func eventMessages[E any](evs []E, msg func(E) *string) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = aws.ToString(msg(e))
	}
	return out
}

func filtered(evs []types.FilteredLogEvent) []string {
	return eventMessages(evs, func(e types.FilteredLogEvent) *string { return e.Message })
}

func output(evs []types.OutputLogEvent) []string {
	return eventMessages(evs, func(e types.OutputLogEvent) *string { return e.Message })
}

// TestLogsSDK drives DescribeLogGroups, DescribeLogStreams, GetLogEvents
// and FilterLogEvents through the real aws-sdk-go-v2 CloudWatch Logs
// client, with their errors as the SDK's typed errors.
func TestLogsSDK(t *testing.T) {
	e := startLogsEdge(t, true)
	ctx := t.Context()
	client := e.client
	e.createFunction(t, "alpha", "")
	e.createFunction(t, "beta", "/shared/group")
	e.createFunction(t, "gamma", "/shared/group")
	e.createFunction(t, "quiet", "") // never logged

	base := time.Now().Add(-time.Minute).Truncate(time.Second)
	at := func(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }
	write := func(fn, version, stream string, ms int, line string) {
		e.logs.WriteLog(telemetry.LogLine{Time: at(ms), FunctionName: fn, Version: version, Stream: stream, RequestID: "r", Line: line})
		// One flush per line keeps the fixture's order across streams.
		if err := e.logs.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	write("alpha", "$LATEST", streamA1, 0, "START RequestId: r Version: $LATEST")
	write("alpha", "$LATEST", streamA1, 10, "INFO hello")
	write("alpha", "$LATEST", streamA2, 20, "START RequestId: r2 Version: $LATEST")
	write("alpha", "$LATEST", streamA1, 30, "ERROR something broke")
	write("alpha", "$LATEST", streamA2, 40, "ERROR another thing")
	write("alpha", "$LATEST", streamA1, 50, "END RequestId: r")
	write("alpha", "$LATEST", streamA1, 60, "REPORT RequestId: r Duration: 1.00 ms")
	write("beta", "3", streamB, 70, "beta says hi")
	write("gamma", "$LATEST", streamG, 80, "gamma says hi")
	write("ghost", "$LATEST", streamX, 90, "a deleted function's line")

	allAlpha := []string{"START RequestId: r Version: $LATEST", "INFO hello", "START RequestId: r2 Version: $LATEST",
		"ERROR something broke", "ERROR another thing", "END RequestId: r", "REPORT RequestId: r Duration: 1.00 ms"}
	a1 := []string{"START RequestId: r Version: $LATEST", "INFO hello", "ERROR something broke", "END RequestId: r",
		"REPORT RequestId: r Duration: 1.00 ms"}

	t.Run("DescribeLogGroups", func(t *testing.T) {
		out, err := client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range out.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
		}
		if want := []string{"/aws/lambda/alpha", "/aws/lambda/ghost", "/aws/lambda/quiet", "/shared/group"}; !slices.Equal(names, want) {
			t.Fatalf("log groups %q, want %q", names, want)
		}
		g := out.LogGroups[0]
		if aws.ToInt32(g.RetentionInDays) != 7 || aws.ToString(g.LogGroupArn) != "arn:aws:logs:eu-west-1:000000000000:log-group:/aws/lambda/alpha" ||
			aws.ToString(g.Arn) != aws.ToString(g.LogGroupArn)+":*" || aws.ToInt64(g.StoredBytes) == 0 ||
			aws.ToInt64(g.CreationTime) > at(0).UnixMilli() || g.LogGroupClass != types.LogGroupClassStandard || out.NextToken != nil {
			t.Errorf("alpha's group %+v", g)
		}
		if aws.ToInt64(out.LogGroups[2].StoredBytes) != 0 {
			t.Errorf("a function that never logged has %d bytes", aws.ToInt64(out.LogGroups[2].StoredBytes))
		}

		out, err = client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/g")})
		if err != nil || len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "/aws/lambda/ghost" {
			t.Errorf("by prefix: %+v, %v", out, err)
		}
		out, err = client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("SHARED")})
		if err != nil || len(out.LogGroups) != 1 || aws.ToString(out.LogGroups[0].LogGroupName) != "/shared/group" {
			t.Errorf("by pattern: %+v, %v", out, err)
		}
		out, err = client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{
			LogGroupIdentifiers: []string{"arn:aws:logs:eu-west-1:000000000000:log-group:/shared/group:*", "/aws/lambda/quiet"}})
		if err != nil || len(out.LogGroups) != 2 {
			t.Errorf("by identifiers: %+v, %v", out, err)
		}

		pages := cloudwatchlogs.NewDescribeLogGroupsPaginator(client, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(3)})
		n, calls := 0, 0
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.LogGroups)
			calls++
		}
		if n != 4 || calls != 2 {
			t.Errorf("paginated: %d groups in %d calls", n, calls)
		}

		_, err = client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{Limit: aws.Int32(51)})
		var ipe *types.InvalidParameterException
		if !errors.As(err, &ipe) {
			t.Errorf("limit 51: %v", err)
		}
		_, err = client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{NextToken: aws.String("garbage")})
		if !errors.As(err, &ipe) {
			t.Errorf("bad token: %v", err)
		}
		_, err = client.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{
			LogGroupNamePrefix: aws.String("/"), LogGroupNamePattern: aws.String("a")})
		if !errors.As(err, &ipe) {
			t.Errorf("prefix and pattern: %v", err)
		}
	})

	t.Run("DescribeLogStreams", func(t *testing.T) {
		out, err := client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/alpha")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.LogStreams) != 2 {
			t.Fatalf("%d streams", len(out.LogStreams))
		}
		s := out.LogStreams[0]
		if aws.ToString(s.LogStreamName) != streamA1 || aws.ToInt64(s.FirstEventTimestamp) != at(0).UnixMilli() ||
			aws.ToInt64(s.LastEventTimestamp) != at(60).UnixMilli() || aws.ToInt64(s.CreationTime) != at(0).UnixMilli() ||
			aws.ToInt64(s.LastIngestionTime) < at(60).UnixMilli() || aws.ToInt64(s.StoredBytes) == 0 ||
			aws.ToString(s.Arn) != "arn:aws:logs:eu-west-1:000000000000:log-group:/aws/lambda/alpha:log-stream:"+streamA1 {
			t.Errorf("stream %+v", s)
		}

		// By last event time, newest first, through the group's ARN.
		out, err = client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
			LogGroupIdentifier: aws.String("arn:aws:logs:eu-west-1:000000000000:log-group:/aws/lambda/alpha"),
			OrderBy:            types.OrderByLastEventTime, Descending: aws.Bool(true)})
		if err != nil || len(out.LogStreams) != 2 || aws.ToString(out.LogStreams[0].LogStreamName) != streamA1 {
			t.Errorf("by time: %+v, %v", out, err)
		}
		out, err = client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
			LogGroupName: aws.String("/aws/lambda/alpha"), LogStreamNamePrefix: aws.String("2026/11/22/[$LATEST]a2")})
		if err != nil || len(out.LogStreams) != 1 || aws.ToString(out.LogStreams[0].LogStreamName) != streamA2 {
			t.Errorf("by prefix: %+v, %v", out, err)
		}
		out, err = client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/shared/group")})
		if err != nil || len(out.LogStreams) != 2 {
			t.Errorf("shared group: %+v, %v", out, err)
		}
		out, err = client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/quiet")})
		if err != nil || len(out.LogStreams) != 0 {
			t.Errorf("quiet function: %+v, %v", out, err)
		}

		pages := cloudwatchlogs.NewDescribeLogStreamsPaginator(client, &cloudwatchlogs.DescribeLogStreamsInput{
			LogGroupName: aws.String("/aws/lambda/alpha"), Limit: aws.Int32(1)})
		var names []string
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.LogStreams {
				names = append(names, aws.ToString(s.LogStreamName))
			}
		}
		if !slices.Equal(names, []string{streamA1, streamA2}) {
			t.Errorf("paginated: %q", names)
		}

		var rnf *types.ResourceNotFoundException
		for _, group := range []string{"/aws/lambda/nobody", "/aws/lambda/beta", "/nope"} {
			_, err = client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String(group)})
			if !errors.As(err, &rnf) || !strings.Contains(aws.ToString(rnf.Message), "log group does not exist") {
				t.Errorf("group %s: %v", group, err)
			}
		}
		var ipe *types.InvalidParameterException
		_, err = client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
			LogGroupName: aws.String("/aws/lambda/alpha"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("x")})
		if !errors.As(err, &ipe) {
			t.Errorf("prefix with LastEventTime: %v", err)
		}
		_, err = client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{})
		if !errors.As(err, &ipe) {
			t.Errorf("no group: %v", err)
		}
		_, err = client.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{
			LogGroupName: aws.String("/aws/lambda/alpha"), LogGroupIdentifier: aws.String("/aws/lambda/alpha")})
		if !errors.As(err, &ipe) {
			t.Errorf("name and identifier: %v", err)
		}
	})

	t.Run("GetLogEvents", func(t *testing.T) {
		in := func() *cloudwatchlogs.GetLogEventsInput {
			return &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/aws/lambda/alpha"), LogStreamName: aws.String(streamA1)}
		}
		q := in()
		q.StartFromHead = aws.Bool(true)
		out, err := client.GetLogEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(output(out.Events), a1) {
			t.Fatalf("from head: %q", output(out.Events))
		}
		ev := out.Events[1]
		if aws.ToInt64(ev.Timestamp) != at(10).UnixMilli() || aws.ToInt64(ev.IngestionTime) < aws.ToInt64(ev.Timestamp) {
			t.Errorf("event %+v", ev)
		}
		if !strings.HasPrefix(aws.ToString(out.NextForwardToken), "f/") || !strings.HasPrefix(aws.ToString(out.NextBackwardToken), "b/") {
			t.Errorf("tokens %q %q", aws.ToString(out.NextForwardToken), aws.ToString(out.NextBackwardToken))
		}
		// Nothing new: the same forward token again.
		q = in()
		q.NextToken = out.NextForwardToken
		again, err := client.GetLogEvents(ctx, q)
		if err != nil || len(again.Events) != 0 || aws.ToString(again.NextForwardToken) != aws.ToString(out.NextForwardToken) {
			t.Errorf("at the end: %+v, %v", again, err)
		}

		// Without startFromHead: the latest events; then backwards.
		q = in()
		q.Limit = aws.Int32(2)
		out, err = client.GetLogEvents(ctx, q)
		if err != nil || !slices.Equal(output(out.Events), a1[3:]) {
			t.Fatalf("latest: %q, %v", output(out.Events), err)
		}
		q.NextToken = out.NextBackwardToken
		out, err = client.GetLogEvents(ctx, q)
		if err != nil || !slices.Equal(output(out.Events), a1[1:3]) {
			t.Fatalf("backwards: %q, %v", output(out.Events), err)
		}

		// The SDK's paginator, 2 at a time from the head, ends on the
		// repeated token (as against CloudWatch, it must be told to).
		q = in()
		q.StartFromHead = aws.Bool(true)
		pages := cloudwatchlogs.NewGetLogEventsPaginator(client, q, func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) {
			o.Limit, o.StopOnDuplicateToken = 2, true
		})
		var all []string
		for i := 0; pages.HasMorePages(); i++ {
			if i > 10 {
				t.Fatal("the paginator does not end")
			}
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, output(page.Events)...)
		}
		if !slices.Equal(all, a1) {
			t.Errorf("paginated: %q", all)
		}

		// A time range (end inclusive).
		q = in()
		q.StartFromHead, q.StartTime, q.EndTime = aws.Bool(true), aws.Int64(at(10).UnixMilli()), aws.Int64(at(50).UnixMilli())
		out, err = client.GetLogEvents(ctx, q)
		if err != nil || !slices.Equal(output(out.Events), a1[1:4]) {
			t.Errorf("time range: %q, %v", output(out.Events), err)
		}

		// A deleted function's stream, through its default group.
		out, err = client.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String("/aws/lambda/ghost"), LogStreamName: aws.String(streamX)})
		if err != nil || !slices.Equal(output(out.Events), []string{"a deleted function's line"}) {
			t.Errorf("ghost: %q, %v", output(out.Events), err)
		}

		var rnf *types.ResourceNotFoundException
		q = in()
		q.LogStreamName = aws.String(streamB) // another function's stream
		if _, err := client.GetLogEvents(ctx, q); !errors.As(err, &rnf) || !strings.Contains(aws.ToString(rnf.Message), "log stream") {
			t.Errorf("stream of another group: %v", err)
		}
		var ipe *types.InvalidParameterException
		q = in()
		q.NextToken = aws.String("x/123")
		if _, err := client.GetLogEvents(ctx, q); !errors.As(err, &ipe) {
			t.Errorf("bad token: %v", err)
		}
		q = in()
		q.StartTime, q.EndTime = aws.Int64(200), aws.Int64(100)
		if _, err := client.GetLogEvents(ctx, q); !errors.As(err, &ipe) {
			t.Errorf("end before start: %v", err)
		}
		q = in()
		q.Limit = aws.Int32(10001)
		if _, err := client.GetLogEvents(ctx, q); !errors.As(err, &ipe) {
			t.Errorf("limit: %v", err)
		}
	})

	t.Run("FilterLogEvents", func(t *testing.T) {
		in := func() *cloudwatchlogs.FilterLogEventsInput {
			return &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/alpha")}
		}
		out, err := client.FilterLogEvents(ctx, in())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(filtered(out.Events), allAlpha) || out.NextToken != nil {
			t.Fatalf("all: %q, next %v", filtered(out.Events), out.NextToken)
		}
		ev := out.Events[2]
		if aws.ToString(ev.LogStreamName) != streamA2 || aws.ToInt64(ev.Timestamp) != at(20).UnixMilli() ||
			aws.ToInt64(ev.IngestionTime) < aws.ToInt64(ev.Timestamp) || aws.ToString(ev.EventId) == "" {
			t.Errorf("event %+v", ev)
		}
		ids := map[string]bool{}
		for _, e := range out.Events {
			ids[aws.ToString(e.EventId)] = true
		}
		if len(ids) != len(out.Events) {
			t.Errorf("event IDs are not unique")
		}

		cases := []struct {
			name string
			mod  func(*cloudwatchlogs.FilterLogEventsInput)
			want []string
		}{
			{"pattern", func(q *cloudwatchlogs.FilterLogEventsInput) { q.FilterPattern = aws.String("ERROR") },
				[]string{"ERROR something broke", "ERROR another thing"}},
			{"quoted and excluded", func(q *cloudwatchlogs.FilterLogEventsInput) {
				q.FilterPattern = aws.String(`"RequestId: r" -START`)
			}, []string{"END RequestId: r", "REPORT RequestId: r Duration: 1.00 ms"}},
			{"stream names", func(q *cloudwatchlogs.FilterLogEventsInput) { q.LogStreamNames = []string{streamA2} },
				[]string{"START RequestId: r2 Version: $LATEST", "ERROR another thing"}},
			{"stream prefix", func(q *cloudwatchlogs.FilterLogEventsInput) {
				q.LogStreamNamePrefix = aws.String("2026/11/22/[$LATEST]a2")
			},
				[]string{"START RequestId: r2 Version: $LATEST", "ERROR another thing"}},
			{"unmatched stream prefix", func(q *cloudwatchlogs.FilterLogEventsInput) { q.LogStreamNamePrefix = aws.String("zzz") }, nil},
			{"time range", func(q *cloudwatchlogs.FilterLogEventsInput) {
				q.StartTime, q.EndTime = aws.Int64(at(20).UnixMilli()), aws.Int64(at(40).UnixMilli())
			}, allAlpha[2:5]},
			{"latest first", func(q *cloudwatchlogs.FilterLogEventsInput) {
				q.StartFromHead, q.Limit, q.FilterPattern = aws.Bool(false), aws.Int32(10), aws.String("ERROR")
			}, []string{"ERROR another thing", "ERROR something broke"}},
			{"shared group", func(q *cloudwatchlogs.FilterLogEventsInput) { q.LogGroupName = aws.String("/shared/group") },
				[]string{"beta says hi", "gamma says hi"}},
			{"group by ARN", func(q *cloudwatchlogs.FilterLogEventsInput) {
				q.LogGroupName, q.LogGroupIdentifier = nil, aws.String("arn:aws:logs:eu-west-1:000000000000:log-group:/shared/group:*")
			}, []string{"beta says hi", "gamma says hi"}},
			{"never logged", func(q *cloudwatchlogs.FilterLogEventsInput) { q.LogGroupName = aws.String("/aws/lambda/quiet") }, nil},
		}
		for _, tc := range cases {
			q := in()
			tc.mod(q)
			out, err := client.FilterLogEvents(ctx, q)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if got := filtered(out.Events); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
			}
		}

		// The SDK's paginator, 3 at a time, forward and backward.
		for _, head := range []bool{true, false} {
			q := in()
			q.Limit, q.StartFromHead = aws.Int32(3), aws.Bool(head)
			pages := cloudwatchlogs.NewFilterLogEventsPaginator(client, q)
			var all []string
			calls := 0
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, filtered(page.Events)...)
				calls++
			}
			want := slices.Clone(allAlpha)
			if !head {
				slices.Reverse(want)
			}
			if !slices.Equal(all, want) || calls != 3 {
				t.Errorf("startFromHead=%v: %d calls, %q", head, calls, all)
			}
		}

		var ipe *types.InvalidParameterException
		var rnf *types.ResourceNotFoundException
		for name, q := range map[string]*cloudwatchlogs.FilterLogEventsInput{
			"JSON pattern":      {LogGroupName: aws.String("/aws/lambda/alpha"), FilterPattern: aws.String(`{ $.level = "ERROR" }`)},
			"unclosed quote":    {LogGroupName: aws.String("/aws/lambda/alpha"), FilterPattern: aws.String(`"oops`)},
			"bad token":         {LogGroupName: aws.String("/aws/lambda/alpha"), NextToken: aws.String("f/notdigits")},
			"names and prefix":  {LogGroupName: aws.String("/aws/lambda/alpha"), LogStreamNames: []string{"a"}, LogStreamNamePrefix: aws.String("a")},
			"negative start":    {LogGroupName: aws.String("/aws/lambda/alpha"), StartTime: aws.Int64(-1)},
			"no group":          {},
			"empty group name":  {LogGroupName: aws.String("")},
			"limit 0":           {LogGroupName: aws.String("/aws/lambda/alpha"), Limit: aws.Int32(0)},
			"bad group ARN":     {LogGroupIdentifier: aws.String("arn:aws:logs:eu-west-1:000000000000:nothing")},
			"too many streams":  {LogGroupName: aws.String("/aws/lambda/alpha"), LogStreamNames: make([]string, 101)},
			"end before start":  {LogGroupName: aws.String("/aws/lambda/alpha"), StartTime: aws.Int64(5), EndTime: aws.Int64(4)},
			"space-delimited":   {LogGroupName: aws.String("/aws/lambda/alpha"), FilterPattern: aws.String(`[ip, user]`)},
			"regex not closed":  {LogGroupName: aws.String("/aws/lambda/alpha"), FilterPattern: aws.String(`%abc`)},
			"bad backward from": {LogGroupName: aws.String("/aws/lambda/alpha"), NextToken: aws.String("b/1")},
		} {
			if _, err := client.FilterLogEvents(ctx, q); !errors.As(err, &ipe) {
				t.Errorf("%s: %v, want InvalidParameterException", name, err)
			}
		}
		if _, err := client.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/nobody")}); !errors.As(err, &rnf) {
			t.Errorf("unknown group: %v", err)
		}
	})

	t.Run("UnsupportedOperation", func(t *testing.T) {
		_, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/x")})
		if apiCode(err) != "UnknownOperationException" {
			t.Errorf("CreateLogGroup: %v", err)
		}
	})
}

func TestLogsDisabled(t *testing.T) {
	e := startLogsEdge(t, false)
	var rnf *types.ResourceNotFoundException
	if _, err := e.client.DescribeLogGroups(t.Context(), &cloudwatchlogs.DescribeLogGroupsInput{}); !errors.As(err, &rnf) {
		t.Errorf("DescribeLogGroups without a log store: %v", err)
	}
	if _, err := e.client.FilterLogEvents(t.Context(), &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/x")}); !errors.As(err, &rnf) {
		t.Errorf("FilterLogEvents without a log store: %v", err)
	}
}

// TestJSONProtocolWire checks the JSON protocols' routing and error shape
// on the wire.
func TestJSONProtocolWire(t *testing.T) {
	e := startLogsEdge(t, true)
	post := func(target, contentType, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url+"/", strings.NewReader(body))
		if target != "" {
			req.Header.Set("X-Amz-Target", target)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	tests := []struct {
		name, target, contentType, body string
		status                          int
		errType, respContentType        string
	}{
		{"ok", "Logs_20140328.DescribeLogGroups", "application/x-amz-json-1.1", "{}", 200, "", "application/x-amz-json-1.1"},
		{"empty body", "Logs_20140328.DescribeLogGroups", "application/x-amz-json-1.1", "", 200, "", "application/x-amz-json-1.1"},
		{"unknown operation", "Logs_20140328.PutLogEvents", "application/x-amz-json-1.1", "{}", 400, "UnknownOperationException", "application/x-amz-json-1.1"},
		{"unknown service 1.0", "AmazonSQS.SendMessage", "application/x-amz-json-1.0", "{}", 400, "UnknownOperationException", "application/x-amz-json-1.0"},
		{"unknown service 1.1", "AWSEvents.PutEvents", "application/x-amz-json-1.1", "{}", 400, "UnknownOperationException", "application/x-amz-json-1.1"},
		{"not JSON", "Logs_20140328.DescribeLogGroups", "application/x-amz-json-1.1", "{nope", 400, "SerializationException", "application/x-amz-json-1.1"},
		{"wrong type", "Logs_20140328.DescribeLogGroups", "application/x-amz-json-1.1", `{"limit":"x"}`, 400, "SerializationException", "application/x-amz-json-1.1"},
		{"too large", "Logs_20140328.DescribeLogGroups", "application/x-amz-json-1.1", `{"x":"` + strings.Repeat("a", 1<<20) + `"}`, 400, "InvalidParameterException", "application/x-amz-json-1.1"},
	}
	for _, tt := range tests {
		resp, m := post(tt.target, tt.contentType, tt.body)
		if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.respContentType || resp.Header.Get("X-Amzn-Requestid") == "" {
			t.Errorf("%s: status %d, content type %q, request id %q", tt.name, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Amzn-Requestid"))
		}
		if tt.errType != "" && (m["__type"] != tt.errType || resp.Header.Get("X-Amzn-Errortype") != tt.errType || m["message"] == "") {
			t.Errorf("%s: error body %v, X-Amzn-ErrorType %q", tt.name, m, resp.Header.Get("X-Amzn-Errortype"))
		}
	}
	// POST / without a target is not a JSON-protocol request.
	resp, _ := post("", "application/x-www-form-urlencoded", "Action=ListQueues")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
		t.Errorf("POST / without a target: %d %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
	// GET / is not routed to the JSON protocols.
	r2, err := http.Get(e.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: %d", r2.StatusCode)
	}
}
