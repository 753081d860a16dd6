package function

// The in-memory view
//
// Invocations must not read the store: the view keeps every function's
// document in memory as an immutable *Snapshot, replaced as a whole when the
// function changes. It is kept current by
//
//   - a store watch of the functions bucket (changes made by any node), and
//   - this service's own writes, applied as soon as the store confirms them,
//     so that a process reads its own writes at once.
//
// Both sources carry the store revision of the document; an update whose
// revision is not newer than the one held is dropped, so a late watch event
// never undoes a newer local write. A local delete leaves a tombstone with
// the deleted document's revision for the same reason.
//
// Published versions are immutable records in their own bucket. A snapshot
// holds them in slots keyed by record key: slots carry over from the previous
// snapshot, versions this process just wrote are filled in at once, and the
// others are read once, on first use, then kept.
//
// Concurrency: lookups are lock-free (sync.Map of immutable snapshots).
// Updates take v.mu, which also serialises the calls to subscribers, so
// they see one function's changes in order. Subscribers run under v.mu and
// must not block or call back into the view's write paths (Service writes).

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Snapshot is one function as the in-memory view holds it. It is immutable:
// callers must not modify it or anything it points to.
type Snapshot struct {
	Name string
	// Revision is the store revision of the document it was made from.
	Revision uint64
	// Reserved is the reserved concurrency (nil = none; 0 = always throttled).
	Reserved *int
	// Aliases by name.
	Aliases map[string]Alias
	// Provisioned are the provisioned-concurrency settings by qualifier.
	Provisioned map[string]ProvisionedConfig
	// EventInvoke are the asynchronous-invocation configs by qualifier.
	EventInvoke map[string]EventInvokeConfig
	// URLs are the function URL configs by qualifier ($LATEST or an alias).
	URLs map[string]FunctionURLConfig

	latest   *Target
	versions map[string]*versionSlot // by version number
	svc      *Service
}

// Target is one version of a function, ready to run.
type Target struct {
	Version Version
	// Key identifies this version's exact code and configuration; it changes
	// whenever either does ("<name>:<version>:<hash>").
	Key string
}

type versionSlot struct {
	ref verRef
	t   atomic.Pointer[Target]
}

// targetKey makes a Target's Key.
func targetKey(v Version) string {
	fp := fingerprint(v)
	return v.FunctionName + ":" + v.Version + ":" + fp[:32]
}

// newTarget makes a Target of v, with maps and slices of its own (the
// caller's v may be returned to API callers).
func newTarget(v Version) *Target {
	v.Config = cloneConfig(v.Config)
	return &Target{Version: v, Key: targetKey(v)}
}

// Latest returns $LATEST.
func (s *Snapshot) Latest() *Target { return s.latest }

// HasVersion reports whether v is $LATEST or a published version.
func (s *Snapshot) HasVersion(v string) bool {
	if v == Latest || v == "" {
		return true
	}
	_, ok := s.versions[v]
	return ok
}

// Versions lists the published version numbers, ascending.
func (s *Snapshot) Versions() []string {
	out := slices.Collect(maps.Keys(s.versions))
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(versionRank(a), versionRank(b)) })
	return out
}

// Version returns $LATEST ("" or Latest) or a published version. A version
// this process has not seen yet is read from the store once.
func (s *Snapshot) Version(ctx context.Context, v string) (*Target, error) {
	if v == "" || v == Latest {
		return s.latest, nil
	}
	slot, ok := s.versions[v]
	if !ok {
		return nil, s.svc.notFound(s.Name, v)
	}
	if t := slot.t.Load(); t != nil {
		return t, nil
	}
	ver, err := s.svc.readVersion(ctx, slot.ref)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Deleted since this snapshot was made.
			return nil, s.svc.notFound(s.Name, v)
		}
		return nil, err
	}
	t := newTarget(ver)
	slot.t.CompareAndSwap(nil, t)
	return slot.t.Load(), nil
}

