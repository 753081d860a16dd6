package gateway

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// The control plane: the API Gateway v2 (HTTP API) operations over one
// APIDoc per API in the store, and the watch-backed in-memory view the data
// plane reads (Definitions).
//
// Files: service.go (the Service, the store plumbing, the view),
// service_apis.go (APIs, tags, the default API), service_routes.go
// (routes and integrations), service_stages.go (stages and deployments),
// service_authorizers.go (authorizers and models).

// Options configure the Service.
type Options struct {
	Store     store.Store
	Region    string // default "us-east-1"
	AccountID string // default "000000000000"
	Clock     clock.Clock
	Logger    *slog.Logger
	// EndpointURL is the apiEndpoint reported for an API (default
	// "http://{apiID}.execute-api.localhost:3000"); the server passes the
	// real gateway address.
	EndpointURL func(apiID string) string
	// IntegrationTimeoutMax bounds an integration's timeoutInMillis
	// (default 30 s, as AWS; Lamina accepts more when configured).
	IntegrationTimeoutMax time.Duration
}

// Per-API quotas (AWS's HTTP API defaults).
const (
	maxRoutes       = 300
	maxIntegrations = 300
	maxStages       = 10
	maxAuthorizers  = 10
	maxModels       = 200
)

const (
	defaultTimeoutMillis = 30000
	minTimeoutMillis     = 50
	keyPrefix            = "api."
	// casAttempts bounds retries of a read-modify-write that keeps losing
	// races; a loser re-reads and re-validates, so this is only a guard
	// against livelock.
	casAttempts = 100
)

// Service is the gateway's control plane and, through its view, the data
// plane's Definitions.
type Service struct {
	opts  Options
	kv    store.KV
	log   *slog.Logger
	clock clock.Clock

	mu   sync.RWMutex
	docs map[string]*APIDoc
	// revs is the store revision behind each id's view entry (kept after a
	// delete), so an older watch event never replaces a newer write.
	revs map[string]uint64
	// defaultAPI is derived from docs on every change (under mu), so that
	// the request path reads it without scanning every API.
	defaultAPI atomic.Pointer[APIDoc]
	subs       map[int]func(id string, doc *APIDoc)
	nextSub    int

	cancel context.CancelFunc
	done   chan struct{}
}

var _ Definitions = (*Service)(nil)

// New opens the bucket, loads every API into the view and keeps the view
// current with a watch until Close.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("gateway: Options.Store is required")
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.EndpointURL == nil {
		opts.EndpointURL = func(id string) string { return "http://" + id + ".execute-api.localhost:3000" }
	}
	if opts.IntegrationTimeoutMax <= 0 {
		opts.IntegrationTimeoutMax = defaultTimeoutMillis * time.Millisecond
	}
	kv, err := opts.Store.KV(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("gateway: open bucket %s: %w", Bucket, err)
	}
	s := &Service{
		opts:  opts,
		kv:    kv,
		log:   opts.Logger,
		clock: opts.Clock,
		docs:  map[string]*APIDoc{},
		revs:  map[string]uint64{},
		subs:  map[int]func(string, *APIDoc){},
		done:  make(chan struct{}),
	}
	// The watch outlives New's ctx (it runs until Close) but keeps its values.
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	ready := make(chan error, 1)
	go s.watch(wctx, ready)
	select {
	case err := <-ready:
		if err != nil {
			cancel()
			<-s.done
			return nil, err
		}
	case <-ctx.Done():
		cancel()
		<-s.done
		return nil, fmt.Errorf("gateway: load API definitions: %w", ctx.Err())
	}
	return s, nil
}

// Close stops the watch. The view keeps its last state.
func (s *Service) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Endpoint is the apiEndpoint of API id.
func (s *Service) Endpoint(apiID string) string { return s.opts.EndpointURL(apiID) }

// Region and AccountID are what ARNs are made of.
func (s *Service) Region() string    { return s.opts.Region }
func (s *Service) AccountID() string { return s.opts.AccountID }

// ---- the view

// Snapshot implements Definitions.
func (s *Service) Snapshot(id string) *APIDoc {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.docs[id]
}

// DefaultAPI implements Definitions. Should two APIs claim Default (two
// concurrent taggings), the latest write wins, so every node agrees.
func (s *Service) DefaultAPI() *APIDoc { return s.defaultAPI.Load() }

// refreshDefault recomputes defaultAPI; called with mu held after every
// change of docs. Should two APIs claim it (two taggings racing), the one
// written last wins.
func (s *Service) refreshDefault() {
	var best *APIDoc
	var bestRev uint64
	for id, d := range s.docs {
		if d.API.Default && (best == nil || s.revs[id] > bestRev) {
			best, bestRev = d, s.revs[id]
		}
	}
	s.defaultAPI.Store(best)
}

// OnChange calls fn after every change the view sees (doc nil: deleted),
// from the goroutine that applied it; fn must not block for long nor call
// back into OnChange's cancel. cancel stops the calls.
func (s *Service) OnChange(fn func(id string, doc *APIDoc)) (cancel func()) {
	s.mu.Lock()
	n := s.nextSub
	s.nextSub++
	s.subs[n] = fn
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.subs, n)
		s.mu.Unlock()
	}
}

