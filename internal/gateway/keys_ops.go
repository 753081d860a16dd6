package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// The control plane of API keys and usage plans. Reads go to the store,
// not the view, so they are consistent across nodes; every write also
// goes into this node's view at once, so a key is usable on the next
// request.

// Bounds on what callers give (AWS's).
const (
	minKeyValue     = 20
	maxKeyValue     = 128
	genKeyValue     = 40
	maxKeyName      = 1024
	maxPlanStages   = 100
	keyIDLength     = 10
	planIDLength    = 6
	valueAlphabet   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	msgKeyNotFound  = "Invalid API Key identifier specified"
	msgPlanNotFound = "Invalid Usage Plan ID specified"
)

// APIKeyInput creates an API key. Value "" generates one.
type APIKeyInput struct {
	Name, Description, Value, CustomerID string
	Enabled                              bool
	Tags                                 map[string]string
}

// PatchOp is one of a v1 update's patchOperations.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value string `json:"value,omitempty"`
	From  string `json:"from,omitempty"`
}

// UsagePlanInput creates a usage plan.
type UsagePlanInput struct {
	Name, Description string
	APIStages         []APIStage
	Throttle          *PlanThrottle
	Quota             *PlanQuota
	Tags              map[string]string
}

// ---- API keys

// CreateAPIKey stores a new key. Its value must be unique: a value already
// held by another key is a conflict (two keys with one value would be
// counted as one key).
func (k *Keys) CreateAPIKey(ctx context.Context, in APIKeyInput) (*APIKey, error) {
	if len(in.Name) > maxKeyName {
		return nil, badRequest("API Key name must be at most %d characters", maxKeyName)
	}
	if in.Value == "" {
		in.Value = newKeyValue()
	} else if err := checkKeyValue(in.Value); err != nil {
		return nil, err
	}
	now := k.clock.Now().UTC()
	key := &APIKey{
		ID: newID(keyIDLength), Name: in.Name, Value: in.Value, Description: in.Description,
		Enabled: in.Enabled, CustomerID: in.CustomerID, Tags: in.Tags, CreatedDate: now, LastUpdatedDate: now,
	}
	// Claim the value first: a crash after the claim leaves an orphan
	// claim (the value cannot be reused), never two keys with one value.
	if _, err := k.kv.Create(ctx, valueKey(key.Value), []byte(key.ID)); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, fault.New(fault.Conflict, "API Key already exists")
		}
		return nil, fmt.Errorf("gateway: claim API key value: %w", err)
	}
	if err := k.put(ctx, keyDocPfx+key.ID, key, 0, true); err != nil {
		_ = k.kv.Delete(context.WithoutCancel(ctx), valueKey(key.Value), 0)
		return nil, err
	}
	return key, nil
}

// GetAPIKey returns key id.
func (k *Keys) GetAPIKey(ctx context.Context, id string) (*APIKey, error) {
	key, _, err := k.loadKey(ctx, id)
	return key, err
}

// GetAPIKeys lists keys by id; nameQuery keeps those whose name starts
// with it, customerID those of that customer.
func (k *Keys) GetAPIKeys(ctx context.Context, nameQuery, customerID string, p Page) ([]APIKey, string, error) {
	all, err := listDocs[APIKey](ctx, k, keyDocPfx)
	if err != nil {
		return nil, "", err
	}
	out := all[:0]
	for _, key := range all {
		if strings.HasPrefix(key.Name, nameQuery) && (customerID == "" || key.CustomerID == customerID) {
			out = append(out, key)
		}
	}
	return page(out, func(x APIKey) string { return x.ID }, p)
}

