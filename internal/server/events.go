package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke/async"
	"github.com/lamina-dev/lamina/internal/schedule"
	"github.com/lamina-dev/lamina/internal/schedule/engine"
)

// scheduleTarget turns schedule firings into async Event invocations of
// their target functions: durable once EnqueueBatch returns, deduplicated by
// the firing's deterministic id.
type scheduleTarget struct {
	async       *async.Service
	deadLetters *deadletter.Store
	// senders deliver to queue ("sqs") and topic ("sns") targets.
	senders map[string]async.Sender
}

func (t scheduleTarget) Fire(ctx context.Context, firings []schedule.Firing) error {
	reqs := make([]async.Request, 0, len(firings))
	kept := make([]schedule.Firing, 0, len(firings))
	for _, f := range firings {
		d := f.Definition
		if !strings.HasPrefix(d.Target.Arn, "arn:aws:lambda:") {
			if err := t.send(ctx, f); err != nil {
				return err
			}
			continue
		}
		reqs = append(reqs, async.Request{
			FunctionName: d.Target.Arn,
			Payload:      f.Payload,
			RequestID:    f.ID,
			Source:       async.Source{Kind: sourceKind(d), ARN: d.ARN},
			AllowMissing: true,
			Policy: &async.DeliveryPolicy{
				MaximumRetryAttempts:     d.Target.MaximumRetryAttempts,
				MaximumEventAgeInSeconds: d.Target.MaximumEventAgeInSeconds,
				DeadLetterArn:            d.Target.DeadLetterArn,
			},
		})
		kept = append(kept, f)
	}
	if len(reqs) == 0 {
		return nil
	}
	ids, err := t.async.EnqueueBatch(ctx, reqs)
	if err == nil {
		return nil
	}
	// The engine fires a refused batch again and again, so a firing the
	// async service refuses for good (a target in another region, a
	// payload over the limit) must not stay in it: it becomes a dead
	// letter, and only store failures are left to the engine's retry.
	for i, id := range ids {
		if id != "" {
			continue
		}
		if _, err := t.async.Enqueue(ctx, reqs[i]); err != nil {
			if fault.KindOf(err) == fault.Internal {
				return err
			}
			if err := t.deadLetter(ctx, kept[i], "InvalidTarget", err.Error()); err != nil {
				return err
			}
		}
	}
	return nil
}

// send delivers a firing to a queue or topic target: the payload is the
// message body. A store failure is returned for the engine to fire again
// (at least once); a refusal that will not change (a missing queue, a FIFO
// queue without a message group) becomes a dead letter.
func (t scheduleTarget) send(ctx context.Context, f schedule.Firing) error {
	arn := f.Definition.Target.Arn
	service := ""
	if parts := strings.SplitN(arn, ":", 4); len(parts) == 4 {
		service = parts[2]
	}
	sender := t.senders[service]
	if sender == nil {
		return t.deadLetter(ctx, f, "UnsupportedTarget", fmt.Sprintf("target %s is not a function, queue or topic", arn))
	}
	err := sender.Send(ctx, arn, f.Payload, nil)
	if err == nil || fault.KindOf(err) == fault.Internal {
		return err
	}
	return t.deadLetter(ctx, f, "InvalidTarget", err.Error())
}

// deadLetter keeps a firing that cannot be delivered.
func (t scheduleTarget) deadLetter(ctx context.Context, f schedule.Firing, errType, msg string) error {
	d := f.Definition
	name := d.Target.Arn
	if ref, err := function.ParseRef(d.Target.Arn); err == nil {
		name = ref.Name
	}
	return t.deadLetters.Put(ctx, &deadletter.Record{
		FunctionName: name, Source: sourceKind(d), SourceARN: d.ARN, RequestID: f.ID, Payload: f.Payload,
		Condition: deadletter.DeliveryFailed, ErrorType: errType, ErrorMessage: msg,
		Destination: d.Target.Arn, EnqueuedAt: f.ScheduledTime,
	})
}

func sourceKind(d *schedule.Definition) string {
	if d.Kind == schedule.KindRule {
		return deadletter.SourceRule
	}
	return deadletter.SourceSchedule
}

// deadLetterAPI is what the edge's dead-letter API needs: the store, and
// redrive through the async service.
type deadLetterAPI struct {
	*deadletter.Store
	async *async.Service
}

func (d deadLetterAPI) Redrive(ctx context.Context, f deadletter.Filter) (int, error) {
	return d.async.Redrive(ctx, f)
}

// startEvents opens the dead-letter store, the async service (whose
// workers start at once) and the schedule service and engine.
func (s *Server) startEvents(ctx context.Context) error {
	s.background, s.stopBackground = context.WithCancel(context.WithoutCancel(ctx))
	var err error
	s.deadLetters, err = deadletter.Open(s.background, s.store, deadletter.Options{Retention: s.cfg.DeadLetterRetention})
	if err != nil {
		return fmt.Errorf("dead-letter store: %w", err)
	}
	s.async, err = async.New(ctx, async.Options{
		Store:       s.store,
		Registry:    s.functions,
		Invoker:     s.invoker,
		DeadLetters: s.deadLetters,
		Senders:     s.messagingSenders(),
		MaxPayload:  s.cfg.AsyncMaxPayload,
		Workers:     s.cfg.AsyncWorkers,
		RetryBase:   s.cfg.AsyncRetryDelay,
		Logger:      s.log.With("component", "async"),
	})
	if err != nil {
		return fmt.Errorf("async invoke: %w", err)
	}
	s.schedules, err = schedule.New(ctx, schedule.Options{Store: s.store, Logger: s.log.With("component", "schedule")})
	if err != nil {
		return fmt.Errorf("schedules: %w", err)
	}
	eng, err := engine.New(engine.Options{
		Store:      s.store,
		Target:     scheduleTarget{async: s.async, deadLetters: s.deadLetters, senders: s.messagingSenders()},
		Logger:     s.log.With("component", "schedule-engine"),
		NodeID:     s.cfg.NodeID,
		CatchUp:    s.cfg.ScheduleCatchUp,
		OnComplete: s.schedules.DeleteCompleted,
	})
	if err != nil {
		return fmt.Errorf("schedule engine: %w", err)
	}
	s.engine = eng
	return nil
}

// runEvents starts the async workers and the schedule engine, once the
// queues and topics they may deliver to are open.
func (s *Server) runEvents() {
	s.async.Start(s.background)
	s.engineDone = make(chan struct{})
	go func() {
		defer close(s.engineDone)
		if err := s.engine.Run(s.background); err != nil && s.background.Err() == nil {
			s.log.Error("schedule engine stopped", "err", err)
		}
	}()
}
