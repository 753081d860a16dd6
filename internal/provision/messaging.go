package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
)

// registerMessaging registers queues, topics, subscriptions, event source
// mappings, schedules and rules.
func (p *Provisioner) registerMessaging() {
	p.register(manifest.TypeQueue, queueHandler{p})
	p.register(manifest.TypeTopic, topicHandler{p})
	p.register(manifest.TypeSubscription, subscriptionHandler{p})
	p.register(manifest.TypeEventSourceMapping, esmHandler{p})
	p.register(manifest.TypeSchedule, scheduleHandler{p})
	p.register(manifest.TypeRule, ruleHandler{p})
}

// tagList reads CloudFormation's [{Key, Value}] tags.
func tagList(v *manifest.Value, r manifest.Resolver) (map[string]string, error) {
	x, err := plain(v, r)
	if err != nil || x == nil {
		return nil, err
	}
	out := map[string]string{}
	switch t := x.(type) {
	case []any:
		for _, it := range t {
			m, ok := it.(map[string]any)
			if !ok {
				return nil, errors.New("Tags: want a list of {Key, Value}")
			}
			k, _ := m["Key"].(string)
			out[k] = fmt.Sprint(m["Value"])
		}
	case map[string]any: // SAM's map form
		for k, v := range t {
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}

// ---- queues

type queueHandler struct{ p *Provisioner }

// queueDefaults are SQS's defaults, set again when the template drops an
// attribute it had set.
var queueDefaults = map[string]string{
	"VisibilityTimeout":             "30",
	"MessageRetentionPeriod":        "345600",
	"DelaySeconds":                  "0",
	"MaximumMessageSize":            "262144",
	"ReceiveMessageWaitTimeSeconds": "0",
	"RedrivePolicy":                 "",
	"RedriveAllowPolicy":            "",
}

// queueAttributes resolves the queue's name and SQS attributes.
func (h queueHandler) queueAttributes(req *deploy.Request) (string, map[string]string, error) {
	qs, ok := req.Resource.Spec.(*manifest.QueueSpec)
	if !ok {
		return "", nil, errors.New("no queue definition")
	}
	r := req.Resolver
	name, err := str(qs.QueueName, r)
	if err != nil {
		return "", nil, fmt.Errorf("QueueName: %w", err)
	}
	suffix := ""
	if qs.FifoQueue {
		suffix = ".fifo"
	}
	if name == "" {
		name = physicalName(req.Stack, req.Resource.LogicalID, 80, suffix)
	}
	attrs := map[string]string{}
	setInt := func(k string, v *int) {
		if v != nil {
			attrs[k] = strconv.Itoa(*v)
		}
	}
	setInt("VisibilityTimeout", qs.VisibilityTimeout)
	setInt("MessageRetentionPeriod", qs.MessageRetentionPeriod)
	setInt("DelaySeconds", qs.DelaySeconds)
	setInt("MaximumMessageSize", qs.MaximumMessageSize)
	setInt("ReceiveMessageWaitTimeSeconds", qs.ReceiveMessageWaitTime)
	if qs.FifoQueue {
		attrs["FifoQueue"] = "true"
	}
	if qs.DeadLetterTargetArn != nil {
		arn, err := str(qs.DeadLetterTargetArn, r)
		if err != nil {
			return "", nil, fmt.Errorf("RedrivePolicy: %w", err)
		}
		rp, _ := json.Marshal(map[string]any{"deadLetterTargetArn": arn, "maxReceiveCount": qs.MaxReceiveCount})
		attrs["RedrivePolicy"] = string(rp)
	}
	for _, k := range []string{"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"} {
		if v := prop(req, k); v != nil {
			s, err := str(v, r)
			if err != nil {
				return "", nil, fmt.Errorf("%s: %w", k, err)
			}
			attrs[k] = s
		}
	}
	if v := prop(req, "RedriveAllowPolicy"); v != nil {
		s, err := jsonText(v, r)
		if err != nil {
			return "", nil, fmt.Errorf("RedriveAllowPolicy: %w", err)
		}
		attrs["RedriveAllowPolicy"] = s
	}
	return name, attrs, nil
}

func (h queueHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	name, attrs, err := h.queueAttributes(req)
	if err != nil {
		return nil, err
	}
	tags, err := tagList(prop(req, "Tags"), req.Resolver)
	if err != nil {
		return nil, err
	}
	out, err := h.p.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs, Tags: tags})
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", name, err)
	}
	return h.outcome(ctx, aws.ToString(out.QueueUrl), name)
}

