package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/store"
)

// Defaults of LogsOptions.
const (
	DefaultLogRetention     = 7 * 24 * time.Hour
	DefaultLogMaxBytes      = 1 << 30  // 1 GiB
	DefaultLogBufferBytes   = 16 << 20 // 16 MiB
	DefaultLogFlushInterval = 50 * time.Millisecond
	// MaxLineBytes is the longest line kept; longer ones are cut (CloudWatch
	// Logs takes events up to 256 KB).
	MaxLineBytes = 256 * 1024
)

// Tuning of the writer.
const (
	// batchBytes bounds one stored message (a batch of one log stream's
	// lines); it stays well below the 1 MB payload limit of a default NATS
	// server, so an external server works too.
	batchBytes = 512 << 10
	// flushBytes wakes the writer at once instead of after FlushInterval.
	flushBytes = 1 << 20
	// publishTimeout bounds one flush's writes to the store.
	publishTimeout = 10 * time.Second
	// maxAttempts is how many flushes try a message before it is dropped.
	maxAttempts = 10
	// retryMax bounds the pause after a failed flush.
	retryMax = 5 * time.Second
	// indexInterval is how often a log stream's index entry is rewritten
	// while it keeps receiving lines (a new stream is indexed at once).
	indexInterval = time.Second
	// forgetAfter is how long the writer remembers an idle log stream.
	forgetAfter = 15 * time.Minute
	// warnEvery rate-limits the warnings about dropped lines.
	warnEvery = 10 * time.Second
	// lineOverhead approximates the memory of a buffered line besides its text.
	lineOverhead = 96
	// maxSpareLines bounds the buffer kept for reuse between flushes.
	maxSpareLines = 1 << 16
)

// LogsOptions configure Logs. Zero fields take the defaults.
type LogsOptions struct {
	// Retention is how long lines are kept (default 7 days).
	Retention time.Duration
	// MaxBytes bounds the disk the logs take in the store; past it the
	// oldest lines are removed first (default 1 GiB).
	MaxBytes int64
	// BufferBytes bounds the lines waiting in memory to be written; when
	// the store cannot keep up, further lines are dropped and counted
	// rather than slow the functions down (default 16 MiB).
	BufferBytes int
	// FlushInterval is how long a line may wait for others to share its
	// write (default 50 ms). It is what a follower's latency is made of.
	FlushInterval time.Duration
	// Logger for the platform's own messages (nil = slog.Default()).
	Logger *slog.Logger
	// Clock stamps lines that carry no time and judges the age of log
	// streams for retention (nil = the wall clock). The writer's own short
	// waits use real time.
	Clock clock.Clock
}

// LogEvent is a stored LogLine as queries return it.
type LogEvent struct {
	LogLine
	// ID identifies the event; IDs are decimal digits that sort in the
	// order the events were stored. An ID is also a LogQuery.NextToken or
	// Before position.
	ID string `json:"id"`
	// Ingested is when the line was stored.
	Ingested time.Time `json:"ingested"`
}

// Logs keeps function logs durably in the store: it is the LogSink the
// runtime writes to, and answers queries, follows and log stream listings.
//
// Concurrency: WriteLog may be called from any goroutine; it only appends
// to the buffer under mu. One writer goroutine (run) owns everything else
// of the write path (the retry list, the streams map, the index writes);
// queries share nothing with it but the store.
type Logs struct {
	opts   LogsOptions
	log    *slog.Logger
	clock  clock.Clock
	stream store.Stream
	index  store.KV
	nodeID string // makes the writer's message IDs unique across nodes and restarts

	mu            sync.Mutex
	pending       []LogLine
	pendingBytes  int
	inflightBytes int // taken by the writer and not yet stored or dropped
	closed        bool

	wake     chan struct{} // a first line is pending
	full     chan struct{} // flushBytes are pending
	syncC    chan chan error
	stopping chan struct{} // closed by Close
	done     chan struct{} // closed when the writer has finished
	runCtx   context.Context
	cancel   context.CancelFunc

	dropped  atomic.Uint64
	lastWarn atomic.Int64 // unix nanos of the last drop warning

	closeOnce sync.Once

	// Owned by the writer goroutine.
	spare   []LogLine // the buffer that becomes pending at the next flush
	retry   []*outMsg
	streams map[streamKey]*streamState
	msgSeq  uint64
}

type streamKey struct{ fn, stream string }

// streamState is the writer's view of one log stream's index entry.
type streamState struct {
	info    LogStreamInfo
	loaded  bool      // merged with the stored entry, if there was one
	dirty   bool      // changed since it was last written
	written time.Time // when it was last written (real time)
}

