package awsapi

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"

	"github.com/lamina-dev/lamina/internal/queue"
)

// The queue operations of the SQS API, over protocol-neutral inputs.

// sqsReq is what an SQS operation knows of its request.
type sqsReq struct {
	r *http.Request
	c *call
}

func (q *sqsReq) ctx() context.Context { return q.r.Context() }

// base is the scheme and host the client addressed, for the queue URLs
// of the answer.
func (q *sqsReq) base() string { return requestBase(q.r) }

// sqsOp is one SQS operation in both protocols.
type sqsOp struct {
	name  string
	json  handlerFunc
	query queryHandlerFunc
}

// newSQSOp adapts op, written once over its input type T, to both
// protocols: parse reads T from a query request's parameters.
func newSQSOp[T any](a *API, name string, op func(*sqsReq, *T) (any, error), parse func(url.Values) (*T, error)) sqsOp {
	return sqsOp{
		name: name,
		json: func(w http.ResponseWriter, r *http.Request, c *call) error {
			var in T
			if err := decodeSQSJSON(r, c, &in); err != nil {
				return err
			}
			out, err := op(&sqsReq{r: r, c: c}, &in)
			if err != nil {
				return err
			}
			return writeSQSJSON(w, out)
		},
		query: func(w http.ResponseWriter, r *http.Request, c *call, params url.Values) error {
			in, err := parse(params)
			if err != nil {
				return err
			}
			out, err := op(&sqsReq{r: r, c: c}, in)
			if err != nil {
				return err
			}
			return WriteQueryResponse(w, name, SQSQueryNamespace, c.id, out)
		},
	}
}

// sqsBodies recycles request bodies: every decoder copies what it keeps.
var sqsBodies = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBody = 256 << 10

// decodeSQSJSON is decodeJSON for the SQS operations: the hot ones go
// through the fast decoders (sqs_fastjson.go) when those accept the body,
// everything else through unmarshalBody, as decodeJSON does. The body is
// read in one piece when its length is known.
func decodeSQSJSON(r *http.Request, c *call, v any) error {
	if r.Body == nil {
		return nil
	}
	bp := sqsBodies.Get().(*[]byte)
	body, err := readBody(r, (*bp)[:0])
	if err != nil {
		sqsBodies.Put(bp)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return requestTooLarge(c.op, c.limit)
		}
		return invalidContent("the body could not be read")
	}
	if !fastDecodeSQS(body, v) {
		err = unmarshalBody(body, v)
	}
	if cap(body) <= maxPooledBody {
		*bp = body[:0]
		sqsBodies.Put(bp)
	}
	return err
}

// readBody appends r's body to b.
func readBody(r *http.Request, b []byte) ([]byte, error) {
	if n := r.ContentLength; n > 0 && n <= sqsJSONBodyLimit {
		b = slices.Grow(b, int(n)+1)
	}
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, 4096)
		}
		n, err := r.Body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// sqsOps lists every operation served.
func (a *API) sqsOps() []sqsOp {
	return []sqsOp{
		newSQSOp(a, "CreateQueue", a.sqsCreateQueue, parseCreateQueue),
		newSQSOp(a, "DeleteQueue", a.sqsDeleteQueue, parseQueueURLInput),
		newSQSOp(a, "GetQueueUrl", a.sqsGetQueueURL, parseGetQueueURL),
		newSQSOp(a, "ListQueues", a.sqsListQueues, parseListQueues),
		newSQSOp(a, "GetQueueAttributes", a.sqsGetAttributes, parseGetAttributes),
		newSQSOp(a, "SetQueueAttributes", a.sqsSetAttributes, parseSetAttributes),
		newSQSOp(a, "PurgeQueue", a.sqsPurgeQueue, parseQueueURLInput),
		newSQSOp(a, "TagQueue", a.sqsTagQueue, parseTagQueue),
		newSQSOp(a, "UntagQueue", a.sqsUntagQueue, parseUntagQueue),
		newSQSOp(a, "ListQueueTags", a.sqsListQueueTags, parseQueueURLInput),
		newSQSOp(a, "ListDeadLetterSourceQueues", a.sqsDeadLetterSources, parseDeadLetterSources),
		newSQSOp(a, "AddPermission", a.sqsPermission, parsePermission),
		newSQSOp(a, "RemovePermission", a.sqsPermission, parsePermission),
		newSQSOp(a, "SendMessage", a.sqsSendMessage, parseSendMessage),
		newSQSOp(a, "SendMessageBatch", a.sqsSendMessageBatch, parseSendMessageBatch),
		newSQSOp(a, "ReceiveMessage", a.sqsReceiveMessage, parseReceiveMessage),
		newSQSOp(a, "DeleteMessage", a.sqsDeleteMessage, parseDeleteMessage),
		newSQSOp(a, "DeleteMessageBatch", a.sqsDeleteMessageBatch, parseDeleteMessageBatch),
		newSQSOp(a, "ChangeMessageVisibility", a.sqsChangeVisibility, parseChangeVisibility),
		newSQSOp(a, "ChangeMessageVisibilityBatch", a.sqsChangeVisibilityBatch, parseChangeVisibilityBatch),
		newSQSOp(a, "StartMessageMoveTask", a.sqsStartMoveTask, parseStartMoveTask),
		newSQSOp(a, "CancelMessageMoveTask", a.sqsCancelMoveTask, parseCancelMoveTask),
		newSQSOp(a, "ListMessageMoveTasks", a.sqsListMoveTasks, parseListMoveTasks),
	}
}

