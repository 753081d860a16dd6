package gateway

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/gateway/payload"
)

// Function URLs: the data plane
//
// A function URL is served on the gateway listener in two forms:
//
//   - host form: any request whose Host is
//     "{urlId}.lambda-url.{region}.localhost[:port]" (what the control plane
//     reports as FunctionUrl). *.localhost resolves to the loopback address
//     without DNS setup in browsers, curl and most resolvers; the region
//     label is not checked, the URL id alone names the URL.
//   - path form, for clients that cannot set Host (or resolvers that do not
//     map *.localhost): "/_lamina/function-urls/{urlId}/{path...}" on any
//     host. The function sees "/{path...}" as rawPath, exactly as with the
//     host form.
//
// As AWS: every method and path reaches the function (no routing); the
// event is payload format 2.0 with routeKey and stage "$default", apiId and
// domainPrefix the URL id; the result follows 2.0's rules, inference
// included; a function error is 502. With Cors configured, Lamina answers
// preflights itself and sets the CORS headers on every response, dropping
// those the function sets; without it, OPTIONS goes to the function.
//
// AuthType AWS_IAM is refused with 403 {"Message":"Forbidden"} for every
// request: Lamina does not verify SigV4 signatures on function URLs yet,
// and admitting unsigned callers would make an IAM-protected URL public.
// RESPONSE_STREAM URLs are served buffered (the function's whole response
// is sent at once).

// FunctionURLPathPrefix starts the path form of a function URL.
const FunctionURLPathPrefix = "/_lamina/function-urls/"

// functionURLHostLabel is the label after the URL id in the host form.
const functionURLHostLabel = ".lambda-url."

// maxFunctionURLBody is Lambda's synchronous request payload limit, which
// bounds what a function URL can take (the event adds to the body, so a
// body this size may still be refused by the invoker).
const maxFunctionURLBody = 6 << 20

// FunctionURLLookup finds the function URL with id urlID: the function it
// invokes, the qualifier ($LATEST or an alias) and its config.
// (*function.Service).LookupFunctionURL has this signature.
type FunctionURLLookup func(urlID string) (functionName, qualifier string, cfg function.FunctionURLConfig, ok bool)

// FunctionURLOptions configure NewFunctionURLHandler.
type FunctionURLOptions struct {
	Lookup  FunctionURLLookup
	Invoker Invoker
	Clock   clock.Clock  // default clock.Real
	Logger  *slog.Logger // default slog.Default()
	// Region names the host of the path form in the event's domainName;
	// AccountID is not sent (callers of NONE URLs are "anonymous", as AWS
	// reports them) but kept for AWS_IAM callers once they are verified.
	Region, AccountID string
}

type functionURLHandler struct {
	opts FunctionURLOptions
	log  *slog.Logger
}

// NewFunctionURLHandler returns the data plane of function URLs: it serves
// requests in the host form or the path form (see above) and answers 404
// {"message":"Not Found"} to anything else, or to an unknown URL id.
func NewFunctionURLHandler(opts FunctionURLOptions) http.Handler {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Region == "" {
		opts.Region = function.DefaultRegion
	}
	return &functionURLHandler{opts: opts, log: opts.Logger}
}

// IsFunctionURLHost reports whether host (a Host header, with or without
// port) is the host form "{urlId}.lambda-url.{region}.localhost" and
// returns the URL id. The gateway's main handler dispatches such requests
// to the function URL handler.
func IsFunctionURLHost(host string) (urlID string, ok bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	rest, found := strings.CutSuffix(host, ".localhost")
	if !found {
		return "", false
	}
	id, region, found := strings.Cut(rest, functionURLHostLabel)
	if !found || region == "" || strings.Contains(region, ".") || !isURLID(id) {
		return "", false
	}
	return id, true
}

// isURLID reports whether s has the shape of a URL id (32 of [a-z0-9]).
func isURLID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// target works out which URL a request is for and the path the function
// sees (decoded and as received).
func (h *functionURLHandler) target(r *http.Request) (urlID, domain, path, rawPath string, ok bool) {
	if id, ok := IsFunctionURLHost(r.Host); ok {
		domain = r.Host
		if hh, _, err := net.SplitHostPort(domain); err == nil {
			domain = hh
		}
		return id, strings.ToLower(domain), r.URL.Path, r.URL.EscapedPath(), true
	}
	rest, found := strings.CutPrefix(r.URL.Path, FunctionURLPathPrefix)
	if !found {
		return "", "", "", "", false
	}
	id, sub, _ := strings.Cut(rest, "/")
	if !isURLID(id) {
		return "", "", "", "", false
	}
	rawRest := strings.TrimPrefix(r.URL.EscapedPath(), FunctionURLPathPrefix+id)
	return id, id + functionURLHostLabel + h.opts.Region + ".localhost", "/" + sub, "/" + strings.TrimPrefix(rawRest, "/"), true
}

