package awsapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// The query protocol has no X-Amz-Target: every service shares POST / (or
// GET / with the parameters in the URL, which is how an SNS subscription's
// SubscribeURL arrives) and names the operation in the Action parameter.
// SQS clients may also send to the queue URL itself (POST /{account}/{queue}),
// which then stands for the QueueUrl parameter.
//
// Two services can have an action of the same name (AddPermission,
// RemovePermission), so the service is taken from the SigV4 credential
// scope (".../us-east-1/sqs/aws4_request") when the request is signed, and
// otherwise from the one service that has the action.

// queryBodyLimit bounds a query request's form body: a 1 MiB SQS batch,
// percent-encoded, needs up to three times its size.
const queryBodyLimit int64 = 4 << 20

// queryHandlerFunc is one query-protocol operation. params are the decoded
// form parameters (Action and Version included); queueURL is the path of a
// request sent to a queue URL ("" otherwise).
type queryHandlerFunc func(w http.ResponseWriter, r *http.Request, c *call, params url.Values) error

// queryService is one query-protocol service on the edge.
type queryService struct {
	// name is the SigV4 signing name ("sqs", "sns").
	name string
	// namespace is the XML namespace of its responses.
	namespace string
	ops       map[string]queryHandlerFunc
	// render writes an error in the service's own catalogue (through
	// WriteQueryError); it is also used for the failures of the shared
	// plumbing once the service is known.
	render func(w http.ResponseWriter, c *call, err error)
}

// registerQuery adds svc to the query-protocol routing.
func (a *API) registerQuery(svc *queryService) {
	if a.queries == nil {
		a.queries = map[string]*queryService{}
	}
	a.queries[svc.name] = svc
}

// Errors of the shared query plumbing, before any service is known.
const (
	queryCodeInvalidAction = "InvalidAction"
)

// serveQuery serves a query-protocol request (POST / without X-Amz-Target,
// GET / with an Action, or any request to a queue URL path).
func (a *API) serveQuery(w http.ResponseWriter, r *http.Request, queuePath string) {
	var svc *queryService
	render := func(w http.ResponseWriter, c *call, err error) {
		if svc != nil {
			svc.render(w, c, err)
			return
		}
		a.renderQueryFallback(w, c, err)
	}
	a.wrap("Query", queryBodyLimit, func(w http.ResponseWriter, r *http.Request, c *call) error {
		action, _, params, err := ParseQuery(r, queryBodyLimit)
		if queuePath != "" {
			// A request to a queue URL is SQS's whatever it says.
			svc = a.queries["sqs"]
		} else {
			svc = a.queryServiceFor(r, params.Get("Action"))
		}
		if err != nil {
			return err
		}
		c.op = action
		if svc == nil {
			e := fault.New(fault.Invalid, "The action %s is not valid for this web service.", action)
			e.Reason = queryCodeInvalidAction
			return e
		}
		h := svc.ops[action]
		if h == nil {
			e := fault.New(fault.Invalid, "The action %s is not valid for this web service.", action)
			e.Reason = queryCodeInvalidAction
			return e
		}
		if queuePath != "" && params.Get("QueueUrl") == "" {
			params.Set("QueueUrl", requestBase(r)+queuePath)
		}
		return h(w, r, c, params)
	}, render).ServeHTTP(w, r)
}

// queryServiceFor picks the service of a query request: the signing
// service of a signed request, else the only service with the action.
func (a *API) queryServiceFor(r *http.Request, action string) *queryService {
	if name := signingService(r); name != "" {
		if svc := a.queries[name]; svc != nil {
			return svc
		}
	}
	var found *queryService
	for _, svc := range a.queries {
		if _, ok := svc.ops[action]; ok {
			if found != nil {
				return nil // ambiguous and unsigned
			}
			found = svc
		}
	}
	return found
}

// signingService returns the service of the request's SigV4 credential
// scope ("sqs" in AKID/20240131/us-east-1/sqs/aws4_request), or "".
func signingService(r *http.Request) string {
	cred, ok := credentialFromAuthorization(r.Header.Get("Authorization"))
	if !ok {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return ""
	}
	return parts[3]
}

// renderQueryFallback renders an error when no service could be chosen,
// in the query protocol's generic shape.
func (a *API) renderQueryFallback(w http.ResponseWriter, c *call, err error) {
	status, typ, code, message := http.StatusInternalServerError, "Receiver", "InternalFailure", internalMessage
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Kind != fault.Internal {
		status, typ, code, message = http.StatusBadRequest, "Sender", fe.Reason, fe.Message
		if code == "" {
			code = "InvalidParameterValue"
		}
		if fe.Kind == fault.TooLarge {
			status = http.StatusRequestEntityTooLarge
		}
	} else {
		a.log.Error("request failed", "op", c.op, "requestId", c.id, "err", err)
	}
	WriteQueryError(w, status, "", typ, code, message, c.id)
}

// isQueueURLPath reports whether p is /{12-digit account}/{queue name}: the
// path of an SQS queue URL.
func isQueueURLPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return false
	}
	account, name, ok := strings.Cut(rest, "/")
	if !ok || len(account) != 12 || name == "" || strings.Contains(name, "/") {
		return false
	}
	for i := 0; i < len(account); i++ {
		if account[i] < '0' || account[i] > '9' {
			return false
		}
	}
	return true
}

// requestBase is the scheme and host the client addressed
// ("http://localhost:9000"), from which queue URLs are made.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + r.Host
}
