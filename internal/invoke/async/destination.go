package async

// Where outcomes go
//
// Success: the on-success destination of the qualifier invoked, if any, gets
// an invocation record (condition "Success").
//
// Failure of an event that reached its function (retries exhausted, too
// old): the on-failure destination gets an invocation record; without one,
// the function's DeadLetterConfig target gets the original event with the
// message attributes RequestID, ErrorCode and ErrorMessage (as AWS); without
// one, the dead-letter store keeps it.
//
// Failure of an event that never reached its function and carries a
// DeliveryPolicy (a schedule's target missing or throttled for too long):
// the policy's DeadLetterArn gets the original event with the same
// attributes plus Condition; without one, the dead-letter store keeps it.
//
// A destination that has no Sender, or whose Sender fails, does not lose
// the record: the dead-letter store keeps the event with Destination naming
// the target that could not take it. An undeliverable success record is kept
// as Source "destination" with the record as its Payload; Redrive sends it
// to its destination again rather than re-running the function.

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/function"
)

// ConditionSuccess is the condition of an on-success record.
const ConditionSuccess = "Success"

// ErrDestinationType is the ErrorType of a dead letter that holds an
// invocation record its destination did not take (Source "destination",
// Payload the record): Redrive sends it to Destination again.
const ErrDestinationType = "Lamina.DestinationDeliveryFailed"

// Record is an asynchronous invocation record, as AWS sends it to
// destinations.
type Record struct {
	Version         string          `json:"version"`
	Timestamp       string          `json:"timestamp"`
	RequestContext  RequestContext  `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext ResponseContext `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload,omitempty"`
}

// RequestContext is a Record's requestContext.
type RequestContext struct {
	RequestID string `json:"requestId"`
	// FunctionArn is qualified: ":$LATEST" for an unqualified invocation.
	FunctionArn            string `json:"functionArn"`
	Condition              string `json:"condition"`
	ApproximateInvokeCount int    `json:"approximateInvokeCount"`
}

// ResponseContext is a Record's responseContext.
type ResponseContext struct {
	StatusCode      int    `json:"statusCode"`
	ExecutedVersion string `json:"executedVersion,omitempty"`
	FunctionError   string `json:"functionError,omitempty"`
}

// recordTime is AWS's timestamp layout in records (milliseconds, Z).
const recordTime = "2006-01-02T15:04:05.000Z"

// maxErrorMessage is how much of an error message a dead-letter queue
// message attribute carries (the first 1 KB, as AWS).
const maxErrorMessage = 1024

// functionARN is the qualified ARN of the event's function.
func (s *Service) functionARN(ev *Event) string {
	region := ev.Region
	if region == "" {
		region = s.opts.Region
	}
	q := ev.Qualifier
	if q == "" {
		q = function.Latest
	}
	return function.ARN(region, s.opts.AccountID, ev.FunctionName, q)
}

// record builds the invocation record of ev's outcome.
func (s *Service) record(ev *Event, condition string) ([]byte, error) {
	r := Record{
		Version:   "1.0",
		Timestamp: s.clock.Now().UTC().Format(recordTime),
		RequestContext: RequestContext{
			RequestID:              ev.RequestID,
			FunctionArn:            s.functionARN(ev),
			Condition:              condition,
			ApproximateInvokeCount: ev.Attempts,
		},
		RequestPayload: ev.Payload,
		ResponseContext: ResponseContext{
			StatusCode:      ev.LastStatusCode,
			ExecutedVersion: ev.LastExecutedVersion,
			FunctionError:   ev.LastFunctionError,
		},
		ResponsePayload: ev.LastResponse,
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("async: encode invocation record: %w", err)
	}
	return b, nil
}

