package limit

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
)

var t0 = time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)

func ptrF(f float64) *float64 { return &f }
func ptrI(i int) *int         { return &i }

// step is one request (or an advance of the clock before it).
type step struct {
	advance time.Duration
	want    bool
}

func TestAllowTokenBucket(t *testing.T) {
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{
			name: "burst then refuse then refill at rate",
			rate: 2, burst: 3,
			steps: []step{
				{0, true}, {0, true}, {0, true}, {0, false}, // burst of 3, 4th refused
				{499 * time.Millisecond, false}, // 0.998 tokens
				{time.Millisecond, true},        // 1 token at 500ms (rate 2/s)
				{0, false},
				{10 * time.Second, true}, {0, true}, {0, true}, {0, false}, // refilled to burst, not beyond
			},
		},
		{
			name: "zero throttle refuses everything",
			rate: 0, burst: 0,
			steps: []step{{0, false}, {time.Hour, false}},
		},
		{
			name: "negative rate is unlimited",
			rate: -1, burst: 0,
			steps: []step{{0, true}, {0, true}, {0, true}},
		},
		{
			name: "rate 0 with burst allows the burst once",
			rate: 0, burst: 2,
			steps: []step{{0, true}, {0, true}, {0, false}, {time.Minute, false}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			th := NewThrottler(clk)
			for i, s := range tc.steps {
				clk.Advance(s.advance)
				if got := th.Allow("k", tc.rate, tc.burst); got != s.want {
					t.Fatalf("step %d (after +%v): Allow = %v, want %v", i, s.advance, got, s.want)
				}
			}
		})
	}
}

func TestAllowKeysIndependentAndReplacedOnChange(t *testing.T) {
	clk := clock.NewFake(t0)
	th := NewThrottler(clk)
	if !th.Allow("a", 1, 1) || th.Allow("a", 1, 1) {
		t.Fatal("a: want one allowed then refused")
	}
	if !th.Allow("b", 1, 1) {
		t.Fatal("b must not share a's bucket")
	}
	// A new burst replaces the bucket, full: the change applies at once.
	if !th.Allow("a", 1, 2) || !th.Allow("a", 1, 2) || th.Allow("a", 1, 2) {
		t.Fatal("a after burst change: want two allowed then refused")
	}
}

func TestEffectiveSettings(t *testing.T) {
	st := gateway.Stage{
		DefaultRouteSettings: gateway.RouteSettings{ThrottlingRateLimit: ptrF(10), ThrottlingBurstLimit: ptrI(20)},
		RouteSettings: map[string]gateway.RouteSettings{
			"GET /slow":    {ThrottlingRateLimit: ptrF(1), ThrottlingBurstLimit: ptrI(1)},
			"GET /burst":   {ThrottlingBurstLimit: ptrI(5)}, // rate from the default
			"GET /nothing": {},
		},
	}
	tests := []struct {
		name      string
		st        gateway.Stage
		route     string
		wantRate  float64
		wantBurst int
		wantOK    bool
	}{
		{"default applies", st, "GET /pets", 10, 20, true},
		{"route override", st, "GET /slow", 1, 1, true},
		{"field-wise fallback", st, "GET /burst", 10, 5, true},
		{"empty override is the default", st, "GET /nothing", 10, 20, true},
		{"no settings: unlimited", gateway.Stage{}, "GET /pets", 0, 0, false},
		{"rate without burst: burst = ceil(rate)", gateway.Stage{DefaultRouteSettings: gateway.RouteSettings{ThrottlingRateLimit: ptrF(2.5)}}, "x", 2.5, 3, true},
		{"burst alone: unlimited", gateway.Stage{DefaultRouteSettings: gateway.RouteSettings{ThrottlingBurstLimit: ptrI(3)}}, "x", 0, 0, false},
		{"route-only override on an unlimited stage", gateway.Stage{RouteSettings: map[string]gateway.RouteSettings{"GET /a": {ThrottlingRateLimit: ptrF(4), ThrottlingBurstLimit: ptrI(8)}}}, "GET /a", 4, 8, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, b, ok := Effective(tc.st, tc.route)
			if r != tc.wantRate || b != tc.wantBurst || ok != tc.wantOK {
				t.Fatalf("Effective = (%v, %v, %v), want (%v, %v, %v)", r, b, ok, tc.wantRate, tc.wantBurst, tc.wantOK)
			}
		})
	}
}

// countAllowed sends n requests at one instant and counts those let through.
func countAllowed(n int, f func() bool) int {
	c := 0
	for range n {
		if f() {
			c++
		}
	}
	return c
}

