package awsapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/telemetry"
)

// The CloudWatch Logs API (awsJson1_1, target prefix Logs_20140328) over
// the function log store: the read operations tools use to show Lambda
// logs (aws logs tail, the SDKs' paginators, lamina logs).
//
// Log groups are what Lambda would write to: one per function,
// LoggingConfig.LogGroup (by default /aws/lambda/<function>), shared by the
// functions that name the same group; a deleted function's group stays
// while its logs are kept. Log streams are the functions' instances.
// Event IDs and tokens are positions in the store: "f/<event id>" pages
// forward from an event, "b/<event id>" backward.

// LogStore is what the CloudWatch Logs API needs of the log store;
// *telemetry.Logs satisfies it.
type LogStore interface {
	Query(ctx context.Context, q telemetry.LogQuery) ([]telemetry.LogEvent, string, error)
	Streams(ctx context.Context, functionName string) ([]telemetry.LogStreamInfo, error)
	Functions(ctx context.Context) ([]telemetry.LogFunctionInfo, error)
	Retention() time.Duration
}

var _ LogStore = (*telemetry.Logs)(nil)

// The CloudWatch Logs catalogue of wire errors (all modeled in the
// service, so the SDKs return them as typed errors).
var (
	errLogsResourceNotFound    = &wireError{"ResourceNotFoundException", http.StatusBadRequest, "User", "message"}
	errLogsInvalidParameter    = &wireError{"InvalidParameterException", http.StatusBadRequest, "User", "message"}
	errLogsThrottling          = &wireError{"ThrottlingException", http.StatusBadRequest, "User", "message"}
	errLogsServiceUnavailable  = &wireError{"ServiceUnavailableException", http.StatusInternalServerError, "Service", "message"}
	errLogsOperationNotAllowed = &wireError{"InvalidOperationException", http.StatusBadRequest, "User", "message"}
)

var logsByKind = map[fault.Kind]*wireError{
	fault.Invalid:            errLogsInvalidParameter,
	fault.NotFound:           errLogsResourceNotFound,
	fault.Conflict:           errLogsOperationNotAllowed,
	fault.PreconditionFailed: errLogsInvalidParameter,
	fault.TooLarge:           errLogsInvalidParameter,
	fault.Throttled:          errLogsThrottling,
	fault.Unsupported:        errLogsInvalidParameter,
}

// Limits of the Logs API, as CloudWatch's.
const (
	logsTargetPrefix     = "Logs_20140328"
	logsBodyLimit        = 1 << 20
	maxLogEventsLimit    = 10000
	maxDescribeLimit     = 50
	maxLogStreamNames    = 100
	logEventsBytesLimit  = 1 << 20 // a page of events is at most 1 MB
	maxLogGroupNameLen   = 512
	defaultLogGroupClass = "STANDARD"
	lambdaLogGroupPrefix = "/aws/lambda/"
)

func (a *API) routeLogs() {
	svc := &jsonService{
		prefix:      logsTargetPrefix,
		contentType: contentTypeJSON11,
		byKind:      logsByKind,
		internal:    errLogsServiceUnavailable,
	}
	a.registerJSON(svc, []jsonOp{
		{"DescribeLogGroups", logsBodyLimit, a.describeLogGroups},
		{"DescribeLogStreams", logsBodyLimit, a.describeLogStreams},
		{"GetLogEvents", logsBodyLimit, a.getLogEvents},
		{"FilterLogEvents", logsBodyLimit, a.filterLogEvents},
	})
}

func (a *API) logsEnabled() error {
	if a.opts.Logs == nil {
		return newAPIError(errLogsResourceNotFound, "Function logs are not kept by this server.")
	}
	return nil
}

// ---- log groups

// logGroup is one log group and the functions that write to it.
type logGroup struct {
	name      string
	functions []string
	created   time.Time
	bytes     int64
}