// Resolve returns the version a qualifier names ("" or $LATEST, a version
// number, or an alias, which names its FunctionVersion) and the alias when
// the qualifier is one. Choosing among an alias's AdditionalVersionWeights
// is the caller's business.
func (s *Snapshot) Resolve(ctx context.Context, qualifier string) (*Target, *Alias, error) {
	if a, ok := s.Aliases[qualifier]; ok {
		t, err := s.Version(ctx, a.FunctionVersion)
		if err != nil {
			return nil, nil, s.svc.notFound(s.Name, qualifier)
		}
		return t, &a, nil
	}
	if qualifier != "" && qualifier != Latest && !isVersionNumber(qualifier) {
		return nil, nil, s.svc.notFound(s.Name, qualifier)
	}
	t, err := s.Version(ctx, qualifier)
	return t, nil, err
}

// Current reports whether key (a Target.Key of this function) still names a
// version as it is now: $LATEST's current key, or a published version that
// still exists (published versions never change).
func (s *Snapshot) Current(key string) bool {
	if s == nil {
		return false
	}
	if key == s.latest.Key {
		return true
	}
	rest, ok := strings.CutPrefix(key, s.Name+":")
	if !ok {
		return false
	}
	v, _, ok := strings.Cut(rest, ":")
	if !ok || v == Latest {
		return false
	}
	slot, ok := s.versions[v]
	if !ok {
		return false
	}
	if t := slot.t.Load(); t != nil {
		return t.Key == key
	}
	return true
}

// ---- the view

type viewEntry struct {
	rev  uint64
	snap *Snapshot // nil: deleted (a tombstone)
}

type view struct {
	s       *Service
	entries sync.Map // name → *viewEntry
	// urls indexes function URLs: URL id → function name, so the gateway
	// finds a URL's function per request without scanning every snapshot.
	// Kept under mu along with entries.
	urls sync.Map

	mu      sync.Mutex
	subs    map[int]func(name string, snap *Snapshot)
	nextSub int

	following atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
}

func newView(s *Service) *view {
	return &view{s: s, subs: map[int]func(string, *Snapshot){}}
}

// build makes a snapshot of d, reusing the version slots of prev and the
// versions in written (by record key).
func (v *view) build(name string, rev uint64, d *fnDoc, prev *Snapshot, written map[string]Version) *Snapshot {
	snap := &Snapshot{
		Name:        name,
		Revision:    rev,
		Aliases:     map[string]Alias{},
		Provisioned: map[string]ProvisionedConfig{},
		EventInvoke: make(map[string]EventInvokeConfig, len(d.EventInvoke)),
		URLs:        make(map[string]FunctionURLConfig, len(d.URLs)),
		latest:      newTarget(d.Latest),
		versions:    make(map[string]*versionSlot, len(d.Versions)),
		svc:         v.s,
	}
	if d.Reserved != nil {
		r := *d.Reserved
		snap.Reserved = &r
	}
	for n, a := range d.Aliases {
		snap.Aliases[n] = cloneAlias(a)
	}
	maps.Copy(snap.Provisioned, d.Provisioned)
	for q, c := range d.EventInvoke {
		snap.EventInvoke[q] = cloneEventInvoke(c)
	}
	for q, c := range d.URLs {
		snap.URLs[q] = cloneFunctionURL(c)
	}
	for _, r := range d.Versions {
		n := strconv.Itoa(r.N)
		if prev != nil {
			if old, ok := prev.versions[n]; ok && old.ref.Key == r.Key {
				snap.versions[n] = old
				continue
			}
		}
		slot := &versionSlot{ref: r}
		if ver, ok := written[r.Key]; ok {
			slot.t.Store(newTarget(ver))
		}
		snap.versions[n] = slot
	}
	return snap
}

func (v *view) load(name string) *viewEntry {
	e, ok := v.entries.Load(name)
	if !ok {
		return nil
	}
	return e.(*viewEntry)
}

