package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway/payload"
)

// Invoker runs a function synchronously for the gateway. functionError
// reports that the function ran and failed (Lambda's X-Amz-Function-Error,
// a function timeout included); err that it could not be invoked at all.
// The integration timeout reaches it as ctx's deadline. The server adapts
// invoke.Service to it.
type Invoker interface {
	Invoke(ctx context.Context, function, qualifier string, payload []byte) (result []byte, functionError bool, err error)
}

// The interfaces below are what the data plane needs of the auth and limit
// subpackages. They are declared here, not there, because auth and limit
// import this package (for Authorizer, Stage, Model): the handler cannot
// import them back. *limit.Throttler and *limit.Validator satisfy Throttler
// and Validator as they are; authorizers and API keys need the small
// adapters the server wires in (see the handler tests for working ones).

// Throttler is limit.Throttler's stage/route check: false means 429.
type Throttler interface {
	Check(apiID, stage, routeKey string, st Stage) bool
}

// Validator is limit.Validator: required parameters and JSON Schema models.
// An error that is the client's fault (400) is recognised by
// ClientError; any other error is a definition problem (500).
type Validator interface {
	ValidateBody(model Model, contentType string, body []byte) error
	ValidateParams(required map[string]bool, query url.Values, header http.Header) error
}

// APIKeys admits requests on routes with APIKeyRequired. The adapter looks
// the key up (limit.KeyPlan), applies the plan's throttle and quota, and
// answers with limit.Status's status and reason. key is the x-api-key
// header's value, possibly "".
type APIKeys interface {
	// Check returns 0 (or 200) to admit the request, else the status and
	// the {"message": ...} text to answer with (403 "Forbidden", 429 "Too
	// Many Requests" or "Limit Exceeded").
	Check(ctx context.Context, key, apiID, stage string) (status int, message string)
}

// AuthResult is an authorizer's decision, as auth.Result.
type AuthResult struct {
	Allowed bool
	// Status and Message answer a denial (401 Unauthorized, 403
	// Forbidden, 500 Internal Server Error).
	Status  int
	Message string
	// Header is added to a denial (a JWT authorizer's www-authenticate).
	Header http.Header
	// Context is requestContext.authorizer for payload 2.0: {"jwt":
	// {"claims", "scopes"}} or {"lambda": {...}}.
	Context map[string]any
	// PrincipalID is a Lambda IAM-policy response's principalId, which
	// payload 1.0 carries as requestContext.authorizer.principalId.
	PrincipalID string
}

// RequestAuthorizer authorizes one request: *auth.JWT and *auth.Lambda
// behind an adapter that builds an auth.Request from r and in. A non-nil
// error is the reason of a denial or failure, for the access log; the
// result is acted on either way.
type RequestAuthorizer interface {
	Authorize(ctx context.Context, r *http.Request, in *payload.Request, scopes []string) (AuthResult, error)
}

// NewAuthorizerFunc builds the authorizer of a definition. The handler
// calls it once per authorizer and keeps the result until the definition
// changes, so a Lambda authorizer's result cache lives as long as its
// definition does.
type NewAuthorizerFunc func(apiID string, def Authorizer) (RequestAuthorizer, error)

// HandlerOptions configure the data plane.
type HandlerOptions struct {
	Defs    Definitions
	Invoker Invoker
	Clock   clock.Clock  // default clock.Real
	Logger  *slog.Logger // default slog.Default(); access lines at Info
	// Region and AccountID fill requestContext and execute-api ARNs.
	Region, AccountID string
	// IntegrationTimeout caps every integration's TimeoutMillis (default
	// 30 s, HTTP APIs' maximum; larger when Lamina is configured so).
	IntegrationTimeout time.Duration
	// MaxBodyBytes bounds a request body (default 10 MB, HTTP APIs'
	// payload quota); past it the client gets 413.
	MaxBodyBytes int64

	// Throttler applies stage and route throttling; nil = unlimited.
	Throttler Throttler
	// NewAuthorizer builds JWT and REQUEST authorizers; nil makes every
	// route that needs one answer 500, failing closed.
	NewAuthorizer NewAuthorizerFunc
	// APIKeys admits requests on routes with APIKeyRequired; nil refuses
	// every such request with 403, as an unknown key is refused.
	APIKeys APIKeys
	// Validator checks required parameters and request models; nil skips
	// validation.
	Validator Validator
}

// Defaults.
const (
	DefaultIntegrationTimeout = 30 * time.Second
	DefaultMaxBodyBytes       = 10 << 20
)

// Messages of API Gateway's error bodies on HTTP APIs.
const (
	msgNotFound           = "Not Found"
	msgUnauthorized       = "Unauthorized"
	msgForbidden          = "Forbidden"
	msgTooManyRequests    = "Too Many Requests"
	msgInternal           = "Internal Server Error"
	msgServiceUnavailable = "Service Unavailable"
	msgTooLarge           = "Request Entity Too Large"
)

// errIntegrationTimeout is the cause of the integration's context ending
// at its deadline, telling it apart from the client going away.
var errIntegrationTimeout = errors.New("gateway: integration timed out")

// handler is the data plane: one per gateway listener.
type handler struct {
	opts HandlerOptions
	log  *slog.Logger

	// tables caches each API's compiled routes by API id; an entry is
	// valid while its doc pointer is the current document (documents are
	// immutable, a change is a new pointer).
	tables sync.Map // apiID → *compiledAPI

	authMu sync.Mutex
	auths  map[string]*authEntry // by apiID + "/" + authorizer id
}

// NewHandler returns the gateway's data plane.
func NewHandler(opts HandlerOptions) http.Handler {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.IntegrationTimeout <= 0 {
		opts.IntegrationTimeout = DefaultIntegrationTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return &handler{opts: opts, log: opts.Logger, auths: make(map[string]*authEntry)}
}