// UpdateAPIKey applies replace operations on /name, /description,
// /enabled and /customerId (the value cannot change, as in AWS).
func (k *Keys) UpdateAPIKey(ctx context.Context, id string, ops []PatchOp) (*APIKey, error) {
	for range casAttempts {
		key, rev, err := k.loadKey(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, op := range ops {
			if op.Op != "replace" {
				return nil, badRequest("Invalid patch operation specified. Must be 'replace' for path %s", op.Path)
			}
			switch op.Path {
			case "/name":
				if len(op.Value) > maxKeyName {
					return nil, badRequest("API Key name must be at most %d characters", maxKeyName)
				}
				key.Name = op.Value
			case "/description":
				key.Description = op.Value
			case "/customerId":
				key.CustomerID = op.Value
			case "/enabled":
				b, err := strconv.ParseBool(op.Value)
				if err != nil {
					return nil, badRequest("Invalid value for /enabled: %q", op.Value)
				}
				key.Enabled = b
			default:
				return nil, badRequest("Invalid patch path %s", op.Path)
			}
		}
		key.LastUpdatedDate = k.clock.Now().UTC()
		err = k.put(ctx, keyDocPfx+id, key, rev, false)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return key, nil
	}
	return nil, errConcurrent()
}

// DeleteAPIKey removes key id, its memberships and its quota counters.
func (k *Keys) DeleteAPIKey(ctx context.Context, id string) error {
	key, rev, err := k.loadKey(ctx, id)
	if err != nil {
		return err
	}
	if err := k.del(ctx, keyDocPfx+id, rev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errConcurrent()
		}
		return err
	}
	// What follows is cleanup: a failure leaves entries the view ignores
	// (a membership of a missing key admits nothing).
	links, err := k.kv.Keys(ctx, linkDocPfx)
	if err != nil {
		return fmt.Errorf("gateway: list usage plan keys: %w", err)
	}
	for _, l := range links {
		if strings.HasSuffix(l, "."+id) {
			planID := strings.TrimSuffix(strings.TrimPrefix(l, linkDocPfx), "."+id)
			if err := k.del(ctx, l, 0); err != nil {
				return err
			}
			_ = k.kv.Delete(ctx, quotaPrefix+planID+"."+id, 0)
		}
	}
	if err := k.kv.Delete(ctx, valueKey(key.Value), 0); err != nil {
		return fmt.Errorf("gateway: release API key value: %w", err)
	}
	return nil
}

func (k *Keys) loadKey(ctx context.Context, id string) (*APIKey, uint64, error) {
	if !validID(id) {
		return nil, 0, fault.New(fault.NotFound, msgKeyNotFound)
	}
	key := new(APIKey)
	rev, err := k.get(ctx, keyDocPfx+id, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, fault.New(fault.NotFound, msgKeyNotFound)
	}
	return key, rev, err
}

// ---- usage plans

// CreateUsagePlan stores a new plan.
func (k *Keys) CreateUsagePlan(ctx context.Context, in UsagePlanInput) (*UsagePlan, error) {
	p := &UsagePlan{
		ID: newID(planIDLength), Name: in.Name, Description: in.Description,
		APIStages: in.APIStages, Throttle: in.Throttle, Quota: in.Quota, Tags: in.Tags,
	}
	if err := k.checkPlan(p); err != nil {
		return nil, err
	}
	if err := k.put(ctx, planDocPfx+p.ID, p, 0, true); err != nil {
		return nil, err
	}
	return p, nil
}

func (k *Keys) checkPlan(p *UsagePlan) error {
	if p.Name == "" {
		return badRequest("Usage Plan name is required")
	}
	if len(p.APIStages) > maxPlanStages {
		return badRequest("A usage plan can have at most %d API stages", maxPlanStages)
	}
	seen := map[APIStage]bool{}
	for _, s := range p.APIStages {
		if s.APIID == "" || s.Stage == "" {
			return badRequest("API stage must name an apiId and a stage")
		}
		if seen[s] {
			return badRequest("Duplicate API stage %s:%s", s.APIID, s.Stage)
		}
		seen[s] = true
		if k.opts.Defs != nil {
			doc := k.opts.Defs.Snapshot(s.APIID)
			if doc == nil {
				return badRequest("Invalid API identifier specified %s", s.APIID)
			}
			if _, ok := doc.Stages[s.Stage]; !ok {
				return badRequest("Invalid stage identifier specified %s:%s", s.APIID, s.Stage)
			}
		}
	}
	if t := p.Throttle; t != nil && (t.BurstLimit < 0 || t.RateLimit < 0) {
		return badRequest("Throttle rateLimit and burstLimit must not be negative")
	}
	if q := p.Quota; q != nil {
		if _, err := k.opts.QuotaWindow(q.Period, k.clock.Now()); err != nil {
			return badRequest("Invalid quota period %q: must be DAY, WEEK or MONTH", q.Period)
		}
		if q.Limit < 0 || q.Offset < 0 {
			return badRequest("Quota limit and offset must not be negative")
		}
	}
	return nil
}

