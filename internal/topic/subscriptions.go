package topic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/pattern"
)

// Subscribe adds a subscription, or returns the existing one for the same
// protocol and endpoint. See API.
func (s *Service) Subscribe(ctx context.Context, topicARN, protocol, endpoint string, attrs map[string]string, returnARN bool) (string, error) {
	name, err := s.parseTopicARN(topicARN, "TopicArn")
	if err != nil {
		return "", err
	}
	t, _, err := s.getTopic(ctx, name)
	if err != nil {
		return "", err
	}
	protocol = strings.ToLower(protocol)
	if protocol == "" {
		return "", invalidParam("Protocol")
	}
	if endpoint == "" {
		return "", invalidParam("Endpoint")
	}
	if err := s.checkEndpoint(protocol, endpoint); err != nil {
		return "", err
	}
	if t.fifo() && protocol != "sqs" {
		return "", invalidParam("Invalid protocol type: %s. FIFO topics support only the sqs protocol.", protocol)
	}
	if !t.fifo() && protocol == "sqs" && strings.HasSuffix(endpoint, ".fifo") {
		return "", invalidParam("Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics")
	}
	norm := map[string]string{}
	for k, v := range attrs {
		nv, err := s.checkSubAttr(protocol, k, v)
		if err != nil {
			return "", err
		}
		if nv != "" {
			norm[k] = nv
		}
	}
	if _, err := compileFilter(norm); err != nil {
		return "", err
	}

	subs, err := s.listSubs(ctx, name)
	if err != nil {
		return "", err
	}
	for _, r := range subs {
		if r.Protocol != protocol || r.Endpoint != endpoint {
			continue
		}
		for k, v := range norm {
			if r.Attrs[k] != v {
				return "", invalidParam("Attributes Reason: Subscription already exists with different attributes")
			}
		}
		if r.Confirmed || returnARN {
			if !r.Confirmed {
				// SNS sends the confirmation again for a repeated request.
				if err := s.sendConfirmation(ctx, t, r); err != nil {
					return "", err
				}
			}
			return r.ARN, nil
		}
		if err := s.sendConfirmation(ctx, t, r); err != nil {
			return "", err
		}
		return PendingConfirmation, nil
	}

	id := uuid.NewString()
	r := &subRec{
		ID: id, ARN: t.ARN + ":" + id, TopicARN: t.ARN, Protocol: protocol, Endpoint: endpoint,
		Owner: s.opts.AccountID, Attrs: norm, Created: s.clock.Now(),
		Confirmed: protocol != "http" && protocol != "https",
	}
	if !r.Confirmed {
		var b [32]byte
		_, _ = rand.Read(b[:])
		r.Token = hex.EncodeToString(b[:])
	}
	b, _ := json.Marshal(r)
	if _, err := s.kv.Create(ctx, subKey(name, id), b); err != nil {
		return "", fmt.Errorf("topic: subscribe: %w", err)
	}
	if r.Confirmed || returnARN {
		if !r.Confirmed {
			if err := s.sendConfirmation(ctx, t, r); err != nil {
				return "", err
			}
		}
		return r.ARN, nil
	}
	if err := s.sendConfirmation(ctx, t, r); err != nil {
		return "", err
	}
	return PendingConfirmation, nil
}

// ConfirmSubscription confirms the subscription of topicARN that was sent
// token. Confirming again returns the same ARN.
func (s *Service) ConfirmSubscription(ctx context.Context, topicARN, token string) (string, error) {
	name, err := s.parseTopicARN(topicARN, "TopicArn")
	if err != nil {
		return "", err
	}
	if _, _, err := s.getTopic(ctx, name); err != nil {
		return "", err
	}
	if token == "" {
		return "", invalidParam("Token")
	}
	subs, err := s.listSubs(ctx, name)
	if err != nil {
		return "", err
	}
	for _, r := range subs {
		if r.Token == "" || r.Token != token {
			continue
		}
		if r.Confirmed {
			return r.ARN, nil
		}
		if _, err := s.updateSub(ctx, name, r.ID, func(r *subRec) error {
			r.Confirmed = true
			return nil
		}); err != nil {
			return "", err
		}
		return r.ARN, nil
	}
	return "", invalidParam("Invalid token")
}