func TestCheckPerRouteBuckets(t *testing.T) {
	st := gateway.Stage{
		DefaultRouteSettings: gateway.RouteSettings{ThrottlingRateLimit: ptrF(1), ThrottlingBurstLimit: ptrI(2)},
		RouteSettings: map[string]gateway.RouteSettings{
			"POST /orders": {ThrottlingRateLimit: ptrF(1), ThrottlingBurstLimit: ptrI(5)},
		},
	}
	clk := clock.NewFake(t0)
	th := NewThrottler(clk)
	check := func(route string) func() bool {
		return func() bool { return th.Check("api1", "prod", route, st) }
	}
	// The default gives each route its own bucket of 2, not 2 for the stage.
	if got := countAllowed(10, check("GET /a")); got != 2 {
		t.Errorf("GET /a allowed %d, want 2", got)
	}
	if got := countAllowed(10, check("GET /b")); got != 2 {
		t.Errorf("GET /b allowed %d, want 2 (its own bucket)", got)
	}
	if got := countAllowed(10, check("POST /orders")); got != 5 {
		t.Errorf("POST /orders allowed %d, want 5 (override)", got)
	}
	// Same route key on another stage or API: other buckets.
	if !th.Check("api1", "dev", "GET /a", st) || !th.Check("api2", "prod", "GET /a", st) {
		t.Error("other stage/API must not share the bucket")
	}
	// Unlimited stage.
	if got := countAllowed(1000, func() bool { return th.Check("api1", "free", "GET /a", gateway.Stage{}) }); got != 1000 {
		t.Errorf("unlimited stage allowed %d of 1000", got)
	}
}

func TestCheckAccountLimit(t *testing.T) {
	clk := clock.NewFake(t0)
	th := NewThrottler(clk, WithAccountLimit(1, 3))
	st := gateway.Stage{} // routes unlimited: only the account bucket bites
	got := countAllowed(2, func() bool { return th.Check("a", "s", "GET /x", st) }) +
		countAllowed(2, func() bool { return th.Check("b", "s", "GET /y", st) })
	if got != 3 {
		t.Fatalf("account allowed %d across APIs, want 3 (shared burst)", got)
	}
	clk.Advance(time.Second)
	if !th.Check("c", "s", "GET /z", st) {
		t.Fatal("account bucket did not refill")
	}
}

func TestCheckKey(t *testing.T) {
	clk := clock.NewFake(t0)
	th := NewThrottler(clk)
	plan := KeyPlan{KeyID: "k1", Enabled: true, Rate: 1, Burst: 2}
	if got := countAllowed(5, func() bool { return th.CheckKey(plan) }); got != 2 {
		t.Fatalf("key allowed %d, want 2", got)
	}
	other := KeyPlan{KeyID: "k2", Enabled: true, Rate: 1, Burst: 2}
	if !th.CheckKey(other) {
		t.Fatal("another key must have its own bucket")
	}
	none := KeyPlan{KeyID: "k3", Enabled: true}
	if got := countAllowed(100, func() bool { return th.CheckKey(none) }); got != 100 {
		t.Fatalf("plan without throttle allowed %d of 100", got)
	}
}

func TestEvictIdleBuckets(t *testing.T) {
	clk := clock.NewFake(t0)
	th := NewThrottler(clk)
	for i := range 100 {
		th.Allow(fmt.Sprintf("k%d", i), 10, 10) // full again after 1s
	}
	for range 10 { // empty it: full again only after 10000s (capped at maxIdle)
		th.Allow("slow", 0.001, 10)
	}
	if n := th.Len(); n != 101 {
		t.Fatalf("Len = %d, want 101", n)
	}
	clk.Advance(sweepInterval)
	th.Allow("trigger", 10, 10)
	if n := th.Len(); n != 2 {
		t.Fatalf("after a sweep Len = %d, want 2 (slow still refilling, trigger)", n)
	}
	// The kept bucket kept its debt: 10 used, ~0.06 refilled.
	if th.Allow("slow", 0.001, 10) {
		t.Fatal("slow bucket was reset by the sweep")
	}
	clk.Advance(maxIdle)
	th.Allow("trigger2", 10, 10)
	if n := th.Len(); n != 1 {
		t.Fatalf("after maxIdle Len = %d, want 1", n)
	}
}

func TestMaxBucketsBound(t *testing.T) {
	clk := clock.NewFake(t0)
	th := NewThrottler(clk, WithMaxBuckets(50))
	for i := range 1000 {
		clk.Advance(time.Millisecond) // not idle long enough to refill (burst 100 at 1/s)
		th.Allow(fmt.Sprintf("k%d", i), 1, 100)
		if n := th.Len(); n > 50 {
			t.Fatalf("after %d keys Len = %d, over the bound 50", i+1, n)
		}
	}
	// The most recent key survives eviction with its state.
	last := "k999"
	for range 99 {
		th.Allow(last, 1, 100)
	}
	if th.Allow(last, 1, 100) {
		t.Fatal("most recent bucket lost its state")
	}
}

func TestThrottlerConcurrent(t *testing.T) {
	clk := clock.NewFake(t0)
	th := NewThrottler(clk)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if th.Allow("shared", 1, 50) {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 50 {
		t.Fatalf("concurrent callers got %d tokens, want exactly the burst 50", allowed)
	}
}
