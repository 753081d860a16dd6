package orders

import (
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

// Authenticator decides whether a request may place orders: either a
// bearer JWT signed with the shared HS256 secret (for services that mint
// their own tokens) or the API key (for scripts and curl).
type Authenticator struct {
	APIKey    string
	JWTSecret []byte
	// Now is the clock for token expiry (time.Now when nil).
	Now func() time.Time
}

// Identity is who a request was authenticated as.
type Identity struct {
	Principal string
	Method    string // "jwt" or "api-key"
}

// ErrDenied is returned for requests with no valid credential.
var ErrDenied = errors.New("no valid bearer token or API key")

// header looks a header up without regard to case (REST events keep the
// client's spelling).
func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Authenticate checks the request's headers.
func (a *Authenticator) Authenticate(headers map[string]string) (*Identity, error) {
	if tok, ok := strings.CutPrefix(header(headers, "Authorization"), "Bearer "); ok && len(a.JWTSecret) > 0 {
		sub, err := a.verifyJWT(strings.TrimSpace(tok))
		if err != nil {
			return nil, err
		}
		return &Identity{Principal: sub, Method: "jwt"}, nil
	}
	if key := header(headers, "x-api-key"); key != "" && a.APIKey != "" {
		if subtle.ConstantTimeCompare([]byte(key), []byte(a.APIKey)) == 1 {
			return &Identity{Principal: "api-key", Method: "api-key"}, nil
		}
	}
	return nil, ErrDenied
}

func (a *Authenticator) verifyJWT(tok string) (string, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return a.JWTSecret, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(now), jwt.WithLeeway(5*time.Second))
	if err != nil {
		return "", errors.Join(ErrDenied, err)
	}
	if claims.Subject == "" {
		return "", errors.Join(ErrDenied, errors.New("token has no subject"))
	}
	return claims.Subject, nil
}

// Token mints a token for subject valid for ttl (for clients and tests).
func Token(secret []byte, subject string, now time.Time, ttl time.Duration) (string, error) {
	claims := jwt.RegisteredClaims{Subject: subject, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

// Policy is the REST REQUEST authorizer's answer: an IAM policy allowing
// or denying the method, with who the caller is in the context.
func Policy(methodARN string, id *Identity) events.APIGatewayCustomAuthorizerResponse {
	effect, principal := "Deny", "anonymous"
	ctx := map[string]any{}
	if id != nil {
		effect, principal = "Allow", id.Principal
		ctx["authMethod"] = id.Method
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{methodARN},
			}},
		},
		Context: ctx,
	}
}
