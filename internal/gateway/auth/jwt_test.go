package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// issuer is an OpenID provider served by httptest: discovery plus a JWKS
// whose keys the test can rotate.
type issuer struct {
	srv        *httptest.Server
	mu         sync.Mutex
	keys       map[string]*rsa.PrivateKey // published
	jwksHits   atomic.Int32
	discHits   atomic.Int32
	failOnJWKS atomic.Bool
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{keys: map[string]*rsa.PrivateKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		is.discHits.Add(1)
		json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		is.jwksHits.Add(1)
		if is.failOnJWKS.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		is.mu.Lock()
		defer is.mu.Unlock()
		var keys []map[string]string
		for kid, k := range is.keys {
			keys = append(keys, map[string]string{
				"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
			})
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) addKey(t *testing.T, kid string) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	is.keys[kid] = k
	is.mu.Unlock()
	return k
}

func sign(t *testing.T, k *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearerReq(tok string) *Request {
	return &Request{Method: "GET", Path: "/pets", Header: http.Header{"Authorization": {"Bearer " + tok}}}
}

func TestJWT(t *testing.T) {
	is := newIssuer(t)
	key := is.addKey(t, "k1")
	other, _ := rsa.GenerateKey(rand.Reader, 2048) // never published
	iss := is.srv.URL
	valid := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": iss, "aud": "api", "sub": "u1",
			"exp": t0.Add(time.Hour).Unix(), "nbf": t0.Add(-time.Minute).Unix(), "iat": t0.Add(-time.Minute).Unix(),
			"scope": "pets:read pets:write",
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hsTok := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, valid(nil))
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString([]byte("secret"))
		return s
	}()

	tests := []struct {
		name    string
		req     *Request
		scopes  []string
		status  int // 0 = allowed
		wwwAuth string
	}{
		{name: "valid", req: bearerReq(sign(t, key, "k1", valid(nil)))},
		{name: "raw token without Bearer", req: &Request{Header: http.Header{"Authorization": {sign(t, key, "k1", valid(nil))}}}},
		{name: "lower-case header map", req: &Request{Header: http.Header{"authorization": {"bearer " + sign(t, key, "k1", valid(nil))}}}},
		{name: "missing token", req: &Request{Header: http.Header{}}, status: 401},
		{name: "expired", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { c["exp"] = t0.Unix() }))), status: 401, wwwAuth: "the token has expired"},
		{name: "no exp", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { delete(c, "exp") }))), status: 401},
		{name: "not yet valid", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { c["nbf"] = t0.Add(time.Second).Unix() }))), status: 401, wwwAuth: "nbf"},
		{name: "issued in the future", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { c["iat"] = t0.Add(time.Minute).Unix() }))), status: 401, wwwAuth: "iat"},
		{name: "wrong issuer", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { c["iss"] = iss + "/other" }))), status: 401, wwwAuth: "valid issuer"},
		{name: "wrong audience", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { c["aud"] = "someone-else" }))), status: 401, wwwAuth: "the token does not have a valid audience"},
		{name: "audience list holds one", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { c["aud"] = []string{"x", "api2"} })))},
		{name: "client_id when no aud", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = "api" })))},
		{name: "wrong client_id when no aud", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { delete(c, "aud"); c["client_id"] = "x" }))), status: 401, wwwAuth: "audience"},
		{name: "neither aud nor client_id", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { delete(c, "aud") }))), status: 401},
		{name: "aud decides over client_id", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { c["aud"] = "x"; c["client_id"] = "api" }))), status: 401},
		{name: "scope present", req: bearerReq(sign(t, key, "k1", valid(nil))), scopes: []string{"admin", "pets:read"}},
		{name: "scp list", req: bearerReq(sign(t, key, "k1", valid(func(c jwt.MapClaims) { delete(c, "scope"); c["scp"] = []string{"admin"} }))), scopes: []string{"admin"}},
		{name: "missing scope", req: bearerReq(sign(t, key, "k1", valid(nil))), scopes: []string{"admin"}, status: 403, wwwAuth: `error="insufficient_scope"`},
		{name: "bad signature", req: bearerReq(sign(t, other, "k1", valid(nil))), status: 401, wwwAuth: "signature"},
		{name: "tampered payload", req: bearerReq(tamper(sign(t, key, "k1", valid(nil)))), status: 401},
		{name: "alg none", req: bearerReq(noneTok), status: 401},
		{name: "alg HS256 with kid", req: bearerReq(hsTok), status: 401},
		{name: "no kid", req: bearerReq(sign(t, key, "", valid(nil))), status: 401},
		{name: "garbage", req: bearerReq("not.a.jwt"), status: 401, wwwAuth: "malformed"},
		{name: "query source ignored when header configured", req: &Request{RawQuery: "token=" + sign(t, key, "k1", valid(nil))}, status: 401},
	}
	a := NewJWT(gateway.Authorizer{Type: gateway.AuthorizerJWT, Issuer: iss, Audience: []string{"api", "api2"},
		IdentitySource: []string{"$request.header.Authorization"}}, JWTOptions{Clock: clock.NewFake(t0)})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := a.Authorize(context.Background(), tc.req, tc.scopes)
			if tc.status == 0 {
				if !res.Allowed || err != nil {
					t.Fatalf("want allowed, got %+v, %v", res, err)
				}
				return
			}
			if res.Allowed || res.Status != tc.status || err == nil {
				t.Fatalf("want %d denial with an error, got %+v, %v", tc.status, res, err)
			}
			wantMsg := map[int]string{401: "Unauthorized", 403: "Forbidden"}[tc.status]
			if res.Message != wantMsg {
				t.Errorf("message %q, want %q", res.Message, wantMsg)
			}
			if got := res.Header.Get("Www-Authenticate"); !strings.Contains(got, tc.wwwAuth) {
				t.Errorf("www-authenticate %q lacks %q", got, tc.wwwAuth)
			}
		})
	}
	if n := is.discHits.Load(); n != 1 {
		t.Errorf("discovery fetched %d times for one fresh key set, want 1", n)
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"u1"`, `"u2"`, 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestJWTContextClaimsFlattened(t *testing.T) {
	is := newIssuer(t)
	key := is.addKey(t, "k1")
	a := NewJWT(gateway.Authorizer{Issuer: is.srv.URL + "/", Audience: []string{"api"}},
		JWTOptions{Clock: clock.NewFake(t0)})
	// The issuer with a trailing slash still finds discovery, but iss must
	// equal the configured issuer exactly.
	a.issuer = is.srv.URL
	tok := sign(t, key, "k1", jwt.MapClaims{
		"iss": is.srv.URL, "aud": "api", "exp": t0.Add(time.Hour).Unix(),
		"groups": []string{"admin", "dev"}, "email_verified": true, "n": 1.5,
		"addr": map[string]any{"city": "Oslo", "zip": "0150"}, "scope": "a b",
	})
	res, err := a.Authorize(context.Background(), bearerReq(tok), []string{"b"})
	if err != nil || !res.Allowed {
		t.Fatalf("denied: %+v %v", res, err)
	}
	j := res.Context["jwt"].(map[string]any)
	claims := j["claims"].(map[string]string)
	want := map[string]string{
		"groups": "[admin dev]", "email_verified": "true", "n": "1.5",
		"addr": "map[city:Oslo zip:0150]", "exp": "1748782800", "aud": "api",
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claims[%q] = %q, want %q", k, claims[k], v)
		}
	}
	if got := j["scopes"].([]string); len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("scopes = %v", got)
	}
}

func TestJWTQueryStringSource(t *testing.T) {
	is := newIssuer(t)
	key := is.addKey(t, "k1")
	a := NewJWT(gateway.Authorizer{Issuer: is.srv.URL, Audience: []string{"api"},
		IdentitySource: []string{"$request.querystring.access_token"}}, JWTOptions{Clock: clock.NewFake(t0)})
	tok := sign(t, key, "k1", jwt.MapClaims{"iss": is.srv.URL, "aud": "api", "exp": t0.Add(time.Hour).Unix()})
	if res, err := a.Authorize(context.Background(), &Request{RawQuery: "access_token=" + tok}, nil); !res.Allowed {
		t.Fatalf("denied: %+v %v", res, err)
	}
	if res, _ := a.Authorize(context.Background(), &Request{RawQuery: "Access_Token=" + tok}, nil); res.Allowed {
		t.Fatal("query names are case-sensitive, yet a differently-cased name was accepted")
	}
}

func TestJWTKeyRotation(t *testing.T) {
	is := newIssuer(t)
	k1 := is.addKey(t, "k1")
	fc := clock.NewFake(t0)
	a := NewJWT(gateway.Authorizer{Issuer: is.srv.URL, Audience: []string{"api"}},
		JWTOptions{Clock: fc, MinRefetchInterval: 30 * time.Second, RefreshInterval: time.Hour})
	claims := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": is.srv.URL, "aud": "api", "exp": fc.Now().Add(2 * time.Hour).Unix()}
	}
	ctx := context.Background()
	if res, err := a.Authorize(ctx, bearerReq(sign(t, k1, "k1", claims())), nil); !res.Allowed {
		t.Fatalf("k1 denied: %v", err)
	}
	if n := is.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS hits = %d, want 1", n)
	}

	// A kid not yet published: one refetch, then denied.
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	if res, _ := a.Authorize(ctx, bearerReq(sign(t, k2, "k2", claims())), nil); res.Allowed || res.Status != 401 {
		t.Fatalf("unknown kid: %+v", res)
	}
	hits := is.jwksHits.Load()
	// Within the rate limit, more unknown kids do not reach the issuer.
	fc.Advance(10 * time.Second)
	for range 5 {
		a.Authorize(ctx, bearerReq(sign(t, k2, "k2", claims())), nil)
	}
	if n := is.jwksHits.Load(); n != hits {
		t.Fatalf("unknown kids refetched %d times within the rate limit", n-hits)
	}

	// The issuer publishes k2: once the rate limit allows, it is found.
	is.mu.Lock()
	is.keys["k2"] = k2
	is.mu.Unlock()
	fc.Advance(30 * time.Second)
	if res, err := a.Authorize(ctx, bearerReq(sign(t, k2, "k2", claims())), nil); !res.Allowed {
		t.Fatalf("rotated key k2 denied: %v", err)
	}
	// k1 stays usable (still cached and published).
	if res, err := a.Authorize(ctx, bearerReq(sign(t, k1, "k1", claims())), nil); !res.Allowed {
		t.Fatalf("k1 denied after rotation: %v", err)
	}

	// Refresh interval: k1 withdrawn is noticed once the set is stale.
	is.mu.Lock()
	delete(is.keys, "k1")
	is.mu.Unlock()
	if res, _ := a.Authorize(ctx, bearerReq(sign(t, k1, "k1", claims())), nil); !res.Allowed {
		t.Fatal("k1 denied before the refresh interval passed")
	}
	fc.Advance(time.Hour)
	if res, _ := a.Authorize(ctx, bearerReq(sign(t, k1, "k1", claims())), nil); res.Allowed {
		t.Fatal("withdrawn k1 still accepted after the refresh interval")
	}
}

func TestJWTIssuerDown(t *testing.T) {
	is := newIssuer(t)
	k1 := is.addKey(t, "k1")
	fc := clock.NewFake(t0)
	a := NewJWT(gateway.Authorizer{Issuer: is.srv.URL, Audience: []string{"api"}}, JWTOptions{Clock: fc})
	tok := sign(t, k1, "k1", jwt.MapClaims{"iss": is.srv.URL, "aud": "api", "exp": t0.Add(3 * time.Hour).Unix()})
	ctx := context.Background()

	is.failOnJWKS.Store(true)
	res, err := a.Authorize(ctx, bearerReq(tok), nil)
	if res.Allowed || res.Status != 401 || err == nil {
		t.Fatalf("no key set: %+v %v", res, err)
	}
	if got := res.Header.Get("Www-Authenticate"); strings.Contains(got, "127.0.0.1") {
		t.Errorf("www-authenticate leaks the fetch error: %q", got)
	}

	is.failOnJWKS.Store(false)
	fc.Advance(time.Minute)
	if res, err := a.Authorize(ctx, bearerReq(tok), nil); !res.Allowed {
		t.Fatalf("after recovery: %v", err)
	}
	// Stale keys keep working while the issuer is down.
	is.failOnJWKS.Store(true)
	fc.Advance(2 * time.Hour)
	if res, err := a.Authorize(ctx, bearerReq(tok), nil); !res.Allowed {
		t.Fatalf("stale keys not used while issuer down: %v", err)
	}
}

func TestJWTConcurrent(t *testing.T) {
	is := newIssuer(t)
	k1 := is.addKey(t, "k1")
	a := NewJWT(gateway.Authorizer{Issuer: is.srv.URL, Audience: []string{"api"}}, JWTOptions{Clock: clock.NewFake(t0)})
	tok := sign(t, k1, "k1", jwt.MapClaims{"iss": is.srv.URL, "aud": "api", "exp": t0.Add(time.Hour).Unix()})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if res, err := a.Authorize(context.Background(), bearerReq(tok), nil); !res.Allowed {
				t.Errorf("denied: %v", err)
			}
		})
	}
	wg.Wait()
	if n := is.jwksHits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times by concurrent first requests, want 1", n)
	}
}
