package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// leaseTable implements Leases on a KV bucket: each lease is one key whose
// value names the holder and the wall-clock expiry, changed only by
// compare-and-set on the key's revision.
type leaseTable struct {
	s    *jsStore
	name string
	kv   jetstream.KeyValue
}

// leaseRecord is the stored value of a lease.
type leaseRecord struct {
	Holder  string `json:"holder"`
	Expires int64  `json:"expires"` // unix nanoseconds
}

// acquireAttempts bounds Acquire's retries when other holders race it.
const acquireAttempts = 8

func (t *leaseTable) fail(op, name string, err error) error {
	return fmt.Errorf("store: leases %q: %s %q: %w", t.name, op, name, t.s.mapErr(err))
}

func (t *leaseTable) Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if err := t.s.check(); err != nil {
		return nil, err
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("store: leases %q: acquire %q: ttl must be positive", t.name, name)
	}
	if holder == "" {
		return nil, fmt.Errorf("store: leases %q: acquire %q: empty holder", t.name, name)
	}
	for range acquireAttempts {
		cur, err := t.kv.Get(ctx, name)
		now := time.Now()
		l := &lease{t: t, name: name, holder: holder, ttl: ttl, expires: now.Add(ttl)}
		value := l.record()
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			rev, err := t.kv.Create(ctx, name, value)
			if errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSeq(err) {
				continue // someone else was faster; look again
			}
			if err != nil {
				return nil, t.fail("acquire", name, err)
			}
			l.rev = rev
			return l, nil
		case err != nil:
			return nil, t.fail("acquire", name, err)
		}
		var rec leaseRecord
		if err := json.Unmarshal(cur.Value(), &rec); err != nil {
			// An unreadable record protects nobody: take it over.
			t.s.log.Warn("lease record unreadable; taking it over", "table", t.name, "lease", name, "err", err)
			rec = leaseRecord{}
		}
		if rec.Holder != holder && now.UnixNano() < rec.Expires {
			return nil, fmt.Errorf("store: leases %q: acquire %q: %w (by %q until %s)",
				t.name, name, ErrHeld, rec.Holder, time.Unix(0, rec.Expires).UTC().Format(time.RFC3339Nano))
		}
		rev, err := t.kv.Update(ctx, name, value, cur.Revision())
		if err != nil {
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSeq(err) {
				continue
			}
			return nil, t.fail("acquire", name, err)
		}
		l.rev = rev
		return l, nil
	}
	return nil, fmt.Errorf("store: leases %q: acquire %q: %w (lost %d races)", t.name, name, ErrHeld, acquireAttempts)
}

// lease implements Lease. Its methods are safe for concurrent use.
type lease struct {
	t      *leaseTable
	name   string
	holder string
	ttl    time.Duration

	mu      sync.Mutex
	rev     uint64
	expires time.Time
}

func (l *lease) record() []byte {
	b, _ := json.Marshal(leaseRecord{Holder: l.holder, Expires: l.expires.UnixNano()})
	return b
}

func (l *lease) Name() string   { return l.name }
func (l *lease) Holder() string { return l.holder }

func (l *lease) Expires() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.expires
}

// Renew extends the lease by its ttl from now, if nobody has written the
// lease since this holder did; else ErrHeld.
func (l *lease) Renew(ctx context.Context) error {
	if err := l.t.s.check(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	expires := time.Now().Add(l.ttl)
	b, _ := json.Marshal(leaseRecord{Holder: l.holder, Expires: expires.UnixNano()})
	rev, err := l.t.kv.Update(ctx, l.name, b, l.rev)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSeq(err) {
			return fmt.Errorf("store: leases %q: renew %q: %w", l.t.name, l.name, ErrHeld)
		}
		return l.t.fail("renew", l.name, err)
	}
	l.rev, l.expires = rev, expires
	return nil
}

// Release deletes the lease if this holder still has it.
func (l *lease) Release(ctx context.Context) error {
	if err := l.t.s.check(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.t.kv.Delete(ctx, l.name, jetstream.LastRevision(l.rev))
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || isWrongLastSeq(err) {
			return nil // lost meanwhile: nothing to give up
		}
		return l.t.fail("release", l.name, err)
	}
	l.expires = time.Now()
	return nil
}
