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
  Authz:
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
        Get:
          Type: Api
          Properties:
            RestApiId: !Ref Rest
            Path: /jobs
            Method: GET
`

func TestProvisionRESTTokenAuthorizer(t *testing.T) {
	e := newEnv(t)
	e.code["Authz"] = e.code["Worker"]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, _, err := e.apply(ctx, restTokenAuth, nil)
	if err != nil {
		t.Fatal(err)
	}
	url := deploy.LocalAPIBase(s.Resources["Rest"].Attrs["ApiEndpoint"], s.Resources["Rest"].PhysicalID) + "/Prod/jobs"
	get := func(token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("X-Auth", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String()
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
