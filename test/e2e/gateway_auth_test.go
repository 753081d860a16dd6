package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	apitypes "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestGatewayAuthLimitsPayloads drives the HTTP API gateway end to end
// with real HTTP clients and real aws-lambda-go functions: JWT authorizers
// against a JWKS served by a test issuer, a Go Lambda REQUEST authorizer
// (allow, deny, missing identity, cached results), stage throttling,
// request validation by JSON Schema models and required parameters, the
// integration timeout, and payload details (1.0 binary bodies and
// multi-value headers, 2.0 cookies).
func TestGatewayAuthLimitsPayloads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real functions")
	}
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := p.AWSConfig()
	lc := lambda.NewFromConfig(cfg)
	gw := apigatewayv2.NewFromConfig(cfg)
	code := gofnZip(t)
	authzRecords := filepath.Join(recordDir(t), "authz")

	for name, env := range map[string]map[string]string{
		"ga-echo": nil,
		// Payload 1.0 needs a proxy response: the event comes back as its body.
		"ga-echo-proxy": {"ECHO_PROXY": "1"},
		"ga-authz":      {"AUTHORIZER": "simple", "RECORD_FILE": authzRecords},
		"ga-slow":       {"SLEEP_MS": "2000"},
	} {
		if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(name),
			Runtime:      types.RuntimeProvidedal2023,
			Role:         aws.String("arn:aws:iam::000000000000:role/e2e"),
			Handler:      aws.String("bootstrap"),
			Code:         &types.FunctionCode{ZipFile: code},
			Timeout:      aws.Int32(10),
			Environment:  &types.Environment{Variables: env},
		}); err != nil {
			t.Fatal(err)
		}
	}
	arn := func(name string) string { return "arn:aws:lambda:us-east-1:000000000000:function:" + name }

	// newAPI creates an HTTP API with an auto-deployed $default stage and
	// returns its id.
	newAPI := func(t *testing.T, name string, cors *apitypes.Cors) string {
		t.Helper()
		api, err := gw.CreateApi(ctx, &apigatewayv2.CreateApiInput{
			Name:              aws.String(name),
			ProtocolType:      apitypes.ProtocolTypeHttp,
			CorsConfiguration: cors,
		})
		if err != nil {
			t.Fatal(err)
		}
		id := aws.ToString(api.ApiId)
		if _, err := gw.CreateStage(ctx, &apigatewayv2.CreateStageInput{
			ApiId:      aws.String(id),
			StageName:  aws.String("$default"),
			AutoDeploy: aws.Bool(true),
		}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	newIntegration := func(t *testing.T, apiID, fn, format string, timeoutMillis int32) string {
		t.Helper()
		in := &apigatewayv2.CreateIntegrationInput{
			ApiId:                aws.String(apiID),
			IntegrationType:      apitypes.IntegrationTypeAwsProxy,
			IntegrationUri:       aws.String(arn(fn)),
			PayloadFormatVersion: aws.String(format),
		}
		if timeoutMillis > 0 {
			in.TimeoutInMillis = aws.Int32(timeoutMillis)
		}
		out, err := gw.CreateIntegration(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return "integrations/" + aws.ToString(out.IntegrationId)
	}
	newRoute := func(t *testing.T, in *apigatewayv2.CreateRouteInput) {
		t.Helper()
		if _, err := gw.CreateRoute(ctx, in); err != nil {
			t.Fatalf("CreateRoute %s: %v", aws.ToString(in.RouteKey), err)
		}
	}
	call := func(t *testing.T, method, path string, header http.Header, body []byte) (*http.Response, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, p.GatewayURL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// expectMessage checks an API Gateway error answer: status and
	// {"message": msg} exactly.
	expectMessage := func(t *testing.T, what string, resp *http.Response, body []byte, status int, msg string) {
		t.Helper()
		var m map[string]any
		if resp.StatusCode != status || json.Unmarshal(body, &m) != nil || m["message"] != msg {
			t.Errorf("%s: got %d %s, want %d {\"message\":%q}", what, resp.StatusCode, body, status, msg)
		}
	}

	const origin = "https://app.example"
	cors := &apitypes.Cors{AllowOrigins: []string{origin}, AllowMethods: []string{"GET", "POST"}, AllowHeaders: []string{"authorization", "x-auth"}}

	t.Run("JWT authorizer", func(t *testing.T) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		const kid = "test-key-1"
		var issuer string
		mux := http.NewServeMux()
		mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "jwks_uri": issuer + "/keys"})
		})
		mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
				"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
				"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
			}}})
		})
		srv := httptest.NewServer(mux)
		defer srv.Close()
		issuer = srv.URL

		apiID := newAPI(t, "jwt", cors)
		az, err := gw.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{
			ApiId:            aws.String(apiID),
			Name:             aws.String("jwt"),
			AuthorizerType:   apitypes.AuthorizerTypeJwt,
			IdentitySource:   []string{"$request.header.Authorization"},
			JwtConfiguration: &apitypes.JWTConfiguration{Issuer: aws.String(issuer), Audience: []string{"lamina-test"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		newRoute(t, &apigatewayv2.CreateRouteInput{
			ApiId:               aws.String(apiID),
			RouteKey:            aws.String("GET /me"),
			Target:              aws.String(newIntegration(t, apiID, "ga-echo", "2.0", 0)),
			AuthorizationType:   apitypes.AuthorizationTypeJwt,
			AuthorizerId:        az.AuthorizerId,
			AuthorizationScopes: []string{"read"},
		})

		sign := func(claims jwt.MapClaims) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
			tok.Header["kid"] = kid
			s, err := tok.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		now := time.Now()
		claims := func(aud, scope string, exp time.Time) jwt.MapClaims {
			return jwt.MapClaims{
				"iss": issuer, "sub": "user-123", "aud": aud, "scope": scope,
				"iat": now.Add(-2 * time.Minute).Unix(), "exp": exp.Unix(),
			}
		}
		path := "/" + apiID + "/me"
		bearer := func(tok string) http.Header {
			return http.Header{"Authorization": {"Bearer " + tok}, "Origin": {origin}}
		}

		resp, body := call(t, "GET", path, bearer(sign(claims("lamina-test", "read write", now.Add(time.Hour)))), nil)
		if resp.StatusCode != 200 {
			t.Fatalf("valid token: %d %s", resp.StatusCode, body)
		}
		var ev struct {
			RequestContext struct {
				Authorizer struct {
					JWT struct {
						Claims map[string]string `json:"claims"`
						Scopes []string          `json:"scopes"`
					} `json:"jwt"`
				} `json:"authorizer"`
			} `json:"requestContext"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		jc := ev.RequestContext.Authorizer.JWT
		if jc.Claims["sub"] != "user-123" || jc.Claims["iss"] != issuer || !slices.Contains(jc.Scopes, "read") {
			t.Errorf("requestContext.authorizer.jwt = %+v (event %s)", jc, body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("valid token: Access-Control-Allow-Origin = %q", got)
		}

		for _, c := range []struct {
			what   string
			header http.Header
			status int
			msg    string
			wwwErr string // the www-authenticate error AWS sends, if any
		}{
			{"expired", bearer(sign(claims("lamina-test", "read", now.Add(-time.Minute)))), 401, "Unauthorized", "invalid_token"},
			{"wrong audience", bearer(sign(claims("someone-else", "read", now.Add(time.Hour)))), 401, "Unauthorized", "invalid_token"},
			{"missing scope", bearer(sign(claims("lamina-test", "write", now.Add(time.Hour)))), 403, "Forbidden", "insufficient_scope"},
			{"no token", http.Header{"Origin": {origin}}, 401, "Unauthorized", ""},
		} {
			resp, body := call(t, "GET", path, c.header, nil)
			expectMessage(t, c.what, resp, body, c.status, c.msg)
			if www := resp.Header.Get("Www-Authenticate"); c.wwwErr != "" && !strings.Contains(www, `error="`+c.wwwErr+`"`) {
				t.Errorf("%s: www-authenticate = %q, want error=%q", c.what, www, c.wwwErr)
			}
			// Denials still carry the API's CORS headers.
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("%s: Access-Control-Allow-Origin = %q on a %d", c.what, got, resp.StatusCode)
			}
		}
		// A token signed by another key (same kid) is refused too.
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		forged := jwt.NewWithClaims(jwt.SigningMethodRS256, claims("lamina-test", "read", now.Add(time.Hour)))
		forged.Header["kid"] = kid
		fs, err := forged.SignedString(other)
		if err != nil {
			t.Fatal(err)
		}
		resp, body = call(t, "GET", path, bearer(fs), nil)
		expectMessage(t, "forged signature", resp, body, 401, "Unauthorized")

		// The "Bearer " prefix is optional, as on AWS.
		resp, body = call(t, "GET", path, http.Header{"Authorization": {sign(claims("lamina-test", "read", now.Add(time.Hour)))}}, nil)
		if resp.StatusCode != 200 {
			t.Errorf("token without Bearer: %d %s", resp.StatusCode, body)
		}
		// A CORS preflight is answered by the gateway, before authorization.
		resp, body = call(t, "OPTIONS", path, http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"GET"}}, nil)
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Errorf("preflight on a JWT route: %d %v %s", resp.StatusCode, resp.Header, body)
		}
	})

	t.Run("Lambda authorizer", func(t *testing.T) {
		apiID := newAPI(t, "lambda-auth", cors)
		az, err := gw.CreateAuthorizer(ctx, &apigatewayv2.CreateAuthorizerInput{
			ApiId:                          aws.String(apiID),
			Name:                           aws.String("simple"),
			AuthorizerType:                 apitypes.AuthorizerTypeRequest,
			AuthorizerUri:                  aws.String("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + arn("ga-authz") + "/invocations"),
			AuthorizerPayloadFormatVersion: aws.String("2.0"),
			EnableSimpleResponses:          aws.Bool(true),
			IdentitySource:                 []string{"$request.header.X-Auth"},
			AuthorizerResultTtlInSeconds:   aws.Int32(300),
		})
		if err != nil {
			t.Fatal(err)
		}
		newRoute(t, &apigatewayv2.CreateRouteInput{
			ApiId:             aws.String(apiID),
			RouteKey:          aws.String("GET /who"),
			Target:            aws.String(newIntegration(t, apiID, "ga-echo", "2.0", 0)),
			AuthorizationType: apitypes.AuthorizationTypeCustom,
			AuthorizerId:      az.AuthorizerId,
		})
		path := "/" + apiID + "/who"

		for i := range 3 {
			resp, body := call(t, "GET", path, http.Header{"X-Auth": {"allow"}}, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("allow #%d: %d %s", i, resp.StatusCode, body)
			}
			var ev struct {
				RequestContext struct {
					Authorizer struct {
						Lambda map[string]any `json:"lambda"`
					} `json:"authorizer"`
				} `json:"requestContext"`
			}
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if ev.RequestContext.Authorizer.Lambda["user"] != "u1" {
				t.Errorf("allow #%d: requestContext.authorizer.lambda = %v (event %s)", i, ev.RequestContext.Authorizer.Lambda, body)
			}
		}
		for i := range 2 {
			resp, body := call(t, "GET", path, http.Header{"X-Auth": {"deny"}, "Origin": {origin}}, nil)
			expectMessage(t, "deny", resp, body, 403, "Forbidden")
			if i == 0 && resp.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Errorf("deny: no CORS headers: %v", resp.Header)
			}
		}
		resp, body := call(t, "GET", path, nil, nil)
		expectMessage(t, "missing identity", resp, body, 401, "Unauthorized")

		// Caching: one invocation per identity within the TTL (denials
		// cached too, as AWS caches whatever the function answered); the
		// missing identity never ran the function.
		b, err := os.ReadFile(authzRecords)
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for line := range strings.Lines(string(b)) {
			count[strings.TrimSpace(line)]++
		}
		if count[`"allow"`] != 1 || count[`"deny"`] != 1 || len(count) != 2 {
			t.Errorf("authorizer invocations by identity = %v, want allow and deny once each", count)
		}
	})

	t.Run("throttling", func(t *testing.T) {
		apiID := newAPI(t, "throttled", nil)
		target := newIntegration(t, apiID, "ga-echo", "2.0", 0)
		for _, k := range []string{"GET /t", "GET /u", "GET /one"} {
			newRoute(t, &apigatewayv2.CreateRouteInput{ApiId: aws.String(apiID), RouteKey: aws.String(k), Target: aws.String(target)})
		}
		// RouteSettings may only name existing routes, hence an update.
		if _, err := gw.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{
			ApiId:                aws.String(apiID),
			StageName:            aws.String("$default"),
			DefaultRouteSettings: &apitypes.RouteSettings{ThrottlingBurstLimit: aws.Int32(2), ThrottlingRateLimit: aws.Float64(0.001)},
			RouteSettings:        map[string]apitypes.RouteSettings{"GET /one": {ThrottlingBurstLimit: aws.Int32(1)}},
		}); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if resp, body := call(t, "GET", "/"+apiID+"/t", nil, nil); resp.StatusCode != 200 {
				t.Fatalf("call %d within the burst: %d %s", i+1, resp.StatusCode, body)
			}
		}
		resp, body := call(t, "GET", "/"+apiID+"/t", nil, nil)
		if resp.StatusCode != 429 || strings.TrimSpace(string(body)) != `{"message":"Too Many Requests"}` {
			t.Errorf("third call: %d %s, want 429 {\"message\":\"Too Many Requests\"}", resp.StatusCode, body)
		}
		// DefaultRouteSettings give each route its own bucket.
		if resp, body := call(t, "GET", "/"+apiID+"/u", nil, nil); resp.StatusCode != 200 {
			t.Errorf("another route: %d %s", resp.StatusCode, body)
		}
		// A RouteSettings entry overrides the burst for its route.
		if resp, body := call(t, "GET", "/"+apiID+"/one", nil, nil); resp.StatusCode != 200 {
			t.Errorf("GET /one first: %d %s", resp.StatusCode, body)
		}
		resp, body = call(t, "GET", "/"+apiID+"/one", nil, nil)
		expectMessage(t, "GET /one second", resp, body, 429, "Too Many Requests")
	})

	t.Run("validation", func(t *testing.T) {
		apiID := newAPI(t, "validated", nil)
		if _, err := gw.CreateModel(ctx, &apigatewayv2.CreateModelInput{
			ApiId:       aws.String(apiID),
			Name:        aws.String("Pet"),
			ContentType: aws.String("application/json"),
			Schema: aws.String(`{"$schema":"http://json-schema.org/draft-04/schema#","type":"object",` +
				`"required":["name"],"properties":{"name":{"type":"string"}}}`),
		}); err != nil {
			t.Fatal(err)
		}
		newRoute(t, &apigatewayv2.CreateRouteInput{
			ApiId:             aws.String(apiID),
			RouteKey:          aws.String("POST /pets"),
			Target:            aws.String(newIntegration(t, apiID, "ga-echo", "2.0", 0)),
			RequestModels:     map[string]string{"application/json": "Pet"},
			RequestParameters: map[string]apitypes.ParameterConstraints{"method.request.querystring.owner": {Required: aws.Bool(true)}},
		})
		jsonCT := http.Header{"Content-Type": {"application/json"}}
		path := "/" + apiID + "/pets"

		for _, c := range []struct{ what, query, body string }{
			{"name not a string", "?owner=ann", `{"name":5}`},
			{"name missing", "?owner=ann", `{"kind":"cat"}`},
			{"not JSON", "?owner=ann", `{"name":`},
		} {
			resp, body := call(t, "POST", path+c.query, jsonCT, []byte(c.body))
			if resp.StatusCode != 400 || !strings.Contains(string(body), "Invalid request body") {
				t.Errorf("%s: %d %s, want 400 Invalid request body", c.what, resp.StatusCode, body)
			}
			// The model is chosen by media type, parameters aside.
			resp, body = call(t, "POST", path+c.query, http.Header{"Content-Type": {"application/json; charset=utf-8"}}, []byte(c.body))
			if resp.StatusCode != 400 || !strings.Contains(string(body), "Invalid request body") {
				t.Errorf("%s: %d %s, want 400 Invalid request body", c.what, resp.StatusCode, body)
			}
		}
		resp, body := call(t, "POST", path, jsonCT, []byte(`{"name":"rex"}`))
		expectMessage(t, "missing query parameter", resp, body, 400, "Missing required request parameters: [owner]")
		resp, body = call(t, "POST", path+"?owner=", jsonCT, []byte(`{"name":"rex"}`))
		expectMessage(t, "blank query parameter", resp, body, 400, "Missing required request parameters: [owner]")
		resp, body = call(t, "POST", path+"?owner=ann", jsonCT, []byte(`{"name":"rex"}`))
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"rawQueryString":"owner=ann"`) {
			t.Errorf("valid request: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("integration timeout", func(t *testing.T) {
		apiID := newAPI(t, "slow", nil)
		newRoute(t, &apigatewayv2.CreateRouteInput{
			ApiId: aws.String(apiID), RouteKey: aws.String("GET /slow"),
			Target: aws.String(newIntegration(t, apiID, "ga-slow", "2.0", 500)),
		})
		newRoute(t, &apigatewayv2.CreateRouteInput{
			ApiId: aws.String(apiID), RouteKey: aws.String("GET /patient"),
			Target: aws.String(newIntegration(t, apiID, "ga-slow", "2.0", 15000)),
		})
		start := time.Now()
		resp, body := call(t, "GET", "/"+apiID+"/slow", nil, nil)
		elapsed := time.Since(start)
		// HTTP APIs answer an integration timeout with 503 (REST APIs 504).
		expectMessage(t, "integration timeout", resp, body, 503, "Service Unavailable")
		if elapsed > 1900*time.Millisecond {
			t.Errorf("the 500 ms integration timeout answered after %v", elapsed)
		}
		// The same function with room to finish answers: the 503 was the timeout's.
		if resp, body := call(t, "GET", "/"+apiID+"/patient", nil, nil); resp.StatusCode != 200 {
			t.Errorf("long timeout: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("payloads", func(t *testing.T) {
		apiID := newAPI(t, "payloads", nil)
		newRoute(t, &apigatewayv2.CreateRouteInput{
			ApiId: aws.String(apiID), RouteKey: aws.String("POST /v1/bin"),
			Target: aws.String(newIntegration(t, apiID, "ga-echo-proxy", "1.0", 0)),
		})
		v2 := newIntegration(t, apiID, "ga-echo", "2.0", 0)
		newRoute(t, &apigatewayv2.CreateRouteInput{
			ApiId: aws.String(apiID), RouteKey: aws.String("ANY /v2/{proxy+}"), Target: aws.String(v2),
		})
		png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0x0d, 'I', 'H', 'D', 'R', 0xff, 0xfe, 0x00, 0x80}
		want64 := base64.StdEncoding.EncodeToString(png)

		t.Run("1.0 binary body and multi-value headers", func(t *testing.T) {
			resp, body := call(t, "POST", "/"+apiID+"/v1/bin", http.Header{
				"Content-Type": {"image/png"},
				"X-Multi":      {"first", "second"},
			}, png)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var ev struct {
				Version           string              `json:"version"`
				Body              string              `json:"body"`
				IsBase64Encoded   bool                `json:"isBase64Encoded"`
				Headers           map[string]string   `json:"headers"`
				MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
				HTTPMethod        string              `json:"httpMethod"`
				Resource          string              `json:"resource"`
			}
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if ev.Version != "1.0" || ev.HTTPMethod != "POST" || ev.Resource != "/v1/bin" {
				t.Errorf("event = %s", body)
			}
			if !ev.IsBase64Encoded || ev.Body != want64 {
				t.Errorf("body = %q (isBase64Encoded %v), want %q base64", ev.Body, ev.IsBase64Encoded, want64)
			}
			if got := ev.MultiValueHeaders["x-multi"]; !slices.Equal(got, []string{"first", "second"}) {
				t.Errorf("multiValueHeaders[x-multi] = %q (all: %v)", got, ev.MultiValueHeaders)
			}
			if got := ev.Headers["x-multi"]; got != "second" {
				t.Errorf("headers[x-multi] = %q, want the last value", got)
			}
		})

		t.Run("2.0 cookies, binary body, joined headers", func(t *testing.T) {
			resp, body := call(t, "POST", "/"+apiID+"/v2/c", http.Header{
				"Content-Type": {"image/png"},
				"Cookie":       {"session=abc; theme=dark"},
				"X-Multi":      {"first", "second"},
			}, png)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var ev struct {
				Cookies         []string          `json:"cookies"`
				Headers         map[string]string `json:"headers"`
				Body            string            `json:"body"`
				IsBase64Encoded bool              `json:"isBase64Encoded"`
			}
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if !slices.Equal(ev.Cookies, []string{"session=abc", "theme=dark"}) {
				t.Errorf("cookies = %q", ev.Cookies)
			}
			if _, ok := ev.Headers["cookie"]; ok {
				t.Errorf("2.0 headers still carry cookie: %v", ev.Headers)
			}
			if ev.Headers["x-multi"] != "first,second" {
				t.Errorf("headers[x-multi] = %q, want first,second", ev.Headers["x-multi"])
			}
			if !ev.IsBase64Encoded || ev.Body != want64 {
				t.Errorf("body = %q (isBase64Encoded %v), want %q base64", ev.Body, ev.IsBase64Encoded, want64)
			}

			// Two Cookie header lines: every pair of both, in order.
			resp, body = call(t, "GET", "/"+apiID+"/v2/c", http.Header{"Cookie": {"a=1", "b=2; c=3"}}, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			ev.Cookies = nil
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			if !slices.Equal(ev.Cookies, []string{"a=1", "b=2", "c=3"}) {
				t.Errorf("cookies of two Cookie lines = %q", ev.Cookies)
			}
		})
	})
}
