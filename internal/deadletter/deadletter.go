// Package deadletter keeps the events that Lamina could not deliver: every
// asynchronous invocation that finally failed and had no on-failure
// destination, every schedule firing that exhausted its retry policy, every
// destination delivery that itself failed. Nothing is dropped: a record
// stays until it is redriven, purged or older than the retention (default
// 14 days).
//
// Records live in the store KV bucket "dead-letters" under two keys each:
//
//	r.<function>.<id>  the record (JSON), so listing by function is a prefix scan
//	i.<id>             {"key":"r.<function>.<id>","failedAt":...}, so Get by id is
//	                   one lookup and the sweeper finds expired records
//	                   without reading their payloads
//
// <function> is the function name with every byte outside [A-Za-z0-9_-]
// written as =XX (an ARN's ':' as =3A), and "=" for an empty name. Put
// writes the record before its index and Delete removes it first, so a
// crash between the two leaves a record without an index (Get then falls
// back to a key scan; the sweeper rewrites the index) or an index without a
// record (treated as missing; the sweeper removes it), never a record that
// cannot be found.
package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Sources of a record.
const (
	SourceAsync       = "async"       // an Event invocation
	SourceSchedule    = "schedule"    // an EventBridge Scheduler schedule
	SourceRule        = "rule"        // an EventBridge rule target
	SourceDestination = "destination" // a destination record that could not be delivered
	SourceTopic       = "sns"         // an SNS delivery that finally failed
)

// Conditions, as AWS's destination records name them.
const (
	RetriesExhausted = "RetriesExhausted"
	EventAgeExceeded = "EventAgeExceeded"
	// DeliveryFailed: the target (function, destination) could not be reached.
	DeliveryFailed = "DeliveryFailed"
)

// Record is one dead letter.
type Record struct {
	// ID is unique and sorts by FailedAt (set by Put when empty).
	ID     string `json:"id"`
	Source string `json:"source"`
	// SourceARN names the schedule or rule, when Source is one.
	SourceARN string `json:"sourceArn,omitempty"`
	// FunctionName and Qualifier are the target the event was for; redrive
	// sends it there again.
	FunctionName string `json:"functionName"`
	Qualifier    string `json:"qualifier,omitempty"`
	FunctionARN  string `json:"functionArn,omitempty"`
	Region       string `json:"region,omitempty"`
	// RequestID is the original invocation's request id.
	RequestID string `json:"requestId"`
	// Payload is the original event (JSON).
	Payload json.RawMessage `json:"payload"`
	// Condition is RetriesExhausted, EventAgeExceeded or DeliveryFailed.
	Condition string `json:"condition"`
	// ErrorType and ErrorMessage describe the last failure; Response is the
	// function's error document, when it returned one.
	ErrorType    string          `json:"errorType,omitempty"`
	ErrorMessage string          `json:"errorMessage,omitempty"`
	Response     json.RawMessage `json:"response,omitempty"`
	// Attempts counts the function invocations made (throttles not included).
	Attempts int `json:"attempts"`
	// Destination is the configured target that could not take the record
	// (an on-failure destination or DeadLetterConfig ARN), if any.
	Destination string    `json:"destination,omitempty"`
	EnqueuedAt  time.Time `json:"enqueuedAt"`
	LastAttempt time.Time `json:"lastAttempt,omitzero"`
	FailedAt    time.Time `json:"failedAt"`
}

// Filter selects records.
type Filter struct {
	// FunctionName restricts to one target function ("" = all).
	FunctionName string
	// IDs restrict to these records (none = all that match).
	IDs []string
	// Limit bounds the result (0 = no bound).
	Limit int
}

// Options configure a Store.
type Options struct {
	// Retention is how long a record is kept (default 14 days).
	Retention time.Duration
	// SweepInterval is how often expired records are removed (default 1 h).
	SweepInterval time.Duration
	// Clock stamps FailedAt and times the sweeper (nil = the wall clock).
	Clock clock.Clock
	// Logger (nil = slog.Default()).
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultRetention     = 14 * 24 * time.Hour
	DefaultSweepInterval = time.Hour
)

// Bucket is the store KV bucket that holds the records.
const Bucket = "dead-letters"

// Store is the dead-letter store. Safe for concurrent use.
type Store struct {
	kv   store.KV
	opts Options
	log  *slog.Logger
	ids  idGen
	// done is closed when the sweeper has stopped.
	done chan struct{}
}

// Open opens (creating) the dead-letter bucket and starts the retention
// sweeper, which stops when ctx ends. The sweeper runs once at start, so a
// node that was down for long catches up, then every SweepInterval.
func Open(ctx context.Context, st store.Store, opts Options) (*Store, error) {
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = DefaultSweepInterval
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	kv, err := st.KV(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("dead letters: open bucket: %w", err)
	}
	s := &Store{kv: kv, opts: opts, log: opts.Logger, done: make(chan struct{})}
	go s.sweepLoop(ctx)
	return s, nil
}