// logGroups lists every log group, sorted by name.
func (a *API) logGroups(ctx context.Context) ([]*logGroup, error) {
	groups := map[string]*logGroup{}
	groupOf := map[string]*logGroup{} // function → its group
	add := func(name, fn string, created time.Time) {
		g := groups[name]
		if g == nil {
			g = &logGroup{name: name, created: created}
			groups[name] = g
		}
		g.functions = append(g.functions, fn)
		if created.Before(g.created) {
			g.created = created
		}
		groupOf[fn] = g
	}
	err := a.eachFunction(ctx, func(v function.Version) bool {
		add(functionLogGroup(v), v.FunctionName, v.LastModified)
		return true
	})
	if err != nil {
		return nil, err
	}
	fns, err := a.opts.Logs.Functions(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range fns {
		g := groupOf[f.Name]
		if g == nil {
			add(lambdaLogGroupPrefix+f.Name, f.Name, f.FirstEvent)
			g = groupOf[f.Name]
		} else if f.FirstEvent.Before(g.created) {
			g.created = f.FirstEvent
		}
		g.bytes += f.Bytes
	}
	out := make([]*logGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(x, y *logGroup) int { return strings.Compare(x.name, y.name) })
	return out, nil
}

// eachFunction calls fn with every function's $LATEST until it returns false.
func (a *API) eachFunction(ctx context.Context, fn func(function.Version) bool) error {
	if a.opts.Functions == nil {
		return nil
	}
	page := function.Page{MaxItems: function.MaxMaxItems}
	for {
		vs, next, err := a.opts.Functions.List(ctx, page, false)
		if err != nil {
			return err
		}
		for _, v := range vs {
			if !fn(v) {
				return nil
			}
		}
		if next == "" {
			return nil
		}
		page.Marker = next
	}
}

func functionLogGroup(v function.Version) string {
	if v.LogGroup != "" {
		return v.LogGroup
	}
	return lambdaLogGroupPrefix + v.FunctionName
}

// resolveLogGroup returns the functions writing to the log group name, or
// ResourceNotFoundException.
func (a *API) resolveLogGroup(ctx context.Context, name string) ([]string, error) {
	fn, isDefault := strings.CutPrefix(name, lambdaLogGroupPrefix)
	if isDefault && fn != "" && a.opts.Functions != nil {
		// The usual case, without listing every function.
		f, err := a.opts.Functions.Get(ctx, fn, "")
		switch {
		case err == nil && functionLogGroup(f.Version) == name:
			return []string{f.FunctionName}, nil
		case err != nil && fault.KindOf(err) == fault.Internal:
			return nil, err
		}
	}
	var fns []string
	err := a.eachFunction(ctx, func(v function.Version) bool {
		if functionLogGroup(v) == name {
			fns = append(fns, v.FunctionName)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if len(fns) > 0 {
		return fns, nil
	}
	if isDefault && fn != "" {
		// A function that is gone (or never registered) whose logs are kept.
		if a.opts.Functions != nil {
			if _, err := a.opts.Functions.Get(ctx, fn, ""); err == nil {
				return nil, logGroupNotFound()
			}
		}
		streams, err := a.opts.Logs.Streams(ctx, fn)
		if err != nil {
			return nil, err
		}
		if len(streams) > 0 {
			return []string{fn}, nil
		}
	}
	return nil, logGroupNotFound()
}

func logGroupNotFound() error {
	return newAPIError(errLogsResourceNotFound, "The specified log group does not exist.")
}

// groupName reads the log group of a request from logGroupName or
// logGroupIdentifier (a name or an ARN), exactly one of which is required.
func groupName(name, id *string) (string, error) {
	var n string
	switch {
	case name != nil && id != nil:
		return "", invalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != nil:
		n = *name
	case id != nil:
		n = groupFromIdentifier(*id)
	default:
		return "", invalidParameter("Should provide either logGroupName or logGroupIdentifier.")
	}
	if n == "" || len(n) > maxLogGroupNameLen {
		return "", invalidParameter("1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must have length between 1 and %d", n, maxLogGroupNameLen)
	}
	return n, nil
}

// groupFromIdentifier returns the name in a log group ARN
// ("arn:aws:logs:us-east-1:000000000000:log-group:NAME[:*]"), or id itself.
func groupFromIdentifier(id string) string {
	if !strings.HasPrefix(id, "arn:") {
		return id
	}
	_, rest, ok := strings.Cut(id, ":log-group:")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(rest, ":*")
}

func (a *API) logGroupARN(c *call, group string) string {
	return "arn:" + partition(c.region) + ":logs:" + c.region + ":" + a.opts.AccountID + ":log-group:" + group
}

// ---- paging helpers

func logsLimit(p *int, max int) (int, error) {
	if p == nil {
		return max, nil
	}
	if *p < 1 || *p > max {
		return 0, invalidParameter("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d", *p, max)
	}
	return *p, nil
}

// offsetToken and parseOffset make the opaque tokens of the Describe
// operations: an offset into the sorted listing.
func offsetToken(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(n)))
}

func parseOffset(tok *string) (int, error) {
	if tok == nil || *tok == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err == nil && len(b) > 1 && b[0] == 'o' {
		if n, err := strconv.Atoi(string(b[1:])); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, invalidParameter("The specified nextToken is invalid.")
}

// parseEventToken splits an events token ("f/<id>" or "b/<id>").
func parseEventToken(tok *string) (dir byte, pos string, err error) {
	if tok == nil || *tok == "" {
		return 0, "", nil
	}
	t := *tok
	if len(t) > 2 && (t[0] == 'f' || t[0] == 'b') && t[1] == '/' {
		return t[0], t[2:], nil
	}
	return 0, "", invalidParameter("The specified nextToken is invalid.")
}

// timeRange converts startTime and endTime (epoch ms, both inclusive) to
// a LogQuery's Since and Until (exclusive).
func timeRange(start, end *int64) (since, until time.Time, err error) {
	if start != nil {
		if *start < 0 {
			return since, until, invalidParameter("1 validation error detected: Value '%d' at 'startTime' failed to satisfy constraint: Member must have value greater than or equal to 0", *start)
		}
		since = time.UnixMilli(*start)
	}
	if end != nil {
		if *end < 0 {
			return since, until, invalidParameter("1 validation error detected: Value '%d' at 'endTime' failed to satisfy constraint: Member must have value greater than or equal to 0", *end)
		}
		until = time.UnixMilli(*end + 1)
	}
	if start != nil && end != nil && *end < *start {
		return since, until, invalidParameter("End time must be equal to or after start time.")
	}
	return since, until, nil
}

// ---- operations

func (a *API) describeLogGroups(w http.ResponseWriter, r *http.Request, c *call) error {
	var in describeLogGroupsIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if err := a.logsEnabled(); err != nil {
		return err
	}
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return invalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	if len(in.LogGroupIdentifiers) > 0 && (in.LogGroupNamePrefix != nil || in.LogGroupNamePattern != nil) {
		return invalidParameter("LogGroup identifiers cannot be combined with a name prefix or pattern.")
	}
	limit, err := logsLimit(in.Limit, maxDescribeLimit)
	if err != nil {
		return err
	}
	offset, err := parseOffset(in.NextToken)
	if err != nil {
		return err
	}
	groups, err := a.logGroups(r.Context())
	if err != nil {
		return err
	}
	var wanted []string
	for _, id := range in.LogGroupIdentifiers {
		wanted = append(wanted, groupFromIdentifier(id))
	}
	var selected []*logGroup
	for _, g := range groups {
		switch {
		case in.LogGroupNamePrefix != nil && !strings.HasPrefix(g.name, *in.LogGroupNamePrefix):
		case in.LogGroupNamePattern != nil && !strings.Contains(strings.ToLower(g.name), strings.ToLower(*in.LogGroupNamePattern)):
		case len(wanted) > 0 && !slices.Contains(wanted, g.name):
		default:
			selected = append(selected, g)
		}
	}
	out := describeLogGroupsOut{LogGroups: []logGroupOut{}}
	retention := int(a.opts.Logs.Retention() / (24 * time.Hour))
	for i := offset; i < len(selected) && len(out.LogGroups) < limit; i++ {
		g := selected[i]
		arn := a.logGroupARN(c, g.name)
		out.LogGroups = append(out.LogGroups, logGroupOut{
			LogGroupName:    g.name,
			CreationTime:    g.created.UnixMilli(),
			RetentionInDays: retention,
			Arn:             arn + ":*",
			LogGroupArn:     arn,
			StoredBytes:     g.bytes,
			LogGroupClass:   defaultLogGroupClass,
		})
	}
	if end := offset + len(out.LogGroups); end < len(selected) {
		out.NextToken = offsetToken(end)
	}
	return writeTargetJSON(w, contentTypeJSON11, out)
}

func (a *API) describeLogStreams(w http.ResponseWriter, r *http.Request, c *call) error {
	var in describeLogStreamsIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if err := a.logsEnabled(); err != nil {
		return err
	}
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return err
	}
	byTime := false
	if in.OrderBy != nil {
		switch *in.OrderBy {
		case "LogStreamName":
		case "LastEventTime":
			byTime = true
		default:
			return invalidParameter("1 validation error detected: Value '%s' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]", *in.OrderBy)
		}
	}
	prefix := ""
	if in.LogStreamNamePrefix != nil {
		prefix = *in.LogStreamNamePrefix
	}
	if byTime && prefix != "" {
		return invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	limit, err := logsLimit(in.Limit, maxDescribeLimit)
	if err != nil {
		return err
	}
	offset, err := parseOffset(in.NextToken)
	if err != nil {
		return err
	}
	ctx := r.Context()
	fns, err := a.resolveLogGroup(ctx, group)
	if err != nil {
		return err
	}
	var streams []telemetry.LogStreamInfo
	for _, fn := range fns {
		s, err := a.opts.Logs.Streams(ctx, fn)
		if err != nil {
			return err
		}
		for _, st := range s {
			if strings.HasPrefix(st.Name, prefix) {
				streams = append(streams, st)
			}
		}
	}
	slices.SortStableFunc(streams, func(x, y telemetry.LogStreamInfo) int {
		if byTime {
			if c := x.LastEvent.Compare(y.LastEvent); c != 0 {
				return c
			}
		}
		return strings.Compare(x.Name, y.Name)
	})
	if in.Descending != nil && *in.Descending {
		slices.Reverse(streams)
	}
	out := describeLogStreamsOut{LogStreams: []logStreamOut{}}
	groupARN := a.logGroupARN(c, group)
	for i := offset; i < len(streams) && len(out.LogStreams) < limit; i++ {
		s := streams[i]
		out.LogStreams = append(out.LogStreams, logStreamOut{
			LogStreamName:       s.Name,
			CreationTime:        s.FirstEvent.UnixMilli(),
			FirstEventTimestamp: s.FirstEvent.UnixMilli(),
			LastEventTimestamp:  s.LastEvent.UnixMilli(),
			LastIngestionTime:   s.LastIngestion.UnixMilli(),
			Arn:                 groupARN + ":log-stream:" + s.Name,
			StoredBytes:         s.Bytes,
		})
	}
	if end := offset + len(out.LogStreams); end < len(streams) {
		out.NextToken = offsetToken(end)
	}
	return writeTargetJSON(w, contentTypeJSON11, out)
}

func (a *API) getLogEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	var in getLogEventsIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if err := a.logsEnabled(); err != nil {
		return err
	}
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return err
	}
	if in.LogStreamName == nil || *in.LogStreamName == "" {
		return invalidParameter("1 validation error detected: Value at 'logStreamName' failed to satisfy constraint: Member must not be null")
	}
	stream := *in.LogStreamName
	limit, err := logsLimit(in.Limit, maxLogEventsLimit)
	if err != nil {
		return err
	}
	since, until, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return err
	}
	dir, pos, err := parseEventToken(in.NextToken)
	if err != nil {
		return err
	}
	ctx := r.Context()
	fns, err := a.resolveLogGroup(ctx, group)
	if err != nil {
		return err
	}
	fn, err := a.streamFunction(ctx, fns, stream)
	if err != nil {
		return err
	}
	q := telemetry.LogQuery{
		FunctionName: fn,
		Streams:      []string{stream},
		Since:        since,
		Until:        until,
		Limit:        limit,
		MaxBytes:     logEventsBytesLimit,
	}
	switch {
	case dir == 'f':
		q.NextToken = pos
	case dir == 'b':
		q.Before, q.Tail = pos, true
	case in.StartFromHead != nil && *in.StartFromHead:
	default:
		// Without startFromHead, GetLogEvents returns the latest events.
		q.Tail = true
	}
	evs, _, err := a.opts.Logs.Query(ctx, q)
	if err != nil {
		return err
	}
	out := getLogEventsOut{Events: make([]outputLogEvent, 0, len(evs))}
	for _, e := range evs {
		out.Events = append(out.Events, outputLogEvent{
			Timestamp:     e.Time.UnixMilli(),
			Message:       e.Line,
			IngestionTime: e.Ingested.UnixMilli(),
		})
	}
	// The forward token of an empty page is the one given (so SDK
	// paginators, which stop on a repeated token, end).
	switch {
	case len(evs) > 0:
		out.NextForwardToken = "f/" + evs[len(evs)-1].ID
		out.NextBackwardToken = "b/" + evs[0].ID
	case dir != 0:
		out.NextForwardToken = "f/" + pos
		out.NextBackwardToken = "b/" + pos
	default:
		out.NextForwardToken = "f/" + telemetry.StartToken
		out.NextBackwardToken = "b/" + telemetry.StartToken
	}
	return writeTargetJSON(w, contentTypeJSON11, out)
}

