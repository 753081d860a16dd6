package limit

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Reasons a request is refused, worded as API Gateway's default gateway
// responses word them (the body is {"message": reason}).
const (
	// ReasonThrottled is THROTTLED: a rate or burst limit was exceeded.
	ReasonThrottled = "Too Many Requests"
	// ReasonQuotaExceeded is QUOTA_EXCEEDED: the key's usage-plan quota
	// for the period is used up.
	ReasonQuotaExceeded = "Limit Exceeded"
	// ReasonForbidden is INVALID_API_KEY: the key is disabled (or missing
	// or unknown, which the caller decides before asking for a quota).
	ReasonForbidden = "Forbidden"
	// ReasonInternal means the plan itself is unusable (an unknown
	// period) or the quota store failed; API Gateway would never get here.
	ReasonInternal = "Internal Server Error"
)

// Status returns the HTTP status API Gateway answers with for reason.
func Status(reason string) int {
	switch reason {
	case ReasonThrottled, ReasonQuotaExceeded:
		return http.StatusTooManyRequests
	case ReasonForbidden:
		return http.StatusForbidden
	case "":
		return http.StatusOK
	default:
		return http.StatusInternalServerError
	}
}

// Quota periods of a usage plan.
const (
	PeriodDay   = "DAY"
	PeriodWeek  = "WEEK"
	PeriodMonth = "MONTH"
)

// WeekStart is the first day of a WEEK quota period. AWS does not document
// it for today's API; its older SDK docs described the week as starting on
// Sunday (offset 0 = Sunday), so Lamina starts weeks on Sunday 00:00 UTC.
const WeekStart = time.Sunday

// KeyPlan is what the data plane needs of one API key and the usage plan
// that covers the stage being called.
type KeyPlan struct {
	KeyID   string
	Enabled bool
	// Rate and Burst are the plan's per-key throttle (both 0: none); see
	// Throttler.CheckKey.
	Rate  float64
	Burst int
	// QuotaLimit requests per QuotaPeriod (DAY, WEEK or MONTH; "" = no
	// quota). Periods are calendar periods in UTC.
	QuotaLimit  int
	QuotaPeriod string
	// QuotaOffset is AWS's quota offset: requests counted as already used
	// in the initial period, for a plan that starts mid-period.
	QuotaOffset int
}

// Validate reports a plan the data plane could not apply; the control plane
// calls it so bad plans are refused at creation, not at request time.
func (p KeyPlan) Validate() error {
	if p.Rate < 0 || p.Burst < 0 {
		return fmt.Errorf("limit: key %q: throttle rate and burst must not be negative", p.KeyID)
	}
	if p.QuotaPeriod == "" {
		return nil
	}
	if _, err := WindowStart(p.QuotaPeriod, time.Time{}); err != nil {
		return fmt.Errorf("limit: key %q: %w", p.KeyID, err)
	}
	if p.QuotaLimit < 0 || p.QuotaOffset < 0 {
		return fmt.Errorf("limit: key %q: quota limit and offset must not be negative", p.KeyID)
	}
	return nil
}

// WindowStart returns the start of the quota period holding now: 00:00 UTC
// of the day, of the week's WeekStart, or of the month's 1st.
func WindowStart(period string, now time.Time) (time.Time, error) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch period {
	case PeriodDay:
		return day, nil
	case PeriodWeek:
		back := (int(now.Weekday()) - int(WeekStart) + 7) % 7
		return day.AddDate(0, 0, -back), nil
	case PeriodMonth:
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC), nil
	default:
		return time.Time{}, fmt.Errorf("quota period %q is not DAY, WEEK or MONTH", period)
	}
}

// QuotaStore counts requests per key and period. The in-memory store is
// the default; a durable one (the store's KV with compare-and-set) can
// replace it so quotas survive restarts and are shared between nodes.
type QuotaStore interface {
	// Take counts one request for key in the period starting at window
	// if fewer than limit have been counted there, and reports the count
	// afterwards and whether the request was counted. When the store has
	// never seen key, the count of that first period starts at offset
	// (AWS's quota offset for the initial period).
	Take(ctx context.Context, key string, window time.Time, limit, offset int) (used int, ok bool, err error)
}

// MemoryQuotaStore is a QuotaStore in memory: one counter per key (the
// current period's), so memory is bounded by the number of keys. It is safe
// for concurrent use. Counts are lost on restart, and the initial-period
// offset applies again after one.
type MemoryQuotaStore struct {
	mu   sync.Mutex
	keys map[string]*quotaCount
}

type quotaCount struct {
	window time.Time
	used   int
}

// NewMemoryQuotaStore returns an empty MemoryQuotaStore.
func NewMemoryQuotaStore() *MemoryQuotaStore {
	return &MemoryQuotaStore{keys: map[string]*quotaCount{}}
}

// Take implements QuotaStore.
func (s *MemoryQuotaStore) Take(_ context.Context, key string, window time.Time, limit, offset int) (int, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.keys[key]
	switch {
	case c == nil:
		c = &quotaCount{window: window, used: offset}
		s.keys[key] = c
	case window.After(c.window):
		c.window, c.used = window, 0
	case window.Before(c.window):
		// A request stamped in an earlier period than one already
		// counted (clock skew between callers): count it in the current
		// one rather than reopening a closed period.
	}
	if c.used >= limit {
		return c.used, false, nil
	}
	c.used++
	return c.used, true, nil
}

// Quotas enforces usage-plan quotas per API key.
type Quotas struct {
	store QuotaStore
}

// NewQuotas returns Quotas counting in store (nil: a MemoryQuotaStore).
func NewQuotas(store QuotaStore) *Quotas {
	if store == nil {
		store = NewMemoryQuotaStore()
	}
	return &Quotas{store: store}
}

// Use counts one request by plan's key at now. It refuses a disabled key
// (ReasonForbidden) and a key whose quota for the current period is used up
// (ReasonQuotaExceeded). Call it after the throttle checks so that
// throttled requests are not counted against the quota.
func (q *Quotas) Use(plan KeyPlan, now time.Time) (ok bool, reason string) {
	return q.UseContext(context.Background(), plan, now)
}

// UseContext is Use with a context for a store that does I/O. A store
// failure refuses the request (ReasonInternal): failing open would let a
// broken store turn quotas off silently.
func (q *Quotas) UseContext(ctx context.Context, plan KeyPlan, now time.Time) (ok bool, reason string) {
	if !plan.Enabled {
		return false, ReasonForbidden
	}
	if plan.QuotaPeriod == "" {
		return true, ""
	}
	window, err := WindowStart(plan.QuotaPeriod, now)
	if err != nil {
		return false, ReasonInternal
	}
	_, ok, err = q.store.Take(ctx, plan.KeyID, window, plan.QuotaLimit, plan.QuotaOffset)
	if err != nil {
		return false, ReasonInternal
	}
	if !ok {
		return false, ReasonQuotaExceeded
	}
	return true, ""
}