func (h queueHandler) outcome(ctx context.Context, url, name string) (*deploy.Outcome, error) {
	got, err := h.p.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	arn := got.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	return &deploy.Outcome{PhysicalID: url, Attrs: map[string]string{"Arn": arn, "QueueName": name, "QueueUrl": url}}, nil
}

func (h queueHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	name, attrs, err := h.queueAttributes(req)
	if err != nil {
		return nil, err
	}
	prevName := ""
	if req.Previous != nil {
		prevName = req.Previous.Attrs["QueueName"]
	}
	if prevName != "" && prevName != name {
		// SQS cannot rename a queue (nor change its type): replace it.
		if err := h.delete(ctx, &deploy.DeleteRequest{Stack: req.Stack, LogicalID: req.Resource.LogicalID, State: req.Previous}); err != nil {
			return nil, err
		}
		return h.create(ctx, req)
	}
	url := req.Previous.PhysicalID
	set := maps.Clone(queueDefaults)
	maps.Copy(set, attrs)
	delete(set, "FifoQueue") // fixed at creation
	if !strings.HasSuffix(name, ".fifo") {
		delete(set, "ContentBasedDeduplication")
	}
	if _, err := h.p.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: set}); err != nil {
		if notFound(err) {
			return h.create(ctx, req)
		}
		return nil, fmt.Errorf("update queue %s: %w", name, err)
	}
	return h.outcome(ctx, url, name)
}

func (h queueHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	if req.State.PhysicalID == "" {
		return nil
	}
	_, err := h.p.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(req.State.PhysicalID)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete queue %s: %w", req.State.PhysicalID, err)
	}
	return nil
}

// ---- topics

type topicHandler struct{ p *Provisioner }

func (h topicHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	ts, ok := req.Resource.Spec.(*manifest.TopicSpec)
	if !ok {
		return nil, errors.New("no topic definition")
	}
	name, err := str(ts.TopicName, req.Resolver)
	if err != nil {
		return nil, fmt.Errorf("TopicName: %w", err)
	}
	suffix := ""
	if ts.FifoTopic {
		suffix = ".fifo"
	}
	if name == "" {
		name = physicalName(req.Stack, req.Resource.LogicalID, 256, suffix)
	}
	attrs := map[string]string{}
	if ts.FifoTopic {
		attrs["FifoTopic"] = "true"
	}
	if v := prop(req, "ContentBasedDeduplication"); v != nil {
		if attrs["ContentBasedDeduplication"], err = str(v, req.Resolver); err != nil {
			return nil, err
		}
	}
	if v := prop(req, "DisplayName"); v != nil {
		if attrs["DisplayName"], err = str(v, req.Resolver); err != nil {
			return nil, err
		}
	}
	out, err := h.p.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Attributes: attrs})
	if err != nil {
		return nil, fmt.Errorf("create topic %s: %w", name, err)
	}
	arn := aws.ToString(out.TopicArn)
	data := map[string]string{}
	// Inline subscriptions (AWS::SNS::Topic Subscription: [{Endpoint, Protocol}]).
	if v := prop(req, "Subscription"); v != nil {
		x, err := plain(v, req.Resolver)
		if err != nil {
			return nil, fmt.Errorf("Subscription: %w", err)
		}
		items, _ := x.([]any)
		for i, it := range items {
			m, _ := it.(map[string]any)
			proto, _ := m["Protocol"].(string)
			endpoint, _ := m["Endpoint"].(string)
			sub, err := h.p.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String(proto), Endpoint: aws.String(endpoint), ReturnSubscriptionArn: true})
			if err != nil {
				return nil, fmt.Errorf("subscribe %s to %s: %w", endpoint, name, err)
			}
			data["subscription."+strconv.Itoa(i)] = aws.ToString(sub.SubscriptionArn)
		}
	}
	return &deploy.Outcome{PhysicalID: arn, Attrs: map[string]string{"TopicArn": arn, "TopicName": name}, Data: data}, nil
}

// update replaces the topic when its name changed; otherwise its inline
// subscriptions are made again (they are few, and Subscribe is idempotent).
func (h topicHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	if err := h.delete(ctx, &deploy.DeleteRequest{Stack: req.Stack, LogicalID: req.Resource.LogicalID, State: &deploy.ResourceState{Data: req.Previous.Data}}); err != nil {
		return nil, err
	}
	out, err := h.create(ctx, req)
	if err != nil {
		return nil, err
	}
	if req.Previous.PhysicalID != "" && req.Previous.PhysicalID != out.PhysicalID {
		_, err := h.p.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(req.Previous.PhysicalID)})
		if err = ignoreNotFound(err); err != nil {
			return nil, fmt.Errorf("delete the replaced topic %s: %w", req.Previous.PhysicalID, err)
		}
	}
	return out, nil
}

