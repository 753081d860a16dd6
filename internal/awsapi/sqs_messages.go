package awsapi

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/queue"
)

// The message operations of the SQS API: send, receive, delete and change
// visibility, one at a time and in batches. The batch rules SQS applies to
// the request as a whole (1..10 entries, distinct well-formed ids, 1 MiB in
// all) are checked here; everything about one message is the service's,
// and its per-entry failures go into Failed.

// Ranges of the integer parameters, as SQS documents them.
const (
	maxDelaySeconds      = int(queue.MaxDelay / time.Second)
	maxWaitSeconds       = int(queue.MaxWait / time.Second)
	maxVisibilitySeconds = int(queue.MaxVisibilityTimeout / time.Second)
	maxBatchEntryIDLen   = 80
)

// messageQueueName is sqsQueueName for the message operations: the plain
// URLs clients send (http(s)://host[:port]/account/name, all of letters,
// digits and a few marks) are split without url.Parse, which gives the
// same path for them; anything else goes through sqsQueueName.
func (a *API) messageQueueName(raw string) (string, error) {
	rest, ok := strings.CutPrefix(raw, "http://")
	if !ok {
		rest, ok = strings.CutPrefix(raw, "https://")
	}
	if ok {
		if slash := strings.IndexByte(rest, '/'); slash > 0 && plainHost(rest[:slash]) {
			account, name, ok := strings.Cut(rest[slash+1:], "/")
			if ok && account == a.opts.AccountID && plainPathSegment(account) && plainPathSegment(name) {
				return name, nil
			}
		}
	}
	return a.sqsQueueName(raw)
}

// plainHost reports whether h is a host name or IPv4 address with an
// optional port, which url.Parse takes as it is.
func plainHost(h string) bool {
	host, port, hasPort := strings.Cut(h, ":")
	if host == "" || hasPort && port == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return false
		}
	}
	return true
}

// plainPathSegment reports whether s is a non-empty path segment that
// needs no unescaping (queue names are letters, digits, - and _, and .fifo).
func plainPathSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func outOfRange(param string, v int, reason string) error {
	return sqsError(queue.CodeInvalidParameterValue, "Value %d for parameter %s is invalid. Reason: %s", v, param, reason)
}

// checkBatch applies SQS's rules for a batch's entries as a whole.
func checkBatch(entryName string, ids []string) error {
	switch {
	case len(ids) == 0:
		return sqsError(queue.CodeEmptyBatchRequest, "There should be at least one %s in the request.", entryName)
	case len(ids) > queue.MaxBatchEntries:
		return sqsError(queue.CodeTooManyEntriesInBatch, "Maximum number of entries per request are %d. You have sent %d.", queue.MaxBatchEntries, len(ids))
	}
	// At most ten ids: a scan finds a repeat faster than a map.
	for i, id := range ids {
		if !validBatchEntryID(id) {
			return sqsError(queue.CodeInvalidBatchEntryID,
				"A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most %d letters long.", maxBatchEntryIDLen)
		}
		if slices.Contains(ids[:i], id) {
			return sqsError(queue.CodeBatchEntryIdsNotDistinct, "Id %s repeated.", id)
		}
	}
	return nil
}