func (h *functionURLHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.opts.Clock.Now()
	requestID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", requestID)
	status := h.serve(w, r, requestID, start)
	h.log.Info("function url request", "requestId", requestID, "method", r.Method, "host", r.Host,
		"path", r.URL.Path, "status", status, "latency", h.opts.Clock.Now().Sub(start))
}

// serve answers r and returns the status sent, for the access log.
func (h *functionURLHandler) serve(w http.ResponseWriter, r *http.Request, requestID string, start time.Time) int {
	urlID, domain, path, rawPath, ok := h.target(r)
	if !ok {
		return writeURLError(w, http.StatusNotFound, "message", "Not Found")
	}
	name, qualifier, cfg, ok := h.opts.Lookup(urlID)
	if !ok {
		return writeURLError(w, http.StatusNotFound, "message", "Not Found")
	}
	cors := urlCors(cfg.Cors)
	if cors != nil && isPreflight(r) {
		cors.writePreflight(w, r)
		return http.StatusNoContent
	}
	if cors != nil {
		cors.setResponseHeaders(w.Header(), r.Header.Get("Origin"))
	}
	if cfg.AuthType != function.FunctionURLAuthNone {
		// See the file comment: no SigV4 verification yet, so no caller
		// can be admitted. Lambda words its 403 with a capital M.
		return writeURLError(w, http.StatusForbidden, "Message", "Forbidden")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFunctionURLBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return writeURLError(w, http.StatusRequestEntityTooLarge, "message", "Request Entity Too Large")
		}
		return writeURLError(w, http.StatusBadRequest, "message", "Bad Request")
	}
	event, err := payload.BuildV2(r, &payload.Request{
		APIID:      urlID,
		Stage:      "$default",
		RouteKey:   "$default",
		RequestID:  requestID,
		AccountID:  "anonymous",
		Region:     h.opts.Region,
		Path:       path,
		RawPath:    rawPath,
		DomainName: domain,
		Time:       start,
		Body:       body,
	})
	if err != nil {
		h.log.Error("function url: build event", "requestId", requestID, "err", err)
		return writeURLError(w, http.StatusInternalServerError, "message", "Internal Server Error")
	}
	result, functionError, err := h.opts.Invoker.Invoke(r.Context(), name, qualifier, event)
	if err != nil {
		h.log.Warn("function url: invoke", "requestId", requestID, "function", name, "qualifier", qualifier, "err", err)
		return writeURLError(w, http.StatusInternalServerError, "message", "Internal Server Error")
	}
	if functionError {
		return writeURLError(w, http.StatusBadGateway, "message", "Internal Server Error")
	}
	resp, err := payload.ParseV2(result)
	if err != nil {
		h.log.Warn("function url: malformed response", "requestId", requestID, "function", name, "err", err)
		return writeURLError(w, http.StatusBadGateway, "message", "Internal Server Error")
	}
	if cors != nil {
		// The URL's CORS settings override the function's own headers.
		stripCORS(resp.Header)
	}
	resp.Write(w)
	if resp.StatusCode == 0 {
		return http.StatusOK
	}
	return resp.StatusCode
}

// urlCors adapts a URL's Cors settings to the gateway's CORS rules (nil
// when the URL has none).
func urlCors(c *function.FunctionURLCors) *Cors {
	if c == nil {
		return nil
	}
	out := &Cors{
		AllowOrigins:  c.AllowOrigins,
		AllowMethods:  c.AllowMethods,
		AllowHeaders:  c.AllowHeaders,
		ExposeHeaders: c.ExposeHeaders,
		MaxAge:        c.MaxAge,
	}
	if c.AllowCredentials != nil {
		out.AllowCredentials = *c.AllowCredentials
	}
	return out
}

// writeURLError sends a JSON error body {member: message} and returns status.
func writeURLError(w http.ResponseWriter, status int, member, message string) int {
	b, _ := json.Marshal(map[string]string{member: message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return status
}