// UpdateUsagePlan applies v1 patch operations to plan id, as AWS's
// UpdateUsagePlan: replace /name, /description, /throttle/rateLimit,
// /throttle/burstLimit, /quota/limit, /quota/period, /quota/offset;
// remove /throttle or /quota; add or remove /apiStages with the value
// "apiId:stage". The plan keeps its id, keys and counters.
func (k *Keys) UpdateUsagePlan(ctx context.Context, id string, ops []PatchOp) (*UsagePlan, error) {
	for range casAttempts {
		p, rev, err := k.loadPlan(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, op := range ops {
			if err := patchPlan(p, op); err != nil {
				return nil, err
			}
		}
		if err := k.checkPlan(p); err != nil {
			return nil, err
		}
		err = k.put(ctx, planDocPfx+id, p, rev, false)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, errConcurrent()
}

func patchPlan(p *UsagePlan, op PatchOp) error {
	number := func() (float64, error) {
		f, err := strconv.ParseFloat(op.Value, 64)
		if err != nil {
			return 0, badRequest("Invalid value for %s: %q", op.Path, op.Value)
		}
		return f, nil
	}
	switch op.Op + " " + op.Path {
	case "replace /name":
		p.Name = op.Value
	case "replace /description":
		p.Description = op.Value
	case "replace /throttle/rateLimit", "replace /throttle/burstLimit":
		f, err := number()
		if err != nil {
			return err
		}
		if p.Throttle == nil {
			p.Throttle = &PlanThrottle{}
		}
		if strings.HasSuffix(op.Path, "rateLimit") {
			p.Throttle.RateLimit = f
		} else {
			p.Throttle.BurstLimit = int(f)
		}
	case "remove /throttle":
		p.Throttle = nil
	case "replace /quota/limit", "replace /quota/offset":
		f, err := number()
		if err != nil {
			return err
		}
		if p.Quota == nil {
			p.Quota = &PlanQuota{Period: "DAY"}
		}
		if strings.HasSuffix(op.Path, "limit") {
			p.Quota.Limit = int(f)
		} else {
			p.Quota.Offset = int(f)
		}
	case "replace /quota/period":
		if p.Quota == nil {
			p.Quota = &PlanQuota{}
		}
		p.Quota.Period = op.Value
	case "remove /quota":
		p.Quota = nil
	case "add /apiStages", "remove /apiStages":
		api, stage, ok := strings.Cut(op.Value, ":")
		if !ok || api == "" || stage == "" {
			return badRequest("Invalid API stage %q: want apiId:stage", op.Value)
		}
		st := APIStage{APIID: api, Stage: stage}
		i := slices.Index(p.APIStages, st)
		switch {
		case op.Op == "add" && i < 0:
			p.APIStages = append(p.APIStages, st)
		case op.Op == "remove" && i >= 0:
			p.APIStages = slices.Delete(p.APIStages, i, i+1)
		case op.Op == "remove":
			return badRequest("API stage %s is not in usage plan %s", op.Value, p.ID)
		}
	default:
		return badRequest("Invalid patch operation specified: %s %s", op.Op, op.Path)
	}
	return nil
}

// GetUsagePlan returns plan id.
func (k *Keys) GetUsagePlan(ctx context.Context, id string) (*UsagePlan, error) {
	p, _, err := k.loadPlan(ctx, id)
	return p, err
}

// GetUsagePlans lists plans by id; keyID keeps those the key is in.
func (k *Keys) GetUsagePlans(ctx context.Context, keyID string, p Page) ([]UsagePlan, string, error) {
	all, err := listDocs[UsagePlan](ctx, k, planDocPfx)
	if err != nil {
		return nil, "", err
	}
	if keyID != "" {
		links, err := k.kv.Keys(ctx, linkDocPfx)
		if err != nil {
			return nil, "", fmt.Errorf("gateway: list usage plan keys: %w", err)
		}
		in := map[string]bool{}
		for _, l := range links {
			if planID, kid, _ := strings.Cut(strings.TrimPrefix(l, linkDocPfx), "."); kid == keyID {
				in[planID] = true
			}
		}
		out := all[:0]
		for _, plan := range all {
			if in[plan.ID] {
				out = append(out, plan)
			}
		}
		all = out
	}
	return page(all, func(x UsagePlan) string { return x.ID }, p)
}

// DeleteUsagePlan removes plan id, its memberships and their counters.
func (k *Keys) DeleteUsagePlan(ctx context.Context, id string) error {
	_, rev, err := k.loadPlan(ctx, id)
	if err != nil {
		return err
	}
	if err := k.del(ctx, planDocPfx+id, rev); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return errConcurrent()
		}
		return err
	}
	links, err := k.kv.Keys(ctx, linkDocPfx+id+".")
	if err != nil {
		return fmt.Errorf("gateway: list usage plan keys: %w", err)
	}
	for _, l := range links {
		if err := k.del(ctx, l, 0); err != nil {
			return err
		}
		_ = k.kv.Delete(ctx, quotaPrefix+strings.TrimPrefix(l, linkDocPfx), 0)
	}
	return nil
}