// indexEntry is the value of an "i.<id>" key.
type indexEntry struct {
	Key      string    `json:"key"`
	FailedAt time.Time `json:"failedAt"`
}

const (
	dataPrefix  = "r."
	indexPrefix = "i."
)

// fnToken writes a function name as one key token.
func fnToken(name string) string {
	if name == "" {
		return "="
	}
	var b strings.Builder
	for i := range len(name) {
		if c := name[i]; plainByte(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

func fnPrefix(name string) string    { return dataPrefix + fnToken(name) + "." }
func dataKey(name, id string) string { return fnPrefix(name) + id }
func indexKey(id string) string      { return indexPrefix + id }

func invalidID(id string) *fault.Error {
	return fault.New(fault.Invalid, "invalid dead-letter ID %q", id)
}

func notFound(id string) *fault.Error {
	return fault.New(fault.NotFound, "dead letter %s not found", id)
}

// idOfKey returns the id of a data key, or false for a key of another form.
func idOfKey(key string) (string, bool) {
	parts := strings.Split(key, ".")
	if len(parts) != 3 || parts[0]+"." != dataPrefix || !validID(parts[2]) {
		return "", false
	}
	return parts[2], true
}

// Put stores r durably (returns after the store confirmed), filling ID
// and FailedAt when empty. A caller-chosen ID must be 1-128 characters of
// [A-Za-z0-9_-]; putting a record with the ID of a kept one replaces it, so
// a caller may retry a Put that failed. Payload must be JSON (as every
// Lambda event is); a Response that is not is kept as a JSON string.
func (s *Store) Put(ctx context.Context, r *Record) error {
	if r == nil {
		return fault.New(fault.Invalid, "no dead-letter record")
	}
	if r.ID != "" && !validID(r.ID) {
		return invalidID(r.ID)
	}
	if len(r.Payload) > 0 && !json.Valid(r.Payload) {
		return fault.New(fault.Invalid, "the payload of a dead letter for %s is not JSON", r.FunctionName)
	}
	if r.FailedAt.IsZero() {
		r.FailedAt = s.opts.Clock.Now()
	}
	if r.ID == "" {
		r.ID = s.ids.next(r.FailedAt)
	}
	rec := *r
	if len(rec.Response) > 0 && !json.Valid(rec.Response) {
		// The function's error document is for people to read; keeping it
		// as a string keeps it whole.
		quoted, _ := json.Marshal(string(rec.Response))
		rec.Response = quoted
	}
	body, err := json.Marshal(&rec)
	if err != nil {
		return fmt.Errorf("dead letters: encode %s: %w", r.ID, err)
	}
	key := dataKey(r.FunctionName, r.ID)
	idx, err := json.Marshal(indexEntry{Key: key, FailedAt: r.FailedAt})
	if err != nil {
		return fmt.Errorf("dead letters: encode index of %s: %w", r.ID, err)
	}
	// The record first: an index must never be the only trace of a record.
	if _, err := s.kv.Put(ctx, key, body); err != nil {
		return fmt.Errorf("dead letters: store %s for %s: %w", r.ID, r.FunctionName, err)
	}
	if _, err := s.kv.Put(ctx, indexKey(r.ID), idx); err != nil {
		return fmt.Errorf("dead letters: index %s: %w", r.ID, err)
	}
	return nil
}

// List returns the records that f selects, oldest first (in ID order,
// which is FailedAt order for the IDs Put makes). IDs in f that name no
// record are left out.
func (s *Store) List(ctx context.Context, f Filter) ([]Record, error) {
	if len(f.IDs) == 0 && f.Limit <= 0 {
		// Everything under the prefix: one scan instead of a read per record.
		entries, err := s.kv.List(ctx, s.prefixOf(f.FunctionName))
		if err != nil {
			return nil, fmt.Errorf("dead letters: list: %w", err)
		}
		out := make([]Record, 0, len(entries))
		for _, e := range entries {
			if r, ok := s.decode(e); ok {
				out = append(out, r)
			}
		}
		slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.ID, b.ID) })
		return out, nil
	}
	refs, err := s.selectKeys(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(refs))
	for _, ref := range refs {
		e, err := s.kv.Get(ctx, ref.key)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("dead letters: read %s: %w", ref.id, err)
		}
		if r, ok := s.decode(e); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Get returns one record, or fault.NotFound.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	if !validID(id) {
		return nil, invalidID(id)
	}
	key, err := s.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("dead letters: read %s: %w", id, err)
	}
	r, ok := s.decode(e)
	if !ok {
		return nil, fmt.Errorf("dead letters: record %s cannot be decoded", id)
	}
	return &r, nil
}

