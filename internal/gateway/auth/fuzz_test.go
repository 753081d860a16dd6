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
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
)

// FuzzParseJWKS: any key set either parses into usable RSA keys or is
// an error; never a panic, never a key with a nil modulus.
func FuzzParseJWKS(f *testing.F) {
	k, _ := rsa.GenerateKey(rand.Reader, 1024)
	good, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k", "n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}}})
	f.Add(good)
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"k","n":"","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","kid":"k","n":"AQAB","e":"AAAAAAAAAA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","kid":"e","crv":"P-256","x":"a","y":"b"}]}`))
	f.Add([]byte(`{"keys":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := parseJWKS(data)
		if err != nil {
			return
		}
		for kid, k := range keys {
			if kid == "" || k.key == nil || k.key.N == nil || k.key.E < 3 {
				t.Fatalf("unusable key %q accepted: %+v", kid, k)
			}
		}
	})
}

// FuzzJWTToken: whatever the client sends as a token, the authorizer
// answers (allowed only for the one validly signed token) without panic.
func FuzzJWTToken(f *testing.F) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
	}}})
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/keys" {
			w.Write(jwks)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"jwks_uri": srv.URL + "/keys"})
	}))
	defer srv.Close()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"iss": srv.URL, "aud": "api", "exp": t0.Add(time.Hour).Unix()})
	tok.Header["kid"] = "k1"
	valid, _ := tok.SignedString(key)

	f.Add(valid)
	f.Add("Bearer " + valid)
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Add("a.b.c")
	f.Add("")
	f.Add("Bearer ")
	a := NewJWT(gateway.Authorizer{Issuer: srv.URL, Audience: []string{"api"}}, JWTOptions{Clock: clock.NewFake(t0)})
	f.Fuzz(func(t *testing.T, token string) {
		r := &Request{Header: http.Header{"Authorization": {token}}}
		res, err := a.Authorize(context.Background(), r, []string{"s"})
		if res.Allowed {
			t.Fatalf("token %q allowed despite lacking the route scope", token)
		}
		if res.Status != 401 && res.Status != 403 {
			t.Fatalf("status %d for %q (%v)", res.Status, token, err)
		}
		if res.Status == 403 && bearer(token) != valid {
			t.Fatalf("a forged token %q passed verification", token)
		}
	})
}
