package awsapi

import (
	"encoding/xml"
	"slices"
	"strings"
)

// The SQS shapes. Inputs are the JSON protocol's members (the query
// decoder fills the same structs); outputs carry both encodings' names:
// JSON member names, and for the query protocol the 2012-11-05 element
// names of flattened lists and maps ("QueueUrls" is <QueueUrl>... there).

type sqsCreateQueueInput struct {
	QueueName  string
	Attributes map[string]string
	Tags       map[string]string `json:"tags"`
}

type sqsQueueURLInput struct {
	QueueUrl string
}

type sqsQueueURLOutput struct {
	QueueUrl string
}

type sqsGetQueueURLInput struct {
	QueueName              string
	QueueOwnerAWSAccountId string
}

type sqsListQueuesInput struct {
	QueueNamePrefix string
	NextToken       string
	MaxResults      *int
}

type sqsListQueuesOutput struct {
	QueueUrls []string `json:",omitempty" xml:"QueueUrl"`
	NextToken string   `json:",omitempty" xml:",omitempty"`
}

type sqsGetAttributesInput struct {
	QueueUrl       string
	AttributeNames []string
}

type sqsAttributesOutput struct {
	Attributes sqsNameValueMap `json:",omitempty" xml:"Attribute"`
}

type sqsSetAttributesInput struct {
	QueueUrl   string
	Attributes map[string]string
}

// sqsSendEntry is SendMessage's input and one SendMessageBatch entry.
type sqsSendEntry struct {
	QueueUrl                string `json:",omitempty"`
	Id                      string `json:",omitempty"`
	MessageBody             string
	DelaySeconds            *int
	MessageAttributes       map[string]MessageAttributeValue
	MessageSystemAttributes map[string]MessageAttributeValue
	MessageDeduplicationId  string
	MessageGroupId          string
}

// sqsSendResult is SendMessage's output and one Successful entry of
// SendMessageBatch.
type sqsSendResult struct {
	Id                           string `json:",omitempty" xml:",omitempty"`
	MessageId                    string
	MD5OfMessageBody             string
	MD5OfMessageAttributes       string `json:",omitempty" xml:",omitempty"`
	MD5OfMessageSystemAttributes string `json:",omitempty" xml:",omitempty"`
	SequenceNumber               string `json:",omitempty" xml:",omitempty"`
}

type sqsSendBatchInput struct {
	QueueUrl string
	Entries  []sqsSendEntry
}

// sqsBatchError is a BatchResultErrorEntry.
type sqsBatchError struct {
	Id          string
	SenderFault bool
	Code        string
	Message     string `json:",omitempty" xml:",omitempty"`
}

type sqsSendBatchOutput struct {
	Successful []sqsSendResult `xml:"SendMessageBatchResultEntry"`
	Failed     []sqsBatchError `xml:"BatchResultErrorEntry"`
}

type sqsReceiveInput struct {
	QueueUrl                    string
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         *int
	VisibilityTimeout           *int
	WaitTimeSeconds             *int
	ReceiveRequestAttemptId     string
}

type sqsMessage struct {
	MessageId              string
	ReceiptHandle          string
	MD5OfBody              string
	Body                   string
	Attributes             sqsNameValueMap    `json:",omitempty" xml:"Attribute"`
	MD5OfMessageAttributes string             `json:",omitempty" xml:",omitempty"`
	MessageAttributes      sqsMessageAttrsMap `json:",omitempty" xml:"MessageAttribute"`
}

type sqsReceiveOutput struct {
	Messages []sqsMessage `json:",omitempty" xml:"Message"`
}

type sqsDeleteInput struct {
	QueueUrl      string
	ReceiptHandle string
}

type sqsDeleteBatchEntry struct {
	Id            string
	ReceiptHandle string
}

type sqsDeleteBatchInput struct {
	QueueUrl string
	Entries  []sqsDeleteBatchEntry
}

type sqsVisibilityInput struct {
	QueueUrl          string
	ReceiptHandle     string
	VisibilityTimeout *int
}

type sqsVisibilityBatchEntry struct {
	Id                string
	ReceiptHandle     string
	VisibilityTimeout *int
}

type sqsVisibilityBatchInput struct {
	QueueUrl string
	Entries  []sqsVisibilityBatchEntry
}

