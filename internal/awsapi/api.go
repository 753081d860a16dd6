// Package awsapi is the AWS-compatible edge: it speaks the AWS wire
// protocols (REST-JSON for Lambda and Scheduler, JSON 1.1 for CloudWatch Logs
// and EventBridge; SigV4 credential scopes; AWS's error shapes) and maps each operation onto a Lamina service's Go interface. The
// services know nothing of wire formats; this package knows nothing of how
// they keep their state.
//
// Files: api.go (the handler, per-request plumbing, JSON in and out),
// errors.go (the one catalogue of wire errors and the one renderer),
// region.go (credential scope), registry.go (what the edge needs of the
// function registry), lambda*.go (the Lambda control API, one file per
// resource; lambda_shapes.go holds its JSON shapes), invoke.go (Invoke,
// the hot path, and what the edge needs of the invoke service), code.go (the
// deployment-package download URL), target.go (the AWS JSON protocols'
// POST / routing by X-Amz-Target), logs*.go (the CloudWatch Logs API over
// the function log store), async.go (Event invocations), deadletters.go
// (Lamina's own dead-letter API under /_lamina/v1/), scheduler*.go (the
// EventBridge Scheduler API), events*.go (EventBridge rules), query*.go (the
// query protocol's codec and its POST / routing), sqs*.go (the SQS API in
// both its JSON 1.0 and query protocols; sqs_digest.go its MD5 digests),
// sns*.go (the SNS query API) and lambda_esm.go (event source mappings).
package awsapi

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"path"
	"strconv"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/esm"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/topic"
)

// Options configure the edge.
type Options struct {
	// Functions is the function registry (a *function.Service).
	Functions FunctionRegistry
	// Invoker runs functions (an *invoke.Service); nil answers Invoke and
	// the provisioned-concurrency operations with an error.
	Invoker Invoker
	// AccountID is the one account Lamina serves, used in ARNs (default "000000000000").
	AccountID string
	// DefaultRegion is used when a request carries no SigV4 credential scope (default "us-east-1").
	DefaultRegion string
	// Logger (nil = slog.Default()).
	Logger *slog.Logger
	// Clock stamps the expiry of code download URLs (nil = the wall clock).
	Clock clock.Clock
	// CodeURLKey signs code download URLs. Nil means a random key made by
	// New: URLs then work only on the process that issued them, which is
	// what a single node needs; a cluster should share one key.
	CodeURLKey []byte
	// Logs is the function log store (a *telemetry.Logs) behind the
	// CloudWatch Logs API; nil answers its operations with an error.
	Logs LogStore
	// Async queues Event invocations (an *async.Service); nil answers them
	// with an error.
	Async AsyncInvoker
	// DeadLetters serves Lamina's dead-letter API under /_lamina/v1/dead-letters.
	DeadLetters DeadLetterService
	// Stacks serves Lamina's stack API under /_lamina/v1/stacks (a *stacks.Service).
	Stacks StackService
	// Scheduler serves the EventBridge Scheduler API and the EventBridge
	// rules API (a *schedule.Service).
	Scheduler SchedulerService
	// Gateway serves the API Gateway v2 (HTTP API) control plane under
	// /v2/ (a *gateway.Service).
	Gateway GatewayService
	// APIKeys serves API keys and usage plans (REST API v1 paths, a *gateway.Keys).
	APIKeys APIKeyService
	// Queues serves the SQS API, both its JSON 1.0 and query protocols
	// (a *queue.Service); nil leaves SQS unserved.
	Queues queue.API
	// Topics serves the SNS query API (a *topic.Service); nil leaves SNS unserved.
	Topics topic.API
	// EventSourceMappings serves the Lambda event source mapping
	// operations (an *esm.Service).
	EventSourceMappings esm.API
}

// Defaults.
const (
	DefaultAccountID = "000000000000"
	DefaultRegion    = "us-east-1"
)

// Body limits. AWS accepts 70167211 bytes for CreateFunction and
// UpdateFunctionCode (a 50 MB zip, base64-encoded, plus the rest of the
// JSON); 6 MB is plenty for every other control-plane body.
const (
	codeBodyLimit    int64 = 70167211
	defaultBodyLimit int64 = 6 << 20
)

// API serves every AWS-compatible request on the edge port (everything but
// /_lamina/, which the server routes to the console and health checks).
type API struct {
	opts          Options
	log           *slog.Logger
	clock         clock.Clock
	mux           *http.ServeMux
	unknown       http.Handler
	codeKey       []byte
	codeBodyLimit int64
	// targets are the JSON-protocol services on POST / by X-Amz-Target prefix (target.go).
	targets map[string]*jsonService
	// queries are the query-protocol services by signing name (query_route.go).
	queries map[string]*queryService
}