// delete removes the topic's inline subscriptions, then the topic (when
// State has a physical id).
func (h topicHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	for k, arn := range req.State.Data {
		if !strings.HasPrefix(k, "subscription.") {
			continue
		}
		_, err := h.p.sns.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(arn)})
		if err = ignoreNotFound(err); err != nil {
			return fmt.Errorf("unsubscribe %s: %w", arn, err)
		}
	}
	if req.State.PhysicalID == "" {
		return nil
	}
	_, err := h.p.sns.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(req.State.PhysicalID)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete topic %s: %w", req.State.PhysicalID, err)
	}
	return nil
}

// ---- subscriptions

type subscriptionHandler struct{ p *Provisioner }

func (h subscriptionHandler) definition(req *deploy.Request) (topic, proto, endpoint string, attrs map[string]string, err error) {
	ss, ok := req.Resource.Spec.(*manifest.SubscriptionSpec)
	if !ok {
		return "", "", "", nil, errors.New("no subscription definition")
	}
	r := req.Resolver
	if topic, err = str(ss.TopicArn, r); err != nil {
		return "", "", "", nil, fmt.Errorf("TopicArn: %w", err)
	}
	if endpoint, err = str(ss.Endpoint, r); err != nil {
		return "", "", "", nil, fmt.Errorf("Endpoint: %w", err)
	}
	attrs = map[string]string{}
	if ss.FilterPolicy != nil {
		if attrs["FilterPolicy"], err = jsonText(ss.FilterPolicy, r); err != nil {
			return "", "", "", nil, fmt.Errorf("FilterPolicy: %w", err)
		}
	}
	if ss.FilterPolicyScope != "" {
		attrs["FilterPolicyScope"] = ss.FilterPolicyScope
	}
	if ss.RawMessageDelivery {
		attrs["RawMessageDelivery"] = "true"
	}
	if ss.RedrivePolicy != nil {
		if attrs["RedrivePolicy"], err = jsonText(ss.RedrivePolicy, r); err != nil {
			return "", "", "", nil, fmt.Errorf("RedrivePolicy: %w", err)
		}
	}
	return topic, ss.Protocol, endpoint, attrs, nil
}

func (h subscriptionHandler) create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	topic, proto, endpoint, attrs, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	out, err := h.p.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topic), Protocol: aws.String(proto),
		Endpoint: aws.String(endpoint), Attributes: attrs, ReturnSubscriptionArn: true})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s %s to %s: %w", proto, endpoint, topic, err)
	}
	arn := aws.ToString(out.SubscriptionArn)
	return &deploy.Outcome{PhysicalID: arn, Attrs: map[string]string{"Arn": arn},
		Data: map[string]string{"topic": topic, "protocol": proto, "endpoint": endpoint}}, nil
}

func (h subscriptionHandler) update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	topic, proto, endpoint, attrs, err := h.definition(req)
	if err != nil {
		return nil, err
	}
	d := req.Previous.Data
	if d["topic"] != topic || d["protocol"] != proto || d["endpoint"] != endpoint {
		if err := h.delete(ctx, &deploy.DeleteRequest{State: req.Previous}); err != nil {
			return nil, err
		}
		return h.create(ctx, req)
	}
	arn := req.Previous.PhysicalID
	// Attributes the template dropped go back to their defaults.
	for _, k := range []string{"FilterPolicy", "RawMessageDelivery", "RedrivePolicy"} {
		if k == "RawMessageDelivery" && proto == "lambda" {
			continue // not an attribute of lambda subscriptions
		}
		v, ok := attrs[k]
		if !ok {
			switch k {
			case "RawMessageDelivery":
				v = "false"
			default:
				v = ""
			}
		}
		if _, err := h.p.sns.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn), AttributeName: aws.String(k), AttributeValue: aws.String(v)}); err != nil {
			if notFound(err) {
				return h.create(ctx, req)
			}
			return nil, fmt.Errorf("set %s of %s: %w", k, arn, err)
		}
	}
	return &deploy.Outcome{PhysicalID: arn, Attrs: map[string]string{"Arn": arn}, Data: maps.Clone(d)}, nil
}

func (h subscriptionHandler) delete(ctx context.Context, req *deploy.DeleteRequest) error {
	if req.State.PhysicalID == "" {
		return nil
	}
	_, err := h.p.sns.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(req.State.PhysicalID)})
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("unsubscribe %s: %w", req.State.PhysicalID, err)
	}
	return nil
}