// succeed records a success and acknowledges the event.
func (s *Service) succeed(ctx context.Context, in *inflight, cfg eventConfig) {
	ev := &in.ev
	var rec *deadletter.Record
	if cfg.onSuccess != "" {
		body, err := s.record(ev, ConditionSuccess)
		if err == nil {
			err = s.send(ctx, ev, cfg.onSuccess, body, nil, ConditionSuccess)
		}
		if err != nil {
			s.log.Warn("async: on-success destination did not take the record; kept in the dead-letter store",
				"requestId", ev.RequestID, "function", ev.FunctionName, "destination", cfg.onSuccess, "err", err)
			rec = s.deadRecord(ev, deadletter.DeliveryFailed, cfg.onSuccess)
			rec.Source, rec.SourceARN = deadletter.SourceDestination, s.functionARN(ev)
			rec.Payload = jsonOrString(body)
			rec.ErrorType, rec.ErrorMessage = ErrDestinationType, err.Error()
		}
	}
	s.finish(ctx, in, rec, false)
	s.stats.succeeded.Add(1)
}

// fail delivers a final failure to where it belongs and acknowledges the
// event once it is stored there.
func (s *Service) fail(ctx context.Context, in *inflight, snap *function.Snapshot, condition string) {
	ev := &in.ev
	if p := ev.Policy; p != nil && ev.Attempts == 0 {
		// The event never reached its function: the policy decides.
		if p.DeadLetterArn == "" {
			s.finish(ctx, in, s.deadRecord(ev, condition, ""), true)
			return
		}
		attrs := s.dlqAttributes(ev)
		attrs["Condition"] = condition
		if err := s.send(ctx, ev, p.DeadLetterArn, ev.Payload, attrs, condition); err != nil {
			s.log.Warn("async: the delivery policy's dead-letter target did not take the event; kept in the dead-letter store",
				"requestId", ev.RequestID, "function", ev.FunctionName, "destination", p.DeadLetterArn, "err", err)
			s.finish(ctx, in, s.deadRecord(ev, condition, p.DeadLetterArn), true)
			return
		}
		s.finish(ctx, in, nil, true)
		return
	}

	cfg := configFor(snap, ev.Qualifier)
	if cfg.onFailure != "" {
		body, err := s.record(ev, condition)
		if err == nil {
			err = s.send(ctx, ev, cfg.onFailure, body, nil, condition)
		}
		if err != nil {
			s.log.Warn("async: on-failure destination did not take the record; kept in the dead-letter store",
				"requestId", ev.RequestID, "function", ev.FunctionName, "destination", cfg.onFailure, "err", err)
			s.finish(ctx, in, s.deadRecord(ev, condition, cfg.onFailure), true)
			return
		}
		s.finish(ctx, in, nil, true)
		return
	}
	if dlq := deadLetterTarget(ctx, snap, ev.Qualifier); dlq != "" {
		if err := s.send(ctx, ev, dlq, ev.Payload, s.dlqAttributes(ev), condition); err != nil {
			s.log.Warn("async: the function's dead-letter queue did not take the event; kept in the dead-letter store",
				"requestId", ev.RequestID, "function", ev.FunctionName, "destination", dlq, "err", err)
			s.finish(ctx, in, s.deadRecord(ev, condition, dlq), true)
			return
		}
		s.finish(ctx, in, nil, true)
		return
	}
	s.finish(ctx, in, s.deadRecord(ev, condition, ""), true)
}

// deadLetterTarget is the DeadLetterConfig target of the version qualifier names.
func deadLetterTarget(ctx context.Context, snap *function.Snapshot, qualifier string) string {
	if snap == nil {
		return ""
	}
	t, _, err := snap.Resolve(ctx, qualifier)
	if err != nil {
		return ""
	}
	return t.Version.DeadLetterTargetArn
}

// dlqAttributes are the message attributes AWS puts on a dead-letter
// queue message: RequestID, ErrorCode (the status code) and the first 1 KB
// of ErrorMessage.
func (s *Service) dlqAttributes(ev *Event) map[string]string {
	msg := ev.LastErrorMessage
	if len(msg) > maxErrorMessage {
		msg = msg[:maxErrorMessage]
	}
	return map[string]string{
		"RequestID":    ev.RequestID,
		"ErrorCode":    strconv.Itoa(ev.LastStatusCode),
		"ErrorMessage": msg,
	}
}