// Delete removes one record (missing is not an error).
func (s *Store) Delete(ctx context.Context, id string) error {
	if !validID(id) {
		return invalidID(id)
	}
	key, err := s.resolve(ctx, id)
	if fault.Is(err, fault.NotFound) {
		// An index left without its record goes too.
		if err := s.kv.Delete(ctx, indexKey(id), 0); err != nil {
			return fmt.Errorf("dead letters: delete %s: %w", id, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	return s.remove(ctx, keyRef{key: key, id: id})
}

// Purge removes the records that f selects and reports how many. An empty
// filter selects every record: callers that take requests from people
// guard against that themselves.
func (s *Store) Purge(ctx context.Context, f Filter) (int, error) {
	refs, err := s.selectKeys(ctx, f)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, ref := range refs {
		if err := s.remove(ctx, ref); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Count reports how many records are kept for function name ("" = all).
func (s *Store) Count(ctx context.Context, name string) (int, error) {
	keys, err := s.kv.Keys(ctx, s.prefixOf(name))
	if err != nil {
		return 0, fmt.Errorf("dead letters: count: %w", err)
	}
	return len(keys), nil
}

// prefixOf is the data-key prefix of a function's records ("" = all).
func (s *Store) prefixOf(name string) string {
	if name == "" {
		return dataPrefix
	}
	return fnPrefix(name)
}

// keyRef is a record's data key and id.
type keyRef struct{ key, id string }

// selectKeys returns the data keys f selects, in ID order, without reading
// the records.
func (s *Store) selectKeys(ctx context.Context, f Filter) ([]keyRef, error) {
	var refs []keyRef
	if len(f.IDs) > 0 {
		seen := make(map[string]bool, len(f.IDs))
		for _, id := range f.IDs {
			if !validID(id) {
				return nil, invalidID(id)
			}
			if seen[id] {
				continue
			}
			seen[id] = true
			key, err := s.resolve(ctx, id)
			if fault.Is(err, fault.NotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if f.FunctionName != "" && !strings.HasPrefix(key, fnPrefix(f.FunctionName)) {
				continue
			}
			refs = append(refs, keyRef{key: key, id: id})
		}
	} else {
		keys, err := s.kv.Keys(ctx, s.prefixOf(f.FunctionName))
		if err != nil {
			return nil, fmt.Errorf("dead letters: list keys: %w", err)
		}
		refs = make([]keyRef, 0, len(keys))
		for _, k := range keys {
			if id, ok := idOfKey(k); ok {
				refs = append(refs, keyRef{key: k, id: id})
			}
		}
	}
	slices.SortFunc(refs, func(a, b keyRef) int { return strings.Compare(a.id, b.id) })
	if f.Limit > 0 && len(refs) > f.Limit {
		refs = refs[:f.Limit]
	}
	return refs, nil
}

// resolve finds the data key of id: through its index, else (a crash
// between a Put's two writes) by scanning the data keys. fault.NotFound
// when there is none.
func (s *Store) resolve(ctx context.Context, id string) (string, error) {
	e, err := s.kv.Get(ctx, indexKey(id))
	switch {
	case err == nil:
		var idx indexEntry
		if err := json.Unmarshal(e.Value, &idx); err == nil && idx.Key != "" {
			return idx.Key, nil
		}
		s.log.Warn("dead letters: unreadable index entry; scanning instead", "id", id)
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("dead letters: read index of %s: %w", id, err)
	}
	keys, err := s.kv.Keys(ctx, dataPrefix)
	if err != nil {
		return "", fmt.Errorf("dead letters: find %s: %w", id, err)
	}
	for _, k := range keys {
		if kid, ok := idOfKey(k); ok && kid == id {
			return k, nil
		}
	}
	return "", notFound(id)
}

// remove deletes a record, then its index.
func (s *Store) remove(ctx context.Context, ref keyRef) error {
	if err := s.kv.Delete(ctx, ref.key, 0); err != nil {
		return fmt.Errorf("dead letters: delete %s: %w", ref.id, err)
	}
	if err := s.kv.Delete(ctx, indexKey(ref.id), 0); err != nil {
		return fmt.Errorf("dead letters: delete index of %s: %w", ref.id, err)
	}
	return nil
}

// decode reads a stored record. One that cannot be read is logged and left
// out rather than failing every listing; it stays in the store.
func (s *Store) decode(e store.Entry) (Record, bool) {
	var r Record
	if err := json.Unmarshal(e.Value, &r); err != nil {
		s.log.Error("dead letters: unreadable record left out", "key", e.Key, "err", err)
		return Record{}, false
	}
	return r, true
}
