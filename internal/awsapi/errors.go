package awsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// This file is the one catalogue of wire errors the edge sends, and the one
// place that renders them. Handlers return errors (a *fault.Error from a
// service, or an *apiError made here); renderError turns them into AWS's
// restJson1 error shape:
//
//	HTTP/1.1 404 Not Found
//	x-amzn-RequestId: <uuid>
//	X-Amzn-ErrorType: ResourceNotFoundException
//	Content-Type: application/json
//
//	{"Type":"User","Message":"Function not found: ..."}
//
// aws-sdk-go-v2 takes the error code from X-Amzn-ErrorType (then body
// "__type", then "code"), strips anything up to '#' and after ':', and
// deserializes the body into the modeled exception, whose message member is
// "message" for most Lambda exceptions but "Message" for
// ResourceNotFoundException and ServiceException (smithy-go accepts either
// casing; botocore reads "message" then "Message"). We send the modeled
// casing so every client finds it where its model says.

// wireError is one exception of the catalogue.
type wireError struct {
	Name   string // the exception's shape name, sent as X-Amzn-ErrorType
	Status int
	// Type is Lambda's "Type" member: "User" for caller faults, "Service" for ours.
	Type string
	// MessageMember is the modeled JSON name of the message ("message" or "Message").
	MessageMember string
}

// The catalogue. Exceptions modeled in the Lambda API surface in
// aws-sdk-go-v2 as typed errors (*types.ResourceNotFoundException, ...);
// the others (UnknownOperationException, AccessDeniedException) as
// *smithy.GenericAPIError with the same code.
var (
	errInvalidParameterValue = &wireError{"InvalidParameterValueException", http.StatusBadRequest, "User", "message"}
	errInvalidRequestContent = &wireError{"InvalidRequestContentException", http.StatusBadRequest, "User", "message"}
	errResourceNotFound      = &wireError{"ResourceNotFoundException", http.StatusNotFound, "User", "Message"}
	errResourceConflict      = &wireError{"ResourceConflictException", http.StatusConflict, "User", "message"}
	errPreconditionFailed    = &wireError{"PreconditionFailedException", http.StatusPreconditionFailed, "User", "message"}
	errRequestTooLarge       = &wireError{"RequestTooLargeException", http.StatusRequestEntityTooLarge, "User", "message"}
	errTooManyRequests       = &wireError{"TooManyRequestsException", http.StatusTooManyRequests, "User", "message"}
	errService               = &wireError{"ServiceException", http.StatusInternalServerError, "Service", "Message"}
	// errProvisionedConfigNotFound: a version or alias without provisioned concurrency.
	errProvisionedConfigNotFound = &wireError{"ProvisionedConcurrencyConfigNotFoundException", http.StatusNotFound, "User", "message"}
	// errAccessDenied is what Lambda answers for a function ARN of another account.
	errAccessDenied = &wireError{"AccessDeniedException", http.StatusForbidden, "User", "Message"}
	// errUnknownOperation answers a method and path that name no operation.
	errUnknownOperation = &wireError{"UnknownOperationException", http.StatusNotFound, "User", "message"}
)

// byKind maps the kinds services report onto the catalogue.
//
// fault.Unsupported (an option or value Lamina recognises but does not
// implement, such as Code.S3Bucket) is sent as InvalidParameterValueException
// 400 rather than a 501: it is the caller's request that must change, every
// SDK has it as a typed, non-retried error, and Lambda itself uses it for
// "not supported" answers ("Deletion of aliases is not currently
// supported."). A 5xx would make SDKs retry a request that cannot succeed.
var byKind = map[fault.Kind]*wireError{
	fault.Invalid:            errInvalidParameterValue,
	fault.InvalidContent:     errInvalidRequestContent,
	fault.NotFound:           errResourceNotFound,
	fault.Conflict:           errResourceConflict,
	fault.PreconditionFailed: errPreconditionFailed,
	fault.TooLarge:           errRequestTooLarge,
	fault.Throttled:          errTooManyRequests,
	fault.Unsupported:        errInvalidParameterValue,
	fault.Internal:           errService,
}

// apiError is an error made by the edge itself for a wire error that has no
// fault kind (an unknown operation, another account's ARN).
type apiError struct {
	wire    *wireError
	message string
}

func (e *apiError) Error() string { return e.wire.Name + ": " + e.message }

func newAPIError(w *wireError, format string, args ...any) *apiError {
	return &apiError{wire: w, message: fmt.Sprintf(format, args...)}
}

// defaultRetryAfter is sent with a 429 when the error does not say how long
// to wait.
const defaultRetryAfter = time.Second

// retryAfterer is an optional interface of throttling errors that know when
// capacity is expected back.
type retryAfterer interface{ RetryAfter() time.Duration }

// internalMessage is all a caller learns of an internal failure.
const internalMessage = "An internal error occurred; the request ID identifies it in the server's log."

// inCallerRegion rewrites the ARNs a service quotes in a message into the
// caller's region. Services keep no region per request: the registry names
// functions in the default region (the server gives both the same one).
func (a *API) inCallerRegion(c *call, message string) string {
	if c.region == a.opts.DefaultRegion {
		return message
	}
	return strings.ReplaceAll(message, "arn:aws:lambda:"+a.opts.DefaultRegion+":", "arn:aws:lambda:"+c.region+":")
}

// renderError writes err in the wire shape. It is the only place that turns
// errors into responses.
func (a *API) renderError(w http.ResponseWriter, c *call, err error) {
	wire, message, reason := errService, internalMessage, ""
	var ae *apiError
	var fe *fault.Error
	switch {
	case errors.As(err, &ae):
		wire, message = ae.wire, ae.message
	case errors.As(err, &fe) && fe.Kind != fault.Internal:
		if k, ok := byKind[fe.Kind]; ok {
			wire, message, reason = k, a.inCallerRegion(c, fe.Message), fe.Reason
		}
	}

	body := map[string]string{"Type": wire.Type, wire.MessageMember: message}
	h := w.Header()
	if wire == errTooManyRequests {
		if reason != "" {
			body["Reason"] = reason
		}
		after := defaultRetryAfter
		var ra retryAfterer
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			after = ra.RetryAfter()
		}
		h.Set("Retry-After", strconv.Itoa(int((after+time.Second-1)/time.Second)))
	}
	a.writeWireError(w, c, wire, "application/json", body, err)
}

// writeWireError is the tail every error renderer shares: it logs err
// (internal failures at Error, refusals at Debug) and writes body with the
// X-Amzn-ErrorType header and wire's status.
func (a *API) writeWireError(w http.ResponseWriter, c *call, wire *wireError, contentType string, body map[string]string, err error) {
	if wire.Status >= 500 {
		a.log.Error("request failed", "op", c.op, "requestId", c.id, "err", err)
	} else {
		a.log.Debug("request refused", "op", c.op, "requestId", c.id, "error", wire.Name, "err", err)
	}
	b, _ := json.Marshal(body)
	h := w.Header()
	h["X-Amzn-ErrorType"] = []string{wire.Name}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(wire.Status)
	_, _ = w.Write(b)
}

// Errors made at the edge, with AWS's wording where AWS has one.

func invalidParameter(format string, args ...any) error {
	return fault.New(fault.Invalid, format, args...)
}

func invalidContent(format string, args ...any) error {
	return fault.New(fault.InvalidContent, "Could not parse request body into json: "+format, args...)
}

func requestTooLarge(op string, limit int64) error {
	return fault.New(fault.TooLarge, "Request must be smaller than %d bytes for the %s operation", limit, op)
}
