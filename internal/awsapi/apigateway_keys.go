package awsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/gateway"
)

// API keys and usage plans: the subset of the API Gateway REST API (v1)
// control plane that HTTP API routes with apiKeyRequired need (paths,
// lowerCamel members and codes from the apigateway model; lists are
// {"item": [...], "position"}, timestamps epoch seconds; errors as the v2
// plane's: {"message"} with x-amzn-ErrorType).
//
// Lamina extension: in AWS a usage plan's apiStages name REST APIs; here
// they name HTTP APIs (the v2 apiId) and their stages, since those are
// the APIs Lamina serves. Everything else is AWS's shape, so the v1 SDKs
// and the CLI's `aws apigateway create-api-key` etc. work unchanged.

// APIKeyService is what these operations need; *gateway.Keys satisfies it.
type APIKeyService interface {
	CreateAPIKey(ctx context.Context, in gateway.APIKeyInput) (*gateway.APIKey, error)
	GetAPIKey(ctx context.Context, id string) (*gateway.APIKey, error)
	GetAPIKeys(ctx context.Context, nameQuery, customerID string, p gateway.Page) ([]gateway.APIKey, string, error)
	UpdateAPIKey(ctx context.Context, id string, ops []gateway.PatchOp) (*gateway.APIKey, error)
	DeleteAPIKey(ctx context.Context, id string) error

	CreateUsagePlan(ctx context.Context, in gateway.UsagePlanInput) (*gateway.UsagePlan, error)
	GetUsagePlan(ctx context.Context, id string) (*gateway.UsagePlan, error)
	GetUsagePlans(ctx context.Context, keyID string, p gateway.Page) ([]gateway.UsagePlan, string, error)
	UpdateUsagePlan(ctx context.Context, id string, ops []gateway.PatchOp) (*gateway.UsagePlan, error)
	DeleteUsagePlan(ctx context.Context, id string) error

	CreateUsagePlanKey(ctx context.Context, planID, keyID, keyType string) (*gateway.UsagePlanKey, error)
	GetUsagePlanKey(ctx context.Context, planID, keyID string) (*gateway.UsagePlanKey, error)
	GetUsagePlanKeys(ctx context.Context, planID, nameQuery string, p gateway.Page) ([]gateway.UsagePlanKey, string, error)
	DeleteUsagePlanKey(ctx context.Context, planID, keyID string) error
}

var _ APIKeyService = (*gateway.Keys)(nil)

// v1 list paging: limit 1-500, default 25.
const (
	keysDefaultLimit = 25
	keysMaxLimit     = 500
)

// routeAPIKeys registers the API key and usage plan operations.
func (a *API) routeAPIKeys() {
	const key = "/apikeys/{api_Key}"
	const plan = "/usageplans/{usageplanId}"
	for _, rt := range []struct {
		pattern, op string
		h           handlerFunc
	}{
		{"POST /apikeys", "CreateApiKey", a.createAPIKey},
		{"GET /apikeys", "GetApiKeys", a.getAPIKeys},
		{"GET " + key, "GetApiKey", a.getAPIKey},
		{"PATCH " + key, "UpdateApiKey", a.updateAPIKey},
		{"DELETE " + key, "DeleteApiKey", a.deleteAPIKey},

		{"POST /usageplans", "CreateUsagePlan", a.createUsagePlan},
		{"GET /usageplans", "GetUsagePlans", a.getUsagePlans},
		{"GET " + plan, "GetUsagePlan", a.getUsagePlan},
		{"PATCH " + plan, "UpdateUsagePlan", a.updateUsagePlan},
		{"DELETE " + plan, "DeleteUsagePlan", a.deleteUsagePlan},

		{"POST " + plan + "/keys", "CreateUsagePlanKey", a.createUsagePlanKey},
		{"GET " + plan + "/keys", "GetUsagePlanKeys", a.getUsagePlanKeys},
		{"GET " + plan + "/keys/{keyId}", "GetUsagePlanKey", a.getUsagePlanKey},
		{"DELETE " + plan + "/keys/{keyId}", "DeleteUsagePlanKey", a.deleteUsagePlanKey},
	} {
		a.mux.Handle(rt.pattern, a.wrap(rt.op, gatewayBodyLimit, a.apiKeysEnabled(rt.h), a.renderGatewayError))
	}
}

func (a *API) apiKeysEnabled(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		if a.opts.APIKeys == nil {
			return newAPIError(errGWBadRequest, "API keys are not enabled on this Lamina server.")
		}
		return h(w, r, c)
	}
}

// keysPage reads v1's limit and position.
func keysPage(r *http.Request) (gateway.Page, error) {
	q := r.URL.Query()
	p := gateway.Page{MaxResults: keysDefaultLimit, NextToken: q.Get("position")}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > keysMaxLimit {
			return p, fault.New(fault.Invalid, "Invalid limit %q: must be 1 to %d", s, keysMaxLimit)
		}
		p.MaxResults = n
	}
	return p, nil
}