func validBatchEntryID(id string) bool {
	if id == "" || len(id) > maxBatchEntryIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// batchFailure is the Failed entry for an entry's error.
func (a *API) batchFailure(c *call, id string, err error) sqsBatchError {
	wire, sender, message := sqsWireOf(err, false)
	if !sender {
		a.log.Error("batch entry failed", "op", c.op, "requestId", c.id, "id", id, "err", err)
	}
	return sqsBatchError{Id: id, SenderFault: sender, Code: sqsBatchCode(wire), Message: message}
}

// toQueueAttributes checks the wire form of message attributes and converts
// them for the service (which checks names, sizes and contents).
func toQueueAttributes(attrs map[string]MessageAttributeValue) (map[string]queue.Attribute, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	out := make(map[string]queue.Attribute, len(attrs))
	for name, v := range attrs {
		if len(v.StringListValues) > 0 || len(v.BinaryListValues) > 0 {
			return nil, sqsError(queue.CodeInvalidParameterValue, "Message attribute list values in SendMessage operation are not supported.")
		}
		if v.DataType == "" {
			return nil, sqsError(queue.CodeInvalidParameterValue, "The message attribute '%s' must contain a message attribute type.", name)
		}
		base, _, _ := strings.Cut(v.DataType, ".")
		attr := queue.Attribute{DataType: v.DataType}
		switch base {
		case "String", "Number":
			if v.StringValue == nil || v.BinaryValue != nil {
				return nil, sqsError(queue.CodeInvalidParameterValue, "The message attribute '%s' with type '%s' must use field 'String'.", name, base)
			}
			attr.StringValue = *v.StringValue
		case "Binary":
			if v.BinaryValue == nil || v.StringValue != nil {
				return nil, sqsError(queue.CodeInvalidParameterValue, "The message attribute '%s' with type 'Binary' must use field 'Binary'.", name)
			}
			attr.BinaryValue = v.BinaryValue
		default:
			return nil, sqsError(queue.CodeInvalidParameterValue,
				"The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", name)
		}
		out[name] = attr
	}
	return out, nil
}

// fromQueueAttributes converts received attributes to the wire form.
func fromQueueAttributes(attrs map[string]queue.Attribute) map[string]MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]MessageAttributeValue, len(attrs))
	for name, v := range attrs {
		w := MessageAttributeValue{DataType: v.DataType}
		if base, _, _ := strings.Cut(v.DataType, "."); base == "Binary" {
			w.BinaryValue = v.BinaryValue
			if w.BinaryValue == nil {
				w.BinaryValue = []byte{}
			}
		} else {
			s := v.StringValue
			w.StringValue = &s
		}
		out[name] = w
	}
	return out
}

// toSendInput checks one message to send and converts it.
func toSendInput(e *sqsSendEntry) (queue.SendInput, error) {
	if e.MessageBody == "" {
		return queue.SendInput{}, sqsMissing("MessageBody")
	}
	in := queue.SendInput{
		ID:              e.Id,
		Body:            e.MessageBody,
		MessageGroupID:  e.MessageGroupId,
		DeduplicationID: e.MessageDeduplicationId,
		// Computed now for the answer, and kept with the message for its
		// receives.
		BodyMD5: MD5OfBody(e.MessageBody),
	}
	if e.DelaySeconds != nil {
		d := *e.DelaySeconds
		if d < 0 || d > maxDelaySeconds {
			return queue.SendInput{}, outOfRange("DelaySeconds", d, fmt.Sprintf("DelaySeconds must be >= 0 and <= %d", maxDelaySeconds))
		}
		in.Delay, in.DelaySet = time.Duration(d)*time.Second, true
	}
	var err error
	if in.Attributes, err = toQueueAttributes(e.MessageAttributes); err != nil {
		return queue.SendInput{}, err
	}
	if in.SystemAttributes, err = toQueueAttributes(e.MessageSystemAttributes); err != nil {
		return queue.SendInput{}, err
	}
	return in, nil
}

// sendResult is the answer for a sent message: the digests are of what the
// client sent (msg is e converted by toSendInput), which is what it checks
// them against.
func sendResult(e *sqsSendEntry, msg *queue.SendInput, r queue.SendResult) sqsSendResult {
	return sqsSendResult{
		Id:                           e.Id,
		MessageId:                    r.MessageID,
		MD5OfMessageBody:             msg.BodyMD5,
		MD5OfMessageAttributes:       MD5OfMessageAttributes(e.MessageAttributes),
		MD5OfMessageSystemAttributes: MD5OfMessageSystemAttributes(e.MessageSystemAttributes),
		SequenceNumber:               r.SequenceNumber,
	}
}

// entrySize is what a message counts against the batch limit: its body and
// its attributes' names, types and values.
func entrySize(e *sqsSendEntry) int {
	n := len(e.MessageBody)
	for name, v := range e.MessageAttributes {
		n += len(name) + len(v.DataType) + len(v.BinaryValue)
		if v.StringValue != nil {
			n += len(*v.StringValue)
		}
	}
	return n
}

func errResultCount(got, want int) error {
	return fmt.Errorf("queue service returned %d results for %d entries", got, want)
}

func (a *API) sqsSendMessage(q *sqsReq, in *sqsSendEntry) (any, error) {
	name, err := a.messageQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	in.Id = ""
	msg, err := toSendInput(in)
	if err != nil {
		return nil, err
	}
	res, err := a.opts.Queues.Send(q.ctx(), name, []queue.SendInput{msg})
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, errResultCount(len(res), 1)
	}
	if res[0].Err != nil {
		return nil, res[0].Err
	}
	out := sendResult(in, &msg, res[0])
	return out, nil
}

