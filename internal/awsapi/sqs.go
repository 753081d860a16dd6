package awsapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/queue"
)

// The SQS API over the queue service, in both of SQS's protocols:
//
//   - awsJson1_0 (target prefix AmazonSQS), what current SDKs send;
//   - the query protocol (Action=SendMessage&..., XML answers in the
//     2012-11-05 namespace), what older SDKs and the AWS CLI before 2.13
//     send, to POST / or to the queue URL itself.
//
// Each operation is written once over a protocol-neutral input (the JSON
// shape, sqs_shapes.go) and adapted to both protocols by newSQSOp: the JSON
// body decodes straight into the input, sqs_query.go fills it from form
// parameters, and the output struct carries both encodings' names. Files:
// sqs.go (routing, the error catalogue, queue URLs), sqs_shapes.go,
// sqs_ops.go (the adapter and the queue operations), sqs_messages.go
// (messages and batches), sqs_query.go, sqs_digest.go (MD5 digests), sqs_fastjson*.go (hand-written
// JSON for the hot operations, falling back to encoding/json).
//
// Queue URLs are {scheme}://{host the client used}/{account}/{name}; any
// host is accepted back, since only the path names the queue.

// sqsTargetPrefix is the JSON protocol's X-Amz-Target prefix.
const sqsTargetPrefix = "AmazonSQS"

// sqsJSONBodyLimit bounds a JSON request: a 1 MiB batch whose bodies the
// client's encoder escaped (up to six bytes a character) still fits.
const sqsJSONBodyLimit int64 = 8 << 20

// sqsWire is one error of SQS's catalogue: its JSON-protocol shape name
// (sent as "__type", com.amazonaws.sqs#Name), its query-protocol code (sent
// as <Code> and, in the JSON protocol, in the x-amzn-query-error header that
// awsQueryCompatible clients take the error code from) and its status.
type sqsWire struct {
	shape  string
	code   string
	status int
}

