package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Query limits.
const (
	// DefaultQueryLimit is LogQuery.Limit's default (CloudWatch's page size).
	DefaultQueryLimit = 10000
	// maxStreamSubjects is how many log streams a query selects through the
	// store's subject filters; beyond that it reads the whole function and
	// picks the streams itself.
	maxStreamSubjects = 32
	// storeTimeSlack allows for lines stamped a little after the store
	// stamped their batch (clocks of different nodes disagree a little):
	// a query from Since starts reading this much earlier.
	storeTimeSlack = time.Minute
	// untilSlack is how far past Until a query keeps reading, for lines
	// of other log streams that waited in the buffer before they were stored.
	untilSlack = 2 * time.Minute
)

// LogQuery selects log events. Events come in the order they were stored,
// which for the lines of one log stream is the order they were written.
type LogQuery struct {
	// FunctionName selects one function's logs; FunctionNames selects more
	// (for a log group several functions share). At least one is required.
	FunctionName  string
	FunctionNames []string
	// Streams keeps only the events of these log streams (none = all).
	Streams []string
	// Since keeps events at or after this time; Until those before it
	// (zero = no bound).
	Since, Until time.Time
	// Filter is a filter pattern (see Filter); "" keeps everything.
	Filter string
	// Limit is the most events returned (0 = DefaultQueryLimit).
	Limit int
	// MaxBytes bounds the total length of the events' lines (0 = none);
	// at least one event is returned if any matches.
	MaxBytes int
	// NextToken, an event ID, StartToken or the next token of an earlier
	// Query, keeps only the events stored after it.
	NextToken string
	// Before, an event ID, StartToken or the next token of an earlier Tail
	// query, keeps only the events stored before it.
	Before string
	// Tail returns the last Limit matching events instead of the first
	// (still oldest first); its next token is then the Before of the page
	// of events before them.
	Tail bool
}

// LogStreamInfo describes one log stream (one function instance's log).
type LogStreamInfo struct {
	Name         string `json:"name"`
	FunctionName string `json:"function"`
	Version      string `json:"version"`
	// FirstEvent and LastEvent are the times of its first and last lines;
	// LastIngestion is when lines were last stored. They are kept up to date
	// within about a second.
	FirstEvent    time.Time `json:"first"`
	LastEvent     time.Time `json:"last"`
	LastIngestion time.Time `json:"ingested"`
	// Bytes is the length of the lines stored (not counting removed ones).
	Bytes int64 `json:"bytes"`
}

// LogFunctionInfo sums up the logs kept for one function.
type LogFunctionInfo struct {
	Name       string
	Streams    int
	FirstEvent time.Time
	LastEvent  time.Time
	Bytes      int64
}

// query is a LogQuery checked and compiled.
type query struct {
	read         store.ReadOptions
	filter       *Filter
	streams      map[string]bool // nil = all
	since, until time.Time
	after        position
	before       position
	hasBefore    bool
	limit        int
	maxBytes     int
}

func (l *Logs) compile(q LogQuery) (*query, error) {
	var fns []string
	for _, fn := range append([]string{q.FunctionName}, q.FunctionNames...) {
		if fn != "" && !slices.Contains(fns, fn) {
			fns = append(fns, fn)
		}
	}
	if len(fns) == 0 {
		return nil, fault.New(fault.Invalid, "A function name is required to query logs.")
	}
	if q.Limit < 0 || q.MaxBytes < 0 {
		return nil, fault.New(fault.Invalid, "Limit and MaxBytes must not be negative.")
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return nil, fault.New(fault.Invalid, "The end of the time range must be after its start.")
	}
	c := &query{since: q.Since, until: q.Until, limit: q.Limit, maxBytes: q.MaxBytes}
	if c.limit == 0 {
		c.limit = DefaultQueryLimit
	}
	if strings.TrimSpace(q.Filter) != "" {
		f, err := ParseFilter(q.Filter)
		if err != nil {
			return nil, err
		}
		c.filter = f
	}
	if q.NextToken != "" {
		p, ok := parsePosition(q.NextToken)
		if !ok {
			return nil, fault.New(fault.Invalid, "The specified nextToken is invalid.")
		}
		c.after = p
	}
	if q.Before != "" {
		p, ok := parsePosition(q.Before)
		if !ok {
			return nil, fault.New(fault.Invalid, "The specified nextToken is invalid.")
		}
		c.before, c.hasBefore = p, true
	}
	var streams []string
	for _, s := range q.Streams {
		if !slices.Contains(streams, s) {
			streams = append(streams, s)
		}
	}
	if len(q.Streams) > 0 {
		c.streams = make(map[string]bool, len(streams))
		for _, s := range streams {
			c.streams[s] = true
		}
	}
	for _, fn := range fns {
		if len(streams) > 0 && len(fns)*len(streams) <= maxStreamSubjects {
			for _, s := range streams {
				c.read.Subjects = append(c.read.Subjects, streamSubjects(fn, s))
			}
		} else {
			c.read.Subjects = append(c.read.Subjects, functionSubjects(fn))
		}
	}
	switch {
	case !c.after.zero():
		c.read.StartSeq = max(c.after.seq, 1)
	case !c.since.IsZero():
		c.read.Since = c.since.Add(-storeTimeSlack)
	}
	return c, nil
}

