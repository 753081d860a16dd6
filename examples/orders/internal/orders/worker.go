package orders

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
)

// Sender sends a message to a queue (the SQS client in the functions, a
// fake in tests).
type Sender interface {
	Send(ctx context.Context, queueURL, body string) error
}

// Worker opens the sealed orders of a queue batch and records each one by
// sending its plain JSON to the record queue.
type Worker struct {
	Sealer    *Sealer
	Out       Sender
	RecordURL string
	Log       *slog.Logger
}

// Handle processes one batch and reports the messages that failed, so that
// only those come back (ReportBatchItemFailures): an unreadable message is
// retried until the queue's redrive policy moves it to the dead-letter
// queue, and never holds back the good ones.
func (w *Worker) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var resp events.SQSEventResponse
	for _, m := range ev.Records {
		if err := w.record(ctx, m); err != nil {
			w.Log.Warn("order failed", "messageId", m.MessageId, "receiveCount", m.Attributes["ApproximateReceiveCount"], "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return resp, nil
}

func (w *Worker) record(ctx context.Context, m events.SQSMessage) error {
	p, err := w.Sealer.Open(m.Body)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if err := w.Out.Send(ctx, w.RecordURL, string(plain)); err != nil {
		return fmt.Errorf("record order %s: %w", p.ID, err)
	}
	w.Log.Info("order recorded", "orderId", p.ID, "customer", p.Customer, "items", len(p.Items))
	return nil
}
