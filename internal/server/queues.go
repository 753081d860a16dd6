package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/esm"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke/async"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/topic"
)

// startMessaging opens the queue engine, the topic service and the event
// source mappings, after the async service (SNS invokes functions as Event
// invocations) and before the edge.
func (s *Server) startMessaging(ctx context.Context) error {
	var err error
	s.queues, err = queue.New(ctx, queue.Options{Store: s.store, Logger: s.log.With("component", "queue")})
	if err != nil {
		return fmt.Errorf("queues: %w", err)
	}
	s.topics, err = topic.New(ctx, topic.Options{
		Store:       s.store,
		Logger:      s.log.With("component", "topic"),
		Queues:      s.queues,
		Functions:   topicFunctions{async: s.async},
		DeadLetters: topicDeadLetters{store: s.deadLetters},
		BaseURL:     s.EdgeURL,
	})
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	s.mappings, err = esm.New(ctx, esm.Options{
		Store:     s.store,
		Queues:    s.queues,
		Invoker:   s.invoker,
		Functions: esmFunctions{reg: s.functions},
		Logger:    s.log.With("component", "esm"),
	})
	if err != nil {
		return fmt.Errorf("event source mappings: %w", err)
	}
	return nil
}

// closeMessaging stops the pollers first (no new invocations), then the
// topic deliveries, then the queue engine.
func (s *Server) closeMessaging() []error {
	var errs []error
	if s.mappings != nil {
		s.mappings.Close()
	}
	if s.topics != nil {
		if err := s.topics.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close topics: %w", err))
		}
	}
	if s.queues != nil {
		if err := s.queues.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close queues: %w", err))
		}
	}
	return errs
}

// messagingSenders are the async destinations that queues and topics add:
// on-success/on-failure destinations and DeadLetterConfig targets may be
// queue or topic ARNs. They are resolved late because the async service
// starts before the queue engine.
func (s *Server) messagingSenders() map[string]async.Sender {
	return map[string]async.Sender{
		"sqs": queueSender{s: s},
		"sns": topicSender{s: s},
	}
}

// queueSender sends a destination record to a queue; the attributes
// (DeadLetterConfig's RequestID, ErrorCode, ErrorMessage) become String
// message attributes, as Lambda sends them.
type queueSender struct{ s *Server }

func (q queueSender) Send(ctx context.Context, arn string, body []byte, attrs map[string]string) error {
	if q.s.queues == nil {
		return fault.New(fault.Unsupported, "queues are not running")
	}
	name, err := q.s.queues.NameFromARN(arn)
	if err != nil {
		return err
	}
	in := queue.SendInput{Body: string(body)}
	if len(attrs) > 0 {
		in.Attributes = make(map[string]queue.Attribute, len(attrs))
		for k, v := range attrs {
			in.Attributes[k] = queue.Attribute{DataType: "String", StringValue: v}
		}
	}
	res, err := q.s.queues.Send(ctx, name, []queue.SendInput{in})
	if err != nil {
		return err
	}
	return res[0].Err
}

// topicSender publishes a destination record to a topic.
type topicSender struct{ s *Server }

func (t topicSender) Send(ctx context.Context, arn string, body []byte, attrs map[string]string) error {
	if t.s.topics == nil {
		return fault.New(fault.Unsupported, "topics are not running")
	}
	in := topic.PublishInput{TopicARN: arn, Message: string(body)}
	if len(attrs) > 0 {
		in.Attributes = make(map[string]topic.Attribute, len(attrs))
		for k, v := range attrs {
			in.Attributes[k] = topic.Attribute{DataType: "String", StringValue: v}
		}
	}
	res, err := t.s.topics.Publish(ctx, in)
	if err != nil {
		return err
	}
	return res.Err
}

// topicFunctions delivers SNS messages to functions as Event invocations,
// as SNS does: the function's own retry policy and DLQ then apply.
type topicFunctions struct{ async *async.Service }

func (f topicFunctions) EnqueueEvent(ctx context.Context, functionARN string, payload []byte) error {
	_, err := f.async.Enqueue(ctx, async.Request{FunctionName: functionARN, Payload: payload, AllowMissing: true,
		Source: async.Source{Kind: deadletter.SourceTopic}})
	return err
}

// topicDeadLetters keeps SNS deliveries that finally failed, with no
// subscription DLQ, in the dead-letter store.
type topicDeadLetters struct{ store *deadletter.Store }

func (d topicDeadLetters) PutDeadLetter(ctx context.Context, dl topic.DeadLetter) error {
	payload := dl.Payload
	if !json.Valid(payload) {
		payload, _ = json.Marshal(string(dl.Payload))
	}
	return d.store.Put(ctx, &deadletter.Record{
		Source:       deadletter.SourceTopic,
		SourceARN:    dl.SubscriptionARN,
		FunctionName: "sns-" + topicName(dl.TopicARN),
		RequestID:    dl.MessageID,
		Payload:      payload,
		Condition:    deadletter.DeliveryFailed,
		ErrorType:    "DeliveryFailed",
		ErrorMessage: dl.ErrorMessage,
		Attempts:     dl.Attempts,
		Destination:  dl.Protocol + ":" + dl.Endpoint,
		EnqueuedAt:   dl.PublishedAt,
		LastAttempt:  dl.FailedAt,
		FailedAt:     dl.FailedAt,
	})
}

func topicName(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == ':' {
			return arn[i+1:]
		}
	}
	return arn
}

// esmFunctions resolves mapping targets in the function registry.
type esmFunctions struct{ reg *function.Service }

func (f esmFunctions) Resolve(ctx context.Context, name string) (esm.Function, error) {
	ref, err := function.ParseRef(name)
	if err != nil {
		return esm.Function{}, err
	}
	fn, err := f.reg.Get(ctx, ref.Name, ref.Qualifier)
	if err != nil {
		return esm.Function{}, err
	}
	return esm.Function{ARN: f.reg.ARN(ref.Name, ref.Qualifier), Timeout: time.Duration(fn.Timeout) * time.Second}, nil
}

// snsCertificate serves the certificate whose key signs SNS messages.
func (s *Server) snsCertificate(w http.ResponseWriter, _ *http.Request) {
	if s.topics == nil {
		http.Error(w, "topics are not running", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(s.topics.CertificatePEM())
}