func (a *API) sqsCreateQueue(q *sqsReq, in *sqsCreateQueueInput) (any, error) {
	if in.QueueName == "" {
		return nil, sqsMissing("QueueName")
	}
	info, err := a.opts.Queues.CreateQueue(q.ctx(), in.QueueName, in.Attributes, in.Tags)
	if err != nil {
		return nil, err
	}
	return sqsQueueURLOutput{QueueUrl: a.sqsQueueURL(q.base(), info.Name)}, nil
}

func (a *API) sqsDeleteQueue(q *sqsReq, in *sqsQueueURLInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, a.opts.Queues.DeleteQueue(q.ctx(), name)
}

func (a *API) sqsGetQueueURL(q *sqsReq, in *sqsGetQueueURLInput) (any, error) {
	if in.QueueName == "" {
		return nil, sqsMissing("QueueName")
	}
	if in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != a.opts.AccountID {
		return nil, errNoSuchQueue()
	}
	info, err := a.opts.Queues.GetQueue(q.ctx(), in.QueueName)
	if err != nil {
		return nil, err
	}
	return sqsQueueURLOutput{QueueUrl: a.sqsQueueURL(q.base(), info.Name)}, nil
}

// maxListResults is the most queue URLs one list answer holds (SQS's 1000).
const maxListResults = 1000

// pageNames pages sorted names: the page after token (the base64 of the
// last name of the previous page) of at most max (nil = up to 1000, and
// then no token, as SQS does without MaxResults).
func pageNames(names []string, token string, max *int) ([]string, string, error) {
	limit := maxListResults
	if max != nil {
		if *max < 1 || *max > maxListResults {
			return nil, "", sqsError(queue.CodeInvalidParameterValue,
				"Value %d for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", *max)
		}
		limit = *max
	}
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(after) == 0 {
			return nil, "", sqsError(queue.CodeInvalidParameterValue, "Invalid NextToken value.")
		}
		i := 0
		for i < len(names) && names[i] <= string(after) {
			i++
		}
		names = names[i:]
	}
	if len(names) <= limit {
		return names, "", nil
	}
	page := names[:limit]
	if max == nil {
		return page, "", nil
	}
	return page, base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1])), nil
}

func (a *API) sqsListQueues(q *sqsReq, in *sqsListQueuesInput) (any, error) {
	names, err := a.opts.Queues.ListQueues(q.ctx(), in.QueueNamePrefix)
	if err != nil {
		return nil, err
	}
	page, next, err := pageNames(names, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := sqsListQueuesOutput{NextToken: next}
	base := q.base()
	for _, n := range page {
		out.QueueUrls = append(out.QueueUrls, a.sqsQueueURL(base, n))
	}
	return out, nil
}

func (a *API) sqsGetAttributes(q *sqsReq, in *sqsGetAttributesInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	attrs, err := a.opts.Queues.GetAttributes(q.ctx(), name, in.AttributeNames)
	if err != nil {
		return nil, err
	}
	return sqsAttributesOutput{Attributes: attrs}, nil
}

func (a *API) sqsSetAttributes(q *sqsReq, in *sqsSetAttributesInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.Attributes) == 0 {
		return nil, sqsMissing("Attribute.1.Name")
	}
	return nil, a.opts.Queues.SetAttributes(q.ctx(), name, in.Attributes)
}

func (a *API) sqsPurgeQueue(q *sqsReq, in *sqsQueueURLInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	return nil, a.opts.Queues.PurgeQueue(q.ctx(), name)
}

func (a *API) sqsTagQueue(q *sqsReq, in *sqsTagQueueInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, sqsMissing("Tags")
	}
	return nil, a.opts.Queues.TagQueue(q.ctx(), name, in.Tags)
}

