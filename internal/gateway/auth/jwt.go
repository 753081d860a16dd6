package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
)

// JWTOptions tune a JWT authorizer. The zero value is usable.
type JWTOptions struct {
	// HTTPClient fetches discovery documents and key sets (default
	// http.DefaultClient; each fetch is bounded to AWS's 1.5 s anyway).
	HTTPClient *http.Client
	Clock      clock.Clock // default clock.Real
	// RefreshInterval is how long a fetched key set is trusted before it is
	// fetched again (default 1 h; AWS documents caching the keys for up to
	// 1 h for REST and 2 h for HTTP APIs).
	RefreshInterval time.Duration
	// MinRefetchInterval rate-limits the refetch a token with an unknown
	// kid causes (default 10 s).
	MinRefetchInterval time.Duration
	// Leeway is clock skew allowed on exp, nbf and iat. AWS documents none
	// (exp after now, nbf and iat before now, UTC), hence the default 0.
	Leeway time.Duration
}

// rsaAlgs are the algorithms API Gateway accepts: RSA only. Anything
// else, "none" and HMAC included, is refused before any key is looked up.
var rsaAlgs = []string{"RS256", "RS384", "RS512"}

// JWT is an HTTP API JWT authorizer.
type JWT struct {
	issuer   string
	audience []string
	source   string
	clock    clock.Clock
	leeway   time.Duration
	keys     *keySet
	parser   *jwt.Parser
}

// NewJWT returns the authorizer for definition a (Type JWT).
func NewJWT(a gateway.Authorizer, opts JWTOptions) *JWT {
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = time.Hour
	}
	if opts.MinRefetchInterval <= 0 {
		opts.MinRefetchInterval = 10 * time.Second
	}
	source := "$request.header.Authorization" // the console's default
	if len(a.IdentitySource) > 0 {
		source = a.IdentitySource[0] // JWT authorizers have exactly one
	}
	return &JWT{
		issuer:   a.Issuer,
		audience: a.Audience,
		source:   source,
		clock:    opts.Clock,
		leeway:   opts.Leeway,
		keys: &keySet{
			issuer:     a.Issuer,
			client:     opts.HTTPClient,
			clock:      opts.Clock,
			refresh:    opts.RefreshInterval,
			minRefetch: opts.MinRefetchInterval,
		},
		// Claims are checked by hand below: AWS's rules (aud or else
		// client_id, exp required) are not golang-jwt's, and the denial
		// must say which rule failed.
		parser: jwt.NewParser(jwt.WithValidMethods(rsaAlgs), jwt.WithoutClaimsValidation(), jwt.WithJSONNumber()),
	}
}

// tokenError is a rejected token: 401 with AWS's www-authenticate.
type tokenError struct{ desc string }

func (e *tokenError) Error() string { return e.desc }

func invalid(format string, args ...any) error {
	return &tokenError{desc: fmt.Sprintf(format, args...)}
}

// Authorize checks the request's token; scopes are the route's
// authorizationScopes. A missing or invalid token is 401, a valid token
// lacking every route scope 403 (both with www-authenticate as AWS).
func (j *JWT) Authorize(ctx context.Context, r *Request, scopes []string) (Result, error) {
	raw, ok := identityValue(j.source, r)
	if !ok {
		return unauthorized(), errors.New("jwt: no token in " + j.source)
	}
	claims, err := j.verify(ctx, bearer(raw))
	if err != nil {
		res := unauthorized()
		desc := "the token is not valid"
		var te *tokenError
		if errors.As(err, &te) {
			desc = te.desc
		}
		res.Header = http.Header{"Www-Authenticate": {wwwAuthenticate(scopes, "invalid_token", desc)}}
		return res, fmt.Errorf("jwt: %w", err)
	}
	var granted []string
	if len(scopes) > 0 {
		granted = tokenScopes(claims)
		if !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(granted, s) }) {
			res := forbidden()
			desc := "expected scopes: [" + strings.Join(scopes, " ") + "]"
			res.Header = http.Header{"Www-Authenticate": {wwwAuthenticate(scopes, "insufficient_scope", desc)}}
			return res, errors.New("jwt: token lacks every route scope")
		}
	}
	flat := make(map[string]string, len(claims))
	for k, v := range claims {
		flat[k] = flatten(v)
	}
	return Result{
		Allowed: true,
		Context: map[string]any{"jwt": map[string]any{"claims": flat, "scopes": granted}},
	}, nil
}

