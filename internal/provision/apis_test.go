package provision

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/golang-jwt/jwt/v5"

	"github.com/lamina-dev/lamina/internal/deploy"
)

// A SAM HttpApi with a JWT authorizer as its default, a route that opts out
// with Authorizer: NONE, scopes on another, and CORS.
const httpAPIAuth = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Issuer:
    Type: String
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [https://app.example]
        AllowMethods: [GET]
        AllowHeaders: [authorization]
        MaxAge: 600
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: !Ref Issuer
              audience: [jobs]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker
      Runtime: provided.al2023
      Handler: bootstrap
      Events:
        Me:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /me
            Method: GET
        Admin:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /admin
            Method: GET
            Auth:
              Authorizer: Jwt
              AuthorizationScopes: [admin]
        Public:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Path: /public
            Method: GET
            Auth:
              Authorizer: NONE
`

func TestProvisionHTTPAPIAuthAndCors(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var issuer string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "jwks_uri": issuer + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	idp := httptest.NewServer(mux)
	defer idp.Close()
	issuer = idp.URL

	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl := strings.Replace(httpAPIAuth, "issuer: !Ref Issuer", "issuer: "+issuer, 1)
	tmpl = strings.Replace(tmpl, "Parameters:\n  Issuer:\n    Type: String\n", "", 1)
	s, _, err := e.apply(ctx, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := s.Resources["Api"]
	base := deploy.LocalAPIBase(api.Attrs["ApiEndpoint"], api.PhysicalID)
	token := func(scope string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": issuer, "aud": "jobs", "sub": "u1", "scope": scope,
			"exp": time.Now().Add(time.Hour).Unix()})
		tok.Header["kid"] = "k1"
		str, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	get := func(method, path string, h map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		name, path string
		headers    map[string]string
		want       int
	}{
		{"default authorizer, no token", "/me", nil, http.StatusUnauthorized},
		{"default authorizer, token", "/me", map[string]string{"Authorization": "Bearer " + token("read")}, http.StatusOK},
		{"opted out", "/public", nil, http.StatusOK},
		{"scope missing", "/admin", map[string]string{"Authorization": "Bearer " + token("read")}, http.StatusForbidden},
		{"scope present", "/admin", map[string]string{"Authorization": "Bearer " + token("admin")}, http.StatusOK},
	} {
		if resp := get(http.MethodGet, tc.path, tc.headers); resp.StatusCode != tc.want {
			t.Errorf("%s: GET %s = %d, want %d", tc.name, tc.path, resp.StatusCode, tc.want)
		}
	}
	pre := get(http.MethodOptions, "/me", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
	if pre.Header.Get("Access-Control-Allow-Origin") != "https://app.example" || pre.Header.Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
}

// tokenAuthorizerAndEchoWorker are the test function as a TOKEN authorizer
// (Authz) and as an echoing proxy integration (Worker), whose Events
// follow.
const tokenAuthorizerAndEchoWorker = `  Authz:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker
      Runtime: provided.al2023
      Handler: bootstrap
      Environment:
        Variables: {AUTHORIZER: token}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker
      Runtime: provided.al2023
      Handler: bootstrap
      Environment:
        Variables: {ECHO_PROXY: "1"}
      Events:
`

// A SAM REST API whose default authorizer is a Lambda TOKEN authorizer
// (SAM's default payload type): one header, a validation expression, and
// the function's policy; the integration sees the principal and context.
const restTokenAuth = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        DefaultAuthorizer: Tok
        Authorizers:
          Tok:
            FunctionArn: !GetAtt Authz.Arn
            Identity:
              Header: X-Auth
              ValidationExpression: Bearer [a-z]+
` + tokenAuthorizerAndEchoWorker + `        Get:
          Type: Api
          Properties:
            RestApiId: !Ref Rest
            Path: /jobs
            Method: GET
`

// httpCall sends one request (a JSON body when body is not empty) and
// returns the answer's status and body.
func httpCall(t *testing.T, method, url, body string, h map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deployRest deploys tmpl, whose functions are those of
// tokenAuthorizerAndEchoWorker and whose REST API is Rest, and returns the
// state and the API's local address for stage.
func deployRest(t *testing.T, ctx context.Context, e *env, tmpl, stage string) (*deploy.StackState, string) {
	t.Helper()
	e.code["Authz"] = e.code["Worker"]
	s, _, err := e.apply(ctx, tmpl, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, deploy.LocalAPIBase(s.Resources["Rest"].Attrs["ApiEndpoint"], s.Resources["Rest"].PhysicalID) + "/" + stage
}

func TestProvisionRESTTokenAuthorizer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, base := deployRest(t, ctx, newEnv(t), restTokenAuth, "Prod")
	url := base + "/jobs"
	get := func(token string) (int, string) {
		t.Helper()
		var h map[string]string
		if token != "" {
			h = map[string]string{"X-Auth": token}
		}
		return httpCall(t, http.MethodGet, url, "", h)
	}
	for _, tc := range []struct {
		token string
		want  int
	}{
		{"", http.StatusUnauthorized},              // no token
		{"Bearer ALLOW1", http.StatusUnauthorized}, // fails the validation expression
		{"Bearer deny", http.StatusForbidden},      // the function's Deny
		{"Bearer allow", http.StatusOK},
	} {
		if code, body := get(tc.token); code != tc.want {
			t.Errorf("X-Auth %q: %d %s, want %d", tc.token, code, body, tc.want)
		}
	}
	// The integration (payload 1.0) gets the authorizer's principal and context.
	_, body := get("Bearer allow")
	var ev struct {
		RequestContext struct {
			Authorizer map[string]any `json:"authorizer"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("echoed event %s: %v", body, err)
	}
	if a := ev.RequestContext.Authorizer; a["principalId"] != "user-1" || a["token"] != "Bearer allow" {
		t.Errorf("requestContext.authorizer = %v", a)
	}
}

// openAPIPetsPost is restOpenAPI's POST /pets operation (the update
// removes it).
const openAPIPetsPost = `            post:
              security: [{Tok: []}]
              x-amazon-apigateway-request-validator: body
              requestBody:
                content:
                  application/json:
                    schema: {$ref: "#/components/schemas/Pet"}
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Worker.Arn}/invocations
`

// A REST API described by an inline OpenAPI document: aws_proxy routes to
// functions, a token authorizer and an API key scheme from its security
// schemes, a body validated against a components schema, merged with a
// function event's route on the same API.
const restOpenAPI = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      DefinitionBody:
        openapi: 3.0.1
        info: {title: pets, version: "1"}
        x-amazon-apigateway-request-validators:
          body: {validateRequestBody: true, validateRequestParameters: false}
        components:
          securitySchemes:
            Tok:
              type: apiKey
              name: X-Auth
              in: header
              x-amazon-apigateway-authtype: custom
              x-amazon-apigateway-authorizer:
                type: token
                authorizerUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Authz.Arn}/invocations
                identitySource: method.request.header.X-Auth
                authorizerResultTtlInSeconds: 0
            api_key: {type: apiKey, name: x-api-key, in: header}
          schemas:
            Pet:
              type: object
              required: [name]
              properties: {name: {type: string}}
        paths:
          /pets:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Worker.Arn}/invocations
` + openAPIPetsPost + `            options:
              summary: CORS preflight, answered by the gateway
          /keyed:
            get:
              security: [{api_key: []}]
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Worker.Arn}/invocations
` + tokenAuthorizerAndEchoWorker + `        Extra:
          Type: Api
          Properties:
            RestApiId: !Ref Rest
            Path: /extra
            Method: GET
`

func TestProvisionRESTOpenAPIDefinition(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newEnv(t)
	s, base := deployRest(t, ctx, e, restOpenAPI, "v1")
	call := func(method, path, body string, h map[string]string) (int, string) {
		t.Helper()
		return httpCall(t, method, base+path, body, h)
	}
	allow := map[string]string{"X-Auth": "Bearer allow"}
	for _, tc := range []struct {
		name, method, path, body string
		h                        map[string]string
		want                     int
	}{
		{"document route", "GET", "/pets", "", nil, 200},
		{"event route on the same API", "GET", "/extra", "", nil, 200},
		{"authorizer: no token", "POST", "/pets", `{"name":"rex"}`, nil, 401},
		{"authorizer: denied", "POST", "/pets", `{"name":"rex"}`, map[string]string{"X-Auth": "Bearer deny"}, 403},
		{"authorizer: allowed", "POST", "/pets", `{"name":"rex"}`, allow, 200},
		{"validated body", "POST", "/pets", `{"kind":"dog"}`, allow, 400},
		{"API key required", "GET", "/keyed", "", nil, 403},
	} {
		if code, body := call(tc.method, tc.path, tc.body, tc.h); code != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, code, body, tc.want)
		}
	}
	routes, err := apigatewayv2.NewFromConfig(e.p.AWSConfig()).GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(s.Resources["Rest"].PhysicalID)})
	if err != nil || len(routes.Items) != 4 {
		t.Fatalf("routes %+v %v, want 3 from the document and 1 from the event", routes, err)
	}

	// Update: the POST goes from the document; GET /pets stays as it was.
	v2 := strings.Replace(restOpenAPI, openAPIPetsPost, "", 1)
	s2, _, err := e.apply(ctx, v2, s)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := call("GET", "/pets", "", nil); code != 200 {
		t.Errorf("GET /pets after the update: %d", code)
	}
	if code, _ := call("POST", "/pets", `{"name":"rex"}`, allow); code == 200 {
		t.Error("the route removed from the document still answers")
	}
	routes, _ = apigatewayv2.NewFromConfig(e.p.AWSConfig()).GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(s2.Resources["Rest"].PhysicalID)})
	if len(routes.Items) != 3 {
		t.Errorf("%d routes after the update, want 3", len(routes.Items))
	}
}

