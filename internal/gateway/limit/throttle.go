// Package limit is the gateway's admission control, independent of HTTP
// serving: token-bucket throttling (stage, route, account and API key, as
// API Gateway), usage-plan quotas per API key, and request validation
// (required parameters and JSON Schema models, REST-API style).
//
// Everything here answers yes or no with API Gateway's wording; the data
// plane turns the answers into responses:
//
//	throttled          → 429 {"message":"Too Many Requests"}  (ReasonThrottled)
//	quota exhausted    → 429 {"message":"Limit Exceeded"}     (ReasonQuotaExceeded)
//	key disabled       → 403 {"message":"Forbidden"}          (ReasonForbidden)
//	invalid body       → 400 *ValidationError, "Invalid request body"
//	missing parameters → 400 *ValidationError, "Missing required request parameters: [a, b]"
package limit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
)

// AWS's default account-level throttle per Region. Lamina does not apply it
// unless asked (WithAccountLimit): a local gateway has no neighbours to
// protect, and an invisible ceiling would distort benchmarks.
const (
	AccountRate  = 10000.0
	AccountBurst = 5000
)

// DefaultMaxBuckets bounds the throttler's memory when many keys are live
// at once (for example one bucket per API key).
const DefaultMaxBuckets = 100_000

// maxIdle evicts buckets that can never refill (rate 0): without it a
// "block everything" bucket with burst > 0 would be kept forever.
const maxIdle = time.Hour

// sweepInterval is how often (in the injected clock's time) idle buckets are
// looked for; sweeping is O(buckets), so it is amortised, not per request.
const sweepInterval = time.Minute

