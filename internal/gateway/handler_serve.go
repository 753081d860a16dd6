package gateway

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/gateway/payload"
)

// ServeHTTP serves one request: API and stage selection, CORS, routing,
// throttling, authorization, API key, body, validation, then the Lambda
// proxy integration.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.opts.Clock.Now()
	lw := &logWriter{ResponseWriter: w}
	rec := &accessRecord{
		requestID:   newRequestID(),
		ip:          remoteIP(r),
		start:       start,
		method:      r.Method,
		path:        r.URL.Path,
		routeKey:    "-",
		protocol:    r.Proto,
		integration: -1,
	}
	// Every response carries these, errors included, as AWS's do.
	lw.Header().Set("Apigw-Requestid", rec.requestID)
	trace := r.Header.Get("X-Amzn-Trace-Id")
	if trace == "" {
		trace = newTraceID(start)
		r.Header.Set("X-Amzn-Trace-Id", trace) // the function sees it too
	}
	lw.Header().Set("X-Amzn-Trace-Id", trace)

	h.serve(lw, r, rec)
	if lw.status == 0 {
		lw.WriteHeader(http.StatusOK)
	}
	h.logAccess(r.Context(), rec, lw, h.opts.Clock.Now())
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, rec *accessRecord) {
	doc, rest := selectAPI(h.opts.Defs, r.Host, r.URL.EscapedPath())
	if doc == nil {
		writeMessage(w, http.StatusNotFound, msgNotFound)
		return
	}
	rec.apiID = doc.API.ID
	cors := doc.API.Cors
	if cors != nil {
		if isPreflight(r) {
			cors.writePreflight(w, r)
			return
		}
		cors.setResponseHeaders(w.Header(), r.Header.Get("Origin"))
	}

	stageName, stage, rest, ok := selectStage(doc, rest)
	if !ok {
		writeMessage(w, http.StatusNotFound, msgNotFound)
		return
	}
	rec.stage = stageName

	api := h.routes(doc)
	m := api.table.Match(r.Method, rest)
	if m.Index < 0 {
		writeMessage(w, http.StatusNotFound, msgNotFound)
		return
	}
	rt := api.routes[m.Index]
	rec.routeKey = rt.Key

	if h.opts.Throttler != nil && !h.opts.Throttler.Check(doc.API.ID, stageName, rt.Key, *stage) {
		writeMessage(w, http.StatusTooManyRequests, msgTooManyRequests)
		return
	}

	addForwarded(r)
	path, err := url.PathUnescape(rest)
	if err != nil {
		path = rest // the route matched it; keep what was sent
	}
	in := &payload.Request{
		APIID:          doc.API.ID,
		Stage:          stageName,
		RequestID:      rec.requestID,
		AccountID:      h.opts.AccountID,
		Region:         h.opts.Region,
		RouteKey:       rt.Key,
		ResourcePath:   resourcePath(rt.Key),
		Path:           path,
		RawPath:        rest,
		PathParameters: m.Params,
		StageVariables: stage.StageVariables,
		SourceIP:       rec.ip,
		Time:           rec.start,
	}

	auth, ok := h.authorize(w, r, doc, rt, in, rec)
	if !ok {
		return
	}

	if rt.APIKeyRequired {
		status, msg := http.StatusForbidden, msgForbidden
		if h.opts.APIKeys != nil {
			status, msg = h.opts.APIKeys.Check(r.Context(), r.Header.Get("X-Api-Key"), doc.API.ID, stageName)
		}
		if status != 0 && status != http.StatusOK {
			writeMessage(w, status, msg)
			return
		}
	}

	body, status := h.readBody(r)
	if status != 0 {
		msg := http.StatusText(status)
		if status == http.StatusRequestEntityTooLarge {
			msg = msgTooLarge
		}
		writeMessage(w, status, msg)
		return
	}
	in.Body = body

	if !h.validate(w, r, doc, rt, body) {
		return
	}

	integ, ok := doc.Integrations[rt.IntegrationID]
	if !ok || integ.Type != IntegrationLambda || integ.FunctionName == "" {
		// A route without a usable integration: AWS answers 500.
		rec.integrationError = fmt.Sprintf("route %q has no Lambda proxy integration", rt.Key)
		writeMessage(w, http.StatusInternalServerError, msgInternal)
		return
	}
	in.Authorizer = authorizerContext(integ.PayloadFormatVersion, auth)
	h.integrate(w, r, cors != nil, integ, in, rec)
}

