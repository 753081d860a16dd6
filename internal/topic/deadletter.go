package topic

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/queue"
)

func newID() string { return uuid.NewString() }

// deadLetter stores a delivery that finally failed: in the subscription's
// RedrivePolicy queue when it has one and the queue takes it, else in the
// DeadLetters sink. A nil error means it is stored (or, without a sink,
// logged); an error means nothing was stored and the caller must retry.
func (s *Service) deadLetter(ctx context.Context, sub *subRec, messageID, group string, publishedAt time.Time, payload []byte, cause string, attempts int) error {
	if rp := sub.Attrs[SubAttrRedrivePolicy]; rp != "" && s.opts.Queues != nil {
		var p struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		}
		if json.Unmarshal([]byte(rp), &p) == nil && p.DeadLetterTargetArn != "" {
			attrs := map[string]queue.Attribute{
				"ErrorMessage":    {DataType: "String", StringValue: truncate(cause, 1024)},
				"SubscriptionArn": {DataType: "String", StringValue: sub.ARN},
			}
			err := s.sendToQueue(ctx, p.DeadLetterTargetArn, string(payload), attrs, group, messageID, messageID)
			if err == nil {
				return nil
			}
			if !permanent(err) {
				return err
			}
			s.log.Warn("topic: dead-letter queue refused a message; keeping it in the dead-letter store",
				"subscription", sub.ARN, "queue", p.DeadLetterTargetArn, "err", err)
		}
	}
	if s.opts.DeadLetters == nil {
		s.log.Error("topic: delivery failed for good and no dead-letter destination is configured",
			"subscription", sub.ARN, "messageId", messageID, "err", cause)
		return nil
	}
	return s.opts.DeadLetters.PutDeadLetter(ctx, DeadLetter{
		TopicARN: sub.TopicARN, SubscriptionARN: sub.ARN, Protocol: sub.Protocol, Endpoint: sub.Endpoint,
		MessageID: messageID, Payload: payload, ErrorMessage: cause, Attempts: attempts,
		PublishedAt: publishedAt, FailedAt: s.clock.Now(),
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