// Throttler holds lazily created token buckets by key. It is safe for
// concurrent use.
//
// Keys are the caller's; Check uses "<apiID>/<stage>/<routeKey>" and
// "account", and CheckKey "apikey/<keyID>".
type Throttler struct {
	clock      clock.Clock
	maxBuckets int
	account    *limits

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type limits struct {
	rate  float64
	burst int
}

type bucket struct {
	lim   *rate.Limiter
	rate  float64
	burst int
	last  time.Time // last Allow on this bucket
}

// ThrottlerOption configures a Throttler.
type ThrottlerOption func(*Throttler)

// WithMaxBuckets bounds the number of buckets kept; past it the least
// recently used bucket is dropped (which forgets its debt: bounded memory
// wins over exactness for a flood of distinct keys).
func WithMaxBuckets(n int) ThrottlerOption {
	return func(t *Throttler) {
		if n > 0 {
			t.maxBuckets = n
		}
	}
}

// WithAccountLimit adds an account-level bucket every request passes
// through, after its route's (AWS: route limits per route, the account
// limit overall). Use AccountRate and AccountBurst for AWS's defaults.
func WithAccountLimit(rate float64, burst int) ThrottlerOption {
	return func(t *Throttler) { t.account = &limits{rate: rate, burst: burst} }
}

// NewThrottler returns a Throttler reading time from c.
func NewThrottler(c clock.Clock, opts ...ThrottlerOption) *Throttler {
	t := &Throttler{
		clock:      c,
		maxBuckets: DefaultMaxBuckets,
		buckets:    map[string]*bucket{},
		lastSweep:  c.Now(),
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Allow takes one token from key's bucket, which refills at rate tokens per
// second up to burst. A bucket is created full on first use and replaced
// (full again) when rate or burst change, so a new stage setting takes
// effect at once. rate < 0 means unlimited; rate 0 with burst 0 refuses
// everything, as a 0 throttle does in API Gateway.
func (t *Throttler) Allow(key string, rate float64, burst int) bool {
	if rate < 0 || math.IsNaN(rate) {
		return true
	}
	if burst < 0 {
		burst = 0
	}
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.maybeSweep(now)
	b := t.buckets[key]
	if b == nil || b.rate != rate || b.burst != burst {
		if b == nil && len(t.buckets) >= t.maxBuckets {
			t.evictOldest()
		}
		b = &bucket{lim: newLimiter(rate, burst), rate: rate, burst: burst}
		t.buckets[key] = b
	}
	// A clock that steps back (the fake clock can't, the wall clock can)
	// must not make the bucket look idle to the sweeper.
	if now.After(b.last) {
		b.last = now
	}
	return b.lim.AllowN(now, 1)
}

func newLimiter(r float64, burst int) *rate.Limiter {
	if math.IsInf(r, 1) {
		return rate.NewLimiter(rate.Inf, burst)
	}
	return rate.NewLimiter(rate.Limit(r), burst)
}

// Len reports how many buckets are held (for tests and metrics).
func (t *Throttler) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}

// maybeSweep drops buckets idle long enough to be full again: a full bucket
// is exactly what a new one would be, so dropping it changes no answer.
// Called with t.mu held.
func (t *Throttler) maybeSweep(now time.Time) {
	if now.Sub(t.lastSweep) < sweepInterval && len(t.buckets) < t.maxBuckets {
		return
	}
	t.lastSweep = now
	for k, b := range t.buckets {
		if idle := now.Sub(b.last); idle >= refillTime(b) || idle >= maxIdle {
			delete(t.buckets, k)
		}
	}
}

// refillTime is how long an emptied bucket takes to be full.
func refillTime(b *bucket) time.Duration {
	if b.burst == 0 || math.IsInf(b.rate, 1) {
		return 0
	}
	if b.rate <= 0 {
		return maxIdle
	}
	secs := float64(b.burst) / b.rate
	if secs >= maxIdle.Seconds() {
		return maxIdle
	}
	return time.Duration(secs * float64(time.Second))
}

// evictOldest drops the least recently used bucket. O(buckets), only when
// the bound is reached after a sweep. Called with t.mu held.
func (t *Throttler) evictOldest() {
	var oldKey string
	var old *bucket
	for k, b := range t.buckets {
		if old == nil || b.last.Before(old.last) {
			oldKey, old = k, b
		}
	}
	if old != nil {
		delete(t.buckets, oldKey)
	}
}

// Effective returns the throttle a stage applies to routeKey: the route's
// entry in RouteSettings overrides DefaultRouteSettings field by field (a
// nil field in the override falls back to the default's). ok is false when
// no rate applies (unlimited).
//
// A nil burst with a rate set is taken as a burst of the rate rounded up
// (at least 1), so one second's worth of requests can arrive together.
func Effective(st gateway.Stage, routeKey string) (rate float64, burst int, ok bool) {
	s := st.DefaultRouteSettings
	if o, found := st.RouteSettings[routeKey]; found {
		if o.ThrottlingRateLimit != nil {
			s.ThrottlingRateLimit = o.ThrottlingRateLimit
		}
		if o.ThrottlingBurstLimit != nil {
			s.ThrottlingBurstLimit = o.ThrottlingBurstLimit
		}
	}
	if s.ThrottlingRateLimit == nil {
		return 0, 0, false
	}
	rate = *s.ThrottlingRateLimit
	if s.ThrottlingBurstLimit != nil {
		burst = *s.ThrottlingBurstLimit
	} else {
		burst = max(1, int(math.Ceil(math.Min(rate, math.MaxInt32))))
	}
	return rate, burst, true
}

// Check applies a stage's throttle to one request on routeKey, then the
// account limit if configured. As in API Gateway the stage's settings are
// per route: DefaultRouteSettings gives every route its own bucket of that
// size (two routes do not share it), and a route in RouteSettings gets its
// own limits; the account bucket is shared by everything.
func (t *Throttler) Check(apiID, stage, routeKey string, st gateway.Stage) bool {
	if r, b, ok := Effective(st, routeKey); ok {
		if !t.Allow(apiID+"/"+stage+"/"+routeKey, r, b) {
			return false
		}
	}
	if t.account != nil {
		return t.Allow("account", t.account.rate, t.account.burst)
	}
	return true
}

// CheckKey applies a usage plan's per-key throttle, shared by every API and
// stage in the plan (AWS: throttle and quota are per key, summed over the
// plan's stages). A plan with Rate 0 and Burst 0 has no throttle: KeyPlan
// cannot tell "unset" from zero, and an unset throttle is the common case.
func (t *Throttler) CheckKey(plan KeyPlan) bool {
	if plan.Rate == 0 && plan.Burst == 0 {
		return true
	}
	return t.Allow("apikey/"+plan.KeyID, plan.Rate, plan.Burst)
}
