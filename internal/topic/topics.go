package topic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/store"
)

// defaultEffectiveDeliveryPolicy is what SNS reports for a topic (and an
// http/s subscription) without a DeliveryPolicy.
const defaultEffectiveDeliveryPolicy = `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`

// CreateTopic creates name, or returns the ARN of the existing topic when
// its attributes agree (SNS's idempotence); different attributes are
// InvalidParameter.
func (s *Service) CreateTopic(ctx context.Context, name string, attrs, tags map[string]string) (string, error) {
	fifo := attrs[AttrFifoTopic] == "true"
	if fifo != strings.HasSuffix(name, ".fifo") || !validTopicName(name, fifo) {
		if fifo || strings.HasSuffix(name, ".fifo") {
			return "", invalidParam("Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.")
		}
		return "", invalidParam("Topic Name")
	}
	for k, v := range attrs {
		if err := checkTopicAttr(k, v, true, fifo); err != nil {
			return "", err
		}
	}
	if err := checkTags(tags); err != nil {
		return "", err
	}
	rec := topicRec{Name: name, ARN: s.topicARN(name), Attrs: map[string]string{}, Tags: tags, Created: s.clock.Now()}
	for k, v := range attrs {
		if k == AttrFifoTopic && v == "false" {
			continue
		}
		rec.Attrs[k] = v
	}
	b, _ := json.Marshal(rec)
	// A topic deleted between Create and Get is created again; a few
	// rounds settle any such race.
	for range 5 {
		_, err := s.kv.Create(ctx, topicKey(name), b)
		if err == nil {
			return rec.ARN, nil
		}
		if !errors.Is(err, store.ErrExists) {
			return "", fmt.Errorf("topic: create %s: %w", name, err)
		}
		old, _, gerr := s.getTopic(ctx, name)
		if gerr != nil {
			if isNotFound(gerr) {
				continue // deleted meanwhile: create it again
			}
			return "", gerr
		}
		for k, v := range rec.Attrs {
			if old.Attrs[k] != v {
				return "", invalidParam("Attributes Reason: Topic already exists with different attributes")
			}
		}
		for k, v := range tags {
			if ov, ok := old.Tags[k]; ok && ov != v {
				return "", invalidParam("Tags Reason: Topic already exists with different tags")
			}
		}
		return old.ARN, nil
	}
	return "", fmt.Errorf("topic: create %s: the topic keeps changing", name)
}

// DeleteTopic deletes the topic and its subscriptions. Deleting a topic
// that does not exist succeeds, as in SNS.
func (s *Service) DeleteTopic(ctx context.Context, arn string) error {
	name, err := s.parseTopicARN(arn, "TopicArn")
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	// The topic goes first so that no subscription is added meanwhile to a
	// topic being deleted (Subscribe reads the topic first).
	if err := s.kv.Delete(ctx, topicKey(name), 0); err != nil {
		return fmt.Errorf("topic: delete %s: %w", name, err)
	}
	keys, err := s.kv.Keys(ctx, subPrefix(name))
	if err != nil {
		return fmt.Errorf("topic: delete %s: list subscriptions: %w", name, err)
	}
	for _, k := range keys {
		if err := s.kv.Delete(ctx, k, 0); err != nil {
			return fmt.Errorf("topic: delete %s: %w", name, err)
		}
	}
	return nil
}

// ListTopics lists topic ARNs, sorted.
func (s *Service) ListTopics(ctx context.Context) ([]string, error) {
	keys, err := s.kv.Keys(ctx, "t.")
	if err != nil {
		return nil, fmt.Errorf("topic: list topics: %w", err)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, s.topicARN(strings.ReplaceAll(strings.TrimPrefix(k, "t."), "=", ".")))
	}
	slices.Sort(out)
	return out, nil
}

// GetTopicAttributes returns the topic's attributes, the read-only ones
// included.
func (s *Service) GetTopicAttributes(ctx context.Context, arn string) (map[string]string, error) {
	name, err := s.parseTopicARN(arn, "TopicArn")
	if err != nil {
		return nil, err
	}
	t, _, err := s.getTopic(ctx, name)
	if err != nil {
		return nil, err
	}
	subs, err := s.listSubs(ctx, name)
	if err != nil {
		return nil, err
	}
	confirmed, pending := 0, 0
	for _, r := range subs {
		if r.Confirmed {
			confirmed++
		} else {
			pending++
		}
	}
	out := maps.Clone(t.Attrs)
	if out == nil {
		out = map[string]string{}
	}
	out[AttrTopicArn] = t.ARN
	out[AttrOwner] = s.opts.AccountID
	out[AttrSubscriptionsConfirmed] = strconv.Itoa(confirmed)
	out[AttrSubscriptionsPending] = strconv.Itoa(pending)
	out[AttrSubscriptionsDeleted] = "0"
	if _, ok := out[AttrPolicy]; !ok {
		out[AttrPolicy] = s.defaultPolicy(t.ARN)
	}
	if _, ok := out[AttrDisplayName]; !ok && !t.fifo() {
		out[AttrDisplayName] = ""
	}
	if dp, ok := out[AttrDeliveryPolicy]; ok && dp != "" {
		out[AttrEffectiveDeliveryPolicy] = dp
	} else {
		out[AttrEffectiveDeliveryPolicy] = defaultEffectiveDeliveryPolicy
	}
	if t.fifo() {
		if _, ok := out[AttrContentBasedDeduplication]; !ok {
			out[AttrContentBasedDeduplication] = "false"
		}
	}
	return out, nil
}

func (s *Service) defaultPolicy(arn string) string {
	return `{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"` +
		arn + `","Condition":{"StringEquals":{"AWS:SourceOwner":"` + s.opts.AccountID + `"}}}]}`
}

// SetTopicAttribute validates and sets one attribute (FifoTopic cannot
// change; an empty value removes an optional attribute).
func (s *Service) SetTopicAttribute(ctx context.Context, arn, name, value string) error {
	tname, err := s.parseTopicARN(arn, "TopicArn")
	if err != nil {
		return err
	}
	return s.updateTopic(ctx, tname, func(t *topicRec) error {
		if err := checkTopicAttr(name, value, false, t.fifo()); err != nil {
			return err
		}
		if t.Attrs == nil {
			t.Attrs = map[string]string{}
		}
		if value == "" && name != AttrDisplayName {
			delete(t.Attrs, name)
		} else {
			t.Attrs[name] = value
		}
		return nil
	})
}