// sqsIDEntry is a Successful entry of DeleteMessageBatch and
// ChangeMessageVisibilityBatch.
type sqsIDEntry struct {
	Id string
}

type sqsDeleteBatchOutput struct {
	Successful []sqsIDEntry    `xml:"DeleteMessageBatchResultEntry"`
	Failed     []sqsBatchError `xml:"BatchResultErrorEntry"`
}

type sqsVisibilityBatchOutput struct {
	Successful []sqsIDEntry    `xml:"ChangeMessageVisibilityBatchResultEntry"`
	Failed     []sqsBatchError `xml:"BatchResultErrorEntry"`
}

type sqsTagQueueInput struct {
	QueueUrl string
	Tags     map[string]string
}

type sqsUntagQueueInput struct {
	QueueUrl string
	TagKeys  []string
}

type sqsTagsOutput struct {
	Tags sqsKeyValueMap `json:",omitempty" xml:"Tag"`
}

type sqsDeadLetterSourcesInput struct {
	QueueUrl   string
	NextToken  string
	MaxResults *int
}

type sqsDeadLetterSourcesOutput struct {
	// Lower-case in the model, and required (sent even when empty).
	QueueUrls []string `json:"queueUrls" xml:"QueueUrl"`
	NextToken string   `json:",omitempty" xml:",omitempty"`
}

type sqsStartMoveInput struct {
	SourceArn                    string
	DestinationArn               string
	MaxNumberOfMessagesPerSecond *int
}

type sqsStartMoveOutput struct {
	TaskHandle string
}

type sqsCancelMoveInput struct {
	TaskHandle string
}

type sqsCancelMoveOutput struct {
	ApproximateNumberOfMessagesMoved int64
}

type sqsListMovesInput struct {
	SourceArn  string
	MaxResults *int
}

type sqsMoveTask struct {
	TaskHandle                        string `json:",omitempty" xml:",omitempty"`
	Status                            string
	SourceArn                         string
	DestinationArn                    string `json:",omitempty" xml:",omitempty"`
	MaxNumberOfMessagesPerSecond      *int   `json:",omitempty" xml:",omitempty"`
	ApproximateNumberOfMessagesMoved  int64
	ApproximateNumberOfMessagesToMove *int64 `json:",omitempty" xml:",omitempty"`
	FailureReason                     string `json:",omitempty" xml:",omitempty"`
	StartedTimestamp                  int64
}

type sqsListMovesOutput struct {
	Results []sqsMoveTask `json:",omitempty" xml:"ListMessageMoveTasksResultEntry"`
}

type sqsPermissionInput struct {
	QueueUrl      string
	Label         string
	AWSAccountIds []string
	Actions       []string
}

// Maps in query responses are flattened: one element per entry, named as
// the field, each holding the key and value elements. The named map types
// below marshal that way in XML and as plain objects in JSON.

// sqsNameValueMap is a string map with <Name>/<Value> entries (queue
// attributes, message system attributes).
type sqsNameValueMap map[string]string

// MarshalXML implements xml.Marshaler.
func (m sqsNameValueMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return marshalFlatMap(e, start, m, "Name")
}

// sqsKeyValueMap is a string map with <Key>/<Value> entries (tags).
type sqsKeyValueMap map[string]string

// MarshalXML implements xml.Marshaler.
func (m sqsKeyValueMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return marshalFlatMap(e, start, m, "Key")
}

func marshalFlatMap(e *xml.Encoder, start xml.StartElement, m map[string]string, keyName string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	for _, k := range keys {
		if err := e.EncodeToken(start); err != nil {
			return err
		}
		if err := e.EncodeElement(k, xml.StartElement{Name: xml.Name{Local: keyName}}); err != nil {
			return err
		}
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: "Value"}}); err != nil {
			return err
		}
		if err := e.EncodeToken(start.End()); err != nil {
			return err
		}
	}
	return nil
}

// sqsMessageAttrsMap is a message's attributes: <MessageAttribute><Name>
// <Value>... in XML.
type sqsMessageAttrsMap map[string]MessageAttributeValue

// MarshalXML implements xml.Marshaler.
func (m sqsMessageAttrsMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	for _, entry := range QueryMessageAttributeList(m) {
		if err := e.EncodeElement(entry, start); err != nil {
			return err
		}
	}
	return nil
}
