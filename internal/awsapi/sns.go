package awsapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/topic"
)

// The SNS query API (version 2010-03-31) over topic.API. Operations read
// their form parameters, call the topic service and answer in SNS's XML
// shapes (sns_shapes.go); errors are rendered by renderSNSError with SNS's
// codes and statuses. A SubscribeURL or UnsubscribeURL opened in a browser
// arrives as GET /?Action=... and is served by the same handlers.

// snsPageSize is how many topics or subscriptions one List call returns.
const snsPageSize = 100

// routeSNS registers the SNS query API when Options.Topics is set.
func (a *API) routeSNS() {
	if a.opts.Topics == nil {
		return
	}
	a.registerQuery(&queryService{
		name:      "sns",
		namespace: SNSQueryNamespace,
		render:    a.renderSNSError,
		ops: map[string]queryHandlerFunc{
			"CreateTopic":               a.snsCreateTopic,
			"DeleteTopic":               a.snsDeleteTopic,
			"ListTopics":                a.snsListTopics,
			"GetTopicAttributes":        a.snsGetTopicAttributes,
			"SetTopicAttributes":        a.snsSetTopicAttributes,
			"Subscribe":                 a.snsSubscribe,
			"ConfirmSubscription":       a.snsConfirmSubscription,
			"Unsubscribe":               a.snsUnsubscribe,
			"ListSubscriptions":         a.snsListSubscriptions,
			"ListSubscriptionsByTopic":  a.snsListSubscriptionsByTopic,
			"GetSubscriptionAttributes": a.snsGetSubscriptionAttributes,
			"SetSubscriptionAttributes": a.snsSetSubscriptionAttributes,
			"Publish":                   a.snsPublish,
			"PublishBatch":              a.snsPublishBatch,
			"TagResource":               a.snsTagResource,
			"UntagResource":             a.snsUntagResource,
			"ListTagsForResource":       a.snsListTagsForResource,
		},
	})
}

// snsStatus is the HTTP status of each SNS error code.
var snsStatus = map[string]int{
	topic.CodeNotFound:                  http.StatusNotFound,
	topic.CodeResourceNotFound:          http.StatusNotFound,
	topic.CodeAuthorizationError:        http.StatusForbidden,
	topic.CodeTopicLimitExceeded:        http.StatusForbidden,
	topic.CodeFilterPolicyLimitExceeded: http.StatusForbidden,
	topic.CodeInternalError:             http.StatusInternalServerError,
}

// renderSNSError writes err as an SNS query error.
func (a *API) renderSNSError(w http.ResponseWriter, c *call, err error) {
	status, typ, code, message := http.StatusInternalServerError, "Receiver", topic.CodeInternalError, internalMessage
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Kind != fault.Internal {
		typ, code, message, status = "Sender", fe.Reason, fe.Message, http.StatusBadRequest
		if code == "" {
			switch fe.Kind {
			case fault.NotFound:
				code = topic.CodeNotFound
			default:
				code = topic.CodeInvalidParameter
			}
		}
		if s, ok := snsStatus[code]; ok {
			status = s
		}
		if fe.Kind == fault.TooLarge && code == topic.CodeInvalidParameter {
			status = http.StatusRequestEntityTooLarge
		}
		a.log.Debug("request refused", "op", c.op, "requestId", c.id, "error", code, "err", err)
	} else {
		a.log.Error("request failed", "op", c.op, "requestId", c.id, "err", err)
	}
	WriteQueryError(w, status, SNSQueryNamespace, typ, code, message, c.id)
}

func snsInvalid(format string, args ...any) error {
	e := fault.New(fault.Invalid, "Invalid parameter: "+format, args...)
	e.Reason = topic.CodeInvalidParameter
	return e
}

// snsTags reads Tags.member.N.Key / .Value.
func snsTags(p url.Values) (map[string]string, error) {
	tags, err := QueryMap(p, "Tags.member", "Key", "Value")
	if err != nil {
		return nil, snsInvalid("Tags")
	}
	return tags, nil
}

func snsAttributes(p url.Values) (map[string]string, error) {
	attrs, err := QueryMap(p, "Attributes.entry", "key", "value")
	if err != nil {
		return nil, snsInvalid("Attributes")
	}
	return attrs, nil
}

func (a *API) snsCreateTopic(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	attrs, err := snsAttributes(p)
	if err != nil {
		return err
	}
	tags, err := snsTags(p)
	if err != nil {
		return err
	}
	if dp := p.Get("DataProtectionPolicy"); dp != "" {
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs["DataProtectionPolicy"] = dp
	}
	arn, err := a.opts.Topics.CreateTopic(r.Context(), p.Get("Name"), attrs, tags)
	if err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsTopicARNResult{arn})
}