func (k *Keys) loadPlan(ctx context.Context, id string) (*UsagePlan, uint64, error) {
	if !validID(id) {
		return nil, 0, fault.New(fault.NotFound, msgPlanNotFound)
	}
	p := new(UsagePlan)
	rev, err := k.get(ctx, planDocPfx+id, p)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, fault.New(fault.NotFound, msgPlanNotFound)
	}
	return p, rev, err
}

// ---- usage plan keys

// CreateUsagePlanKey adds key keyID to plan planID. As in AWS a key may be
// in many plans but in only one plan per API stage; the check reads the
// other plans at the time of the call (two racing additions to two plans
// sharing a stage could both succeed; the data plane then uses either).
func (k *Keys) CreateUsagePlanKey(ctx context.Context, planID, keyID, keyType string) (*UsagePlanKey, error) {
	if keyType != KeyTypeAPIKey {
		return nil, badRequest("Invalid keyType %q: must be %s", keyType, KeyTypeAPIKey)
	}
	plan, _, err := k.loadPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	key, _, err := k.loadKey(ctx, keyID)
	if err != nil {
		return nil, err
	}
	others, _, err := k.GetUsagePlans(ctx, keyID, Page{})
	if err != nil {
		return nil, err
	}
	stages := map[APIStage]bool{}
	for _, s := range plan.APIStages {
		stages[s] = true
	}
	for _, o := range others {
		if o.ID == planID {
			continue
		}
		for _, s := range o.APIStages {
			if stages[s] {
				return nil, fault.New(fault.Conflict, "API Key %s is already in usage plan %s, which covers the same API stage %s:%s", keyID, o.ID, s.APIID, s.Stage)
			}
		}
	}
	if err := k.put(ctx, linkDocPfx+planID+"."+keyID, planKeyLink{PlanID: planID, KeyID: keyID}, 0, true); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, fault.New(fault.Conflict, "Usage Plan %s already contains API Key %s", planID, keyID)
		}
		return nil, err
	}
	return planKeyOf(key), nil
}

// GetUsagePlanKeys lists the keys of plan planID by key id; nameQuery
// keeps those whose name starts with it.
func (k *Keys) GetUsagePlanKeys(ctx context.Context, planID, nameQuery string, p Page) ([]UsagePlanKey, string, error) {
	if _, _, err := k.loadPlan(ctx, planID); err != nil {
		return nil, "", err
	}
	links, err := k.kv.Keys(ctx, linkDocPfx+planID+".")
	if err != nil {
		return nil, "", fmt.Errorf("gateway: list usage plan keys: %w", err)
	}
	var out []UsagePlanKey
	for _, l := range links {
		key, _, err := k.loadKey(ctx, strings.TrimPrefix(l, linkDocPfx+planID+"."))
		if fault.Is(err, fault.NotFound) {
			continue // the key is being deleted
		}
		if err != nil {
			return nil, "", err
		}
		if strings.HasPrefix(key.Name, nameQuery) {
			out = append(out, *planKeyOf(key))
		}
	}
	return page(out, func(x UsagePlanKey) string { return x.ID }, p)
}

// GetUsagePlanKey returns key keyID as a member of plan planID.
func (k *Keys) GetUsagePlanKey(ctx context.Context, planID, keyID string) (*UsagePlanKey, error) {
	if _, _, err := k.loadPlan(ctx, planID); err != nil {
		return nil, err
	}
	if !validID(keyID) {
		return nil, fault.New(fault.NotFound, "Invalid Usage Plan Key identifier specified")
	}
	if _, err := k.kv.Get(ctx, linkDocPfx+planID+"."+keyID); errors.Is(err, store.ErrNotFound) {
		return nil, fault.New(fault.NotFound, "Invalid Usage Plan Key identifier specified")
	} else if err != nil {
		return nil, fmt.Errorf("gateway: read usage plan key: %w", err)
	}
	key, _, err := k.loadKey(ctx, keyID)
	if err != nil {
		return nil, err
	}
	return planKeyOf(key), nil
}

