package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/gateway"
	"github.com/lamina-dev/lamina/internal/gateway/limit"
	"github.com/lamina-dev/lamina/internal/store"
)

// planDefs holds API documents for the plan validation.
type planDefs map[string]*gateway.APIDoc

func (d planDefs) Snapshot(id string) *gateway.APIDoc { return d[id] }
func (d planDefs) DefaultAPI() *gateway.APIDoc        { return nil }

func keysNew(t *testing.T, st store.Store, c clock.Clock, defs gateway.Definitions) *gateway.Keys {
	t.Helper()
	k, err := gateway.NewKeys(t.Context(), gateway.KeyOptions{
		Store: st, Clock: c, Logger: slog.New(slog.DiscardHandler), Defs: defs,
		Throttler: limit.NewThrottler(c), QuotaWindow: limit.WindowStart,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func mustKey(t *testing.T, k *gateway.Keys, in gateway.APIKeyInput) *gateway.APIKey {
	t.Helper()
	key, err := k.CreateAPIKey(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func mustPlan(t *testing.T, k *gateway.Keys, in gateway.UsagePlanInput, keys ...*gateway.APIKey) *gateway.UsagePlan {
	t.Helper()
	p, err := k.CreateUsagePlan(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if _, err := k.CreateUsagePlanKey(t.Context(), p.ID, key.ID, gateway.KeyTypeAPIKey); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func wantCheck(t *testing.T, k *gateway.Keys, value, apiID, stage string, status int, msg string) {
	t.Helper()
	got, gotMsg := k.Check(t.Context(), value, apiID, stage)
	if got == http.StatusOK {
		got = 0
	}
	if got != status || gotMsg != msg {
		t.Fatalf("Check(%q, %s, %s) = %d %q, want %d %q", value, apiID, stage, got, gotMsg, status, msg)
	}
}

var t0 = time.Date(2025, 3, 12, 10, 0, 0, 0, time.UTC) // a Wednesday

func TestKeysAPIKeyLifecycle(t *testing.T) {
	st := svcStore(t)
	k := keysNew(t, st, clock.NewFake(t0), nil)
	ctx := t.Context()

	gen := mustKey(t, k, gateway.APIKeyInput{Name: "gen"})
	if len(gen.Value) != 40 || strings.Trim(gen.Value, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
		t.Errorf("generated value %q: want 40 alphanumerics", gen.Value)
	}
	if gen.Enabled || !gen.CreatedDate.Equal(t0) {
		t.Errorf("key = %+v: want disabled by default, created at t0", gen)
	}
	given := mustKey(t, k, gateway.APIKeyInput{Name: "given", Value: "0123456789abcdefghij", Enabled: true})

	for _, tc := range []struct {
		name string
		in   gateway.APIKeyInput
		kind fault.Kind
	}{
		{"value too short", gateway.APIKeyInput{Value: "0123456789abcdefghi"}, fault.Invalid},
		{"value with a space", gateway.APIKeyInput{Value: "0123456789 abcdefghij"}, fault.Invalid},
		{"value taken", gateway.APIKeyInput{Value: given.Value}, fault.Conflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.CreateAPIKey(ctx, tc.in)
			wantKind(t, err, tc.kind)
		})
	}

	got, err := k.GetAPIKey(ctx, given.ID)
	if err != nil || got.Value != given.Value || !got.Enabled {
		t.Fatalf("GetAPIKey = %+v, %v", got, err)
	}
	list, next, err := k.GetAPIKeys(ctx, "gi", "", gateway.Page{})
	if err != nil || len(list) != 1 || list[0].ID != given.ID || next != "" {
		t.Fatalf("GetAPIKeys(gi) = %+v %q %v", list, next, err)
	}
	list, next, err = k.GetAPIKeys(ctx, "", "", gateway.Page{MaxResults: 1})
	if err != nil || len(list) != 1 || next == "" {
		t.Fatalf("first page = %+v %q %v", list, next, err)
	}

	upd, err := k.UpdateAPIKey(ctx, given.ID, []gateway.PatchOp{{Op: "replace", Path: "/enabled", Value: "false"}, {Op: "replace", Path: "/name", Value: "renamed"}})
	if err != nil || upd.Enabled || upd.Name != "renamed" {
		t.Fatalf("UpdateAPIKey = %+v, %v", upd, err)
	}
	_, err = k.UpdateAPIKey(ctx, given.ID, []gateway.PatchOp{{Op: "replace", Path: "/value", Value: "x"}})
	wantKind(t, err, fault.Invalid)

	if err := k.DeleteAPIKey(ctx, given.ID); err != nil {
		t.Fatal(err)
	}
	_, err = k.GetAPIKey(ctx, given.ID)
	wantKind(t, err, fault.NotFound)
	wantKind(t, k.DeleteAPIKey(ctx, given.ID), fault.NotFound)
	// Its value is free again.
	mustKey(t, k, gateway.APIKeyInput{Value: given.Value})
}

func TestKeysCheck(t *testing.T) {
	st := svcStore(t)
	k := keysNew(t, st, clock.NewFake(t0), nil)
	on := mustKey(t, k, gateway.APIKeyInput{Name: "on", Enabled: true})
	off := mustKey(t, k, gateway.APIKeyInput{Name: "off"})
	loose := mustKey(t, k, gateway.APIKeyInput{Name: "in no plan", Enabled: true})
	mustPlan(t, k, gateway.UsagePlanInput{Name: "p", APIStages: []gateway.APIStage{{APIID: "api1", Stage: "prod"}, {APIID: "api2", Stage: "$default"}}}, on, off)

	for _, tc := range []struct {
		name, value, api, stage string
		status                  int
		msg                     string
	}{
		{"in plan", on.Value, "api1", "prod", 0, ""},
		{"second stage of the plan", on.Value, "api2", "$default", 0, ""},
		{"no key", "", "api1", "prod", 403, "Forbidden"},
		{"unknown key", "no-such-key-value-at-all", "api1", "prod", 403, "Forbidden"},
		{"disabled key", off.Value, "api1", "prod", 403, "Forbidden"},
		{"key in no plan", loose.Value, "api1", "prod", 403, "Forbidden"},
		{"stage not in plan", on.Value, "api1", "dev", 403, "Forbidden"},
		{"API not in plan", on.Value, "api3", "prod", 403, "Forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCheck(t, k, tc.value, tc.api, tc.stage, tc.status, tc.msg) })
	}
}

// TestKeysViewFollowsOtherNodes: a second Keys on the same store (another
// node) sees keys, plans and their changes through its watch.
func TestKeysViewFollowsOtherNodes(t *testing.T) {
	st := svcStore(t)
	a := keysNew(t, st, clock.Real{}, nil)
	b := keysNew(t, st, clock.Real{}, nil)
	ctx := t.Context()
	eventually := func(what string, status int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got, _ := b.Check(ctx, "node-a-key-value-0123456789", "api1", "prod")
			if got == status {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: node b answers %d, want %d", what, got, status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	key := mustKey(t, a, gateway.APIKeyInput{Value: "node-a-key-value-0123456789", Enabled: true})
	plan := mustPlan(t, a, gateway.UsagePlanInput{Name: "p", APIStages: []gateway.APIStage{{APIID: "api1", Stage: "prod"}}}, key)
	eventually("created", 0)
	if _, err := a.UpdateAPIKey(ctx, key.ID, []gateway.PatchOp{{Op: "replace", Path: "/enabled", Value: "false"}}); err != nil {
		t.Fatal(err)
	}
	eventually("disabled", 403)
	if _, err := a.UpdateAPIKey(ctx, key.ID, []gateway.PatchOp{{Op: "replace", Path: "/enabled", Value: "true"}}); err != nil {
		t.Fatal(err)
	}
	eventually("enabled again", 0)
	if err := a.DeleteUsagePlanKey(ctx, plan.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	eventually("removed from the plan", 403)
	if _, err := a.CreateUsagePlanKey(ctx, plan.ID, key.ID, gateway.KeyTypeAPIKey); err != nil {
		t.Fatal(err)
	}
	eventually("added back", 0)
	if err := a.DeleteUsagePlan(ctx, plan.ID); err != nil {
		t.Fatal(err)
	}
	eventually("plan deleted", 403)
	// A third node started now loads the current state.
	c := keysNew(t, st, clock.Real{}, nil)
	if got, _ := c.Check(ctx, key.Value, "api1", "prod"); got != 403 {
		t.Errorf("new node admits a key of a deleted plan: %d", got)
	}
}

func TestKeysThrottle(t *testing.T) {
	st := svcStore(t)
	fc := clock.NewFake(t0)
	k := keysNew(t, st, fc, nil)
	key := mustKey(t, k, gateway.APIKeyInput{Enabled: true})
	other := mustKey(t, k, gateway.APIKeyInput{Enabled: true})
	stages := []gateway.APIStage{{APIID: "api1", Stage: "prod"}, {APIID: "api1", Stage: "dev"}}
	mustPlan(t, k, gateway.UsagePlanInput{Name: "p", APIStages: stages, Throttle: &gateway.PlanThrottle{BurstLimit: 2, RateLimit: 1}}, key, other)

	wantCheck(t, k, key.Value, "api1", "prod", 0, "")
	// The bucket is the key's across the plan's stages.
	wantCheck(t, k, key.Value, "api1", "dev", 0, "")
	wantCheck(t, k, key.Value, "api1", "prod", 429, "Too Many Requests")
	// Another key has its own bucket.
	wantCheck(t, k, other.Value, "api1", "prod", 0, "")
	fc.Advance(time.Second)
	wantCheck(t, k, key.Value, "api1", "prod", 0, "")
	wantCheck(t, k, key.Value, "api1", "prod", 429, "Too Many Requests")
}

func TestKeysQuota(t *testing.T) {
	st := svcStore(t)
	fc := clock.NewFake(t0)
	k := keysNew(t, st, fc, nil)
	stages := []gateway.APIStage{{APIID: "api1", Stage: "prod"}}
	daily := mustKey(t, k, gateway.APIKeyInput{Enabled: true})
	mustPlan(t, k, gateway.UsagePlanInput{Name: "daily", APIStages: stages, Quota: &gateway.PlanQuota{Limit: 3, Period: "DAY"}}, daily)
	offset := mustKey(t, k, gateway.APIKeyInput{Enabled: true})
	mustPlan(t, k, gateway.UsagePlanInput{Name: "offset", APIStages: []gateway.APIStage{{APIID: "api2", Stage: "prod"}},
		Quota: &gateway.PlanQuota{Limit: 3, Offset: 2, Period: "WEEK"}}, offset)

	for range 3 {
		wantCheck(t, k, daily.Value, "api1", "prod", 0, "")
	}
	wantCheck(t, k, daily.Value, "api1", "prod", 429, "Limit Exceeded")
	// The counters are in the store: another node counts against them.
	k2 := keysNew(t, st, fc, nil)
	wantCheck(t, k2, daily.Value, "api1", "prod", 429, "Limit Exceeded")
	// The next UTC day starts a new period.
	fc.Set(time.Date(2025, 3, 13, 0, 0, 1, 0, time.UTC))
	wantCheck(t, k, daily.Value, "api1", "prod", 0, "")

	// Offset: two requests count as already made in the first period.
	wantCheck(t, k, offset.Value, "api2", "prod", 0, "")
	wantCheck(t, k, offset.Value, "api2", "prod", 429, "Limit Exceeded")
	// Weeks start on Sunday: Saturday is the same period, Sunday a new one.
	fc.Set(time.Date(2025, 3, 15, 23, 0, 0, 0, time.UTC))
	wantCheck(t, k, offset.Value, "api2", "prod", 429, "Limit Exceeded")
	fc.Set(time.Date(2025, 3, 16, 0, 0, 0, 0, time.UTC))
	for range 3 {
		wantCheck(t, k, offset.Value, "api2", "prod", 0, "")
	}
	wantCheck(t, k, offset.Value, "api2", "prod", 429, "Limit Exceeded")
}

// TestKVQuotaStoreConcurrent: concurrent takes never count past the limit.
func TestKVQuotaStoreConcurrent(t *testing.T) {
	st := svcStore(t)
	kv, err := st.KV(t.Context(), gateway.KeysBucket)
	if err != nil {
		t.Fatal(err)
	}
	qs := &gateway.KVQuotaStore{KV: kv}
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 8 {
		wg.Go(func() {
			for range 5 {
				_, ok, err := qs.Take(context.Background(), "p.k", t0, 25, 0)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if admitted != 25 {
		t.Errorf("admitted %d of 40 with a limit of 25", admitted)
	}
}

func TestKeysPlanValidation(t *testing.T) {
	st := svcStore(t)
	defs := planDefs{"api1": {API: gateway.API{ID: "api1"}, Stages: map[string]gateway.Stage{"prod": {Name: "prod"}}}}
	k := keysNew(t, st, clock.NewFake(t0), defs)
	ok := []gateway.APIStage{{APIID: "api1", Stage: "prod"}}
	for _, tc := range []struct {
		name string
		in   gateway.UsagePlanInput
		kind fault.Kind
	}{
		{"no name", gateway.UsagePlanInput{APIStages: ok}, fault.Invalid},
		{"unknown API", gateway.UsagePlanInput{Name: "p", APIStages: []gateway.APIStage{{APIID: "nope", Stage: "prod"}}}, fault.Invalid},
		{"unknown stage", gateway.UsagePlanInput{Name: "p", APIStages: []gateway.APIStage{{APIID: "api1", Stage: "dev"}}}, fault.Invalid},
		{"duplicate stage", gateway.UsagePlanInput{Name: "p", APIStages: append(ok, ok...)}, fault.Invalid},
		{"bad period", gateway.UsagePlanInput{Name: "p", APIStages: ok, Quota: &gateway.PlanQuota{Limit: 1, Period: "YEAR"}}, fault.Invalid},
		{"negative rate", gateway.UsagePlanInput{Name: "p", APIStages: ok, Throttle: &gateway.PlanThrottle{RateLimit: -1}}, fault.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.CreateUsagePlan(t.Context(), tc.in)
			wantKind(t, err, tc.kind)
		})
	}

	ctx := t.Context()
	key := mustKey(t, k, gateway.APIKeyInput{Enabled: true})
	p1 := mustPlan(t, k, gateway.UsagePlanInput{Name: "p1", APIStages: ok}, key)
	p2 := mustPlan(t, k, gateway.UsagePlanInput{Name: "p2", APIStages: ok})
	other := mustPlan(t, k, gateway.UsagePlanInput{Name: "no stages"})
	for _, tc := range []struct {
		name, plan, key, typ string
		kind                 fault.Kind
	}{
		{"already in the plan", p1.ID, key.ID, "API_KEY", fault.Conflict},
		{"in another plan of the same stage", p2.ID, key.ID, "API_KEY", fault.Conflict},
		{"bad key type", other.ID, key.ID, "COGNITO", fault.Invalid},
		{"unknown key", other.ID, "nokey", "API_KEY", fault.NotFound},
		{"unknown plan", "noplan", key.ID, "API_KEY", fault.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.CreateUsagePlanKey(ctx, tc.plan, tc.key, tc.typ)
			wantKind(t, err, tc.kind)
		})
	}
	if _, err := k.CreateUsagePlanKey(ctx, other.ID, key.ID, "API_KEY"); err != nil {
		t.Fatalf("a key may be in many plans over distinct stages: %v", err)
	}
	plans, _, err := k.GetUsagePlans(ctx, key.ID, gateway.Page{})
	if err != nil || len(plans) != 2 {
		t.Fatalf("GetUsagePlans(keyId) = %+v, %v", plans, err)
	}
	pks, _, err := k.GetUsagePlanKeys(ctx, p1.ID, "", gateway.Page{})
	if err != nil || len(pks) != 1 || pks[0].ID != key.ID || pks[0].Value != key.Value || pks[0].Type != "API_KEY" {
		t.Fatalf("GetUsagePlanKeys = %+v, %v", pks, err)
	}
	// Deleting the key removes it from its plans.
	if err := k.DeleteAPIKey(ctx, key.ID); err != nil {
		t.Fatal(err)
	}
	if pks, _, _ := k.GetUsagePlanKeys(ctx, p1.ID, "", gateway.Page{}); len(pks) != 0 {
		t.Errorf("plan keys after the key's deletion: %+v", pks)
	}
	_, err = k.GetUsagePlanKey(ctx, p1.ID, key.ID)
	wantKind(t, err, fault.NotFound)
}

// UpdateUsagePlan patches a plan in place: its id, keys and counters stay,
// and the data plane applies the new limits at once.
func TestKeysUpdateUsagePlan(t *testing.T) {
	st := svcStore(t)
	fc := clock.NewFake(t0)
	defs := planDefs{
		"api1": {API: gateway.API{ID: "api1"}, Stages: map[string]gateway.Stage{"prod": {Name: "prod"}}},
		"api2": {API: gateway.API{ID: "api2"}, Stages: map[string]gateway.Stage{"prod": {Name: "prod"}}},
	}
	k := keysNew(t, st, fc, defs)
	ctx := t.Context()
	key := mustKey(t, k, gateway.APIKeyInput{Enabled: true})
	p := mustPlan(t, k, gateway.UsagePlanInput{Name: "p", APIStages: []gateway.APIStage{{APIID: "api1", Stage: "prod"}},
		Throttle: &gateway.PlanThrottle{BurstLimit: 1, RateLimit: 1}}, key)
	wantCheck(t, k, key.Value, "api1", "prod", 0, "")
	wantCheck(t, k, key.Value, "api1", "prod", 429, "Too Many Requests")

	u, err := k.UpdateUsagePlan(ctx, p.ID, []gateway.PatchOp{
		{Op: "replace", Path: "/name", Value: "renamed"},
		{Op: "replace", Path: "/throttle/burstLimit", Value: "100"},
		{Op: "replace", Path: "/throttle/rateLimit", Value: "50.5"},
		{Op: "replace", Path: "/quota/limit", Value: "2"},
		{Op: "replace", Path: "/quota/period", Value: "DAY"},
		{Op: "add", Path: "/apiStages", Value: "api2:prod"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != p.ID || u.Name != "renamed" || u.Throttle.BurstLimit != 100 || u.Throttle.RateLimit != 50.5 ||
		u.Quota == nil || u.Quota.Limit != 2 || u.Quota.Period != "DAY" || len(u.APIStages) != 2 {
		t.Fatalf("updated plan %+v", u)
	}
	// The key stays in the plan, now on api2 too, under the new quota.
	if keys, _, err := k.GetUsagePlanKeys(ctx, p.ID, "", gateway.Page{}); err != nil || len(keys) != 1 {
		t.Fatalf("keys after the update %+v %v", keys, err)
	}
	fc.Advance(time.Second)
	wantCheck(t, k, key.Value, "api2", "prod", 0, "")
	wantCheck(t, k, key.Value, "api1", "prod", 0, "")
	wantCheck(t, k, key.Value, "api1", "prod", 429, "Limit Exceeded")

	u, err = k.UpdateUsagePlan(ctx, p.ID, []gateway.PatchOp{{Op: "remove", Path: "/quota"}, {Op: "remove", Path: "/apiStages", Value: "api2:prod"}})
	if err != nil || u.Quota != nil || len(u.APIStages) != 1 {
		t.Fatalf("after removing the quota and api2: %+v %v", u, err)
	}
	wantCheck(t, k, key.Value, "api1", "prod", 0, "")
	wantCheck(t, k, key.Value, "api2", "prod", 403, "Forbidden")

	for _, tc := range []struct {
		name string
		op   gateway.PatchOp
		kind fault.Kind
	}{
		{"unknown path", gateway.PatchOp{Op: "replace", Path: "/productCode", Value: "x"}, fault.Invalid},
		{"not a number", gateway.PatchOp{Op: "replace", Path: "/throttle/rateLimit", Value: "fast"}, fault.Invalid},
		{"bad period", gateway.PatchOp{Op: "replace", Path: "/quota/period", Value: "YEAR"}, fault.Invalid},
		{"unknown stage", gateway.PatchOp{Op: "add", Path: "/apiStages", Value: "api1:dev"}, fault.Invalid},
		{"stage not in the plan", gateway.PatchOp{Op: "remove", Path: "/apiStages", Value: "api2:prod"}, fault.Invalid},
		{"malformed stage", gateway.PatchOp{Op: "add", Path: "/apiStages", Value: "api2"}, fault.Invalid},
		{"empty name", gateway.PatchOp{Op: "replace", Path: "/name", Value: ""}, fault.Invalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := k.UpdateUsagePlan(ctx, p.ID, []gateway.PatchOp{tc.op})
			wantKind(t, err, tc.kind)
		})
	}
	_, err = k.UpdateUsagePlan(ctx, "nosuchplan", nil)
	wantKind(t, err, fault.NotFound)
	if got, _ := k.GetUsagePlan(ctx, p.ID); got.Name != "renamed" || got.Throttle.BurstLimit != 100 {
		t.Errorf("a refused patch changed the plan: %+v", got)
	}
}