func (a *API) snsDeleteTopic(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	if err := a.opts.Topics.DeleteTopic(r.Context(), p.Get("TopicArn")); err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, nil)
}

// snsPage cuts one page of n items from the NextToken (the offset,
// base64) of p and returns the page's bounds and the next token.
func snsPage(p url.Values, n int) (lo, hi int, next string, err error) {
	if tok := p.Get("NextToken"); tok != "" {
		b, derr := base64.RawURLEncoding.DecodeString(tok)
		off, aerr := strconv.Atoi(string(b))
		if derr != nil || aerr != nil || off < 0 || off > n {
			return 0, 0, "", snsInvalid("NextToken")
		}
		lo = off
	}
	hi = min(lo+snsPageSize, n)
	if hi < n {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(hi)))
	}
	return lo, hi, next, nil
}

func (a *API) snsListTopics(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	arns, err := a.opts.Topics.ListTopics(r.Context())
	if err != nil {
		return err
	}
	lo, hi, next, err := snsPage(p, len(arns))
	if err != nil {
		return err
	}
	res := snsListTopicsResult{NextToken: next, Topics: make([]snsTopicMember, 0, hi-lo)}
	for _, arn := range arns[lo:hi] {
		res.Topics = append(res.Topics, snsTopicMember{arn})
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, res)
}

func (a *API) snsGetTopicAttributes(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	attrs, err := a.opts.Topics.GetTopicAttributes(r.Context(), p.Get("TopicArn"))
	if err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsAttributesResult{attrs})
}

func (a *API) snsSetTopicAttributes(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	name := p.Get("AttributeName")
	if name == "" {
		return snsInvalid("AttributeName")
	}
	if err := a.opts.Topics.SetTopicAttribute(r.Context(), p.Get("TopicArn"), name, p.Get("AttributeValue")); err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, nil)
}

func (a *API) snsSubscribe(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	attrs, err := snsAttributes(p)
	if err != nil {
		return err
	}
	ret := strings.EqualFold(p.Get("ReturnSubscriptionArn"), "true")
	arn, err := a.opts.Topics.Subscribe(r.Context(), p.Get("TopicArn"), p.Get("Protocol"), p.Get("Endpoint"), attrs, ret)
	if err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsSubscriptionARNResult{arn})
}

func (a *API) snsConfirmSubscription(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	arn, err := a.opts.Topics.ConfirmSubscription(r.Context(), p.Get("TopicArn"), p.Get("Token"))
	if err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsSubscriptionARNResult{arn})
}

func (a *API) snsUnsubscribe(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	if err := a.opts.Topics.Unsubscribe(r.Context(), p.Get("SubscriptionArn")); err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, nil)
}

func (a *API) writeSubscriptions(w http.ResponseWriter, c *call, p url.Values, subs []topic.Subscription) error {
	lo, hi, next, err := snsPage(p, len(subs))
	if err != nil {
		return err
	}
	res := snsListSubscriptionsResult{NextToken: next, Subscriptions: make([]snsSubscriptionMember, 0, hi-lo)}
	for _, s := range subs[lo:hi] {
		res.Subscriptions = append(res.Subscriptions, snsSubscriptionMember{
			SubscriptionArn: s.SubscriptionARN, Owner: s.Owner, Protocol: s.Protocol, Endpoint: s.Endpoint, TopicArn: s.TopicARN,
		})
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, res)
}

func (a *API) snsListSubscriptions(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	subs, err := a.opts.Topics.ListSubscriptions(r.Context())
	if err != nil {
		return err
	}
	return a.writeSubscriptions(w, c, p, subs)
}

func (a *API) snsListSubscriptionsByTopic(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	subs, err := a.opts.Topics.ListSubscriptionsByTopic(r.Context(), p.Get("TopicArn"))
	if err != nil {
		return err
	}
	return a.writeSubscriptions(w, c, p, subs)
}

func (a *API) snsGetSubscriptionAttributes(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	attrs, err := a.opts.Topics.GetSubscriptionAttributes(r.Context(), p.Get("SubscriptionArn"))
	if err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsAttributesResult{attrs})
}

func (a *API) snsSetSubscriptionAttributes(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	name := p.Get("AttributeName")
	if name == "" {
		return snsInvalid("AttributeName")
	}
	if err := a.opts.Topics.SetSubscriptionAttribute(r.Context(), p.Get("SubscriptionArn"), name, p.Get("AttributeValue")); err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, nil)
}