// DeleteUsagePlanKey removes key keyID from plan planID.
func (k *Keys) DeleteUsagePlanKey(ctx context.Context, planID, keyID string) error {
	if _, err := k.GetUsagePlanKey(ctx, planID, keyID); err != nil {
		return err
	}
	if err := k.del(ctx, linkDocPfx+planID+"."+keyID, 0); err != nil {
		return err
	}
	_ = k.kv.Delete(ctx, quotaPrefix+planID+"."+keyID, 0)
	return nil
}

func planKeyOf(key *APIKey) *UsagePlanKey {
	return &UsagePlanKey{ID: key.ID, Type: KeyTypeAPIKey, Value: key.Value, Name: key.Name}
}

// ---- the store

// put writes v under skey (create: only if absent; else only at rev, or
// unconditionally at rev 0) and applies it to the view.
func (k *Keys) put(ctx context.Context, skey string, v any, rev uint64, create bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("gateway: encode %s: %w", skey, err)
	}
	var nrev uint64
	switch {
	case create:
		nrev, err = k.kv.Create(ctx, skey, b)
	case rev > 0:
		nrev, err = k.kv.Update(ctx, skey, b, rev)
	default:
		nrev, err = k.kv.Put(ctx, skey, b)
	}
	if err != nil {
		return fmt.Errorf("gateway: write %s: %w", skey, err)
	}
	k.apply(skey, b, nrev)
	return nil
}

// del deletes skey (at rev when rev > 0) and drops it from the view. The
// delete's own revision is not returned by the store, so the view entry's
// revision is left as is: a later watch event for the delete applies too.
func (k *Keys) del(ctx context.Context, skey string, rev uint64) error {
	if err := k.kv.Delete(ctx, skey, rev); err != nil {
		return fmt.Errorf("gateway: delete %s: %w", skey, err)
	}
	k.mu.Lock()
	k.applyLocked(skey, nil)
	k.mu.Unlock()
	return nil
}

func (k *Keys) get(ctx context.Context, skey string, v any) (uint64, error) {
	e, err := k.kv.Get(ctx, skey)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
		return 0, fmt.Errorf("gateway: read %s: %w", skey, err)
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return 0, fmt.Errorf("gateway: decode %s: %w", skey, err)
	}
	return e.Revision, nil
}

func listDocs[T any](ctx context.Context, k *Keys, prefix string) ([]T, error) {
	es, err := k.kv.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("gateway: list %s: %w", prefix, err)
	}
	out := make([]T, 0, len(es))
	for _, e := range es {
		var v T
		if err := json.Unmarshal(e.Value, &v); err != nil {
			return nil, fmt.Errorf("gateway: decode %s: %w", e.Key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// valueKey names a key value's claim: hashed, since a value may hold
// characters a store key cannot.
func valueKey(v string) string {
	h := sha256.Sum256([]byte(v))
	return valuePrefix + hex.EncodeToString(h[:])
}

func checkKeyValue(v string) error {
	if len(v) < minKeyValue || len(v) > maxKeyValue {
		return badRequest("API Key value must be %d to %d characters long", minKeyValue, maxKeyValue)
	}
	for _, c := range v {
		// Printable ASCII only: the value travels in a header.
		if c <= ' ' || c > '~' {
			return badRequest("API Key value may hold printable ASCII characters only, without spaces")
		}
	}
	return nil
}

// newKeyValue is a 40-character mixed-case alphanumeric value, as AWS
// generates (62^40 values: far beyond guessing).
func newKeyValue() string {
	b := make([]byte, genKeyValue)
	// Rejection sampling keeps the characters uniform.
	for i := 0; i < len(b); {
		var r [1]byte
		_, _ = rand.Read(r[:]) // never fails
		if int(r[0]) < 256-256%len(valueAlphabet) {
			b[i] = valueAlphabet[int(r[0])%len(valueAlphabet)]
			i++
		}
	}
	return string(b)
}

func errConcurrent() error {
	return fault.New(fault.Conflict, "Unable to complete operation due to concurrent modification. Please try again later.")
}