// scan reads the events q selects, in order, handing each to emit until
// emit returns false, the selection ends or ctx ends.
func (l *Logs) scan(ctx context.Context, q *query, follow bool, emit func(LogEvent) (bool, error)) error {
	opts := q.read
	opts.Follow = follow
	for m, err := range l.stream.Read(ctx, opts) {
		if err != nil {
			return fmt.Errorf("telemetry: logs: read: %w", err)
		}
		if q.hasBefore && m.Sequence > q.before.seq {
			return nil
		}
		var b batch
		if err := json.Unmarshal(m.Data, &b); err != nil {
			l.log.Debug("skipping an unreadable log batch", "seq", m.Sequence, "err", err)
			continue
		}
		if !q.until.IsZero() && len(b.E) > 0 && time.Unix(0, b.E[0].T).After(q.until.Add(untilSlack)) {
			// Later batches were written later still (but for lines that
			// waited in a buffer longer than untilSlack).
			return nil
		}
		if q.streams != nil && !q.streams[b.S] {
			continue
		}
		for i, e := range b.E {
			pos := position{seq: m.Sequence, idx: i}
			if !q.after.before(pos) && !q.after.zero() {
				continue
			}
			if q.hasBefore && !pos.before(q.before) {
				return nil
			}
			t := time.Unix(0, e.T)
			if (!q.since.IsZero() && t.Before(q.since)) || (!q.until.IsZero() && !t.Before(q.until)) {
				continue
			}
			if !q.filter.Match(e.M) {
				continue
			}
			ev := LogEvent{
				LogLine: LogLine{
					Time:         t,
					FunctionName: b.F,
					Version:      b.V,
					Stream:       b.S,
					RequestID:    e.R,
					Line:         e.M,
				},
				ID:       pos.id(),
				Ingested: m.Time,
			}
			more, err := emit(ev)
			if err != nil || !more {
				return err
			}
		}
	}
	return nil
}

