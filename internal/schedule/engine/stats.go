package engine

import (
	"math/bits"
	"sync"
	"time"
)

// Stats is a snapshot of what an engine has done since it was created.
type Stats struct {
	// Leading: this engine holds the lease and has loaded the definitions.
	Leading bool
	// Definitions known and Queued (enabled, with an occurrence ahead)
	// in the current term.
	Definitions, Queued int
	// Firings handed to the target, in Batches.
	Firings, Batches uint64
	// FireErrors counts refused batches (each fired again); StateErrors
	// firing-state writes that failed.
	FireErrors, StateErrors uint64
	// Skips counts runs of missed occurrences not fired (older than
	// CatchUp, or beyond MaxCatchUpPerSchedule).
	Skips uint64
	// Lateness is how long after its due time each firing was handed to
	// the target.
	Lateness Lateness
}

// Lateness summarises a histogram of durations. Percentiles are the upper
// bound of their histogram bucket (within 12.5%), never above Max.
type Lateness struct {
	Count              uint64
	P50, P90, P99, Max time.Duration
}

// histogram counts durations in microsecond buckets that are exact below
// 16 µs and then 8 per power of two (log-linear, as HDR histograms are).
type histogram struct {
	counts [16 + 60*8]uint64
	n      uint64
	max    time.Duration
}

func bucketOf(d time.Duration) int {
	v := uint64(max(d, 0) / time.Microsecond)
	if v < 16 {
		return int(v)
	}
	e := bits.Len64(v) - 1 // ≥ 4
	sub := (v >> (e - 3)) & 7
	return 16 + (e-4)*8 + int(sub)
}

// upper is the largest duration of bucket i.
func upper(i int) time.Duration {
	if i < 16 {
		return time.Duration(i+1)*time.Microsecond - 1
	}
	e := (i-16)/8 + 4
	sub := uint64((i - 16) % 8)
	return time.Duration(((8+sub+1)<<(e-3))*uint64(time.Microsecond)) - 1
}

func (h *histogram) add(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}

// recorder gathers Stats from Run's goroutine for any reader.
type recorder struct {
	mu sync.Mutex
	s  Stats
	h  histogram
}

func (r *recorder) setLeading(leading bool, defs, queued int) {
	r.mu.Lock()
	r.s.Leading, r.s.Definitions, r.s.Queued = leading, defs, queued
	r.mu.Unlock()
}

func (r *recorder) fired(batch []*entry, at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.Batches++
	r.s.Firings += uint64(len(batch))
	for _, en := range batch {
		r.h.add(at.Sub(en.due))
	}
}

func (r *recorder) fireError() {
	r.mu.Lock()
	r.s.FireErrors++
	r.mu.Unlock()
}

func (r *recorder) stateError(n int) {
	r.mu.Lock()
	r.s.StateErrors += uint64(n)
	r.mu.Unlock()
}

func (r *recorder) skip() {
	r.mu.Lock()
	r.s.Skips++
	r.mu.Unlock()
}

// Stats returns a snapshot of the engine's counters and lateness.
func (e *Engine) Stats() Stats {
	r := &e.stats
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	s.Lateness = Lateness{
		Count: r.h.n, Max: r.h.max,
		P50: r.h.quantile(0.50), P90: r.h.quantile(0.90), P99: r.h.quantile(0.99),
	}
	return s
}
