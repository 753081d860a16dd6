package awsapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
	"github.com/lamina-dev/lamina/internal/gateway/limit"
	"github.com/lamina-dev/lamina/internal/store"
)

// No v1 apigateway SDK module is in go.mod: these tests speak the wire
// with raw HTTP and check its shapes as the model gives them.

type v1Resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func startKeysEdge(t *testing.T) (func(method, path, body string) v1Resp, *gateway.Service, *gateway.Keys) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := gateway.New(ctx, gateway.Options{Store: st, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	keys, err := gateway.NewKeys(t.Context(), gateway.KeyOptions{Store: st, Logger: quietLogger(), Defs: svc,
		Throttler: limit.NewThrottler(clock.Real{}), QuotaWindow: limit.WindowStart})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	url := serveEdge(t, awsapi.Options{Gateway: svc, APIKeys: keys, Logger: quietLogger()})
	do := func(method, path, body string) v1Resp {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		r := v1Resp{status: resp.StatusCode, header: resp.Header, raw: string(b)}
		if len(b) > 0 {
			if err := json.Unmarshal(b, &r.body); err != nil {
				t.Fatalf("%s %s: body not a JSON object: %s", method, path, b)
			}
		}
		return r
	}
	return do, svc, keys
}

func wantStatus(t *testing.T, r v1Resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
}

func wantV1Error(t *testing.T, r v1Resp, status int, errType string) {
	t.Helper()
	wantStatus(t, r, status)
	if got := r.header.Get("X-Amzn-Errortype"); got != errType {
		t.Errorf("x-amzn-ErrorType = %q, want %q", got, errType)
	}
	if m, _ := r.body["message"].(string); m == "" {
		t.Errorf("no message: %s", r.raw)
	}
}

func TestAPIKeysWire(t *testing.T) {
	do, svc, keys := startKeysEdge(t)
	ctx := t.Context()
	api, err := svc.CreateAPI(ctx, gateway.CreateAPIInput{Name: "pets", ProtocolType: "HTTP", Target: gwFn})
	if err != nil {
		t.Fatal(err)
	}
	apiID := api.API.ID

	// CreateApiKey: 201, value shown, lowerCamel members, epoch dates.
	r := do("POST", "/apikeys", `{"name":"alice","description":"d","enabled":true,"value":"alice-key-value-0123456789"}`)
	wantStatus(t, r, 201)
	keyID, _ := r.body["id"].(string)
	created, isNum := r.body["createdDate"].(float64)
	if keyID == "" || r.body["value"] != "alice-key-value-0123456789" || r.body["enabled"] != true || r.body["name"] != "alice" ||
		!isNum || time.Since(time.Unix(int64(created), 0)) > time.Minute {
		t.Fatalf("CreateApiKey = %s", r.raw)
	}
	// A key created without enabled is disabled (AWS's default) and gets a 40-character value.
	r = do("POST", "/apikeys", `{"name":"bob"}`)
	wantStatus(t, r, 201)
	if v, _ := r.body["value"].(string); len(v) != 40 || r.body["enabled"] != false {
		t.Errorf("generated key = %s", r.raw)
	}

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			method, path, body string
			status             int
			errType            string
		}{
			{"POST", "/apikeys", `{"value":"short"}`, 400, "BadRequestException"},
			{"POST", "/apikeys", `{"value":"alice-key-value-0123456789"}`, 409, "ConflictException"},
			{"POST", "/apikeys", `{"name":`, 400, "BadRequestException"},
			{"GET", "/apikeys/nope", ``, 404, "NotFoundException"},
			{"DELETE", "/apikeys/nope", ``, 404, "NotFoundException"},
			{"GET", "/apikeys?limit=0", ``, 400, "BadRequestException"},
			{"GET", "/usageplans/nope", ``, 404, "NotFoundException"},
			{"POST", "/usageplans", `{"name":"p","apiStages":[{"apiId":"` + apiID + `","stage":"nostage"}]}`, 400, "BadRequestException"},
			{"POST", "/usageplans", `{"name":"p","quota":{"limit":1,"period":"YEAR"}}`, 400, "BadRequestException"},
			{"POST", "/usageplans/nope/keys", `{"keyId":"` + keyID + `","keyType":"API_KEY"}`, 404, "NotFoundException"},
		} {
			t.Run(tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
				wantV1Error(t, do(tc.method, tc.path, tc.body), tc.status, tc.errType)
			})
		}
	})

	// GetApiKey hides the value unless includeValue=true.
	r = do("GET", "/apikeys/"+keyID, "")
	wantStatus(t, r, 200)
	if _, ok := r.body["value"]; ok {
		t.Errorf("value shown without includeValue: %s", r.raw)
	}
	r = do("GET", "/apikeys/"+keyID+"?includeValue=true", "")
	if r.body["value"] != "alice-key-value-0123456789" {
		t.Errorf("GetApiKey(includeValue) = %s", r.raw)
	}
	// GetApiKeys: {"item": [...], "position"}.
	r = do("GET", "/apikeys?limit=1", "")
	wantStatus(t, r, 200)
	items, _ := r.body["item"].([]any)
	pos, _ := r.body["position"].(string)
	if len(items) != 1 || pos == "" {
		t.Fatalf("GetApiKeys(limit=1) = %s", r.raw)
	}
	r = do("GET", "/apikeys?position="+pos+"&includeValues=true", "")
	if items, _ := r.body["item"].([]any); len(items) != 1 || items[0].(map[string]any)["value"] == nil || r.body["position"] != nil {
		t.Errorf("second page = %s", r.raw)
	}

	// UpdateApiKey with patchOperations.
	r = do("PATCH", "/apikeys/"+keyID, `{"patchOperations":[{"op":"replace","path":"/description","value":"new"}]}`)
	wantStatus(t, r, 200)
	if r.body["description"] != "new" {
		t.Errorf("UpdateApiKey = %s", r.raw)
	}

	// CreateUsagePlan over the API's $default stage.
	r = do("POST", "/usageplans", `{"name":"gold","apiStages":[{"apiId":"`+apiID+`","stage":"$default"}],
		"throttle":{"burstLimit":2,"rateLimit":0.5},"quota":{"limit":100,"offset":0,"period":"DAY"}}`)
	wantStatus(t, r, 201)
	planID, _ := r.body["id"].(string)
	stages, _ := r.body["apiStages"].([]any)
	throttle, _ := r.body["throttle"].(map[string]any)
	quota, _ := r.body["quota"].(map[string]any)
	if planID == "" || len(stages) != 1 || stages[0].(map[string]any)["apiId"] != apiID || throttle["burstLimit"] != 2.0 ||
		throttle["rateLimit"] != 0.5 || quota["period"] != "DAY" || quota["limit"] != 100.0 {
		t.Fatalf("CreateUsagePlan = %s", r.raw)
	}
	r = do("GET", "/usageplans/"+planID, "")
	if r.status != 200 || r.body["name"] != "gold" {
		t.Errorf("GetUsagePlan = %d %s", r.status, r.raw)
	}

	// CreateUsagePlanKey: 201 {id, type, value, name}; a second time 409.
	r = do("POST", "/usageplans/"+planID+"/keys", `{"keyId":"`+keyID+`","keyType":"API_KEY"}`)
	wantStatus(t, r, 201)
	if r.body["id"] != keyID || r.body["type"] != "API_KEY" || r.body["value"] != "alice-key-value-0123456789" || r.body["name"] != "alice" {
		t.Errorf("CreateUsagePlanKey = %s", r.raw)
	}
	wantV1Error(t, do("POST", "/usageplans/"+planID+"/keys", `{"keyId":"`+keyID+`","keyType":"API_KEY"}`), 409, "ConflictException")
	r = do("GET", "/usageplans/"+planID+"/keys", "")
	if items, _ := r.body["item"].([]any); r.status != 200 || len(items) != 1 {
		t.Errorf("GetUsagePlanKeys = %s", r.raw)
	}
	r = do("GET", "/usageplans?keyId="+keyID, "")
	if items, _ := r.body["item"].([]any); r.status != 200 || len(items) != 1 {
		t.Errorf("GetUsagePlans(keyId) = %s", r.raw)
	}

	// The data plane admits the key now, on this stage only.
	if st, msg := keys.Check(ctx, "alice-key-value-0123456789", apiID, "$default"); st != 0 {
		t.Errorf("Check = %d %s", st, msg)
	}
	if st, _ := keys.Check(ctx, "alice-key-value-0123456789", apiID, "other"); st != 403 {
		t.Errorf("Check on a stage not in the plan = %d", st)
	}

	// Deletes answer 202 with no body.
	wantStatus(t, do("DELETE", "/usageplans/"+planID+"/keys/"+keyID, ""), 202)
	wantV1Error(t, do("GET", "/usageplans/"+planID+"/keys/"+keyID, ""), 404, "NotFoundException")
	if st, _ := keys.Check(ctx, "alice-key-value-0123456789", apiID, "$default"); st != 403 {
		t.Errorf("Check after removal from the plan = %d", st)
	}
	wantStatus(t, do("DELETE", "/usageplans/"+planID, ""), 202)
	wantStatus(t, do("DELETE", "/apikeys/"+keyID, ""), 202)
	wantV1Error(t, do("GET", "/apikeys/"+keyID, ""), 404, "NotFoundException")
}

// TestAPIKeysWireDisabled: an edge without a key service says so.
func TestAPIKeysWireDisabled(t *testing.T) {
	url := serveEdge(t, awsapi.Options{Logger: quietLogger()})
	resp, err := http.Post(url+"/apikeys", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "BadRequestException" || !strings.Contains(string(b), "not enabled") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}