func (a *API) sqsSendMessageBatch(q *sqsReq, in *sqsSendBatchInput) (any, error) {
	name, err := a.messageQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i := range in.Entries {
		ids[i] = in.Entries[i].Id
	}
	if err := checkBatch("SendMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	total := 0
	for i := range in.Entries {
		total += entrySize(&in.Entries[i])
	}
	if total > queue.MaxMessageSize {
		return nil, sqsError(queue.CodeBatchRequestTooLong, "Batch requested message too long. Total size %d exceeds %d bytes.", total, queue.MaxMessageSize)
	}
	out := sqsSendBatchOutput{Successful: make([]sqsSendResult, 0, len(in.Entries)), Failed: []sqsBatchError{}}
	msgs := make([]queue.SendInput, 0, len(in.Entries))
	sent := make([]*sqsSendEntry, 0, len(in.Entries))
	for i := range in.Entries {
		e := &in.Entries[i]
		msg, err := toSendInput(e)
		if err != nil {
			out.Failed = append(out.Failed, a.batchFailure(q.c, e.Id, err))
			continue
		}
		msgs = append(msgs, msg)
		sent = append(sent, e)
	}
	if len(msgs) > 0 {
		res, err := a.opts.Queues.Send(q.ctx(), name, msgs)
		if err != nil {
			return nil, err
		}
		if len(res) != len(msgs) {
			return nil, errResultCount(len(res), len(msgs))
		}
		for i, r := range res {
			if r.Err != nil {
				out.Failed = append(out.Failed, a.batchFailure(q.c, sent[i].Id, r.Err))
				continue
			}
			out.Successful = append(out.Successful, sendResult(sent[i], &msgs[i], r))
		}
	}
	return out, nil
}

func (a *API) sqsReceiveMessage(q *sqsReq, in *sqsReceiveInput) (any, error) {
	name, err := a.messageQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	rin := queue.ReceiveInput{
		Max:                     1,
		AttributeNames:          in.MessageAttributeNames,
		ReceiveRequestAttemptID: in.ReceiveRequestAttemptId,
	}
	if n := in.MaxNumberOfMessages; n != nil {
		if *n < 1 || *n > queue.MaxBatchEntries {
			return nil, outOfRange("MaxNumberOfMessages", *n, "Must be between 1 and 10, if provided.")
		}
		rin.Max = *n
	}
	if n := in.WaitTimeSeconds; n != nil {
		if *n < 0 || *n > maxWaitSeconds {
			return nil, outOfRange("WaitTimeSeconds", *n, "Must be >= 0 and <= 20, if provided.")
		}
		rin.Wait, rin.WaitSet = time.Duration(*n)*time.Second, true
	}
	if n := in.VisibilityTimeout; n != nil {
		if *n < 0 || *n > maxVisibilitySeconds {
			return nil, outOfRange("VisibilityTimeout", *n, "Must be >= 0 and <= 43200, if provided.")
		}
		rin.Visibility, rin.VisibilitySet = time.Duration(*n)*time.Second, true
	}
	// AttributeNames is the older name of MessageSystemAttributeNames;
	// clients send either or both.
	rin.SystemAttributeNames = in.MessageSystemAttributeNames
	for _, n := range in.AttributeNames {
		if !slices.Contains(rin.SystemAttributeNames, n) {
			rin.SystemAttributeNames = append(rin.SystemAttributeNames, n)
		}
	}
	// The request's context ends a long poll when the client goes away.
	msgs, err := a.opts.Queues.Receive(q.ctx(), name, rin)
	if err != nil {
		return nil, err
	}
	out := sqsReceiveOutput{}
	if len(msgs) > 0 {
		out.Messages = make([]sqsMessage, len(msgs))
	}
	for i := range msgs {
		m := &msgs[i]
		attrs := fromQueueAttributes(m.Attributes)
		digest := m.BodyMD5
		if digest == "" {
			digest = MD5OfBody(m.Body)
		}
		out.Messages[i] = sqsMessage{
			MessageId:              m.MessageID,
			ReceiptHandle:          m.ReceiptHandle,
			MD5OfBody:              digest,
			Body:                   m.Body,
			Attributes:             m.SystemAttributes,
			MD5OfMessageAttributes: MD5OfMessageAttributes(attrs),
			MessageAttributes:      attrs,
		}
	}
	return out, nil
}

func (a *API) sqsDeleteMessage(q *sqsReq, in *sqsDeleteInput) (any, error) {
	name, err := a.messageQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	if in.ReceiptHandle == "" {
		return nil, sqsMissing("ReceiptHandle")
	}
	res, err := a.opts.Queues.Delete(q.ctx(), name, []queue.DeleteEntry{{ReceiptHandle: in.ReceiptHandle}})
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, errResultCount(len(res), 1)
	}
	return nil, res[0].Err
}