// deadRecord is the dead-letter store's record of ev.
func (s *Service) deadRecord(ev *Event, condition, destination string) *deadletter.Record {
	return &deadletter.Record{
		Source:       ev.Source.Kind,
		SourceARN:    ev.Source.ARN,
		FunctionName: ev.FunctionName,
		Qualifier:    ev.Qualifier,
		FunctionARN:  s.functionARN(ev),
		Region:       ev.Region,
		RequestID:    ev.RequestID,
		Payload:      ev.Payload,
		Condition:    condition,
		ErrorType:    ev.LastErrorType,
		ErrorMessage: ev.LastErrorMessage,
		Response:     ev.LastResponse,
		Attempts:     ev.Attempts,
		Destination:  destination,
		EnqueuedAt:   ev.EnqueuedAt,
		LastAttempt:  ev.LastAttempt,
		FailedAt:     s.clock.Now().UTC(),
	}
}

// send delivers body to the destination arn through the Sender of its
// service. The built-in lambda Sender gets a request id derived from the
// event's and the condition, so a repeat after a crash is stored once.
func (s *Service) send(ctx context.Context, ev *Event, arn string, body []byte, attrs map[string]string, condition string) error {
	sender, err := s.sender(arn)
	if err != nil {
		return err
	}
	ctx, cancel := outliving(ctx)
	defer cancel()
	if ls, ok := sender.(*lambdaSender); ok {
		return ls.sendAs(ctx, arn, body, derivedID(ev.RequestID, condition), Source{Kind: deadletter.SourceDestination, ARN: s.functionARN(ev)})
	}
	if err := sender.Send(ctx, arn, body, attrs); err != nil {
		return fmt.Errorf("async: send to %s: %w", arn, err)
	}
	return nil
}

// sender returns the Sender for arn's service.
func (s *Service) sender(arn string) (Sender, error) {
	parts := strings.SplitN(arn, ":", 4)
	if len(parts) < 4 || parts[0] != "arn" {
		return nil, fmt.Errorf("async: destination %q is not an ARN", arn)
	}
	sender := s.senders[parts[2]]
	if sender == nil {
		return nil, fmt.Errorf("async: no sender for %s destinations (%s)", parts[2], arn)
	}
	return sender, nil
}

// idSpace namespaces the request ids derived from others.
var idSpace = uuid.MustParse("6f0b7c7e-5d3a-4e52-9a51-1b0c2f8e7a10")

// derivedID is a request id made deterministically from another and a tag.
func derivedID(requestID, tag string) string {
	return uuid.NewSHA1(idSpace, []byte(requestID+"/"+tag)).String()
}

// lambdaSender is the built-in Sender for function destinations: an Event
// invocation of the destination function (which must exist).
type lambdaSender struct{ s *Service }

func (l *lambdaSender) Send(ctx context.Context, arn string, body []byte, _ map[string]string) error {
	return l.sendAs(ctx, arn, body, "", Source{Kind: deadletter.SourceDestination})
}

func (l *lambdaSender) sendAs(ctx context.Context, arn string, body []byte, requestID string, src Source) error {
	_, err := l.s.Enqueue(ctx, Request{FunctionName: arn, Payload: body, RequestID: requestID, Source: src})
	if err != nil {
		return fmt.Errorf("async: invoke destination %s: %w", arn, err)
	}
	return nil
}

// jsonOrString returns b if it is JSON, else b as a JSON string (nil for empty).
func jsonOrString(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	if json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(string(b))
	return q
}

// errorFields reads errorType and errorMessage from a function's error document.
func errorFields(doc []byte) (errType, msg string) {
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	if json.Unmarshal(doc, &e) != nil {
		return "", string(doc)
	}
	return e.ErrorType, e.ErrorMessage
}