// Unsubscribe deletes a subscription.
func (s *Service) Unsubscribe(ctx context.Context, subscriptionARN string) error {
	name, id, err := s.parseSubARN(subscriptionARN)
	if err != nil {
		return err
	}
	if _, _, err := s.getSub(ctx, name, id); err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, subKey(name, id), 0); err != nil {
		return fmt.Errorf("topic: unsubscribe: %w", err)
	}
	return nil
}

func (r *subRec) describe() Subscription {
	arn := r.ARN
	if !r.Confirmed {
		arn = PendingConfirmation
	}
	return Subscription{SubscriptionARN: arn, TopicARN: r.TopicARN, Protocol: r.Protocol, Endpoint: r.Endpoint, Owner: r.Owner}
}

// ListSubscriptions lists every subscription.
func (s *Service) ListSubscriptions(ctx context.Context) ([]Subscription, error) {
	subs, err := s.listSubs(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(subs))
	for _, r := range subs {
		out = append(out, r.describe())
	}
	return out, nil
}

// ListSubscriptionsByTopic lists the subscriptions of one topic.
func (s *Service) ListSubscriptionsByTopic(ctx context.Context, topicARN string) ([]Subscription, error) {
	name, err := s.parseTopicARN(topicARN, "TopicArn")
	if err != nil {
		return nil, err
	}
	if _, _, err := s.getTopic(ctx, name); err != nil {
		return nil, err
	}
	subs, err := s.listSubs(ctx, name)
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(subs))
	for _, r := range subs {
		out = append(out, r.describe())
	}
	return out, nil
}

// GetSubscriptionAttributes returns the subscription's attributes, the
// read-only ones included.
func (s *Service) GetSubscriptionAttributes(ctx context.Context, subscriptionARN string) (map[string]string, error) {
	name, id, err := s.parseSubARN(subscriptionARN)
	if err != nil {
		return nil, err
	}
	r, _, err := s.getSub(ctx, name, id)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(r.Attrs)
	if out == nil {
		out = map[string]string{}
	}
	out[SubAttrSubscriptionArn] = r.ARN
	out[SubAttrTopicArn] = r.TopicARN
	out[SubAttrProtocol] = r.Protocol
	out[SubAttrEndpoint] = r.Endpoint
	out[SubAttrOwner] = r.Owner
	out[SubAttrPendingConfirmation] = fmt.Sprint(!r.Confirmed)
	out[SubAttrConfirmationWasAuthenticated] = fmt.Sprint(r.Confirmed)
	if _, ok := out[SubAttrRawMessageDelivery]; !ok {
		out[SubAttrRawMessageDelivery] = "false"
	}
	if _, ok := out[SubAttrFilterPolicy]; ok {
		if _, ok := out[SubAttrFilterPolicyScope]; !ok {
			out[SubAttrFilterPolicyScope] = "MessageAttributes"
		}
	}
	if r.Protocol == "http" || r.Protocol == "https" {
		if dp, ok := out[SubAttrDeliveryPolicy]; ok {
			out["EffectiveDeliveryPolicy"] = dp
		} else {
			out["EffectiveDeliveryPolicy"] = defaultEffectiveDeliveryPolicy
		}
	}
	return out, nil
}

// SetSubscriptionAttribute validates and sets one attribute ("" removes
// an optional one).
func (s *Service) SetSubscriptionAttribute(ctx context.Context, subscriptionARN, name, value string) error {
	tname, id, err := s.parseSubARN(subscriptionARN)
	if err != nil {
		return err
	}
	_, err = s.updateSub(ctx, tname, id, func(r *subRec) error {
		nv, err := s.checkSubAttr(r.Protocol, name, value)
		if err != nil {
			return err
		}
		attrs := maps.Clone(r.Attrs)
		if attrs == nil {
			attrs = map[string]string{}
		}
		if nv == "" {
			delete(attrs, name)
		} else {
			attrs[name] = nv
		}
		if _, err := compileFilter(attrs); err != nil {
			return err
		}
		r.Attrs = attrs
		return nil
	})
	return err
}

