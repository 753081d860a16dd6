package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	apitypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestGatewayAPIKeys: a route with apiKeyRequired, an API key and a usage
// plan made through the v1 wire (raw HTTP: no v1 SDK module in go.mod),
// then real requests to the gateway with and without x-api-key, and past
// the plan's burst.
func TestGatewayAPIKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real functions")
	}
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := p.AWSConfig()
	if _, err := lambda.NewFromConfig(cfg).CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("keyed-echo"),
		Runtime:      types.RuntimeProvidedal2023,
		Role:         aws.String("arn:aws:iam::000000000000:role/e2e"),
		Handler:      aws.String("bootstrap"),
		Code:         &types.FunctionCode{ZipFile: gofnZip(t)},
	}); err != nil {
		t.Fatal(err)
	}
	gw := apigatewayv2.NewFromConfig(cfg)
	api, err := gw.CreateApi(ctx, &apigatewayv2.CreateApiInput{
		Name:         aws.String("keyed"),
		ProtocolType: apitypes.ProtocolTypeHttp,
		Target:       aws.String("arn:aws:lambda:us-east-1:000000000000:function:keyed-echo"),
	})
	if err != nil {
		t.Fatal(err)
	}
	apiID := aws.ToString(api.ApiId)
	routes, err := gw.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: api.ApiId})
	if err != nil || len(routes.Items) != 1 {
		t.Fatalf("GetRoutes = %+v, %v", routes, err)
	}
	if _, err := gw.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{
		ApiId:          api.ApiId,
		RouteKey:       aws.String("GET /keyed"),
		Target:         routes.Items[0].Target, // the quick-created integration
		ApiKeyRequired: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}

	edge := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, p.Endpoint+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	key := edge("POST", "/apikeys", `{"name":"e2e","enabled":true}`)
	value, _ := key["value"].(string)
	plan := edge("POST", "/usageplans", `{"name":"e2e","apiStages":[{"apiId":"`+apiID+`","stage":"$default"}],
		"throttle":{"burstLimit":2,"rateLimit":0.001}}`)
	edge("POST", "/usageplans/"+plan["id"].(string)+"/keys", `{"keyId":"`+key["id"].(string)+`","keyType":"API_KEY"}`)

	call := func(apiKey string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", p.GatewayURL+"/"+apiID+"/keyed", nil)
		if apiKey != "" {
			req.Header.Set("x-api-key", apiKey)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, key string
		status    int
		body      string // a substring
	}{
		{"no key", "", 403, `{"message":"Forbidden"}`},
		{"unknown key", "not-a-key-of-this-platform-00", 403, `{"message":"Forbidden"}`},
		{"key, first of the burst", value, 200, `"routeKey":"GET /keyed"`},
		{"key, second of the burst", value, 200, `"routeKey":"GET /keyed"`},
		{"key, past the burst", value, 429, `{"message":"Too Many Requests"}`},
	} {
		status, body := call(tc.key)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s: %d %s, want %d with %s", tc.name, status, body, tc.status, tc.body)
		}
	}
	// The quick-created $default route needs no key.
	req, _ := http.NewRequestWithContext(ctx, "GET", p.GatewayURL+"/"+apiID+"/open", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("route without apiKeyRequired: %d", resp.StatusCode)
	}
}