// put applies document d at revision rev (nil d: the function is gone).
// Revisions older than the one held are ignored; at the same revision a
// deletion wins over the document (it was deleted after being written).
func (v *view) put(name string, rev uint64, d *fnDoc, written map[string]Version) {
	v.mu.Lock()
	defer v.mu.Unlock()
	cur := v.load(name)
	if cur != nil && (cur.rev > rev || cur.rev == rev && (d != nil || cur.snap == nil)) {
		return
	}
	var snap, prev *Snapshot
	if cur != nil {
		prev = cur.snap
	}
	if d != nil {
		snap = v.build(name, rev, d, prev, written)
	}
	v.entries.Store(name, &viewEntry{rev: rev, snap: snap})
	v.indexURLs(name, prev, snap)
	if prev == nil && snap == nil {
		return
	}
	for _, fn := range v.subs {
		fn(name, snap)
	}
}

// indexURLs moves name's entries in the URL index from prev's URLs to
// snap's (either may be nil). Called under v.mu.
func (v *view) indexURLs(name string, prev, snap *Snapshot) {
	if prev != nil {
		for _, c := range prev.URLs {
			v.urls.CompareAndDelete(c.URLID, name)
		}
	}
	if snap != nil {
		for _, c := range snap.URLs {
			v.urls.Store(c.URLID, name)
		}
	}
}

// remove records that this process deleted the document that had revision rev.
func (v *view) remove(name string, rev uint64) { v.put(name, rev, nil, nil) }

// snapshot returns the current snapshot of name, or nil.
func (v *view) snapshot(name string) *Snapshot {
	if e := v.load(name); e != nil {
		return e.snap
	}
	return nil
}

// ---- following the store

// rewatchDelay bounds the wait before a lost watch is opened again.
const rewatchDelay = 2 * time.Second