// streamFunction finds which of fns wrote the log stream.
func (a *API) streamFunction(ctx context.Context, fns []string, stream string) (string, error) {
	for _, fn := range fns {
		streams, err := a.opts.Logs.Streams(ctx, fn)
		if err != nil {
			return "", err
		}
		for _, s := range streams {
			if s.Name == stream {
				return fn, nil
			}
		}
	}
	return "", newAPIError(errLogsResourceNotFound, "The specified log stream does not exist.")
}

func (a *API) filterLogEvents(w http.ResponseWriter, r *http.Request, c *call) error {
	var in filterLogEventsIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if err := a.logsEnabled(); err != nil {
		return err
	}
	group, err := groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return err
	}
	if len(in.LogStreamNames) > 0 && in.LogStreamNamePrefix != nil {
		return invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
	}
	if len(in.LogStreamNames) > maxLogStreamNames {
		return invalidParameter("1 validation error detected: Value at 'logStreamNames' failed to satisfy constraint: Member must have length less than or equal to %d", maxLogStreamNames)
	}
	limit, err := logsLimit(in.Limit, maxLogEventsLimit)
	if err != nil {
		return err
	}
	since, until, err := timeRange(in.StartTime, in.EndTime)
	if err != nil {
		return err
	}
	dir, pos, err := parseEventToken(in.NextToken)
	if err != nil {
		return err
	}
	ctx := r.Context()
	fns, err := a.resolveLogGroup(ctx, group)
	if err != nil {
		return err
	}
	q := telemetry.LogQuery{
		FunctionNames: fns,
		Streams:       in.LogStreamNames,
		Since:         since,
		Until:         until,
		Limit:         limit,
		MaxBytes:      logEventsBytesLimit,
	}
	if in.FilterPattern != nil {
		q.Filter = *in.FilterPattern
	}
	out := filterLogEventsOut{Events: []filteredLogEvent{}}
	if in.LogStreamNamePrefix != nil && *in.LogStreamNamePrefix != "" {
		for _, fn := range fns {
			streams, err := a.opts.Logs.Streams(ctx, fn)
			if err != nil {
				return err
			}
			for _, s := range streams {
				if strings.HasPrefix(s.Name, *in.LogStreamNamePrefix) {
					q.Streams = append(q.Streams, s.Name)
				}
			}
		}
		if len(q.Streams) == 0 {
			return writeTargetJSON(w, contentTypeJSON11, out)
		}
	}
	// startFromHead=false returns the latest events first, then pages back.
	backward := dir == 'b' || (dir == 0 && in.StartFromHead != nil && !*in.StartFromHead)
	if backward {
		q.Tail, q.Before = true, pos
	} else {
		q.NextToken = pos
	}
	evs, next, err := a.opts.Logs.Query(ctx, q)
	if err != nil {
		return err
	}
	if backward {
		slices.Reverse(evs)
	}
	for _, e := range evs {
		out.Events = append(out.Events, filteredLogEvent{
			LogStreamName: e.Stream,
			Timestamp:     e.Time.UnixMilli(),
			Message:       e.Line,
			IngestionTime: e.Ingested.UnixMilli(),
			EventID:       e.ID,
		})
	}
	if next != "" {
		if backward {
			out.NextToken = "b/" + next
		} else {
			out.NextToken = "f/" + next
		}
	}
	return writeTargetJSON(w, contentTypeJSON11, out)
}