// checkSubAttr validates one subscription attribute for protocol and
// returns its normalised value.
func (s *Service) checkSubAttr(protocol, name, value string) (string, error) {
	switch name {
	case SubAttrRawMessageDelivery:
		v := strings.ToLower(value)
		if !isTrueFalse(v) {
			return "", invalidParam("Attributes Reason: RawMessageDelivery: Invalid value [%s]. Must be true or false.", value)
		}
		if protocol == "lambda" {
			return "", invalidParam("Attributes Reason: Delivery protocol [lambda] does not support raw message delivery.")
		}
		return v, nil
	case SubAttrFilterPolicy:
		return value, nil // compiled with its scope by compileFilter
	case SubAttrFilterPolicyScope:
		if value != "" && value != "MessageAttributes" && value != "MessageBody" {
			return "", invalidParam("Attributes Reason: FilterPolicyScope: Invalid value [%s]. Please use either MessageBody or MessageAttributes", value)
		}
		return value, nil
	case SubAttrRedrivePolicy:
		if value == "" {
			return "", nil
		}
		var rp struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		}
		if err := json.Unmarshal([]byte(value), &rp); err != nil {
			return "", invalidParam("RedrivePolicy: failed to parse JSON.")
		}
		if s.opts.Queues == nil || !strings.HasPrefix(rp.DeadLetterTargetArn, "arn:") {
			return "", invalidParam("RedrivePolicy: deadLetterTargetArn is an invalid arn")
		}
		if _, err := s.opts.Queues.NameFromARN(rp.DeadLetterTargetArn); err != nil {
			return "", invalidParam("RedrivePolicy: deadLetterTargetArn is an invalid arn")
		}
		return value, nil
	case SubAttrDeliveryPolicy:
		if value == "" {
			return "", nil
		}
		if _, err := parseDeliveryPolicy(value, RetryPolicy{}); err != nil {
			return "", err
		}
		return value, nil
	case SubAttrSubscriptionRoleArn:
		return value, nil
	}
	return "", invalidParam("AttributeName")
}

// Filter policies.

// filterKey identifies a compiled policy.
type filterKey struct{ policy, scope string }

// filterCache keeps compiled filter policies; policies are few and small.
type filterCache struct{ m sync.Map }

func compileFilter(attrs map[string]string) (*pattern.Pattern, error) {
	policy := attrs[SubAttrFilterPolicy]
	if policy == "" {
		return nil, nil
	}
	p, err := pattern.Compile([]byte(policy), pattern.Options{Dialect: pattern.SNS, Scope: scopeOf(attrs)})
	if err != nil {
		msg := err.Error()
		var fe *fault.Error
		if errors.As(err, &fe) {
			msg = fe.Message
		}
		return nil, invalidParam("Filter Policy: %s", msg)
	}
	return p, nil
}

func scopeOf(attrs map[string]string) pattern.Scope {
	if attrs[SubAttrFilterPolicyScope] == "MessageBody" {
		return pattern.MessageBody
	}
	return pattern.MessageAttributes
}

// get returns the compiled filter of a subscription (nil = no filter).
func (c *filterCache) get(attrs map[string]string) (*pattern.Pattern, error) {
	k := filterKey{attrs[SubAttrFilterPolicy], attrs[SubAttrFilterPolicyScope]}
	if k.policy == "" {
		return nil, nil
	}
	if p, ok := c.m.Load(k); ok {
		return p.(*pattern.Pattern), nil
	}
	p, err := compileFilter(attrs)
	if err != nil {
		return nil, err
	}
	c.m.Store(k, p)
	return p, nil
}
