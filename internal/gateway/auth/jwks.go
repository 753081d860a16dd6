package auth

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
)

// AWS's HTTP API quotas on what it fetches from an issuer: each discovery
// or key-set fetch gets 1.5 s and at most 150,000 bytes. An issuer is
// outside Lamina's control, so both bounds matter here too.
const (
	maxDocBytes  = 150_000
	fetchTimeout = 1500 * time.Millisecond
)

// errUnknownKID is a token whose kid the key set (even refetched) lacks.
var errUnknownKID = errors.New("the token's kid is not in the issuer's key set")

// parseJWKS reads a JSON Web Key Set and returns its RSA signing keys by
// kid. Keys of other types, keys marked for encryption and keys without a
// kid are skipped (API Gateway accepts RSA only and matches on kid); a
// malformed RSA key is an error, so a broken key set is noticed rather
// than silently shrinking.
func parseJWKS(data []byte) (map[string]*jwk, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Kid string `json:"kid"`
			Use string `json:"use"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	keys := make(map[string]*jwk, len(set.Keys))
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub, err := rsaKey(k.N, k.E)
		if err != nil {
			return nil, fmt.Errorf("parse JWKS key %q: %w", k.Kid, err)
		}
		keys[k.Kid] = &jwk{alg: k.Alg, key: pub}
	}
	return keys, nil
}

// jwk is one usable key; alg, when the set names it, pins the algorithm.
type jwk struct {
	alg string
	key *rsa.PublicKey
}

func rsaKey(n64, e64 string) (*rsa.PublicKey, error) {
	nb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(n64, "="))
	if err != nil {
		return nil, fmt.Errorf("modulus: %w", err)
	}
	eb, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(e64, "="))
	if err != nil {
		return nil, fmt.Errorf("exponent: %w", err)
	}
	if len(nb) == 0 || len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("modulus or exponent missing or out of range")
	}
	e := new(big.Int).SetBytes(eb)
	if e.Int64() < 3 || e.Int64()%2 == 0 {
		return nil, errors.New("exponent out of range")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(e.Int64())}, nil
}

// keySet is one issuer's keys, found through OpenID discovery and cached:
// refreshed when older than refresh, and refetched at once for a kid it
// lacks (how key rotation reaches API Gateway) but at most once per
// minRefetch, so tokens with made-up kids cannot hammer the issuer.
type keySet struct {
	issuer     string
	client     *http.Client
	clock      clock.Clock
	refresh    time.Duration
	minRefetch time.Duration

	fetchMu sync.Mutex // one fetch at a time; waiters then use its result

	mu        sync.Mutex
	keys      map[string]*jwk
	fetchedAt time.Time // last attempt, successful or not
	loadedAt  time.Time // last success
}

// get returns the key for kid, fetching the key set when it is missing,
// stale, or lacks kid.
func (s *keySet) get(ctx context.Context, kid string) (*jwk, error) {
	s.mu.Lock()
	k, have := s.keys[kid]
	fresh := s.keys != nil && s.clock.Now().Sub(s.loadedAt) < s.refresh
	s.mu.Unlock()
	if have && fresh {
		return k, nil
	}
	if err := s.fetch(ctx, kid); err != nil {
		// A failed refresh keeps serving the keys already known: the
		// issuer being briefly down must not lock everyone out.
		s.mu.Lock()
		k, have = s.keys[kid]
		s.mu.Unlock()
		if have {
			return k, nil
		}
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, have = s.keys[kid]; have {
		return k, nil
	}
	return nil, errUnknownKID
}

// fetch reloads the key set unless another caller just did or the
// rate limit forbids it.
func (s *keySet) fetch(ctx context.Context, kid string) error {
	s.fetchMu.Lock()
	defer s.fetchMu.Unlock()
	now := s.clock.Now()
	s.mu.Lock()
	_, have := s.keys[kid]
	fresh := s.keys != nil && now.Sub(s.loadedAt) < s.refresh
	recent := !s.fetchedAt.IsZero() && now.Sub(s.fetchedAt) < s.minRefetch
	s.mu.Unlock()
	switch {
	case have && fresh:
		return nil // a concurrent fetch brought it
	case recent:
		if s.keys == nil {
			return errors.New("fetch JWKS: the last attempt failed moments ago")
		}
		return nil // rate-limited: answer from what is known
	}
	keys, err := s.load(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fetchedAt = now
	if err != nil {
		return err
	}
	s.keys, s.loadedAt = keys, now
	return nil
}

// load runs discovery and fetches the key set it names.
func (s *keySet) load(ctx context.Context) (map[string]*jwk, error) {
	var disc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	discURL := strings.TrimSuffix(s.issuer, "/") + "/.well-known/openid-configuration"
	body, err := s.get1(ctx, discURL)
	if err != nil {
		return nil, fmt.Errorf("OpenID discovery: %w", err)
	}
	if err := json.Unmarshal(body, &disc); err != nil {
		return nil, fmt.Errorf("OpenID discovery %s: %w", discURL, err)
	}
	if disc.JWKSURI == "" {
		return nil, fmt.Errorf("OpenID discovery %s: no jwks_uri", discURL)
	}
	body, err = s.get1(ctx, disc.JWKSURI)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", disc.JWKSURI, err)
	}
	return keys, nil
}

func (s *keySet) get1(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxDocBytes {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", u, maxDocBytes)
	}
	return body, nil
}
