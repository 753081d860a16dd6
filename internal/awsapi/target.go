package awsapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// The AWS JSON protocols (awsJson1_0 and awsJson1_1: CloudWatch Logs,
// SQS, Step Functions, EventBridge, ...) all send `POST /` and name the
// operation in a header:
//
//	POST / HTTP/1.1
//	X-Amz-Target: Logs_20140328.FilterLogEvents
//	Content-Type: application/x-amz-json-1.1
//
//	{"logGroupName":"/aws/lambda/hello","limit":50}
//
// Each such service is a jsonService registered under its target prefix
// (the part before the dot); serveTarget routes on it. Errors are the
// protocol's shape, in the service's own catalogue:
//
//	HTTP/1.1 400 Bad Request
//	x-amzn-RequestId: <uuid>
//	X-Amzn-ErrorType: ResourceNotFoundException
//	Content-Type: application/x-amz-json-1.1
//
//	{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}
//
// aws-sdk-go-v2 takes the code from X-Amzn-ErrorType, else from "__type"
// (dropping any "namespace#" prefix), and the message from "message".

// Content types of the two JSON protocols.
const (
	contentTypeJSON10 = "application/x-amz-json-1.0"
	contentTypeJSON11 = "application/x-amz-json-1.1"
)

// jsonService is one AWS JSON-protocol service on the edge.
type jsonService struct {
	// prefix is the X-Amz-Target prefix, e.g. "Logs_20140328".
	prefix string
	// contentType is contentTypeJSON10 or contentTypeJSON11.
	contentType string
	// ops maps operation names onto handlers (made by register).
	ops map[string]http.Handler
	// byKind maps fault kinds onto the service's modeled exceptions;
	// internal is its server fault, for everything else.
	byKind   map[fault.Kind]*wireError
	internal *wireError
}

// jsonOp is one operation of a jsonService.
type jsonOp struct {
	name  string
	limit int64
	h     handlerFunc
}

// Wire errors common to the JSON protocols: a target nobody serves, and a
// body that is not JSON (what AWS's JSON services answer for it).
var (
	errJSONUnknownOperation = &wireError{"UnknownOperationException", http.StatusBadRequest, "User", "message"}
	errJSONSerialization    = &wireError{"SerializationException", http.StatusBadRequest, "User", "message"}
)

// registerJSON adds svc with its operations to the edge's POST / routing.
func (a *API) registerJSON(svc *jsonService, ops []jsonOp) {
	svc.ops = make(map[string]http.Handler, len(ops))
	for _, op := range ops {
		svc.ops[op.name] = a.jsonHandler(svc, op.name, op.limit, op.h)
	}
	if a.targets == nil {
		a.targets = map[string]*jsonService{}
	}
	a.targets[svc.prefix] = svc
}

// routeTargets routes POST / by X-Amz-Target. A POST / without one is not a
// JSON-protocol request (later, the query protocol's Action=...); it is
// answered as an unknown operation for now.
func (a *API) routeTargets() {
	a.mux.HandleFunc("POST /{$}", func(w http.ResponseWriter, r *http.Request) {
		target := r.Header.Get("X-Amz-Target")
		if target == "" {
			if len(a.queries) == 0 {
				a.unknown.ServeHTTP(w, r)
				return
			}
			// No target: the query protocol (query_route.go).
			a.serveQuery(w, r, "")
			return
		}
		prefix, op, _ := strings.Cut(target, ".")
		svc := a.targets[prefix]
		if svc == nil {
			svc = &jsonService{contentType: contentTypeJSON11, internal: errService}
			if strings.HasPrefix(r.Header.Get("Content-Type"), contentTypeJSON10) {
				svc.contentType = contentTypeJSON10
			}
			a.jsonHandler(svc, "UnknownOperation", 1<<20, func(http.ResponseWriter, *http.Request, *call) error {
				return newAPIError(errJSONUnknownOperation, "No service serves the target %q here.", target)
			}).ServeHTTP(w, r)
			return
		}
		h := svc.ops[op]
		if h == nil {
			h = a.jsonHandler(svc, op, 1<<20, func(http.ResponseWriter, *http.Request, *call) error {
				return newAPIError(errJSONUnknownOperation, "Operation %s is not supported by Lamina.", target)
			})
		}
		h.ServeHTTP(w, r)
	})
}

// jsonHandler is handler for the JSON protocols: the same per-request
// plumbing, with errors rendered by renderJSONError.
func (a *API) jsonHandler(svc *jsonService, op string, limit int64, h handlerFunc) http.Handler {
	return a.wrap(op, limit, h, func(w http.ResponseWriter, c *call, err error) {
		a.renderJSONError(w, svc, c, err)
	})
}

// renderJSONError writes err in the JSON protocols' error shape, with the
// service's catalogue; internal details are only logged.
func (a *API) renderJSONError(w http.ResponseWriter, svc *jsonService, c *call, err error) {
	wire, message := svc.internal, internalMessage
	var ae *apiError
	var fe *fault.Error
	switch {
	case errors.As(err, &ae):
		wire, message = ae.wire, ae.message
	case errors.As(err, &fe) && fe.Kind == fault.InvalidContent:
		wire, message = errJSONSerialization, fe.Message
	case errors.As(err, &fe) && fe.Kind != fault.Internal:
		if k, ok := svc.byKind[fe.Kind]; ok {
			wire, message = k, fe.Message
		}
	}
	a.writeWireError(w, c, wire, svc.contentType, map[string]string{"__type": wire.Name, "message": message}, err)
}

// writeTargetJSON sends a JSON-protocol success response.
func writeTargetJSON(w http.ResponseWriter, contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}