// apply puts doc (nil = deleted) at rev into the view unless the view
// already holds something newer, and tells the subscribers.
func (s *Service) apply(id string, doc *APIDoc, rev uint64) {
	s.mu.Lock()
	if rev <= s.revs[id] {
		s.mu.Unlock()
		return
	}
	s.revs[id] = rev
	if doc == nil {
		if _, ok := s.docs[id]; !ok {
			s.mu.Unlock()
			return
		}
		delete(s.docs, id)
	} else {
		s.docs[id] = doc
	}
	s.refreshDefault()
	subs := make([]func(string, *APIDoc), 0, len(s.subs))
	for _, fn := range s.subs {
		subs = append(subs, fn)
	}
	s.mu.Unlock()
	for _, fn := range subs {
		fn(id, doc)
	}
}

// watch keeps the view in step with the bucket, re-watching after the
// store drops the watch; ready gets the outcome of the first initial load.
func (s *Service) watch(ctx context.Context, ready chan<- error) {
	defer close(s.done)
	first := true
	for {
		err := s.watchOnce(ctx, func() {
			if first {
				first = false
				ready <- nil
			}
		})
		if ctx.Err() != nil {
			if first {
				ready <- fmt.Errorf("gateway: watch API definitions: %w", ctx.Err())
			}
			return
		}
		if first && err != nil {
			ready <- err
			return
		}
		s.log.Warn("gateway: API definitions watch ended; restarting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(time.Second):
		}
	}
}

func (s *Service) watchOnce(ctx context.Context, initialDone func()) error {
	ch, err := s.kv.Watch(ctx, keyPrefix)
	if err != nil {
		return fmt.Errorf("gateway: watch API definitions: %w", err)
	}
	seen := map[string]bool{}
	initial := true
	for ev := range ch {
		if ev.InitialDone {
			if initial {
				initial = false
				s.dropUnseen(seen)
				initialDone()
			}
			continue
		}
		id := strings.TrimPrefix(ev.Key, keyPrefix)
		if initial {
			seen[id] = true
		}
		if ev.Deleted {
			s.apply(id, nil, ev.Revision)
			continue
		}
		doc := new(APIDoc)
		if err := json.Unmarshal(ev.Value, doc); err != nil {
			s.log.Error("gateway: undecodable API definition ignored", "key", ev.Key, "err", err)
			continue
		}
		s.apply(id, doc, ev.Revision)
	}
	return errors.New("watch closed")
}

// dropUnseen removes from the view what a re-watch's initial values no
// longer hold (deleted while no watch ran).
func (s *Service) dropUnseen(seen map[string]bool) {
	s.mu.RLock()
	var gone []string
	for id := range s.docs {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	s.mu.RUnlock()
	for _, id := range gone {
		s.mu.Lock()
		delete(s.docs, id)
		s.refreshDefault()
		subs := make([]func(string, *APIDoc), 0, len(s.subs))
		for _, fn := range s.subs {
			subs = append(subs, fn)
		}
		s.mu.Unlock()
		for _, fn := range subs {
			fn(id, nil)
		}
	}
}

// ---- the store

func apiKey(id string) string { return keyPrefix + id }

// load reads API id from the store (not the view: control-plane reads are
// consistent across nodes).
func (s *Service) load(ctx context.Context, id string) (*APIDoc, uint64, error) {
	if !validID(id) {
		return nil, 0, s.apiNotFound(id)
	}
	e, err := s.kv.Get(ctx, apiKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, s.apiNotFound(id)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("gateway: read API %s: %w", id, err)
	}
	doc := new(APIDoc)
	if err := json.Unmarshal(e.Value, doc); err != nil {
		return nil, 0, fmt.Errorf("gateway: decode API %s: %w", id, err)
	}
	return doc, e.Revision, nil
}

func (s *Service) apiNotFound(id string) error {
	return fault.New(fault.NotFound, "Invalid API identifier specified %s:%s", s.opts.AccountID, id)
}

// mutate is every change: read the whole document, let fn change it (fn
// may be called again after a lost race, on a fresh copy), write it back
// with compare-and-set.
func (s *Service) mutate(ctx context.Context, id string, fn func(doc *APIDoc) error) (*APIDoc, error) {
	for range casAttempts {
		doc, rev, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := fn(doc); err != nil {
			return nil, err
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, fmt.Errorf("gateway: encode API %s: %w", id, err)
		}
		nrev, err := s.kv.Update(ctx, apiKey(id), b, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("gateway: write API %s: %w", id, err)
		}
		s.apply(id, doc, nrev)
		return doc, nil
	}
	return nil, fault.New(fault.Conflict, "Unable to complete operation due to concurrent modification. Please try again later.")
}

// ---- ids and lists

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID is n random lower-case alphanumerics, as AWS's ids.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}

// newSubID is a 7-character id not yet used in taken.
func newSubID[V any](taken map[string]V) string {
	for {
		if id := newID(7); !hasKey(taken, id) {
			return id
		}
	}
}

func hasKey[V any](m map[string]V, k string) bool { _, ok := m[k]; return ok }

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// Page asks for one page of a list: MaxResults 0 means all.
type Page struct {
	MaxResults int
	NextToken  string
}

// page cuts items (sorted by key) at the token, an offset made by an
// earlier page.
func page[T any](items []T, key func(T) string, p Page) ([]T, string, error) {
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := 0
	if p.NextToken != "" {
		n, err := strconv.Atoi(p.NextToken)
		if err != nil || n < 0 || n > len(items) {
			return nil, "", fault.New(fault.Invalid, "Invalid nextToken: %s", p.NextToken)
		}
		start = n
	}
	if p.MaxResults < 0 {
		return nil, "", fault.New(fault.Invalid, "maxResults must be positive")
	}
	end := len(items)
	if p.MaxResults > 0 && start+p.MaxResults < end {
		end = start + p.MaxResults
	}
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next, nil
}

func values[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func badRequest(format string, args ...any) error { return fault.New(fault.Invalid, format, args...) }