// bearer strips the optional "Bearer " prefix AWS allows.
func bearer(v string) string {
	v = strings.TrimSpace(v)
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return v
}

func wwwAuthenticate(scopes []string, code, desc string) string {
	return `Bearer scope="` + strings.Join(scopes, " ") + `" error="` + code + `" error_description="` + desc + `"`
}

// verify checks signature and claims in AWS's order and returns the claims.
func (j *JWT) verify(ctx context.Context, raw string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	_, err := j.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, invalid("the token has no kid")
		}
		k, err := j.keys.get(ctx, kid)
		if errors.Is(err, errUnknownKID) {
			return nil, invalid("the token's kid %q is not in the issuer's key set", kid)
		}
		if err != nil {
			return nil, err
		}
		if k.alg != "" && k.alg != t.Method.Alg() {
			return nil, invalid("the token's algorithm does not match its key")
		}
		return k.key, nil
	})
	if err != nil {
		var te *tokenError
		if errors.As(err, &te) {
			return nil, te
		}
		switch {
		case errors.Is(err, jwt.ErrTokenUnverifiable):
			return nil, err // the key set could not be had: not the caller's to read
		case errors.Is(err, jwt.ErrTokenMalformed):
			return nil, &tokenError{desc: "the token is malformed"}
		}
		// A bad signature, or an algorithm other than RSA ("none" included).
		return nil, &tokenError{desc: "the token's signature is not valid"}
	}
	if iss, _ := claims["iss"].(string); iss != j.issuer {
		return nil, invalid("the token does not have a valid issuer")
	}
	if !j.audienceOK(claims) {
		return nil, invalid("the token does not have a valid audience")
	}
	now := j.clock.Now()
	exp, ok, err := numericDate(claims, "exp")
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, invalid("the token has no expiration")
	case !now.Before(exp.Add(j.leeway)):
		return nil, invalid("the token has expired")
	}
	for _, name := range []string{"nbf", "iat"} {
		t, ok, err := numericDate(claims, name)
		if err != nil {
			return nil, err
		}
		if ok && t.After(now.Add(j.leeway)) {
			return nil, invalid("the token's %s is in the future", name)
		}
	}
	return claims, nil
}

// audienceOK applies AWS's rule: aud decides when present; client_id is
// looked at only when aud is absent.
func (j *JWT) audienceOK(claims jwt.MapClaims) bool {
	match := func(v any) bool {
		s, ok := v.(string)
		return ok && slices.Contains(j.audience, s)
	}
	if aud, ok := claims["aud"]; ok {
		if list, isList := aud.([]any); isList {
			return slices.ContainsFunc(list, match)
		}
		return match(aud)
	}
	return match(claims["client_id"])
}

func numericDate(claims jwt.MapClaims, name string) (time.Time, bool, error) {
	v, ok := claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return time.Time{}, false, invalid("the token's %s is not a number", name)
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
		return time.Time{}, false, invalid("the token's %s is not a valid date", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true, nil
}

// tokenScopes reads "scope" (space-delimited, OAuth) or, failing that,
// "scp" (Okta and Azure AD: a list or a space-delimited string).
func tokenScopes(claims jwt.MapClaims) []string {
	for _, name := range []string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			if f := strings.Fields(v); len(f) > 0 {
				return f
			}
		case []any:
			var out []string
			for _, e := range v {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
			if len(out) > 0 {
				return out
			}
		}
	}
	return nil
}

// flatten renders a claim as API Gateway puts it in
// requestContext.authorizer.jwt.claims: every value a string, lists as
// "[a b]" and objects as "map[k:v]" (the rendering AWS is seen to use),
// numbers as written in the token.
func flatten(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = flatten(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + flatten(v[k])
		}
		return "map[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}