// outMsg is one batch on its way to the store.
type outMsg struct {
	bm       store.BatchMessage
	key      streamKey
	version  string
	lines    int
	bytes    int // buffer bytes it accounts for
	first    time.Time
	last     time.Time
	size     int64 // text bytes, for the index
	attempts int
}

// batch is the stored form of a batch of one log stream's lines.
type batch struct {
	F string       `json:"f"`
	V string       `json:"v"`
	S string       `json:"s"`
	E []batchEvent `json:"e"`
}

type batchEvent struct {
	T int64  `json:"t"` // unix nanoseconds
	R string `json:"r,omitempty"`
	M string `json:"m"`
}

var _ LogSink = (*Logs)(nil)

// NewLogs opens the logs' stream and index in st and starts the writer.
// ctx bounds the opening only. Close must be called to flush and stop.
func NewLogs(ctx context.Context, st store.Store, opts LogsOptions) (*Logs, error) {
	if st == nil {
		return nil, errors.New("telemetry: logs: a store is required")
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultLogRetention
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultLogMaxBytes
	}
	if opts.BufferBytes <= 0 {
		opts.BufferBytes = DefaultLogBufferBytes
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultLogFlushInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	stream, err := st.Stream(ctx, store.StreamConfig{
		Name:            storeStream,
		Subjects:        []string{subjectRoot + ".>"},
		MaxAge:          opts.Retention,
		MaxBytes:        opts.MaxBytes,
		DuplicateWindow: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("telemetry: logs: %w", err)
	}
	index, err := st.KV(ctx, indexBucket)
	if err != nil {
		return nil, fmt.Errorf("telemetry: logs: %w", err)
	}
	var id [6]byte
	_, _ = rand.Read(id[:])
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Logs{
		opts:     opts,
		log:      opts.Logger,
		clock:    opts.Clock,
		stream:   stream,
		index:    index,
		nodeID:   hex.EncodeToString(id[:]),
		wake:     make(chan struct{}, 1),
		full:     make(chan struct{}, 1),
		syncC:    make(chan chan error),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
		runCtx:   runCtx,
		cancel:   cancel,
		streams:  map[streamKey]*streamState{},
	}
	go l.run()
	return l, nil
}

// Retention is how long lines are kept.
func (l *Logs) Retention() time.Duration { return l.opts.Retention }

// Dropped counts the lines dropped so far: written while the buffer was
// full or after Close, or refused by the store again and again.
func (l *Logs) Dropped() uint64 { return l.dropped.Load() }

// WriteLog buffers line for the writer. It never waits for I/O: when the
// buffer is full the line is dropped and counted (see Dropped).
func (l *Logs) WriteLog(line LogLine) {
	if line.Time.IsZero() {
		line.Time = l.clock.Now()
	}
	if len(line.Line) > MaxLineBytes {
		line.Line = truncate(line.Line, MaxLineBytes)
	}
	size := len(line.Line) + len(line.RequestID) + len(line.Stream) + len(line.FunctionName) + len(line.Version) + lineOverhead
	l.mu.Lock()
	if l.closed || l.pendingBytes+l.inflightBytes+size > l.opts.BufferBytes {
		closed := l.closed
		l.mu.Unlock()
		l.drop(1, closed)
		return
	}
	l.pending = append(l.pending, line)
	l.pendingBytes += size
	first := len(l.pending) == 1
	full := l.pendingBytes >= flushBytes
	l.mu.Unlock()
	if first {
		signal(l.wake)
	}
	if full {
		signal(l.full)
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-utf8.UTFMax && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// drop counts n dropped lines and warns now and then.
func (l *Logs) drop(n int, closed bool) {
	total := l.dropped.Add(uint64(n))
	now := l.clock.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(warnEvery) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	if closed {
		l.log.Warn("function log lines written after the log store closed are dropped", "dropped_total", total)
		return
	}
	l.log.Warn("function log buffer is full: dropping log lines rather than slowing functions down",
		"dropped_total", total, "buffer_bytes", l.opts.BufferBytes)
}

// Sync writes the lines written before it was called, and the log
// stream index, now; it returns once they are stored (or could not be:
// the writer then keeps trying in the background), or when ctx ends. After
// Close it returns at once.
func (l *Logs) Sync(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case l.syncC <- reply:
	case <-l.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking lines, writes what is buffered and waits for the
// writer, until ctx ends; lines still unwritten then are dropped (and the
// error says how many). It does not close the store.
func (l *Logs) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		close(l.stopping)
	})
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		l.cancel()
		<-l.done
		return fmt.Errorf("telemetry: logs: close: %w; log lines not yet stored were dropped (%d dropped in all)", ctx.Err(), l.Dropped())
	}
}

// run is the writer goroutine. A first line starts the linger: the lines
// that come within FlushInterval share its write (unless flushBytes come
// sooner). After a failed flush it waits, backing off, before the next
// attempt, while lines keep collecting in the buffer.
func (l *Logs) run() {
	defer close(l.done)
	defer l.cancel()
	var backoff time.Duration
	var lingerC, retryC, indexC <-chan time.Time
	for {
		flushNow := false
		select {
		case <-l.wake:
			if lingerC == nil && retryC == nil {
				lingerC = time.After(l.opts.FlushInterval)
			}
		case <-lingerC:
			lingerC, flushNow = nil, retryC == nil
		case <-l.full:
			flushNow = retryC == nil
		case <-retryC:
			retryC, flushNow = nil, true
		case <-indexC:
			indexC = nil
		case reply := <-l.syncC:
			var err error
			if l.flush() {
				retryC, backoff = nil, 0
			} else {
				err = errors.New("telemetry: logs: sync: some log lines could not be stored yet")
				// Try again later even if no other line comes.
				backoff = min(max(2*backoff, 100*time.Millisecond), retryMax)
				retryC = time.After(backoff)
			}
			if l.writeIndex(true) && err == nil {
				err = errors.New("telemetry: logs: sync: the log stream index could not be written")
			}
			reply <- err
			continue
		case <-l.stopping:
			l.finish()
			return
		}
		if flushNow {
			lingerC = nil
			if l.flush() {
				backoff = 0
			} else {
				backoff = min(max(2*backoff, 100*time.Millisecond), retryMax)
				retryC = time.After(backoff)
			}
		}
		if l.writeIndex(false) && indexC == nil {
			indexC = time.After(indexInterval)
		}
	}
}

// finish writes everything left, trying again until Close's ctx ends.
func (l *Logs) finish() {
	backoff := 50 * time.Millisecond
	for {
		l.flush()
		l.mu.Lock()
		left := len(l.pending) + len(l.retry)
		l.mu.Unlock()
		if left == 0 || l.runCtx.Err() != nil {
			break
		}
		select {
		case <-time.After(backoff):
		case <-l.runCtx.Done():
		}
		backoff = min(2*backoff, time.Second)
	}
	l.writeIndex(true)
	if n := len(l.retry); n > 0 {
		lines := 0
		for _, m := range l.retry {
			lines += m.lines
		}
		l.dropped.Add(uint64(lines))
		l.retry = nil
	}
	l.mu.Lock()
	if n := len(l.pending); n > 0 {
		l.dropped.Add(uint64(n))
		l.pending = nil
	}
	l.mu.Unlock()
}

// flush writes the pending lines (after any earlier batches that failed)
// and reports whether everything was stored.
func (l *Logs) flush() bool {
	l.mu.Lock()
	lines := l.pending
	l.pending, l.spare = l.spare, nil
	l.inflightBytes += l.pendingBytes
	l.pendingBytes = 0
	l.mu.Unlock()

	msgs := append(l.retry, l.encode(lines)...)
	l.retry = nil
	if cap(lines) <= maxSpareLines {
		clear(lines)
		l.spare = lines[:0]
	}
	if len(msgs) == 0 {
		return true
	}
	bms := make([]store.BatchMessage, len(msgs))
	for i, m := range msgs {
		bms[i] = m.bm
	}
	ctx, cancel := context.WithTimeout(l.runCtx, publishTimeout)
	seqs, err := l.stream.PublishBatch(ctx, bms)
	cancel()

	now := l.clock.Now()
	released, droppedLines := 0, 0
	for i, m := range msgs {
		if i < len(seqs) && seqs[i] != 0 {
			released += m.bytes
			l.stored(m, now)
			continue
		}
		m.attempts++
		if m.attempts >= maxAttempts || errors.Is(err, store.ErrClosed) {
			released += m.bytes
			droppedLines += m.lines
			continue
		}
		l.retry = append(l.retry, m)
	}
	l.mu.Lock()
	l.inflightBytes -= released
	l.mu.Unlock()
	if droppedLines > 0 {
		l.dropped.Add(uint64(droppedLines))
	}
	if err != nil {
		l.log.Warn("writing function logs to the store failed; will retry", "err", err,
			"waiting_batches", len(l.retry), "dropped_lines", droppedLines)
		return false
	}
	return true
}

// encode groups lines by log stream, in order, into batches.
func (l *Logs) encode(lines []LogLine) []*outMsg {
	if len(lines) == 0 {
		return nil
	}
	type group struct {
		version string
		lines   []LogLine
	}
	var order []streamKey
	groups := map[streamKey]*group{}
	for _, ln := range lines {
		k := streamKey{ln.FunctionName, ln.Stream}
		g := groups[k]
		if g == nil {
			g = &group{version: ln.Version}
			groups[k] = g
			order = append(order, k)
		}
		g.lines = append(g.lines, ln)
	}
	var out []*outMsg
	for _, k := range order {
		g := groups[k]
		for start := 0; start < len(g.lines); {
			b := batch{F: k.fn, V: g.version, S: k.stream}
			m := &outMsg{key: k, version: g.version}
			n := 0
			for _, ln := range g.lines[start:] {
				sz := len(ln.Line) + len(ln.RequestID) + 32
				if len(b.E) > 0 && (n+sz > batchBytes || len(b.E) >= maxBatchLines) {
					break
				}
				b.E = append(b.E, batchEvent{T: ln.Time.UnixNano(), R: ln.RequestID, M: ln.Line})
				n += sz
				m.size += int64(len(ln.Line))
				m.bytes += len(ln.Line) + len(ln.RequestID) + len(ln.Stream) + len(ln.FunctionName) + len(ln.Version) + lineOverhead
				if m.first.IsZero() || ln.Time.Before(m.first) {
					m.first = ln.Time
				}
				if ln.Time.After(m.last) {
					m.last = ln.Time
				}
			}
			start += len(b.E)
			m.lines = len(b.E)
			data, err := json.Marshal(&b)
			if err != nil { // cannot happen: strings and numbers only
				l.log.Error("encoding function log lines failed", "err", err)
				l.dropped.Add(uint64(m.lines))
				continue
			}
			l.msgSeq++
			m.bm = store.BatchMessage{
				Subject: lineSubject(k.fn, g.version, k.stream),
				Data:    data,
				// Deduplicates a batch written again after its confirmation was lost.
				Opts: &store.PublishOptions{MsgID: l.nodeID + "-" + strconv.FormatUint(l.msgSeq, 36)},
			}
			out = append(out, m)
		}
	}
	return out
}

// stored records a stored batch in its log stream's index state.
func (l *Logs) stored(m *outMsg, now time.Time) {
	s := l.streams[m.key]
	if s == nil {
		s = &streamState{info: LogStreamInfo{
			Name:         m.key.stream,
			FunctionName: m.key.fn,
			Version:      m.version,
			FirstEvent:   m.first,
		}}
		l.streams[m.key] = s
	}
	if m.first.Before(s.info.FirstEvent) {
		s.info.FirstEvent = m.first
	}
	if m.last.After(s.info.LastEvent) {
		s.info.LastEvent = m.last
	}
	s.info.LastIngestion = now
	s.info.Bytes += m.size
	s.dirty = true
}

// writeIndex writes the index entries of the log streams that changed: new
// ones at once, others at most every indexInterval, all of them when force
// is set. It reports whether some are left to write later.
func (l *Logs) writeIndex(force bool) bool {
	ctx, cancel := context.WithTimeout(l.runCtx, publishTimeout)
	defer cancel()
	// Real time on purpose, not l.clock: indexInterval and forgetAfter pace
	// the writer itself (as its timers do, see LogsOptions.Clock), and a
	// stopped or rewound test clock must not hold index writes back or keep
	// entries forever. Retention is judged from LastIngestion (l.clock).
	now := time.Now()
	left := false
	for k, s := range l.streams {
		if !s.dirty {
			if now.Sub(s.written) > forgetAfter {
				delete(l.streams, k)
			}
			continue
		}
		if !force && s.loaded && now.Sub(s.written) < indexInterval {
			left = true
			continue
		}
		key := indexKey(k.fn, k.stream)
		if !s.loaded {
			// Merge with what an earlier writer stored for this stream.
			if e, err := l.index.Get(ctx, key); err == nil {
				var old LogStreamInfo
				if json.Unmarshal(e.Value, &old) == nil {
					if !old.FirstEvent.IsZero() && old.FirstEvent.Before(s.info.FirstEvent) {
						s.info.FirstEvent = old.FirstEvent
					}
					if old.LastEvent.After(s.info.LastEvent) {
						s.info.LastEvent = old.LastEvent
					}
					s.info.Bytes += old.Bytes
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				l.log.Debug("reading the log stream index failed", "stream", k.stream, "err", err)
				left = true
				continue
			}
			s.loaded = true
		}
		data, _ := json.Marshal(&s.info)
		if _, err := l.index.Put(ctx, key, data); err != nil {
			l.log.Debug("writing the log stream index failed", "stream", k.stream, "err", err)
			left = true
			continue
		}
		s.dirty = false
		s.written = now
	}
	return left
}
