package topic

// HTTP/S delivery
//
// Each delivery (a Notification or a SubscriptionConfirmation) is its own
// record on the stream (subject lamina.sns.http.<topic>), so its retries
// survive a restart. A worker holds a record until its NotBefore (on the
// injected clock, marking it in progress every heartbeatEvery of real
// time so the store does not hand it out again), re-reads the
// subscription (an unsubscribed endpoint gets nothing more), POSTs, and
// then either acknowledges it (2xx), or stores the next attempt before
// acknowledging this one, or, when the retry policy is exhausted, sends
// the delivery to the dead-letter destination first.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/store"
)

const (
	// heartbeatEvery keeps a held or running delivery inside AckWait.
	heartbeatEvery = 10 * time.Second
	// requestTimeout bounds one POST, as SNS's 15 s.
	requestTimeout = 15 * time.Second
	userAgent      = "Amazon Simple Notification Service Agent"
)

// httpDelivery is one pending HTTP/S delivery.
type httpDelivery struct {
	Kind            string    `json:"kind"` // Notification or SubscriptionConfirmation
	TopicARN        string    `json:"topicArn"`
	SubscriptionARN string    `json:"subscriptionArn"`
	Endpoint        string    `json:"endpoint"`
	MessageID       string    `json:"messageId"`
	Body            string    `json:"body"`
	Raw             bool      `json:"raw,omitempty"`
	Attempts        int       `json:"attempts"` // made so far
	NotBefore       time.Time `json:"notBefore,omitzero"`
	PublishedAt     time.Time `json:"publishedAt"`
	LastError       string    `json:"lastError,omitempty"`
}

func (s *Service) enqueueHTTP(ctx context.Context, t *topicRec, d *httpDelivery) error {
	if _, err := s.stream.Publish(ctx, subjectHTTP+nameToken(t.Name), marshal(d), nil); err != nil {
		return fmt.Errorf("topic: store http delivery: %w", err)
	}
	return nil
}

// sendConfirmation queues the SubscriptionConfirmation of sub.
func (s *Service) sendConfirmation(ctx context.Context, t *topicRec, sub *subRec) error {
	now := s.clock.Now()
	id := newID()
	env := s.confirmation(t, sub, id, now)
	return s.enqueueHTTP(ctx, t, &httpDelivery{
		Kind: "SubscriptionConfirmation", TopicARN: t.ARN, SubscriptionARN: sub.ARN, Endpoint: sub.Endpoint,
		MessageID: id, Body: string(marshal(env)), PublishedAt: now,
	})
}

func (s *Service) startHTTP(ctx context.Context) {
	s.loops.Add(1)
	go s.httpFetch(ctx)
}

func (s *Service) httpFetch(ctx context.Context) {
	defer s.loops.Done()
	slots := make(chan struct{}, s.opts.HTTPWorkers)
	for ctx.Err() == nil {
		msgs, err := s.httpC.Fetch(ctx, 16)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("topic: fetch http deliveries", "err", err)
			pause(ctx, time.Second)
			continue
		}
		for i, m := range msgs {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				for _, rest := range msgs[i:] {
					s.handBack(ctx, rest)
				}
				return
			}
			s.running.Add(1)
			go func() {
				defer func() { <-slots; s.running.Done() }()
				s.handleHTTP(ctx, m)
			}()
		}
	}
}

// heartbeat marks m in progress until stop is closed.
func (s *Service) heartbeat(ctx context.Context, m store.Message, stop <-chan struct{}) {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.InProgress(ctx); err != nil {
				s.log.Debug("topic: mark http delivery in progress", "err", err)
			}
		}
	}
}

func (s *Service) handleHTTP(ctx context.Context, m store.Message) {
	stop := make(chan struct{})
	defer close(stop)
	go s.heartbeat(ctx, m, stop)

	sctx, cancel := settleCtx(ctx)
	defer cancel()
	var d httpDelivery
	if err := json.Unmarshal(m.Data(), &d); err != nil {
		s.log.Error("topic: undecodable http delivery dropped", "seq", m.Sequence(), "err", err)
		_ = m.Term(sctx)
		return
	}
	if wait := d.NotBefore.Sub(s.clock.Now()); wait > 0 {
		tm := s.clock.NewTimer(wait)
		select {
		case <-tm.C():
		case <-ctx.Done():
			tm.Stop()
			_ = m.Nak(sctx, 0)
			return
		}
	}
	if err := s.attemptHTTP(ctx, &d); err != nil {
		if ctx.Err() != nil {
			_ = m.Nak(sctx, 0)
			return
		}
		s.log.Warn("topic: http delivery not settled; retrying", "endpoint", d.Endpoint, "err", err)
		_ = m.Nak(sctx, retryDelay(m.Delivered()))
		return
	}
	if err := m.Ack(sctx); err != nil {
		s.log.Debug("topic: ack http delivery", "err", err)
	}
}

