package async

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/fault"
)

// Redrive sends the dead letters that f selects again and deletes each
// record once its event is stored: a failed event is enqueued afresh for its
// function (same payload and qualifier, a new request id, no attempts yet,
// its age counted from now); an undeliverable destination record (Source
// "destination") is sent to its destination again. The new request id is
// derived from the record's id, so a redrive repeated after a crash between
// the enqueue and the delete stores the event once (within the store's
// duplicate window). It reports how many records were redriven; records
// that could not be (their function is gone, say) stay, and err says why.
func (s *Service) Redrive(ctx context.Context, f deadletter.Filter) (int, error) {
	recs, err := s.dl.List(ctx, f)
	if err != nil {
		return 0, fmt.Errorf("async: redrive: %w", err)
	}
	n := 0
	var errs []error
	for i := range recs {
		r := &recs[i]
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := s.redriveOne(ctx, r); err != nil {
			errs = append(errs, fmt.Errorf("dead letter %s: %w", r.ID, err))
			continue
		}
		if err := s.dl.Delete(ctx, r.ID); err != nil {
			errs = append(errs, fmt.Errorf("dead letter %s: redriven, but not deleted: %w", r.ID, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

func (s *Service) redriveOne(ctx context.Context, r *deadletter.Record) error {
	id := derivedID(r.ID, "redrive")
	if r.Source == deadletter.SourceDestination && r.ErrorType == ErrDestinationType && r.Destination != "" {
		sender, err := s.sender(r.Destination)
		if err != nil {
			return err
		}
		if ls, ok := sender.(*lambdaSender); ok {
			return ls.sendAs(ctx, r.Destination, r.Payload, id, Source{Kind: deadletter.SourceDestination, ARN: r.SourceARN})
		}
		return sender.Send(ctx, r.Destination, r.Payload, nil)
	}
	if r.Source == deadletter.SourceTopic {
		// An SNS delivery that failed: there is no function to invoke, and
		// publishing again would reach every subscriber, not the one that failed.
		return fault.New(fault.Unsupported, "an SNS delivery dead letter cannot be redriven as an invocation; publish the message again")
	}
	if r.FunctionName != "" && r.FunctionName == r.Destination && !strings.HasPrefix(r.Destination, "arn:aws:lambda:") {
		// A schedule or rule firing whose queue or topic target refused
		// it: send it to that target again.
		sender, err := s.sender(r.Destination)
		if err != nil {
			return err
		}
		return sender.Send(ctx, r.Destination, r.Payload, nil)
	}
	kind := r.Source
	if kind == "" {
		kind = deadletter.SourceAsync
	}
	_, err := s.Enqueue(ctx, Request{
		FunctionName: r.FunctionName,
		Qualifier:    r.Qualifier,
		Payload:      r.Payload,
		Region:       r.Region,
		RequestID:    id,
		Source:       Source{Kind: kind, ARN: r.SourceARN},
	})
	return err
}