func (a *API) sqsUntagQueue(q *sqsReq, in *sqsUntagQueueInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if len(in.TagKeys) == 0 {
		return nil, sqsMissing("TagKeys")
	}
	return nil, a.opts.Queues.UntagQueue(q.ctx(), name, in.TagKeys)
}

func (a *API) sqsListQueueTags(q *sqsReq, in *sqsQueueURLInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	tags, err := a.opts.Queues.ListQueueTags(q.ctx(), name)
	if err != nil {
		return nil, err
	}
	return sqsTagsOutput{Tags: tags}, nil
}

func (a *API) sqsDeadLetterSources(q *sqsReq, in *sqsDeadLetterSourcesInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	names, err := a.opts.Queues.ListDeadLetterSourceQueues(q.ctx(), name)
	if err != nil {
		return nil, err
	}
	page, next, err := pageNames(names, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := sqsDeadLetterSourcesOutput{QueueUrls: make([]string, 0, len(page)), NextToken: next}
	base := q.base()
	for _, n := range page {
		out.QueueUrls = append(out.QueueUrls, a.sqsQueueURL(base, n))
	}
	return out, nil
}

// sqsPermission accepts AddPermission and RemovePermission for an existing
// queue and ignores them: Lamina has no principals to grant to.
func (a *API) sqsPermission(q *sqsReq, in *sqsPermissionInput) (any, error) {
	name, err := a.sqsQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.Label == "" {
		return nil, sqsMissing("Label")
	}
	if _, err := a.opts.Queues.GetQueue(q.ctx(), name); err != nil {
		return nil, err
	}
	return nil, nil
}

func (a *API) sqsStartMoveTask(q *sqsReq, in *sqsStartMoveInput) (any, error) {
	if in.SourceArn == "" {
		return nil, sqsMissing("SourceArn")
	}
	perSecond := 0
	if in.MaxNumberOfMessagesPerSecond != nil {
		perSecond = *in.MaxNumberOfMessagesPerSecond
		if perSecond < 1 || perSecond > 500 {
			return nil, sqsError(queue.CodeInvalidParameterValue,
				"Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and 500.", perSecond)
		}
	}
	handle, err := a.opts.Queues.StartMoveTask(q.ctx(), in.SourceArn, in.DestinationArn, perSecond)
	if err != nil {
		return nil, err
	}
	return sqsStartMoveOutput{TaskHandle: handle}, nil
}

func (a *API) sqsCancelMoveTask(q *sqsReq, in *sqsCancelMoveInput) (any, error) {
	if in.TaskHandle == "" {
		return nil, sqsMissing("TaskHandle")
	}
	moved, err := a.opts.Queues.CancelMoveTask(q.ctx(), in.TaskHandle)
	if err != nil {
		return nil, err
	}
	return sqsCancelMoveOutput{ApproximateNumberOfMessagesMoved: moved}, nil
}

func (a *API) sqsListMoveTasks(q *sqsReq, in *sqsListMovesInput) (any, error) {
	if in.SourceArn == "" {
		return nil, sqsMissing("SourceArn")
	}
	max := 1
	if in.MaxResults != nil {
		max = *in.MaxResults
		if max < 1 || max > 10 {
			return nil, sqsError(queue.CodeInvalidParameterValue,
				"Value %d for parameter MaxResults is invalid. Reason: Must be between 1 and 10.", max)
		}
	}
	tasks, err := a.opts.Queues.ListMoveTasks(q.ctx(), in.SourceArn, max)
	if err != nil {
		return nil, err
	}
	out := sqsListMovesOutput{}
	for _, t := range tasks {
		e := sqsMoveTask{
			Status:                           t.Status,
			SourceArn:                        t.SourceARN,
			DestinationArn:                   t.DestinationARN,
			ApproximateNumberOfMessagesMoved: t.ApproximateNumberOfMessagesMoved,
			FailureReason:                    t.FailureReason,
			StartedTimestamp:                 t.StartedTimestamp.UnixMilli(),
		}
		// The handle is only given while the task can still be cancelled.
		if t.Status == "RUNNING" {
			e.TaskHandle = t.TaskHandle
		}
		if t.MaxNumberOfMessagesPerSecond > 0 {
			n := t.MaxNumberOfMessagesPerSecond
			e.MaxNumberOfMessagesPerSecond = &n
		}
		toMove := t.ApproximateNumberOfMessagesToMove
		e.ApproximateNumberOfMessagesToMove = &toMove
		out.Results = append(out.Results, e)
	}
	return out, nil
}
