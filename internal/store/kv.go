package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// kvBucket implements KV on a JetStream key-value bucket (history 1).
type kvBucket struct {
	s    *jsStore
	name string
	kv   jetstream.KeyValue
}

func (b *kvBucket) fail(op, key string, err error) error {
	return fmt.Errorf("store: kv %q: %s %q: %w", b.name, op, key, b.s.mapErr(err))
}

func (b *kvBucket) Get(ctx context.Context, key string) (Entry, error) {
	if err := b.s.check(); err != nil {
		return Entry{}, err
	}
	e, err := b.kv.Get(ctx, key)
	if err != nil {
		return Entry{}, b.fail("get", key, err)
	}
	return toEntry(e), nil
}

func toEntry(e jetstream.KeyValueEntry) Entry {
	return Entry{Key: e.Key(), Value: e.Value(), Revision: e.Revision(), Created: e.Created()}
}

func (b *kvBucket) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := b.s.check(); err != nil {
		return 0, err
	}
	rev, err := b.kv.Put(ctx, key, value)
	if err != nil {
		return 0, b.fail("put", key, err)
	}
	return rev, nil
}

func (b *kvBucket) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	if err := b.s.check(); err != nil {
		return 0, err
	}
	rev, err := b.kv.Create(ctx, key, value)
	if err != nil {
		// Any wrong-last-sequence answer here means someone else wrote the
		// key first (jetstream wraps ErrKeyExists only on some paths).
		if errors.Is(err, jetstream.ErrKeyExists) || isWrongLastSeq(err) {
			err = fmt.Errorf("%w: %w", ErrExists, err)
		}
		return 0, b.fail("create", key, err)
	}
	return rev, nil
}

func (b *kvBucket) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if err := b.s.check(); err != nil {
		return 0, err
	}
	n, err := b.kv.Update(ctx, key, value, rev)
	if err != nil {
		return 0, b.fail("update", key, err)
	}
	return n, nil
}

func (b *kvBucket) Delete(ctx context.Context, key string, rev uint64) error {
	if err := b.s.check(); err != nil {
		return err
	}
	var opts []jetstream.KVDeleteOpt
	if rev > 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	if err := b.kv.Delete(ctx, key, opts...); err != nil {
		return b.fail("delete", key, err)
	}
	return nil
}

func (b *kvBucket) List(ctx context.Context, prefix string) ([]Entry, error) {
	if err := b.s.check(); err != nil {
		return nil, err
	}
	entries, err := b.scan(ctx, prefix, false)
	if err != nil {
		return nil, b.fail("list", prefix, err)
	}
	return entries, nil
}

func (b *kvBucket) Keys(ctx context.Context, prefix string) ([]string, error) {
	if err := b.s.check(); err != nil {
		return nil, err
	}
	entries, err := b.scan(ctx, prefix, true)
	if err != nil {
		return nil, b.fail("keys", prefix, err)
	}
	keys := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = e.Key
	}
	return keys, nil
}

// scan reads the current entries under prefix through a watcher that stops
// after the initial values; metaOnly leaves values out.
func (b *kvBucket) scan(ctx context.Context, prefix string, metaOnly bool) ([]Entry, error) {
	ctx, cancel := opCtx(ctx)
	defer cancel()
	opts := []jetstream.WatchOpt{jetstream.IgnoreDeletes()}
	if metaOnly {
		opts = append(opts, jetstream.MetaOnly())
	}
	w, err := b.kv.WatchFiltered(ctx, []string{keyFilter(prefix)}, opts...)
	if err != nil {
		return nil, err
	}
	defer stopWatcher(w)
	entries := []Entry{}
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, ErrClosed
			}
			if e == nil {
				sort.Slice(entries, func(i, j int) bool { return entries[i].Key < entries[j].Key })
				return entries, nil
			}
			if strings.HasPrefix(e.Key(), prefix) {
				entries = append(entries, toEntry(e))
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-b.s.done:
			return nil, ErrClosed
		}
	}
}

// stopWatcher unsubscribes w and drains its channel until the library
// closes it: the library's callback blocks while the channel is full.
func stopWatcher(w jetstream.KeyWatcher) {
	_ = w.Stop()
	go func() {
		for range w.Updates() {
		}
	}()
}

// keyFilter returns a subject filter, relative to the bucket, matching every
// key that starts with prefix. Prefixes are plain string prefixes ("a.b"
// matches "a.b", "a.bc" and "a.b.c"), so the filter covers the last complete
// token only and callers filter the rest.
func keyFilter(prefix string) string {
	i := strings.LastIndexByte(prefix, '.')
	if i <= 0 {
		return ">"
	}
	base := prefix[:i]
	for _, tok := range strings.Split(base, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return ">"
		}
	}
	return base + ".>"
}

func (b *kvBucket) Watch(ctx context.Context, prefix string) (<-chan WatchEvent, error) {
	if err := b.s.check(); err != nil {
		return nil, err
	}
	// The library unsubscribes the watcher when ctx ends, and bounds the
	// creation request by its default timeout when ctx has no deadline.
	w, err := b.kv.WatchFiltered(ctx, []string{keyFilter(prefix)})
	if err != nil {
		return nil, b.fail("watch", prefix, err)
	}
	out := make(chan WatchEvent, 64)
	started := b.s.goBackground(func() {
		defer close(out)
		defer stopWatcher(w)
		initial := true
		for {
			var ev WatchEvent
			select {
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e == nil {
					initial = false
					ev.InitialDone = true
					break
				}
				if !strings.HasPrefix(e.Key(), prefix) {
					continue
				}
				deleted := e.Operation() != jetstream.KeyValuePut
				if initial && deleted {
					// Tombstones are not current entries.
					continue
				}
				ev.Entry = toEntry(e)
				ev.Deleted = deleted
				if deleted {
					ev.Value = nil
				}
			case <-ctx.Done():
				return
			case <-b.s.done:
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			case <-b.s.done:
				return
			}
		}
	})
	if !started {
		stopWatcher(w)
		return nil, ErrClosed
	}
	return out, nil
}