// snsPublishInput reads one message's members (of the request, or of a
// batch entry's own Values).
func snsPublishInput(p url.Values) (topic.PublishInput, error) {
	in := topic.PublishInput{
		ID:               p.Get("Id"),
		Message:          p.Get("Message"),
		Subject:          p.Get("Subject"),
		MessageStructure: p.Get("MessageStructure"),
		MessageGroupID:   p.Get("MessageGroupId"),
		DeduplicationID:  p.Get("MessageDeduplicationId"),
	}
	mas, err := QueryMessageAttributes(p, "MessageAttributes.entry")
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) {
			return in, snsInvalid("MessageAttributes: %s", fe.Message)
		}
		return in, err
	}
	if len(mas) > 0 {
		in.Attributes = make(map[string]topic.Attribute, len(mas))
		for name, v := range mas {
			at := topic.Attribute{DataType: v.DataType, BinaryValue: v.BinaryValue}
			if v.StringValue != nil {
				at.StringValue = *v.StringValue
			}
			in.Attributes[name] = at
		}
	}
	return in, nil
}

func (a *API) snsPublish(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	in, err := snsPublishInput(p)
	if err != nil {
		return err
	}
	in.ID = ""
	in.TopicARN = p.Get("TopicArn")
	if in.TopicARN == "" {
		in.TopicARN = p.Get("TargetArn")
	}
	if in.TopicARN == "" {
		if p.Get("PhoneNumber") != "" {
			return snsInvalid("PhoneNumber Reason: SMS delivery is not supported")
		}
		return snsInvalid("TopicArn or TargetArn Reason: no value for required parameter")
	}
	res, err := a.opts.Topics.Publish(r.Context(), in)
	if err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsPublishResult{MessageId: res.MessageID, SequenceNumber: res.SequenceNumber})
}

func (a *API) snsPublishBatch(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	members := QueryMembers(p, "PublishBatchRequestEntries.member")
	entries := make([]topic.PublishInput, 0, len(members))
	var early []snsBatchFailure
	for _, m := range members {
		in, err := snsPublishInput(m)
		if err != nil {
			// An entry whose attributes cannot even be read fails alone.
			var fe *fault.Error
			if errors.As(err, &fe) {
				early = append(early, snsBatchFailure{Id: m.Get("Id"), Code: topic.CodeInvalidParameter, Message: fe.Message, SenderFault: true})
				continue
			}
			return err
		}
		entries = append(entries, in)
	}
	if len(entries) == 0 && len(early) > 0 {
		return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsPublishBatchResult{Failed: early})
	}
	results, err := a.opts.Topics.PublishBatch(r.Context(), p.Get("TopicArn"), entries)
	if err != nil {
		return err
	}
	res := snsPublishBatchResult{Failed: early}
	for _, rs := range results {
		if rs.Err == nil {
			res.Successful = append(res.Successful, snsBatchSuccess{Id: rs.ID, MessageId: rs.MessageID, SequenceNumber: rs.SequenceNumber})
			continue
		}
		f := snsBatchFailure{Id: rs.ID, Code: topic.CodeInternalError, Message: internalMessage}
		var fe *fault.Error
		if errors.As(rs.Err, &fe) && fe.Kind != fault.Internal {
			f.Code, f.Message, f.SenderFault = fe.Reason, fe.Message, true
			if f.Code == "" {
				f.Code = topic.CodeInvalidParameter
			}
		} else {
			a.log.Error("publish batch entry failed", "requestId", c.id, "id", rs.ID, "err", rs.Err)
		}
		res.Failed = append(res.Failed, f)
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, res)
}

func (a *API) snsTagResource(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	tags, err := snsTags(p)
	if err != nil {
		return err
	}
	if err := a.opts.Topics.TagResource(r.Context(), p.Get("ResourceArn"), tags); err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsEmptyResult{})
}

func (a *API) snsUntagResource(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	if err := a.opts.Topics.UntagResource(r.Context(), p.Get("ResourceArn"), QueryList(p, "TagKeys.member")); err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsEmptyResult{})
}

func (a *API) snsListTagsForResource(w http.ResponseWriter, r *http.Request, c *call, p url.Values) error {
	tags, err := a.opts.Topics.ListTagsForResource(r.Context(), p.Get("ResourceArn"))
	if err != nil {
		return err
	}
	return WriteQueryResponse(w, c.op, SNSQueryNamespace, c.id, snsTagsResult{QueryKeyValues(tags)})
}