// v1List is every v1 list: the model names the member items but
// serialises it as "item".
type v1List[T any] struct {
	Item     []T    `json:"item"`
	Position string `json:"position,omitempty"`
}

func epoch(t time.Time) int64 { return t.Unix() }

// ---- API keys

type apiKeyWire struct {
	ID              string            `json:"id"`
	Value           string            `json:"value,omitempty"`
	Name            string            `json:"name,omitempty"`
	CustomerID      string            `json:"customerId,omitempty"`
	Description     string            `json:"description,omitempty"`
	Enabled         bool              `json:"enabled"`
	CreatedDate     int64             `json:"createdDate"`
	LastUpdatedDate int64             `json:"lastUpdatedDate"`
	StageKeys       []string          `json:"stageKeys"`
	Tags            map[string]string `json:"tags,omitempty"`
}

func apiKeyOut(k *gateway.APIKey, withValue bool) apiKeyWire {
	o := apiKeyWire{
		ID: k.ID, Name: k.Name, CustomerID: k.CustomerID, Description: k.Description, Enabled: k.Enabled,
		CreatedDate: epoch(k.CreatedDate), LastUpdatedDate: epoch(k.LastUpdatedDate), StageKeys: []string{}, Tags: k.Tags,
	}
	if withValue {
		o.Value = k.Value
	}
	return o
}

type createAPIKeyRequest struct {
	Name               string            `json:"name"`
	Description        string            `json:"description"`
	Enabled            bool              `json:"enabled"` // AWS's default: false
	GenerateDistinctID bool              `json:"generateDistinctId"`
	Value              string            `json:"value"`
	StageKeys          []json1StageKey   `json:"stageKeys"`
	CustomerID         string            `json:"customerId"`
	Tags               map[string]string `json:"tags"`
}

