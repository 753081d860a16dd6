package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/store"
)

// API keys and usage plans: REST API (v1) resources that Lamina lets HTTP
// API routes use (Route.APIKeyRequired). A usage plan's apiStages name v2
// API ids and their stage names.
//
// Files: keys.go (the Keys service, its store layout, the data plane's
// view and Check), keys_ops.go (the control-plane operations),
// keys_quota.go (the durable quota counters).
//
// The bucket holds, under "def." (watched into the view):
//
//	def.key.<keyID>              APIKey
//	def.plan.<planID>            UsagePlan
//	def.link.<planID>.<keyID>    planKeyLink (the key is in the plan)
//
// and outside it (never watched: read on demand):
//
//	value.<sha256(value)>        the id of the key holding that value, so
//	                             two keys can never share a value
//	quota.<planID>.<keyID>       the key's quota counter in that plan

// KeysBucket is the store KV bucket of API keys and usage plans.
const KeysBucket = "gateway-keys"

const (
	defPrefix   = "def."
	keyDocPfx   = defPrefix + "key."
	planDocPfx  = defPrefix + "plan."
	linkDocPfx  = defPrefix + "link."
	valuePrefix = "value."
	quotaPrefix = "quota."
)

// APIKey is an API key. Value is the secret the client sends as x-api-key.
type APIKey struct {
	ID              string            `json:"id"`
	Name            string            `json:"name,omitempty"`
	Value           string            `json:"value"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	CustomerID      string            `json:"customerId,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
	CreatedDate     time.Time         `json:"createdDate"`
	LastUpdatedDate time.Time         `json:"lastUpdatedDate"`
}

