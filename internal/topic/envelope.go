package topic

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"
)

// Delivery shapes, as SNS sends them.

// timeFormat is SNS's Timestamp: RFC 3339 in UTC with milliseconds.
const timeFormat = "2006-01-02T15:04:05.000Z"

// envAttr is a message attribute in an envelope or Lambda event.
type envAttr struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// envelope is the JSON document SNS delivers to sqs (not raw) and http/s
// subscribers; its field order is SNS's.
type envelope struct {
	Type              string             `json:"Type"`
	MessageID         string             `json:"MessageId"`
	Token             string             `json:"Token,omitempty"`
	SequenceNumber    string             `json:"SequenceNumber,omitempty"`
	TopicArn          string             `json:"TopicArn"`
	Subject           string             `json:"Subject,omitempty"`
	Message           string             `json:"Message"`
	SubscribeURL      string             `json:"SubscribeURL,omitempty"`
	Timestamp         string             `json:"Timestamp"`
	SignatureVersion  string             `json:"SignatureVersion"`
	Signature         string             `json:"Signature"`
	SigningCertURL    string             `json:"SigningCertURL"`
	UnsubscribeURL    string             `json:"UnsubscribeURL,omitempty"`
	MessageAttributes map[string]envAttr `json:"MessageAttributes,omitempty"`
}

// lambdaEvent is the Lambda SNS event (events.SNSEvent's shape, with
// SNS's timestamp format and a null Subject when there is none).
type lambdaEvent struct {
	Records []lambdaRecord `json:"Records"`
}

type lambdaRecord struct {
	EventSource          string    `json:"EventSource"`
	EventVersion         string    `json:"EventVersion"`
	EventSubscriptionArn string    `json:"EventSubscriptionArn"`
	Sns                  lambdaSNS `json:"Sns"`
}

type lambdaSNS struct {
	Type              string             `json:"Type"`
	MessageID         string             `json:"MessageId"`
	TopicArn          string             `json:"TopicArn"`
	Subject           *string            `json:"Subject"`
	Message           string             `json:"Message"`
	Timestamp         string             `json:"Timestamp"`
	SignatureVersion  string             `json:"SignatureVersion"`
	Signature         string             `json:"Signature"`
	SigningCertURL    string             `json:"SigningCertUrl"`
	UnsubscribeURL    string             `json:"UnsubscribeUrl"`
	MessageAttributes map[string]envAttr `json:"MessageAttributes"`
}

// marshal encodes without HTML escaping, as SNS does.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // our own shapes always encode
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func envAttrs(attrs map[string]Attribute) map[string]envAttr {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]envAttr, len(attrs))
	for k, a := range attrs {
		v := a.StringValue
		if strings.HasPrefix(a.DataType, "Binary") {
			v = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
		out[k] = envAttr{Type: a.DataType, Value: v}
	}
	return out
}

func (s *Service) baseURL() string { return strings.TrimSuffix(s.opts.BaseURL(), "/") }

func (s *Service) certURL() string { return s.baseURL() + CertPath }

func (s *Service) unsubscribeURL(subARN string) string {
	return s.baseURL() + "/?Action=Unsubscribe&SubscriptionArn=" + url.QueryEscape(subARN)
}

func (s *Service) subscribeURL(topicARN, token string) string {
	return s.baseURL() + "/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(topicARN) + "&Token=" + url.QueryEscape(token)
}

// notification builds the signed Notification envelope of m for sub.
func (s *Service) notification(t *topicRec, m *pubMsg, sub *subRec, body, seq string) envelope {
	ts := m.Time.UTC().Format(timeFormat)
	version := t.Attrs[AttrSignatureVersion]
	if version == "" {
		version = "1"
	}
	fields := []string{"Message", body, "MessageId", m.MessageID}
	if m.Subject != "" {
		fields = append(fields, "Subject", m.Subject)
	}
	fields = append(fields, "Timestamp", ts, "TopicArn", t.ARN, "Type", "Notification")
	return envelope{
		Type: "Notification", MessageID: m.MessageID, SequenceNumber: seq, TopicArn: t.ARN,
		Subject: m.Subject, Message: body, Timestamp: ts, SignatureVersion: version,
		Signature: s.signer.sign(version, fields...), SigningCertURL: s.certURL(),
		UnsubscribeURL: s.unsubscribeURL(sub.ARN), MessageAttributes: envAttrs(m.Attrs),
	}
}

// confirmation builds the signed SubscriptionConfirmation for sub.
func (s *Service) confirmation(t *topicRec, sub *subRec, id string, now time.Time) envelope {
	ts := now.UTC().Format(timeFormat)
	version := t.Attrs[AttrSignatureVersion]
	if version == "" {
		version = "1"
	}
	msg := "You have chosen to subscribe to the topic " + t.ARN +
		".\nTo confirm the subscription, visit the SubscribeURL included in this message."
	su := s.subscribeURL(t.ARN, sub.Token)
	return envelope{
		Type: "SubscriptionConfirmation", MessageID: id, Token: sub.Token, TopicArn: t.ARN,
		Message: msg, SubscribeURL: su, Timestamp: ts, SignatureVersion: version,
		Signature: s.signer.sign(version, "Message", msg, "MessageId", id, "SubscribeURL", su,
			"Timestamp", ts, "Token", sub.Token, "TopicArn", t.ARN, "Type", "SubscriptionConfirmation"),
		SigningCertURL: s.certURL(),
	}
}

// lambdaPayload is the Lambda event for m delivered through sub.
func (s *Service) lambdaPayload(t *topicRec, m *pubMsg, sub *subRec, body string) []byte {
	env := s.notification(t, m, sub, body, "")
	var subj *string
	if m.Subject != "" {
		subj = &m.Subject
	}
	attrs := env.MessageAttributes
	if attrs == nil {
		attrs = map[string]envAttr{}
	}
	return marshal(lambdaEvent{Records: []lambdaRecord{{
		EventSource: "aws:sns", EventVersion: "1.0", EventSubscriptionArn: sub.ARN,
		Sns: lambdaSNS{
			Type: env.Type, MessageID: env.MessageID, TopicArn: env.TopicArn, Subject: subj,
			Message: env.Message, Timestamp: env.Timestamp, SignatureVersion: env.SignatureVersion,
			Signature: env.Signature, SigningCertURL: env.SigningCertURL, UnsubscribeURL: env.UnsubscribeURL,
			MessageAttributes: attrs,
		},
	}}})
}
