// Package auth holds the gateway's data-plane authorizers: the HTTP API JWT
// authorizer (OpenID discovery, JWKS cached with refresh, AWS's claim
// rules) and the Lambda REQUEST authorizer (payload formats 1.0 and 2.0,
// simple and IAM-policy responses, result caching by identity source).
//
// It knows nothing of HTTP serving: the gateway describes the request in a
// Request, and turns the Result into a response (401/403/500 with AWS's
// {"message": ...} body, CORS headers still applied) or into the
// integration's requestContext.authorizer.
package auth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Request is what the gateway knows of a request when it authorizes it.
type Request struct {
	Method string
	// Path is the request path after the stage prefix (decoded) and RawPath
	// the same as received; RawQuery is the query string without "?".
	Path, RawPath, RawQuery string
	Header                  http.Header
	// Query is the parsed query string; nil means "parse RawQuery".
	Query          url.Values
	PathParameters map[string]string
	StageVariables map[string]string
	APIID, Stage   string
	// RouteKey is the matched route key ("GET /pets/{id}", "$default").
	RouteKey string
	// ResourcePath is the route's path ("/pets/{id}") for 1.0's resource
	// field; empty means "derive it from RouteKey".
	ResourcePath string
	DomainName   string
	RequestID    string
	AccountID    string
	Region       string
	SourceIP     string
	Time         time.Time
}

// Result is an authorizer's decision.
type Result struct {
	Allowed bool
	// Status is 401 or 403 when denied (500 when the authorizer failed);
	// Message the body's message ("Unauthorized", "Forbidden",
	// "Internal Server Error").
	Status  int
	Message string
	// Header holds headers to add to a denial (the JWT authorizer's
	// www-authenticate, as AWS sends it).
	Header http.Header
	// Context becomes requestContext.authorizer: {"jwt": {"claims": ...,
	// "scopes": ...}} or {"lambda": {...}}.
	Context map[string]any
	// PrincipalID is the IAM-policy response's principalId (Lambda only),
	// for payload 1.0's requestContext.authorizer.principalId.
	PrincipalID string
}

// Authorizer is what the gateway holds per authorizer definition; *JWT and
// *Lambda satisfy it. Authorize always returns a Result to act on; a
// non-nil error is the cause of a denial or failure, for the access log.
type Authorizer interface {
	Authorize(ctx context.Context, r *Request, scopes []string) (Result, error)
}

// Messages of AWS's denial bodies.
const (
	MsgUnauthorized = "Unauthorized"
	MsgForbidden    = "Forbidden"
	MsgInternal     = "Internal Server Error"
)

func unauthorized() Result {
	return Result{Status: http.StatusUnauthorized, Message: MsgUnauthorized}
}

func forbidden() Result { return Result{Status: http.StatusForbidden, Message: MsgForbidden} }

func internalError() Result {
	return Result{Status: http.StatusInternalServerError, Message: MsgInternal}
}

// identityValue resolves one identity source selection expression
// against r. ok is false when the value is absent or empty, which AWS
// treats as "no identity": 401 without running the authorizer.
func identityValue(src string, r *Request) (string, bool) {
	var v string
	switch {
	case strings.HasPrefix(src, "$request.header."):
		// Header names are case-insensitive; several values are joined
		// with commas as API Gateway joins them.
		v = strings.Join(headerValues(r.Header, strings.TrimPrefix(src, "$request.header.")), ",")
	case strings.HasPrefix(src, "$request.querystring."):
		// Query names are case-sensitive.
		v = strings.Join(queryValues(r)[strings.TrimPrefix(src, "$request.querystring.")], ",")
	case strings.HasPrefix(src, "$stageVariables."):
		v = r.StageVariables[strings.TrimPrefix(src, "$stageVariables.")]
	case strings.HasPrefix(src, "$context."):
		v = contextValue(strings.TrimPrefix(src, "$context."), r)
	}
	return v, v != ""
}

// headerValues looks name up case-insensitively, also in maps whose keys
// were not canonicalized (tests and adapters build them by hand).
func headerValues(h http.Header, name string) []string {
	if vs := h.Values(name); len(vs) > 0 {
		return vs
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			return vs
		}
	}
	return nil
}

func queryValues(r *Request) url.Values {
	if r.Query != nil {
		return r.Query
	}
	q, _ := url.ParseQuery(r.RawQuery) // what parsed is kept, as API Gateway does
	return q
}

// contextValue covers the $context variables an identity source can
// usefully name (routeKey being the documented way to cache per route).
func contextValue(name string, r *Request) string {
	switch name {
	case "routeKey":
		return r.RouteKey
	case "stage":
		return r.Stage
	case "apiId":
		return r.APIID
	case "requestId":
		return r.RequestID
	case "accountId":
		return r.AccountID
	case "httpMethod":
		return r.Method
	case "path":
		return r.Path
	case "domainName":
		return r.DomainName
	case "identity.sourceIp":
		return r.SourceIP
	case "identity.userAgent":
		return r.Header.Get("User-Agent")
	}
	return ""
}

// RouteARN is the execute-api ARN a Lambda authorizer's routeArn /
// methodArn names and IAM policies are matched against:
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path
// without its leading slash}.
func RouteARN(r *Request) string {
	return "arn:aws:execute-api:" + r.Region + ":" + r.AccountID + ":" + r.APIID + "/" +
		r.Stage + "/" + r.Method + "/" + strings.TrimPrefix(r.Path, "/")
}

// resourcePath is the route's path for 1.0's resource field.
func resourcePath(r *Request) string {
	if r.ResourcePath != "" {
		return r.ResourcePath
	}
	if _, p, ok := strings.Cut(r.RouteKey, " "); ok {
		return p
	}
	return r.RouteKey
}