// UsagePlan meters the keys in it on the API stages it lists.
type UsagePlan struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	APIStages   []APIStage        `json:"apiStages,omitempty"`
	Throttle    *PlanThrottle     `json:"throttle,omitempty"`
	Quota       *PlanQuota        `json:"quota,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// APIStage is one stage of an HTTP API that a usage plan covers.
type APIStage struct {
	APIID string `json:"apiId"`
	Stage string `json:"stage"`
}

// PlanThrottle is a plan's per-key token bucket.
type PlanThrottle struct {
	BurstLimit int     `json:"burstLimit"`
	RateLimit  float64 `json:"rateLimit"`
}

// PlanQuota is a plan's per-key request count per calendar period.
type PlanQuota struct {
	Limit  int    `json:"limit"`
	Offset int    `json:"offset"`
	Period string `json:"period"` // DAY, WEEK or MONTH
}

// UsagePlanKey is a key as a member of a plan.
type UsagePlanKey struct {
	ID    string `json:"id"` // the key's id
	Type  string `json:"type"`
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

// KeyTypeAPIKey is the one usage plan key type.
const KeyTypeAPIKey = "API_KEY"

type planKeyLink struct {
	PlanID string `json:"planId"`
	KeyID  string `json:"keyId"`
}

// The limit package imports this one, so Keys cannot use its types: the
// interfaces below are what Keys needs of it, declared here, and
// *limit.Throttler, *limit.MemoryQuotaStore and limit.WindowStart fit them
// as they are.

// KeyThrottler is limit.Throttler's Allow: one token from key's bucket.
type KeyThrottler interface {
	Allow(key string, rate float64, burst int) bool
}

// KeyQuotaStore is limit.QuotaStore: count one request for key in the
// period starting at window unless limit are counted there already; a key
// never seen starts at offset.
type KeyQuotaStore interface {
	Take(ctx context.Context, key string, window time.Time, limit, offset int) (used int, ok bool, err error)
}

// KeyOptions configure Keys.
type KeyOptions struct {
	Store  store.Store
	Clock  clock.Clock  // default clock.Real
	Logger *slog.Logger // default slog.Default()
	// Defs, when set, is checked so a usage plan can only name existing
	// APIs and stages (AWS refuses unknown ones).
	Defs Definitions
	// Throttler applies plans' throttles (required; limit.NewThrottler).
	Throttler KeyThrottler
	// QuotaWindow is limit.WindowStart (required): the start of the
	// calendar period holding now.
	QuotaWindow func(period string, now time.Time) (time.Time, error)
	// Quotas counts requests against plans' quotas (default: durable
	// counters in the bucket, shared by every node and kept over restarts).
	Quotas KeyQuotaStore
}

// Keys is the API key and usage plan service: the control plane over the
// bucket, and (Check) the data plane's admission of keyed requests.
type Keys struct {
	opts  KeyOptions
	kv    store.KV
	log   *slog.Logger
	clock clock.Clock

	mu      sync.RWMutex
	keys    map[string]*APIKey
	byValue map[string]string // value → key id
	plans   map[string]*UsagePlan
	links   map[string]map[string]bool // key id → plan ids
	// revs is the store revision behind each view entry by store key
	// (kept after a delete), so an older watch event never undoes a newer
	// write the view already holds.
	revs map[string]uint64

	cancel context.CancelFunc
	done   chan struct{}
}

var _ APIKeys = (*Keys)(nil)

// NewKeys opens the bucket, loads every key, plan and membership into the
// view and keeps the view current with a watch until Close or until ctx
// ends.
func NewKeys(ctx context.Context, opts KeyOptions) (*Keys, error) {
	if opts.Store == nil {
		return nil, errors.New("gateway: KeyOptions.Store is required")
	}
	if opts.Throttler == nil || opts.QuotaWindow == nil {
		return nil, errors.New("gateway: KeyOptions.Throttler and QuotaWindow are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	kv, err := opts.Store.KV(ctx, KeysBucket)
	if err != nil {
		return nil, fmt.Errorf("gateway: open bucket %s: %w", KeysBucket, err)
	}
	if opts.Quotas == nil {
		opts.Quotas = &KVQuotaStore{KV: kv}
	}
	k := &Keys{
		opts: opts, kv: kv, log: opts.Logger, clock: opts.Clock,
		keys: map[string]*APIKey{}, byValue: map[string]string{}, plans: map[string]*UsagePlan{},
		links: map[string]map[string]bool{}, revs: map[string]uint64{},
		done: make(chan struct{}),
	}
	wctx, cancel := context.WithCancel(ctx)
	k.cancel = cancel
	ready := make(chan error, 1)
	go k.watch(wctx, ready)
	if err := <-ready; err != nil {
		cancel()
		<-k.done
		return nil, err
	}
	return k, nil
}

// Close stops the watch; the view keeps its last state.
func (k *Keys) Close() error {
	k.cancel()
	<-k.done
	return nil
}

// ---- the data plane

// Check implements APIKeys: the key must exist, be enabled and be in a
// plan covering (apiID, stage); then the plan's throttle and quota apply,
// in that order so throttled requests are not counted against the quota.
func (k *Keys) Check(ctx context.Context, value, apiID, stage string) (int, string) {
	plan, keyID, ok := k.lookup(value, apiID, stage)
	if !ok {
		return http.StatusForbidden, msgForbidden
	}
	// Limits are per key and plan: a key in two plans (for different
	// stages) has two independent budgets.
	id := plan.ID + "." + keyID
	if t := plan.Throttle; t != nil && (t.RateLimit != 0 || t.BurstLimit != 0) {
		if !k.opts.Throttler.Allow("apikey/"+id, t.RateLimit, t.BurstLimit) {
			return http.StatusTooManyRequests, msgTooManyRequests
		}
	}
	if q := plan.Quota; q != nil {
		window, err := k.opts.QuotaWindow(q.Period, k.clock.Now())
		if err != nil {
			k.log.Error("gateway: usage plan has an unusable quota", "plan", plan.ID, "err", err)
			return http.StatusInternalServerError, msgInternal
		}
		_, ok, err := k.opts.Quotas.Take(ctx, id, window, q.Limit, q.Offset)
		if err != nil {
			// Failing open would turn quotas off whenever the store falters.
			k.log.Error("gateway: count usage plan quota", "plan", plan.ID, "key", keyID, "err", err)
			return http.StatusInternalServerError, msgInternal
		}
		if !ok {
			return http.StatusTooManyRequests, msgLimitExceeded
		}
	}
	return 0, ""
}

// msgLimitExceeded is QUOTA_EXCEEDED's message.
const msgLimitExceeded = "Limit Exceeded"

// lookup finds the enabled key with value and the plan that covers
// (apiID, stage) for it.
func (k *Keys) lookup(value, apiID, stage string) (*UsagePlan, string, bool) {
	if value == "" {
		return nil, "", false
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	id, ok := k.byValue[value]
	if !ok {
		return nil, "", false
	}
	if key := k.keys[id]; key == nil || !key.Enabled {
		return nil, "", false
	}
	for planID := range k.links[id] {
		p := k.plans[planID]
		if p == nil {
			continue
		}
		for _, s := range p.APIStages {
			if s.APIID == apiID && s.Stage == stage {
				return p, id, true
			}
		}
	}
	return nil, "", false
}

// ---- the view

// apply puts the decoded value of store key skey at rev into the view
// (value nil: deleted) unless the view holds something newer.
func (k *Keys) apply(skey string, value []byte, rev uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if rev <= k.revs[skey] {
		return
	}
	k.revs[skey] = rev
	k.applyLocked(skey, value)
}

func (k *Keys) applyLocked(skey string, value []byte) {
	switch {
	case strings.HasPrefix(skey, keyDocPfx):
		id := strings.TrimPrefix(skey, keyDocPfx)
		if old := k.keys[id]; old != nil && k.byValue[old.Value] == id {
			delete(k.byValue, old.Value)
		}
		delete(k.keys, id)
		if value == nil {
			return
		}
		key := new(APIKey)
		if err := json.Unmarshal(value, key); err != nil {
			k.log.Error("gateway: undecodable API key ignored", "key", skey, "err", err)
			return
		}
		k.keys[id] = key
		k.byValue[key.Value] = id
	case strings.HasPrefix(skey, planDocPfx):
		id := strings.TrimPrefix(skey, planDocPfx)
		delete(k.plans, id)
		if value == nil {
			return
		}
		p := new(UsagePlan)
		if err := json.Unmarshal(value, p); err != nil {
			k.log.Error("gateway: undecodable usage plan ignored", "key", skey, "err", err)
			return
		}
		k.plans[id] = p
	case strings.HasPrefix(skey, linkDocPfx):
		planID, keyID, ok := strings.Cut(strings.TrimPrefix(skey, linkDocPfx), ".")
		if !ok {
			return
		}
		if value == nil {
			delete(k.links[keyID], planID)
			if len(k.links[keyID]) == 0 {
				delete(k.links, keyID)
			}
			return
		}
		if k.links[keyID] == nil {
			k.links[keyID] = map[string]bool{}
		}
		k.links[keyID][planID] = true
	}
}

// watch keeps the view in step with the bucket, re-watching after the
// store drops the watch; ready gets the outcome of the first load.
func (k *Keys) watch(ctx context.Context, ready chan<- error) {
	defer close(k.done)
	first := true
	for {
		err := k.watchOnce(ctx, func() {
			if first {
				first = false
				ready <- nil
			}
		})
		if first {
			if err == nil || ctx.Err() != nil {
				err = fmt.Errorf("gateway: watch API keys: %w", context.Cause(ctx))
			}
			ready <- err
			return
		}
		if ctx.Err() != nil {
			return
		}
		k.log.Warn("gateway: API keys watch ended; restarting", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-k.clock.After(time.Second):
		}
	}
}

func (k *Keys) watchOnce(ctx context.Context, initialDone func()) error {
	ch, err := k.kv.Watch(ctx, defPrefix)
	if err != nil {
		return fmt.Errorf("gateway: watch API keys: %w", err)
	}
	seen := map[string]bool{}
	initial := true
	for ev := range ch {
		if ev.InitialDone {
			if initial {
				initial = false
				k.dropUnseen(seen)
				initialDone()
			}
			continue
		}
		if initial {
			seen[ev.Key] = true
		}
		if ev.Deleted {
			k.apply(ev.Key, nil, ev.Revision)
		} else {
			k.apply(ev.Key, ev.Value, ev.Revision)
		}
	}
	return errors.New("watch closed")
}

// dropUnseen removes from the view what a re-watch's initial values no
// longer hold (deleted while no watch ran).
func (k *Keys) dropUnseen(seen map[string]bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var gone []string
	for id := range k.keys {
		gone = append(gone, keyDocPfx+id)
	}
	for id := range k.plans {
		gone = append(gone, planDocPfx+id)
	}
	for keyID, plans := range k.links {
		for planID := range plans {
			gone = append(gone, linkDocPfx+planID+"."+keyID)
		}
	}
	for _, skey := range gone {
		if !seen[skey] {
			k.applyLocked(skey, nil)
		}
	}
}