// json1StageKey is the deprecated stageKeys item, refused: it names REST
// API stages, which Lamina has none of (use usage plans).
type json1StageKey struct {
	RestAPIID string `json:"restApiId"`
	StageName string `json:"stageName"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var req createAPIKeyRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if len(req.StageKeys) > 0 {
		return fault.New(fault.Invalid, "stageKeys are not supported: add the key to a usage plan instead")
	}
	k, err := a.opts.APIKeys.CreateAPIKey(r.Context(), gateway.APIKeyInput{
		Name: req.Name, Description: req.Description, Value: req.Value, CustomerID: req.CustomerID,
		Enabled: req.Enabled, Tags: req.Tags,
	})
	if err != nil {
		return err
	}
	// The creator sees the value, as in AWS.
	return writeJSON(w, http.StatusCreated, apiKeyOut(k, true))
}

func (a *API) getAPIKey(w http.ResponseWriter, r *http.Request, _ *call) error {
	k, err := a.opts.APIKeys.GetAPIKey(r.Context(), r.PathValue("api_Key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiKeyOut(k, r.URL.Query().Get("includeValue") == "true"))
}

func (a *API) getAPIKeys(w http.ResponseWriter, r *http.Request, _ *call) error {
	p, err := keysPage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ks, next, err := a.opts.APIKeys.GetAPIKeys(r.Context(), q.Get("name"), q.Get("customerId"), p)
	if err != nil {
		return err
	}
	out := v1List[apiKeyWire]{Item: make([]apiKeyWire, 0, len(ks)), Position: next}
	for i := range ks {
		out.Item = append(out.Item, apiKeyOut(&ks[i], q.Get("includeValues") == "true"))
	}
	return writeJSON(w, http.StatusOK, out)
}

type patchRequest struct {
	PatchOperations []gateway.PatchOp `json:"patchOperations"`
}

func (a *API) updateAPIKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var req patchRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	k, err := a.opts.APIKeys.UpdateAPIKey(r.Context(), r.PathValue("api_Key"), req.PatchOperations)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiKeyOut(k, false))
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.APIKeys.DeleteAPIKey(r.Context(), r.PathValue("api_Key")); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusAccepted)
}

// ---- usage plans

type usagePlanWire struct {
	ID          string                `json:"id"`
	Name        string                `json:"name"`
	Description string                `json:"description,omitempty"`
	APIStages   []gateway.APIStage    `json:"apiStages"`
	Throttle    *gateway.PlanThrottle `json:"throttle,omitempty"`
	Quota       *gateway.PlanQuota    `json:"quota,omitempty"`
	Tags        map[string]string     `json:"tags,omitempty"`
}

func usagePlanOut(p *gateway.UsagePlan) usagePlanWire {
	o := usagePlanWire{ID: p.ID, Name: p.Name, Description: p.Description, APIStages: p.APIStages,
		Throttle: p.Throttle, Quota: p.Quota, Tags: p.Tags}
	if o.APIStages == nil {
		o.APIStages = []gateway.APIStage{}
	}
	return o
}

type createUsagePlanRequest struct {
	Name        string                `json:"name"`
	Description string                `json:"description"`
	APIStages   []apiStageWire        `json:"apiStages"`
	Throttle    *gateway.PlanThrottle `json:"throttle"`
	Quota       *gateway.PlanQuota    `json:"quota"`
	Tags        map[string]string     `json:"tags"`
}

type apiStageWire struct {
	APIID    string          `json:"apiId"`
	Stage    string          `json:"stage"`
	Throttle json.RawMessage `json:"throttle"`
}

func (a *API) createUsagePlan(w http.ResponseWriter, r *http.Request, c *call) error {
	var req createUsagePlanRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	stages := make([]gateway.APIStage, 0, len(req.APIStages))
	for _, s := range req.APIStages {
		if len(s.Throttle) > 0 && string(s.Throttle) != "null" && string(s.Throttle) != "{}" {
			return fault.New(fault.Unsupported, "Per-method throttling in apiStages is not supported; use the plan's throttle or the stage's route settings")
		}
		stages = append(stages, gateway.APIStage{APIID: s.APIID, Stage: s.Stage})
	}
	p, err := a.opts.APIKeys.CreateUsagePlan(r.Context(), gateway.UsagePlanInput{
		Name: req.Name, Description: req.Description, APIStages: stages,
		Throttle: req.Throttle, Quota: req.Quota, Tags: req.Tags,
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, usagePlanOut(p))
}

func (a *API) getUsagePlan(w http.ResponseWriter, r *http.Request, _ *call) error {
	p, err := a.opts.APIKeys.GetUsagePlan(r.Context(), r.PathValue("usageplanId"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, usagePlanOut(p))
}

func (a *API) updateUsagePlan(w http.ResponseWriter, r *http.Request, c *call) error {
	var req patchRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	p, err := a.opts.APIKeys.UpdateUsagePlan(r.Context(), r.PathValue("usageplanId"), req.PatchOperations)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, usagePlanOut(p))
}

func (a *API) getUsagePlans(w http.ResponseWriter, r *http.Request, _ *call) error {
	pg, err := keysPage(r)
	if err != nil {
		return err
	}
	ps, next, err := a.opts.APIKeys.GetUsagePlans(r.Context(), r.URL.Query().Get("keyId"), pg)
	if err != nil {
		return err
	}
	out := v1List[usagePlanWire]{Item: make([]usagePlanWire, 0, len(ps)), Position: next}
	for i := range ps {
		out.Item = append(out.Item, usagePlanOut(&ps[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteUsagePlan(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.APIKeys.DeleteUsagePlan(r.Context(), r.PathValue("usageplanId")); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusAccepted)
}

// ---- usage plan keys

type createUsagePlanKeyRequest struct {
	KeyID   string `json:"keyId"`
	KeyType string `json:"keyType"`
}

func (a *API) createUsagePlanKey(w http.ResponseWriter, r *http.Request, c *call) error {
	var req createUsagePlanKeyRequest
	if err := decodeJSON(r, c, &req); err != nil {
		return err
	}
	if req.KeyID == "" {
		return fault.New(fault.Invalid, "keyId is required")
	}
	k, err := a.opts.APIKeys.CreateUsagePlanKey(r.Context(), r.PathValue("usageplanId"), req.KeyID, req.KeyType)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, k)
}

func (a *API) getUsagePlanKey(w http.ResponseWriter, r *http.Request, _ *call) error {
	k, err := a.opts.APIKeys.GetUsagePlanKey(r.Context(), r.PathValue("usageplanId"), r.PathValue("keyId"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, k)
}

func (a *API) getUsagePlanKeys(w http.ResponseWriter, r *http.Request, _ *call) error {
	pg, err := keysPage(r)
	if err != nil {
		return err
	}
	ks, next, err := a.opts.APIKeys.GetUsagePlanKeys(r.Context(), r.PathValue("usageplanId"), r.URL.Query().Get("nameQuery"), pg)
	if err != nil {
		return err
	}
	if ks == nil {
		ks = []gateway.UsagePlanKey{}
	}
	return writeJSON(w, http.StatusOK, v1List[gateway.UsagePlanKey]{Item: ks, Position: next})
}

func (a *API) deleteUsagePlanKey(w http.ResponseWriter, r *http.Request, _ *call) error {
	if err := a.opts.APIKeys.DeleteUsagePlanKey(r.Context(), r.PathValue("usageplanId"), r.PathValue("keyId")); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusAccepted)
}
