package awsapi

// XML results of the SNS query API (2010-03-31), as the SDKs' models name
// their members. WriteQueryResponse wraps each in <{Action}Result>.

type snsTopicARNResult struct {
	TopicArn string
}

type snsTopicMember struct {
	TopicArn string
}

type snsListTopicsResult struct {
	Topics    []snsTopicMember `xml:"Topics>member"`
	NextToken string           `xml:",omitempty"`
}

type snsAttributesResult struct {
	Attributes QueryEntryMap
}

type snsSubscriptionARNResult struct {
	SubscriptionArn string
}

type snsSubscriptionMember struct {
	SubscriptionArn string
	Owner           string
	Protocol        string
	Endpoint        string
	TopicArn        string
}

type snsListSubscriptionsResult struct {
	Subscriptions []snsSubscriptionMember `xml:"Subscriptions>member"`
	NextToken     string                  `xml:",omitempty"`
}

type snsPublishResult struct {
	MessageId      string //nolint:revive // the model's member name
	SequenceNumber string `xml:",omitempty"`
}

type snsBatchSuccess struct {
	Id             string //nolint:revive // the model's member name
	MessageId      string //nolint:revive // the model's member name
	SequenceNumber string `xml:",omitempty"`
}

type snsBatchFailure struct {
	Id          string //nolint:revive // the model's member name
	Code        string
	Message     string
	SenderFault bool
}

type snsPublishBatchResult struct {
	Successful []snsBatchSuccess `xml:"Successful>member"`
	Failed     []snsBatchFailure `xml:"Failed>member"`
}

type snsTagsResult struct {
	Tags []QueryKeyValue `xml:"Tags>member"`
}

// snsEmptyResult writes an empty <{Action}Result/>, as SNS does for the
// tagging operations.
type snsEmptyResult struct{}