// An HTTP API from an OpenAPI document: payload 2.0 routes (the version
// written as a YAML number) and a JWT authorizer from the document.
const httpOpenAPI = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefinitionBody:
        openapi: 3.0.1
        info: {title: jobs, version: "1"}
        components:
          securitySchemes:
            Jwt:
              type: oauth2
              x-amazon-apigateway-authorizer:
                type: jwt
                identitySource: $request.header.Authorization
                jwtConfiguration: {issuer: "https://issuer.invalid", audience: [jobs]}
        paths:
          /jobs/{id}:
            get:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                payloadFormatVersion: 2.0
                uri: !GetAtt Worker.Arn
          /private:
            get:
              security: [{Jwt: [read]}]
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                payloadFormatVersion: "2.0"
                uri: !GetAtt Worker.Arn
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker
      Runtime: provided.al2023
      Handler: bootstrap
`

func TestProvisionHTTPOpenAPIDefinition(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, _, err := e.apply(ctx, httpOpenAPI, nil)
	if err != nil {
		t.Fatal(err)
	}
	base := deploy.LocalAPIBase(s.Resources["Api"].Attrs["ApiEndpoint"], s.Resources["Api"].PhysicalID)
	resp, err := http.Get(base + "/jobs/7")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The test function echoes its event: a 2.0 event has the route key.
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"routeKey":"GET /jobs/{id}"`) || !strings.Contains(string(body), `"version":"2.0"`) {
		t.Errorf("GET /jobs/7: %d %s", resp.StatusCode, body)
	}
	if resp, err := http.Get(base + "/private"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /private without a token: %v %v", resp.StatusCode, err)
	}
	routes, err := apigatewayv2.NewFromConfig(e.p.AWSConfig()).GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(s.Resources["Api"].PhysicalID)})
	if err != nil || len(routes.Items) != 2 {
		t.Fatalf("routes %+v %v", routes, err)
	}
	for _, r := range routes.Items {
		if aws.ToString(r.RouteKey) == "GET /private" && (r.AuthorizationType != "JWT" || len(r.AuthorizationScopes) != 1) {
			t.Errorf("GET /private: %+v", r)
		}
	}
}