// integrate calls the Lambda proxy integration and writes its response.
func (h *handler) integrate(w http.ResponseWriter, r *http.Request, cors bool, integ Integration, in *payload.Request, rec *accessRecord) {
	v1 := integ.PayloadFormatVersion == "1.0"
	var event []byte
	var err error
	if v1 {
		event, err = payload.BuildV1(r, in)
	} else {
		event, err = payload.BuildV2(r, in)
	}
	if err != nil {
		rec.integrationError = fmt.Sprintf("build event: %v", err)
		writeMessage(w, http.StatusInternalServerError, msgInternal)
		return
	}

	timeout := h.opts.IntegrationTimeout
	if ms := integ.TimeoutMillis; ms > 0 && time.Duration(ms)*time.Millisecond < timeout {
		timeout = time.Duration(ms) * time.Millisecond
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), timeout, errIntegrationTimeout)
	defer cancel()
	began := h.opts.Clock.Now()
	result, functionError, err := h.opts.Invoker.Invoke(ctx, integ.FunctionName, integ.Qualifier, event)
	rec.integration = h.opts.Clock.Now().Sub(began)

	switch {
	case errors.Is(context.Cause(ctx), errIntegrationTimeout):
		// Whatever the invoker returned, the deadline passed first: HTTP
		// APIs answer 503 (REST APIs 504), observed on AWS with the
		// apigw-requestid header of an HTTP API (cortexlabs/cortex#1225).
		rec.integrationStatus = http.StatusGatewayTimeout
		rec.integrationError = fmt.Sprintf("integration timed out after %v", timeout)
		writeMessage(w, http.StatusServiceUnavailable, msgServiceUnavailable)
		return
	case err != nil:
		// The function could not be invoked: missing, throttled (Lambda's
		// 429 becomes API Gateway's 500 too; AWS maps no status of
		// Lambda's through), or the invoker failed.
		rec.integrationStatus = http.StatusInternalServerError
		rec.integrationError = err.Error()
		if r.Context().Err() != nil {
			rec.integrationError = "client went away: " + rec.integrationError
		}
		writeMessage(w, http.StatusInternalServerError, msgInternal)
		return
	case functionError:
		// AWS's documented rule (Lambda developer guide, "Handling Lambda
		// errors with an API Gateway API"): an invocation Lambda rejects is
		// a 500, a function that runs and fails (a function timeout
		// included) or answers in the wrong format is a 502.
		rec.integrationStatus = http.StatusOK
		rec.integrationError = "function error: " + truncate(string(result), 512)
		writeMessage(w, http.StatusBadGateway, msgInternal)
		return
	}

	var resp *payload.Response
	if v1 {
		resp, err = payload.ParseV1(result)
	} else {
		resp, err = payload.ParseV2(result)
	}
	if err != nil {
		rec.integrationStatus = http.StatusOK
		rec.integrationError = fmt.Sprintf("malformed Lambda proxy response: %v", err)
		writeMessage(w, http.StatusBadGateway, msgInternal)
		return
	}
	rec.integrationStatus = resp.StatusCode
	if cors {
		stripCORS(resp.Header)
	}
	resp.Write(w)
}

// readBody reads the request body up to MaxBodyBytes; status is 413 when
// it is larger, 400 when it could not be read.
func (h *handler) readBody(r *http.Request) ([]byte, int) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, 0
	}
	limit := h.opts.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, http.StatusBadRequest
	}
	if int64(len(body)) > limit {
		return nil, http.StatusRequestEntityTooLarge
	}
	return body, 0
}

