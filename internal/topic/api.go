package topic

import (
	"context"
	"time"
)

// Topic attribute names (SNS's, on the wire).
const (
	AttrDisplayName               = "DisplayName"
	AttrPolicy                    = "Policy"
	AttrDeliveryPolicy            = "DeliveryPolicy"
	AttrFifoTopic                 = "FifoTopic"
	AttrContentBasedDeduplication = "ContentBasedDeduplication"
	AttrKmsMasterKeyID            = "KmsMasterKeyId"
	AttrSignatureVersion          = "SignatureVersion"
	AttrTracingConfig             = "TracingConfig"
	// Read-only.
	AttrTopicArn                = "TopicArn"
	AttrOwner                   = "Owner"
	AttrSubscriptionsConfirmed  = "SubscriptionsConfirmed"
	AttrSubscriptionsPending    = "SubscriptionsPending"
	AttrSubscriptionsDeleted    = "SubscriptionsDeleted"
	AttrEffectiveDeliveryPolicy = "EffectiveDeliveryPolicy"
)

// Subscription attribute names.
const (
	SubAttrRawMessageDelivery  = "RawMessageDelivery"
	SubAttrFilterPolicy        = "FilterPolicy"
	SubAttrFilterPolicyScope   = "FilterPolicyScope" // MessageAttributes (default) or MessageBody
	SubAttrRedrivePolicy       = "RedrivePolicy"     // {"deadLetterTargetArn": "<sqs arn>"}
	SubAttrDeliveryPolicy      = "DeliveryPolicy"
	SubAttrSubscriptionRoleArn = "SubscriptionRoleArn"
	// Read-only.
	SubAttrSubscriptionArn              = "SubscriptionArn"
	SubAttrTopicArn                     = "TopicArn"
	SubAttrProtocol                     = "Protocol"
	SubAttrEndpoint                     = "Endpoint"
	SubAttrOwner                        = "Owner"
	SubAttrPendingConfirmation          = "PendingConfirmation"
	SubAttrConfirmationWasAuthenticated = "ConfirmationWasAuthenticated"
)

// PendingConfirmation is the SubscriptionArn SNS reports for a
// subscription that is not confirmed yet.
const PendingConfirmation = "pending confirmation"

// Error codes: every caller-facing error is a *fault.Error whose Reason is
// one of these (SNS's query-protocol codes) and whose Kind gives the status
// class.
const (
	CodeNotFound                  = "NotFound"              // 404
	CodeInvalidParameter          = "InvalidParameter"      // 400
	CodeInvalidParameterValue     = "InvalidParameterValue" // 400
	CodeAuthorizationError        = "AuthorizationError"    // 403
	CodeTopicLimitExceeded        = "TopicLimitExceeded"
	CodeTooManyEntriesInBatch     = "TooManyEntriesInBatchRequest"
	CodeEmptyBatchRequest         = "EmptyBatchRequest"
	CodeBatchEntryIdsNotDistinct  = "BatchEntryIdsNotDistinct"
	CodeBatchRequestTooLong       = "BatchRequestTooLong"
	CodeInvalidBatchEntryID       = "InvalidBatchEntryId"
	CodeFilterPolicyLimitExceeded = "FilterPolicyLimitExceeded"
)

// Limits.
const (
	MaxMessageSize  = 256 * 1024
	MaxBatchEntries = 10
)

// Attribute is one message attribute as published (DataType String,
// String.Array, Number or Binary).
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// PublishInput is one message to publish.
type PublishInput struct {
	// ID is the batch entry id (PublishBatch only).
	ID       string
	TopicARN string
	Message  string
	Subject  string
	// MessageStructure "json" means Message is a JSON object of
	// per-protocol messages with a required "default" key.
	MessageStructure string
	Attributes       map[string]Attribute
	// FIFO topics.
	MessageGroupID  string
	DeduplicationID string
}

// PublishResult is the outcome of one PublishInput; Err is a *fault.Error
// for this entry alone.
type PublishResult struct {
	ID             string
	MessageID      string
	SequenceNumber string
	Err            error
}

// Subscription describes a subscription (ListSubscriptions*).
type Subscription struct {
	SubscriptionARN string // PendingConfirmation while unconfirmed
	TopicARN        string
	Protocol        string
	Endpoint        string
	Owner           string
}

// API is what the SNS wire protocol, the CLI and other services need of
// the topic service; *Service implements it. Topics are named by ARN.
type API interface {
	CreateTopic(ctx context.Context, name string, attrs, tags map[string]string) (arn string, err error)
	DeleteTopic(ctx context.Context, arn string) error
	// ListTopics lists topic ARNs, sorted.
	ListTopics(ctx context.Context) ([]string, error)
	GetTopicAttributes(ctx context.Context, arn string) (map[string]string, error)
	SetTopicAttribute(ctx context.Context, arn, name, value string) error

	// Subscribe adds a subscription. lambda and sqs subscriptions are
	// confirmed at once; http/https ones get a SubscriptionConfirmation
	// POST and stay PendingConfirmation until confirmed (unless
	// returnARN, the ARN is then PendingConfirmation).
	Subscribe(ctx context.Context, topicARN, protocol, endpoint string, attrs map[string]string, returnARN bool) (string, error)
	// ConfirmSubscription confirms with the token sent to the endpoint.
	ConfirmSubscription(ctx context.Context, topicARN, token string) (string, error)
	Unsubscribe(ctx context.Context, subscriptionARN string) error
	ListSubscriptions(ctx context.Context) ([]Subscription, error)
	ListSubscriptionsByTopic(ctx context.Context, topicARN string) ([]Subscription, error)
	GetSubscriptionAttributes(ctx context.Context, subscriptionARN string) (map[string]string, error)
	SetSubscriptionAttribute(ctx context.Context, subscriptionARN, name, value string) error

	// Publish stores the message durably (it returns once the store has
	// confirmed it); delivery to subscribers follows, at least once each.
	Publish(ctx context.Context, in PublishInput) (PublishResult, error)
	// PublishBatch publishes entries to topicARN; one result per entry.
	PublishBatch(ctx context.Context, topicARN string, entries []PublishInput) ([]PublishResult, error)

	TagResource(ctx context.Context, arn string, tags map[string]string) error
	UntagResource(ctx context.Context, arn string, keys []string) error
	ListTagsForResource(ctx context.Context, arn string) (map[string]string, error)
}

// DeliveryDefaults is SNS's default retry policy for HTTP/S endpoints,
// used unless a DeliveryPolicy says otherwise: 3 immediate retries, then
// backoff from 20 s; 50 attempts in all over up to an hour. Tests shorten
// it through Options.
var DeliveryDefaults = struct {
	Attempts   int
	MinBackoff time.Duration
	MaxBackoff time.Duration
}{Attempts: 50, MinBackoff: 20 * time.Second, MaxBackoff: 20 * time.Second}