// Query returns the events q selects, and a token for the events after
// them when the page was full ("" when the query read to the end); with
// q.Tail, a token for the events before them when there may be some.
func (l *Logs) Query(ctx context.Context, q LogQuery) ([]LogEvent, string, error) {
	c, err := l.compile(q)
	if err != nil {
		return nil, "", err
	}
	if q.Tail {
		return l.tail(ctx, c)
	}
	var out []LogEvent
	size, next := 0, ""
	err = l.scan(ctx, c, false, func(ev LogEvent) (bool, error) {
		if len(out) > 0 && c.maxBytes > 0 && size+len(ev.Line) > c.maxBytes {
			next = out[len(out)-1].ID
			return false, nil
		}
		out = append(out, ev)
		size += len(ev.Line)
		if len(out) >= c.limit {
			next = ev.ID
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// tail keeps the last events of the selection in a ring.
func (l *Logs) tail(ctx context.Context, c *query) ([]LogEvent, string, error) {
	ring := make([]LogEvent, 0, min(c.limit, 1024))
	head, size := 0, 0 // ring[head] is the oldest once the ring is full
	more := false      // events before the ring's were left out
	err := l.scan(ctx, c, false, func(ev LogEvent) (bool, error) {
		if len(ring) < c.limit {
			ring = append(ring, ev)
		} else {
			size -= len(ring[head].Line)
			ring[head] = ev
			head = (head + 1) % len(ring)
			more = true
		}
		size += len(ev.Line)
		return true, nil
	})
	if err != nil {
		return nil, "", err
	}
	out := append(ring[head:len(ring):len(ring)], ring[:head]...)
	if c.maxBytes > 0 {
		for len(out) > 1 && size > c.maxBytes {
			size -= len(out[0].Line)
			out = out[1:]
			more = true
		}
	}
	if more {
		return out, out[0].ID, nil
	}
	return out, "", nil
}

// Follow hands fn the events q selects (without Limit, Tail or MaxBytes):
// those already stored from q.Since or q.NextToken, or none of them when
// both are unset, then new ones as they are stored, until ctx ends (it
// returns ctx.Err()), fn returns an error (it returns that error) or the
// events pass q.Until (it returns nil).
func (l *Logs) Follow(ctx context.Context, q LogQuery, fn func(LogEvent) error) error {
	c, err := l.compile(q)
	if err != nil {
		return err
	}
	if c.read.StartSeq == 0 && c.read.Since.IsZero() {
		info, err := l.stream.Info(ctx)
		if err != nil {
			return fmt.Errorf("telemetry: logs: follow: %w", err)
		}
		c.read.StartSeq = info.LastSeq + 1
	}
	err = l.scan(ctx, c, true, func(ev LogEvent) (bool, error) {
		return true, fn(ev)
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	return err
}

// Streams lists the log streams of a function that hold lines still kept,
// sorted by name. Streams whose oldest lines the store removed for its size
// bound may still be listed, with fewer lines than Bytes says.
func (l *Logs) Streams(ctx context.Context, functionName string) ([]LogStreamInfo, error) {
	if functionName == "" {
		return nil, fault.New(fault.Invalid, "A function name is required to list log streams.")
	}
	return l.listStreams(ctx, indexFunctionPrefix(functionName))
}

// Functions lists the functions that have logs still kept, sorted by name.
func (l *Logs) Functions(ctx context.Context) ([]LogFunctionInfo, error) {
	streams, err := l.listStreams(ctx, indexPrefix)
	if err != nil {
		return nil, err
	}
	var out []LogFunctionInfo
	byName := map[string]int{}
	for _, s := range streams {
		i, ok := byName[s.FunctionName]
		if !ok {
			i = len(out)
			byName[s.FunctionName] = i
			out = append(out, LogFunctionInfo{Name: s.FunctionName, FirstEvent: s.FirstEvent})
		}
		f := &out[i]
		f.Streams++
		f.Bytes += s.Bytes
		if s.FirstEvent.Before(f.FirstEvent) {
			f.FirstEvent = s.FirstEvent
		}
		if s.LastEvent.After(f.LastEvent) {
			f.LastEvent = s.LastEvent
		}
	}
	slices.SortFunc(out, func(a, b LogFunctionInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// listStreams reads index entries under prefix. Entries of streams whose
// lines were all stored longer ago than the retention (so the store has
// removed them) are left out, and removed too.
func (l *Logs) listStreams(ctx context.Context, prefix string) ([]LogStreamInfo, error) {
	entries, err := l.index.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("telemetry: logs: list log streams: %w", err)
	}
	cutoff := l.clock.Now().Add(-l.opts.Retention)
	out := make([]LogStreamInfo, 0, len(entries))
	for _, e := range entries {
		var s LogStreamInfo
		if err := json.Unmarshal(e.Value, &s); err != nil {
			l.log.Debug("skipping an unreadable log stream index entry", "key", e.Key, "err", err)
			continue
		}
		if s.LastIngestion.Before(cutoff) {
			if err := l.index.Delete(ctx, e.Key, e.Revision); err != nil && !errors.Is(err, store.ErrConflict) {
				l.log.Debug("removing an expired log stream index entry failed", "key", e.Key, "err", err)
			}
			continue
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b LogStreamInfo) int {
		if c := strings.Compare(a.FunctionName, b.FunctionName); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}