// validate applies the route's required parameters and request model. It
// writes the response and returns false when the request is refused.
func (h *handler) validate(w http.ResponseWriter, r *http.Request, doc *APIDoc, rt Route, body []byte) bool {
	v := h.opts.Validator
	if v == nil || (len(rt.RequestParameters) == 0 && len(rt.RequestModels) == 0) {
		return true
	}
	if len(rt.RequestParameters) > 0 {
		query, _ := url.ParseQuery(r.URL.RawQuery) // what parsed counts, as AWS
		if err := v.ValidateParams(rt.RequestParameters, query, r.Header); err != nil {
			writeValidationError(w, err)
			return false
		}
	}
	ct := r.Header.Get("Content-Type")
	name, ok := selectModel(rt.RequestModels, ct)
	if !ok {
		return true
	}
	model, ok := modelByName(doc, name)
	if !ok {
		h.log.Warn("gateway: route names a missing model", "apiId", doc.API.ID, "routeKey", rt.Key, "model", name)
		writeMessage(w, http.StatusInternalServerError, msgInternal)
		return false
	}
	if err := v.ValidateBody(model, ct, body); err != nil {
		writeValidationError(w, err)
		return false
	}
	return true
}

// selectModel picks the model for a content type as API Gateway does: by
// media type without parameters, case-insensitively, else "$default".
// (limit.SelectModel does the same; limit imports this package.)
func selectModel(models map[string]string, contentType string) (string, bool) {
	if len(models) == 0 {
		return "", false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	if mt != "" {
		for k, name := range models {
			if strings.EqualFold(strings.TrimSpace(k), mt) {
				return name, true
			}
		}
	}
	name, ok := models["$default"]
	return name, ok
}

func modelByName(doc *APIDoc, name string) (Model, bool) {
	for _, m := range doc.Models {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

// writeValidationError answers a validation failure: 400 with the error
// itself as the body when it is the client's fault (limit.ValidationError
// marshals to {"message": ..., "errors": [...]}), 500 otherwise (a model
// that does not compile is a definition problem).
func writeValidationError(w http.ResponseWriter, err error) {
	if body, ok := clientErrorBody(err); ok {
		writeJSON(w, http.StatusBadRequest, body)
		return
	}
	writeMessage(w, http.StatusInternalServerError, msgInternal)
}

// clientErrorBody finds, in err's chain, an error whose JSON form is an
// API Gateway body (an object with a non-empty "message"). That is how a
// limit.ValidationError is recognised without importing limit (which
// imports this package); wrapped plain errors marshal to {} and are not.
func clientErrorBody(err error) ([]byte, bool) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		b, merr := json.Marshal(e)
		if merr != nil {
			continue
		}
		var probe struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &probe) == nil && probe.Message != "" {
			return b, true
		}
	}
	return nil, false
}

// resourcePath is a route key's path ("/pets/{id}"); "" for $default, for
// which payload uses the request path, as AWS does.
func resourcePath(key string) string {
	_, p, ok := strings.Cut(key, " ")
	if !ok {
		return ""
	}
	return p
}

// addForwarded adds the X-Forwarded-* headers API Gateway adds to what the
// function sees, unless a proxy in front already did.
func addForwarded(r *http.Request) {
	ip := remoteIP(r)
	if prior := r.Header.Get("X-Forwarded-For"); prior != "" {
		r.Header.Set("X-Forwarded-For", prior+", "+ip)
	} else if ip != "" {
		r.Header.Set("X-Forwarded-For", ip)
	}
	if r.Header.Get("X-Forwarded-Proto") == "" {
		proto := "http"
		if r.TLS != nil {
			proto = "https"
		}
		r.Header.Set("X-Forwarded-Proto", proto)
	}
	if r.Header.Get("X-Forwarded-Port") == "" {
		if _, port, err := net.SplitHostPort(r.Host); err == nil {
			r.Header.Set("X-Forwarded-Port", port)
		} else if r.TLS != nil {
			r.Header.Set("X-Forwarded-Port", "443")
		} else {
			r.Header.Set("X-Forwarded-Port", "80")
		}
	}
}

func remoteIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// writeMessage writes API Gateway's error body {"message": msg}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away: nothing to do
}

// newRequestID returns an id shaped like AWS's apigw-requestid
// ("RL2XYiwjPHcEMEQ="): 11 random bytes in base64. It is an identifier,
// not a secret, so math/rand's per-goroutine-safe source is enough.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return base64.StdEncoding.EncodeToString(b[:11])
}

// newTraceID returns an X-Ray trace header for a request that came
// without one: "Root=1-{epoch seconds, 8 hex}-{96 random bits, 24 hex}".
func newTraceID(now time.Time) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return fmt.Sprintf("Root=1-%08x-%s", uint32(now.Unix()), hex.EncodeToString(b[:12]))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