// StartView loads every function into the in-memory view and keeps it
// current from then on, until Close. It returns once the view holds the
// store's current state. Until it is called, Snapshot reads the store.
func (s *Service) StartView(ctx context.Context) error {
	v := s.view
	v.mu.Lock()
	if v.cancel != nil {
		v.mu.Unlock()
		return errors.New("function: view already started")
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	v.cancel = cancel
	v.done = make(chan struct{})
	v.mu.Unlock()

	events, err := s.functions.Watch(wctx, "")
	if err != nil {
		cancel()
		close(v.done)
		return fmt.Errorf("function: watch %s: %w", bucketFunctions, err)
	}
	if err := v.initial(ctx, events); err != nil {
		cancel()
		close(v.done)
		return err
	}
	v.following.Store(true)
	go v.follow(wctx, events)
	return nil
}

// initial applies a watch's initial values; names held but absent from them
// (deleted while nobody watched) are dropped unless written since.
func (v *view) initial(ctx context.Context, events <-chan store.WatchEvent) error {
	seen := map[string]bool{}
	var maxRev uint64
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return fmt.Errorf("function: watch %s ended before its initial values", bucketFunctions)
			}
			if ev.InitialDone {
				var gone []string
				v.entries.Range(func(k, val any) bool {
					e := val.(*viewEntry)
					if !seen[k.(string)] && e.snap != nil && e.rev <= maxRev {
						gone = append(gone, k.(string))
					}
					return true
				})
				for _, name := range gone {
					v.forget(name, maxRev)
				}
				return nil
			}
			seen[ev.Key] = true
			maxRev = max(maxRev, ev.Revision)
			v.apply(ev)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// forget drops name if it still holds a revision not newer than rev.
func (v *view) forget(name string, rev uint64) {
	if cur := v.load(name); cur != nil && cur.snap != nil && cur.rev <= rev {
		v.put(name, cur.rev, nil, nil)
	}
}

func (v *view) apply(ev store.WatchEvent) {
	if ev.Deleted {
		v.put(ev.Key, ev.Revision, nil, nil)
		return
	}
	d, err := decodeDoc(ev.Value)
	if err != nil {
		v.s.log.Error("function: view: skipping an unreadable document", "function", ev.Key, "err", err)
		return
	}
	v.put(ev.Key, ev.Revision, d, nil)
}

// follow applies live changes, opening the watch again if the store drops it.
func (v *view) follow(ctx context.Context, events <-chan store.WatchEvent) {
	defer close(v.done)
	for {
		for ev := range events {
			if !ev.InitialDone {
				v.apply(ev)
			}
		}
		// The watch ended: by Close, or the store dropped it.
		for {
			if ctx.Err() != nil {
				return
			}
			t := time.NewTimer(rewatchDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			var err error
			events, err = v.s.functions.Watch(ctx, "")
			if err == nil {
				if err = v.initial(ctx, events); err == nil {
					break
				}
			}
			if ctx.Err() == nil {
				v.s.log.Warn("function: view: watching the registry again failed; retrying", "err", err)
			}
		}
	}
}

// Close stops following the store (the view keeps what it holds).
func (s *Service) Close() error {
	v := s.view
	v.mu.Lock()
	cancel, done := v.cancel, v.done
	v.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	v.following.Store(false)
	return nil
}

// OnChange calls fn after every change of a function seen by the view, with
// its new snapshot (nil when the function was deleted). fn runs while the
// view is locked: it must return quickly and must not call the Service's
// write methods. The returned func unsubscribes.
func (s *Service) OnChange(fn func(name string, snap *Snapshot)) (cancel func()) {
	v := s.view
	v.mu.Lock()
	id := v.nextSub
	v.nextSub++
	v.subs[id] = fn
	v.mu.Unlock()
	return func() {
		v.mu.Lock()
		delete(v.subs, id)
		v.mu.Unlock()
	}
}

// Snapshot returns the function as the view holds it, from memory once
// StartView has run (before, from the store). A missing function is
// fault.NotFound.
func (s *Service) Snapshot(ctx context.Context, name string) (*Snapshot, error) {
	if s.view.following.Load() {
		if snap := s.view.snapshot(name); snap != nil {
			return snap, nil
		}
		return nil, s.notFound(name, "")
	}
	e, err := s.functions.Get(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.notFound(name, "")
	}
	if err != nil {
		return nil, fmt.Errorf("function: load %s: %w", name, err)
	}
	d, err := decodeDoc(e.Value)
	if err != nil {
		return nil, err
	}
	return s.view.build(name, e.Revision, d, nil, nil), nil
}

// Snapshots returns every function the view holds, sorted by name (empty
// before StartView).
func (s *Service) Snapshots() []*Snapshot {
	var out []*Snapshot
	if !s.view.following.Load() {
		return nil
	}
	s.view.entries.Range(func(_, val any) bool {
		if e := val.(*viewEntry); e.snap != nil {
			out = append(out, e.snap)
		}
		return true
	})
	slices.SortFunc(out, func(a, b *Snapshot) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Resolve returns the version that qualifier names ("" or $LATEST, a version
// number or an alias) and the alias when it is one, from the in-memory view.
func (s *Service) Resolve(ctx context.Context, name, qualifier string) (Version, *Alias, error) {
	snap, err := s.Snapshot(ctx, name)
	if err != nil {
		if qualifier != "" && fault.Is(err, fault.NotFound) {
			return Version{}, nil, s.notFound(name, qualifier)
		}
		return Version{}, nil, err
	}
	t, a, err := snap.Resolve(ctx, qualifier)
	if err != nil {
		return Version{}, nil, err
	}
	return t.Version, a, nil
}

// ReadPackage reads the deployment package of version v (exactly the one v
// names, even if the function has changed since). A package this process
// uploaded lately comes from memory; callers must not modify the bytes.
func (s *Service) ReadPackage(ctx context.Context, v Version) ([]byte, error) {
	if zip, ok := s.recent.get(v.CodeKey); ok {
		return zip, nil
	}
	rc, err := s.code.Get(ctx, v.CodeKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, s.notFound(v.FunctionName, v.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("function: read code %s: %w", v.CodeKey, err)
	}
	defer rc.Close()
	b, err := readAllSized(rc, v.CodeSize)
	if err != nil {
		return nil, fmt.Errorf("function: read code %s: %w", v.CodeKey, err)
	}
	return b, nil
}

// readAllSized reads r to the end into a buffer of the expected size.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, max(size, 0)+bytes.MinRead))
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}