// sqsCatalogue maps the queue service's codes (fault.Error.Reason) onto
// SQS's wire errors, with the codes and statuses of the SQS model's
// awsQueryError traits.
var sqsCatalogue = map[string]sqsWire{
	queue.CodeQueueDoesNotExist:        {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", http.StatusBadRequest},
	queue.CodeQueueNameExists:          {"QueueNameExists", "QueueAlreadyExists", http.StatusBadRequest},
	queue.CodeQueueDeletedRecently:     {"QueueDeletedRecently", "AWS.SimpleQueueService.QueueDeletedRecently", http.StatusBadRequest},
	queue.CodeInvalidAttributeName:     {"InvalidAttributeName", "InvalidAttributeName", http.StatusBadRequest},
	queue.CodeInvalidAttributeValue:    {"InvalidAttributeValue", "InvalidAttributeValue", http.StatusBadRequest},
	queue.CodeInvalidParameterValue:    {"InvalidParameterValue", "InvalidParameterValue", http.StatusBadRequest},
	queue.CodeMissingParameter:         {"MissingParameter", "MissingParameter", http.StatusBadRequest},
	queue.CodeInvalidMessageContents:   {"InvalidMessageContents", "InvalidMessageContents", http.StatusBadRequest},
	queue.CodeReceiptHandleIsInvalid:   {"ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", http.StatusNotFound},
	queue.CodeMessageNotInflight:       {"MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", http.StatusBadRequest},
	queue.CodePurgeQueueInProgress:     {"PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress", http.StatusForbidden},
	queue.CodeUnsupportedOperation:     {"UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", http.StatusBadRequest},
	queue.CodeResourceNotFound:         {"ResourceNotFoundException", "ResourceNotFoundException", http.StatusNotFound},
	queue.CodeInvalidAddress:           {"InvalidAddress", "InvalidAddress", http.StatusNotFound},
	queue.CodeOverLimit:                {"OverLimit", "OverLimit", http.StatusForbidden},
	queue.CodeTooManyEntriesInBatch:    {"TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", http.StatusBadRequest},
	queue.CodeEmptyBatchRequest:        {"EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", http.StatusBadRequest},
	queue.CodeBatchEntryIdsNotDistinct: {"BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", http.StatusBadRequest},
	queue.CodeInvalidBatchEntryID:      {"InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", http.StatusBadRequest},
	queue.CodeBatchRequestTooLong:      {"BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", http.StatusBadRequest},
}

// Wire errors for failures that carry no queue code, by kind.
var (
	sqsInvalidParameter = sqsWire{"InvalidParameterValue", "InvalidParameterValue", http.StatusBadRequest}
	sqsThrottled        = sqsWire{"RequestThrottled", "RequestThrottled", http.StatusForbidden}
	sqsTooLarge         = sqsWire{"RequestEntityTooLarge", "RequestEntityTooLarge", http.StatusRequestEntityTooLarge}
	sqsInternal         = sqsWire{"InternalError", "InternalError", http.StatusInternalServerError}
	// sqsSerialization is a JSON body that is not JSON (no query code:
	// the query protocol cannot send one).
	sqsSerialization = sqsWire{"SerializationException", "", http.StatusBadRequest}
	// sqsMalformedQuery is a form body that is not a form.
	sqsMalformedQuery = sqsWire{"MalformedQueryString", QueryCodeMalformedQueryString, http.StatusBadRequest}
)

// sqsWireOf classifies err: the wire error, whether the caller is at fault,
// and the message to show.
func sqsWireOf(err error, json bool) (wire sqsWire, sender bool, message string) {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind == fault.Internal {
		return sqsInternal, false, internalMessage
	}
	if w, ok := sqsCatalogue[fe.Reason]; ok {
		return w, true, fe.Message
	}
	if fe.Reason != "" {
		// A code of the shared query plumbing (MissingAction, InvalidAction...).
		return sqsWire{fe.Reason, fe.Reason, http.StatusBadRequest}, true, fe.Message
	}
	switch fe.Kind {
	case fault.InvalidContent:
		if json {
			return sqsSerialization, true, fe.Message
		}
		return sqsMalformedQuery, true, fe.Message
	case fault.NotFound:
		return sqsCatalogue[queue.CodeQueueDoesNotExist], true, fe.Message
	case fault.Throttled:
		return sqsThrottled, true, fe.Message
	case fault.TooLarge:
		return sqsTooLarge, true, fe.Message
	case fault.Unsupported:
		return sqsCatalogue[queue.CodeUnsupportedOperation], true, fe.Message
	default:
		return sqsInvalidParameter, true, fe.Message
	}
}

// faultType is the query protocol's <Type> (and the x-amzn-query-error
// suffix) for a caller's or the service's fault.
func faultType(sender bool) string {
	if sender {
		return "Sender"
	}
	return "Receiver"
}

// sqsBatchCode is the Code of a failed batch entry: SQS puts its query
// code there in both protocols.
func sqsBatchCode(w sqsWire) string {
	if w.code != "" {
		return w.code
	}
	return w.shape
}

func (a *API) logSQSError(c *call, wire sqsWire, err error) {
	if wire.status >= 500 {
		a.log.Error("request failed", "op", c.op, "requestId", c.id, "err", err)
	} else {
		a.log.Debug("request refused", "op", c.op, "requestId", c.id, "error", wire.shape, "err", err)
	}
}

// renderSQSJSON writes err as SQS's JSON protocol does:
//
//	HTTP/1.1 400 Bad Request
//	x-amzn-query-error: AWS.SimpleQueueService.NonExistentQueue;Sender
//	Content-Type: application/x-amz-json-1.0
//
//	{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}
//
// aws-sdk-go-v2 picks the typed error by "__type" and then takes its
// ErrorCode() from x-amzn-query-error, so both must be right.
func (a *API) renderSQSJSON(w http.ResponseWriter, c *call, err error) {
	wire, sender, message := sqsWireOf(err, true)
	a.logSQSError(c, wire, err)
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.sqs#" + wire.shape, "message": message})
	h := w.Header()
	if wire.code != "" {
		h["x-amzn-query-error"] = []string{wire.code + ";" + faultType(sender)}
	}
	h.Set("Content-Type", contentTypeJSON10)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(wire.status)
	_, _ = w.Write(b)
}

// renderSQSQuery writes err as SQS's query protocol does (<ErrorResponse>
// with the legacy code).
func (a *API) renderSQSQuery(w http.ResponseWriter, c *call, err error) {
	wire, sender, message := sqsWireOf(err, false)
	a.logSQSError(c, wire, err)
	WriteQueryError(w, wire.status, SQSQueryNamespace, faultType(sender), sqsBatchCode(wire), message, c.id)
}

// sqsError is an error made at the edge with one of the catalogue's codes.
func sqsError(code, format string, args ...any) error {
	kind := fault.Invalid
	switch code {
	case queue.CodeQueueDoesNotExist, queue.CodeInvalidAddress:
		kind = fault.NotFound
	case queue.CodeBatchRequestTooLong:
		kind = fault.TooLarge
	}
	e := fault.New(kind, format, args...)
	e.Reason = code
	return e
}

func sqsMissing(name string) error {
	return sqsError(queue.CodeMissingParameter, "The request must contain the parameter %s.", name)
}

func errNoSuchQueue() error {
	return sqsError(queue.CodeQueueDoesNotExist, "The specified queue does not exist.")
}

// routeSQS registers the SQS API (JSON 1.0 target AmazonSQS and the query
// protocol) when Options.Queues is set.
func (a *API) routeSQS() {
	if a.opts.Queues == nil {
		return
	}
	ops := a.sqsOps()
	svc := &jsonService{
		prefix:      sqsTargetPrefix,
		contentType: contentTypeJSON10,
		ops:         make(map[string]http.Handler, len(ops)),
		byKind:      map[fault.Kind]*wireError{},
		internal:    errService,
	}
	qops := make(map[string]queryHandlerFunc, len(ops))
	for _, op := range ops {
		// The JSON operations render their own errors (the shared JSON
		// renderer knows nothing of x-amzn-query-error).
		svc.ops[op.name] = a.wrap(op.name, sqsJSONBodyLimit, op.json, a.renderSQSJSON)
		qops[op.name] = op.query
	}
	if a.targets == nil {
		a.targets = map[string]*jsonService{}
	}
	a.targets[sqsTargetPrefix] = svc
	a.registerQuery(&queryService{name: "sqs", namespace: SQSQueryNamespace, ops: qops, render: a.renderSQSQuery})
}

// sqsQueueName resolves a QueueUrl to the queue's name. Only the path
// counts (/{account}/{name}); the host is whatever the client used. A URL
// of another account names no queue of ours.
func (a *API) sqsQueueName(raw string) (string, error) {
	if raw == "" {
		return "", sqsMissing("QueueUrl")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", sqsError(queue.CodeInvalidAddress, "The address %s is not valid for this endpoint.", raw)
	}
	p := u.Path
	if u.Scheme == "" && u.Host == "" && !strings.HasPrefix(p, "/") {
		return "", sqsError(queue.CodeInvalidAddress, "The address %s is not valid for this endpoint.", raw)
	}
	account, name, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !ok || account == "" || name == "" || strings.Contains(name, "/") {
		return "", sqsError(queue.CodeInvalidAddress, "The address %s is not valid for this endpoint.", raw)
	}
	if account != a.opts.AccountID {
		return "", errNoSuchQueue()
	}
	return name, nil
}

// sqsQueueURL is the URL of queue name for a client that addressed base.
func (a *API) sqsQueueURL(base, name string) string {
	return base + "/" + a.opts.AccountID + "/" + name
}