// New returns the edge handler.
func New(opts Options) *API {
	if opts.AccountID == "" {
		opts.AccountID = DefaultAccountID
	}
	if opts.DefaultRegion == "" {
		opts.DefaultRegion = DefaultRegion
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	a := &API{
		opts:          opts,
		log:           opts.Logger,
		clock:         opts.Clock,
		mux:           http.NewServeMux(),
		codeKey:       opts.CodeURLKey,
		codeBodyLimit: codeBodyLimit,
	}
	if len(a.codeKey) == 0 {
		a.codeKey = make([]byte, 32)
		_, _ = rand.Read(a.codeKey) // never fails (crypto/rand panics rather than return an error)
	}
	if opts.Functions != nil {
		// A registry configured for larger packages than AWS's 50 MB needs a
		// body that can carry them: base64 grows 3 bytes to 4, plus room for
		// the rest of the request.
		if maxZip := opts.Functions.Limits().MaxZipSize; maxZip > 0 {
			if need := int64(base64.StdEncoding.EncodedLen(int(maxZip))) + 1<<18; need > a.codeBodyLimit {
				a.codeBodyLimit = need
			}
		}
	}
	a.routeLambda()
	a.routeCode()
	a.routeLogs()
	a.routeTargets()
	a.routeDeadLetters()
	a.routeStacks()
	a.routeScheduler()
	a.routeEvents()
	a.routeGateway()
	a.routeAPIKeys()
	a.routeSQS()
	a.routeSNS()
	a.routeEventSourceMappings()
	// No body limit: an unknown operation is refused as such, whatever its size.
	a.unknown = a.handler("UnknownOperation", math.MaxInt64, unknownOperation)
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case a.queries != nil && isQueueURLPath(r.URL.Path):
			// A query-protocol request sent to an SQS queue URL.
			a.serveQuery(w, r, r.URL.Path)
		case a.queries != nil && r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Query().Get("Action") != "":
			// A query-protocol GET, such as an SNS SubscribeURL.
			a.serveQuery(w, r, "")
		default:
			a.unknown.ServeHTTP(w, r)
		}
	})
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p != cleanPath(p) {
		// ServeMux would answer with a redirect to the cleaned path, which
		// no AWS client expects; no operation has such a path.
		a.unknown.ServeHTTP(w, r)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// cleanPath is ServeMux's notion of a canonical path.
func cleanPath(p string) string {
	if p == "" || p[0] != '/' {
		return "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// call is what a handler knows about its request beyond the *http.Request.
type call struct {
	id     string // x-amzn-RequestId
	op     string // operation name, for logs and error messages
	region string // from the SigV4 credential scope, else the default
	limit  int64  // body size limit
}

// handlerFunc is an operation: it writes a success response or returns an
// error, which the wrapper renders.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call) error

// handler wraps an operation with the per-request plumbing: request id,
// region, body limit, error rendering in the REST-JSON shape.
func (a *API) handler(op string, limit int64, h handlerFunc) http.Handler {
	return a.wrap(op, limit, h, a.renderError)
}

// wrap is the per-request plumbing every protocol shares; render writes a
// failure in the protocol's own error shape.
func (a *API) wrap(op string, limit int64, h handlerFunc, render func(http.ResponseWriter, *call, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{
			id:     uuid.NewString(),
			op:     op,
			region: regionOf(r, a.opts.DefaultRegion),
			limit:  limit,
		}
		// AWS's casing; Header.Set would canonicalize it to X-Amzn-Requestid.
		w.Header()["x-amzn-RequestId"] = []string{c.id}
		tw := &trackingWriter{ResponseWriter: w}
		err := func() error {
			if r.ContentLength > limit {
				return requestTooLarge(op, limit)
			}
			if r.Body != nil {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			return h(tw, r, c)
		}()
		if err == nil {
			return
		}
		if tw.wrote {
			// Too late to change the status: the failure can only be logged.
			a.log.Error("request failed after its response started", "op", op, "requestId", c.id, "err", err)
			return
		}
		render(tw, c, err)
	})
}

func unknownOperation(w http.ResponseWriter, r *http.Request, c *call) error {
	return newAPIError(errUnknownOperation, "No operation matches %s %s.", r.Method, r.URL.EscapedPath())
}

// trackingWriter records whether a response has started.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// decodeJSON reads the request body into v. An empty body is an empty
// object; unknown members are ignored (AWS adds members over time); a body
// over the limit is RequestTooLargeException; anything unparseable is
// InvalidRequestContentException with a message that does not leak Go types.
func decodeJSON(r *http.Request, c *call, v any) error {
	if r.Body == nil {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return requestTooLarge(c.op, c.limit)
		}
		return invalidContent("the body could not be read")
	}
	return unmarshalBody(body, v)
}

// unmarshalBody is the decoding half of decodeJSON (fuzzed on its own).
func unmarshalBody(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return invalidContent("%s", describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidContent("unexpected data after the JSON object")
	}
	return nil
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var b64 base64.CorruptInputError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at offset %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return fmt.Sprintf("the request body must be a JSON object, not %s", typ.Value)
		}
		return fmt.Sprintf("a JSON %s cannot be used for '%s'", typ.Value, typ.Field)
	case errors.As(err, &b64):
		return fmt.Sprintf("invalid base64 blob at byte %d", int64(b64))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends too early"
	default:
		return "malformed JSON"
	}
}

// writeJSON sends a success response.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// writeEmpty sends a success response without a body (the 204s).
func writeEmpty(w http.ResponseWriter, status int) error {
	w.WriteHeader(status)
	return nil
}