func (a *API) sqsDeleteMessageBatch(q *sqsReq, in *sqsDeleteBatchInput) (any, error) {
	name, err := a.messageQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatch("DeleteMessageBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	out := sqsDeleteBatchOutput{Successful: make([]sqsIDEntry, 0, len(in.Entries)), Failed: []sqsBatchError{}}
	entries := make([]queue.DeleteEntry, 0, len(in.Entries))
	for _, e := range in.Entries {
		if e.ReceiptHandle == "" {
			out.Failed = append(out.Failed, a.batchFailure(q.c, e.Id, sqsMissing("ReceiptHandle")))
			continue
		}
		entries = append(entries, queue.DeleteEntry{ID: e.Id, ReceiptHandle: e.ReceiptHandle})
	}
	if len(entries) > 0 {
		res, err := a.opts.Queues.Delete(q.ctx(), name, entries)
		if err != nil {
			return nil, err
		}
		if len(res) != len(entries) {
			return nil, errResultCount(len(res), len(entries))
		}
		for i, r := range res {
			if r.Err != nil {
				out.Failed = append(out.Failed, a.batchFailure(q.c, entries[i].ID, r.Err))
				continue
			}
			out.Successful = append(out.Successful, sqsIDEntry{Id: entries[i].ID})
		}
	}
	return out, nil
}

// visibilityChange checks one visibility change.
func visibilityChange(id, handle string, timeout *int) (queue.VisibilityChange, error) {
	if handle == "" {
		return queue.VisibilityChange{}, sqsMissing("ReceiptHandle")
	}
	if timeout == nil {
		return queue.VisibilityChange{}, sqsMissing("VisibilityTimeout")
	}
	if *timeout < 0 || *timeout > maxVisibilitySeconds {
		return queue.VisibilityChange{}, outOfRange("VisibilityTimeout", *timeout, "Must be >= 0 and <= 43200, if provided.")
	}
	return queue.VisibilityChange{ID: id, ReceiptHandle: handle, Timeout: time.Duration(*timeout) * time.Second}, nil
}

func (a *API) sqsChangeVisibility(q *sqsReq, in *sqsVisibilityInput) (any, error) {
	name, err := a.messageQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ch, err := visibilityChange("", in.ReceiptHandle, in.VisibilityTimeout)
	if err != nil {
		return nil, err
	}
	res, err := a.opts.Queues.ChangeVisibility(q.ctx(), name, []queue.VisibilityChange{ch})
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, errResultCount(len(res), 1)
	}
	return nil, res[0].Err
}

func (a *API) sqsChangeVisibilityBatch(q *sqsReq, in *sqsVisibilityBatchInput) (any, error) {
	name, err := a.messageQueueName(in.QueueUrl)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(in.Entries))
	for i, e := range in.Entries {
		ids[i] = e.Id
	}
	if err := checkBatch("ChangeMessageVisibilityBatchRequestEntry", ids); err != nil {
		return nil, err
	}
	out := sqsVisibilityBatchOutput{Successful: []sqsIDEntry{}, Failed: []sqsBatchError{}}
	changes := make([]queue.VisibilityChange, 0, len(in.Entries))
	for _, e := range in.Entries {
		ch, err := visibilityChange(e.Id, e.ReceiptHandle, e.VisibilityTimeout)
		if err != nil {
			out.Failed = append(out.Failed, a.batchFailure(q.c, e.Id, err))
			continue
		}
		changes = append(changes, ch)
	}
	if len(changes) > 0 {
		res, err := a.opts.Queues.ChangeVisibility(q.ctx(), name, changes)
		if err != nil {
			return nil, err
		}
		if len(res) != len(changes) {
			return nil, errResultCount(len(res), len(changes))
		}
		for i, r := range res {
			if r.Err != nil {
				out.Failed = append(out.Failed, a.batchFailure(q.c, changes[i].ID, r.Err))
				continue
			}
			out.Successful = append(out.Successful, sqsIDEntry{Id: changes[i].ID})
		}
	}
	return out, nil
}