// attemptHTTP makes one attempt of d and stores what follows from it; a
// nil error means d's record may be acknowledged.
func (s *Service) attemptHTTP(ctx context.Context, d *httpDelivery) error {
	tname, id, err := s.parseSubARN(d.SubscriptionARN)
	if err != nil {
		return nil // not a subscription of ours: nothing to do
	}
	sub, _, err := s.getSub(ctx, tname, id)
	if err != nil {
		if isNotFound(err) {
			return nil // unsubscribed (or topic deleted) since
		}
		return err
	}
	if d.Kind == "SubscriptionConfirmation" && sub.Confirmed {
		return nil
	}
	t, _, err := s.getTopic(ctx, tname)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	policy := s.retryPolicy(t, sub)
	perr := s.post(ctx, d)
	if perr == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err() // shutting down: this attempt does not count
	}
	d.Attempts++
	d.LastError = perr.Error()
	if d.Attempts >= policy.Attempts {
		if d.Kind != "Notification" {
			s.log.Warn("topic: subscription confirmation could not be delivered", "endpoint", d.Endpoint, "err", perr)
			return nil
		}
		return s.deadLetter(ctx, sub, d.MessageID, "", d.PublishedAt, []byte(d.Body), d.LastError, d.Attempts)
	}
	d.NotBefore = s.clock.Now().Add(policy.delay(d.Attempts))
	return s.enqueueHTTP(ctx, t, d)
}

// post makes one POST of d; any status but 2xx is a failure.
func (s *Service) post(ctx context.Context, d *httpDelivery) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Endpoint, strings.NewReader(d.Body))
	if err != nil {
		return err
	}
	h := req.Header
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("User-Agent", userAgent)
	h["x-amz-sns-message-type"] = []string{d.Kind}
	h["x-amz-sns-message-id"] = []string{d.MessageID}
	h["x-amz-sns-topic-arn"] = []string{d.TopicARN}
	if d.Kind == "Notification" {
		h["x-amz-sns-subscription-arn"] = []string{d.SubscriptionARN}
	}
	if d.Raw {
		h["x-amz-sns-rawdelivery"] = []string{"true"}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("endpoint answered %s", resp.Status)
	}
	return nil
}

// Retry policies.

// delay is the wait before retry number n (n attempts made so far).
func (p RetryPolicy) delay(n int) time.Duration {
	if n <= p.Immediate {
		return 0
	}
	d := p.MinBackoff
	for i := p.Immediate + 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, p.MaxBackoff)
}

// retryPolicy is sub's DeliveryPolicy, else its topic's, else the default.
func (s *Service) retryPolicy(t *topicRec, sub *subRec) RetryPolicy {
	p := s.opts.Retry
	if v := t.Attrs[AttrDeliveryPolicy]; v != "" {
		if tp, err := parseTopicDeliveryPolicy(v, p); err == nil {
			p = tp
		}
	}
	if v := sub.Attrs[SubAttrDeliveryPolicy]; v != "" {
		if sp, err := parseDeliveryPolicy(v, p); err == nil {
			p = sp
		}
	}
	return p
}

// healthyRetryPolicy is SNS's DeliveryPolicy retry block.
type healthyRetryPolicy struct {
	NumRetries        *int `json:"numRetries"`
	NumNoDelayRetries *int `json:"numNoDelayRetries"`
	MinDelayTarget    *int `json:"minDelayTarget"`
	MaxDelayTarget    *int `json:"maxDelayTarget"`
}

func (h *healthyRetryPolicy) apply(p RetryPolicy) (RetryPolicy, error) {
	if h == nil {
		return p, nil
	}
	if h.NumRetries != nil {
		if *h.NumRetries < 0 || *h.NumRetries > 100 {
			return p, invalidParam("DeliveryPolicy: numRetries must be between 0 and 100")
		}
		p.Attempts = *h.NumRetries + 1
	}
	if h.NumNoDelayRetries != nil {
		if *h.NumNoDelayRetries < 0 {
			return p, invalidParam("DeliveryPolicy: numNoDelayRetries must not be negative")
		}
		p.Immediate = *h.NumNoDelayRetries
	}
	if h.MinDelayTarget != nil {
		if *h.MinDelayTarget < 1 || *h.MinDelayTarget > 3600 {
			return p, invalidParam("DeliveryPolicy: minDelayTarget must be between 1 and 3600")
		}
		p.MinBackoff = time.Duration(*h.MinDelayTarget) * time.Second
	}
	if h.MaxDelayTarget != nil {
		if *h.MaxDelayTarget < 1 || *h.MaxDelayTarget > 3600 {
			return p, invalidParam("DeliveryPolicy: maxDelayTarget must be between 1 and 3600")
		}
		p.MaxBackoff = time.Duration(*h.MaxDelayTarget) * time.Second
	}
	if p.MaxBackoff < p.MinBackoff {
		return p, invalidParam("DeliveryPolicy: maxDelayTarget must be at least minDelayTarget")
	}
	return p, nil
}

// parseDeliveryPolicy reads a subscription's DeliveryPolicy
// ({"healthyRetryPolicy": {...}}) over base.
func parseDeliveryPolicy(v string, base RetryPolicy) (RetryPolicy, error) {
	var dp struct {
		HealthyRetryPolicy *healthyRetryPolicy `json:"healthyRetryPolicy"`
	}
	if err := json.Unmarshal([]byte(v), &dp); err != nil {
		return base, invalidParam("DeliveryPolicy: failed to parse JSON")
	}
	return dp.HealthyRetryPolicy.apply(base)
}

// parseTopicDeliveryPolicy reads a topic's DeliveryPolicy
// ({"http": {"defaultHealthyRetryPolicy": {...}}}) over base.
func parseTopicDeliveryPolicy(v string, base RetryPolicy) (RetryPolicy, error) {
	var dp struct {
		HTTP *struct {
			Default *healthyRetryPolicy `json:"defaultHealthyRetryPolicy"`
		} `json:"http"`
	}
	if err := json.Unmarshal([]byte(v), &dp); err != nil {
		return base, errors.New("topic delivery policy: not JSON")
	}
	if dp.HTTP == nil {
		return base, nil
	}
	return dp.HTTP.Default.apply(base)
}
