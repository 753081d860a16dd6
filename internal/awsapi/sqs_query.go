package awsapi

import (
	"net/url"
	"strconv"

	"github.com/lamina-dev/lamina/internal/queue"
)

// Decoders of SQS's query-protocol requests into the operations' inputs.
// Parameter names are the 2012-11-05 ones: flattened lists and maps
// (AttributeName.N, Attribute.N.Name, Tag.N.Key, MessageAttribute.N.Value.
// StringValue, SendMessageBatchRequestEntry.N.Id...), see query.go.

// queryInt reads an optional integer parameter.
func queryInt(p url.Values, name string) (*int, error) {
	vs, ok := p[name]
	if !ok || vs[0] == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(vs[0])
	if err != nil {
		return nil, sqsError(queue.CodeInvalidParameterValue, "Value %s for parameter %s is invalid. Reason: Must be an integer.", vs[0], name)
	}
	return &n, nil
}

func parseQueueURLInput(p url.Values) (*sqsQueueURLInput, error) {
	return &sqsQueueURLInput{QueueUrl: p.Get("QueueUrl")}, nil
}

func parseCreateQueue(p url.Values) (*sqsCreateQueueInput, error) {
	in := &sqsCreateQueueInput{QueueName: p.Get("QueueName")}
	var err error
	if in.Attributes, err = QueryMap(p, "Attribute", "Name", "Value"); err != nil {
		return nil, err
	}
	if in.Tags, err = QueryMap(p, "Tag", "Key", "Value"); err != nil {
		return nil, err
	}
	return in, nil
}

func parseGetQueueURL(p url.Values) (*sqsGetQueueURLInput, error) {
	return &sqsGetQueueURLInput{QueueName: p.Get("QueueName"), QueueOwnerAWSAccountId: p.Get("QueueOwnerAWSAccountId")}, nil
}

func parseListQueues(p url.Values) (*sqsListQueuesInput, error) {
	max, err := queryInt(p, "MaxResults")
	if err != nil {
		return nil, err
	}
	return &sqsListQueuesInput{QueueNamePrefix: p.Get("QueueNamePrefix"), NextToken: p.Get("NextToken"), MaxResults: max}, nil
}

func parseGetAttributes(p url.Values) (*sqsGetAttributesInput, error) {
	return &sqsGetAttributesInput{QueueUrl: p.Get("QueueUrl"), AttributeNames: QueryList(p, "AttributeName")}, nil
}

func parseSetAttributes(p url.Values) (*sqsSetAttributesInput, error) {
	attrs, err := QueryMap(p, "Attribute", "Name", "Value")
	if err != nil {
		return nil, err
	}
	return &sqsSetAttributesInput{QueueUrl: p.Get("QueueUrl"), Attributes: attrs}, nil
}

func parseTagQueue(p url.Values) (*sqsTagQueueInput, error) {
	tags, err := QueryMap(p, "Tag", "Key", "Value")
	if err != nil {
		return nil, err
	}
	return &sqsTagQueueInput{QueueUrl: p.Get("QueueUrl"), Tags: tags}, nil
}

func parseUntagQueue(p url.Values) (*sqsUntagQueueInput, error) {
	return &sqsUntagQueueInput{QueueUrl: p.Get("QueueUrl"), TagKeys: QueryList(p, "TagKey")}, nil
}

func parseDeadLetterSources(p url.Values) (*sqsDeadLetterSourcesInput, error) {
	max, err := queryInt(p, "MaxResults")
	if err != nil {
		return nil, err
	}
	return &sqsDeadLetterSourcesInput{QueueUrl: p.Get("QueueUrl"), NextToken: p.Get("NextToken"), MaxResults: max}, nil
}

func parsePermission(p url.Values) (*sqsPermissionInput, error) {
	return &sqsPermissionInput{
		QueueUrl:      p.Get("QueueUrl"),
		Label:         p.Get("Label"),
		AWSAccountIds: QueryList(p, "AWSAccountId"),
		Actions:       QueryList(p, "ActionName"),
	}, nil
}

// parseSendEntry reads one message: SendMessage's parameters, or one
// batch entry's (with "SendMessageBatchRequestEntry.N." removed).
func parseSendEntry(p url.Values) (*sqsSendEntry, error) {
	e := &sqsSendEntry{
		QueueUrl:               p.Get("QueueUrl"),
		Id:                     p.Get("Id"),
		MessageBody:            p.Get("MessageBody"),
		MessageDeduplicationId: p.Get("MessageDeduplicationId"),
		MessageGroupId:         p.Get("MessageGroupId"),
	}
	var err error
	if e.DelaySeconds, err = queryInt(p, "DelaySeconds"); err != nil {
		return nil, err
	}
	if e.MessageAttributes, err = QueryMessageAttributes(p, "MessageAttribute"); err != nil {
		return nil, err
	}
	if e.MessageSystemAttributes, err = QueryMessageAttributes(p, "MessageSystemAttribute"); err != nil {
		return nil, err
	}
	return e, nil
}

func parseSendMessage(p url.Values) (*sqsSendEntry, error) {
	return parseSendEntry(p)
}

func parseSendMessageBatch(p url.Values) (*sqsSendBatchInput, error) {
	in := &sqsSendBatchInput{QueueUrl: p.Get("QueueUrl")}
	for _, ep := range QueryMembers(p, "SendMessageBatchRequestEntry") {
		e, err := parseSendEntry(ep)
		if err != nil {
			return nil, err
		}
		e.QueueUrl = ""
		in.Entries = append(in.Entries, *e)
	}
	return in, nil
}

func parseReceiveMessage(p url.Values) (*sqsReceiveInput, error) {
	in := &sqsReceiveInput{
		QueueUrl:       p.Get("QueueUrl"),
		AttributeNames: QueryList(p, "AttributeName"),
		// The model's newer member is flattened without a member name, so
		// generated clients disagree on its spelling; accept both.
		MessageSystemAttributeNames: append(QueryList(p, "MessageSystemAttributeName"), QueryList(p, "MessageSystemAttributeNames")...),
		MessageAttributeNames:       QueryList(p, "MessageAttributeName"),
		ReceiveRequestAttemptId:     p.Get("ReceiveRequestAttemptId"),
	}
	var err error
	if in.MaxNumberOfMessages, err = queryInt(p, "MaxNumberOfMessages"); err != nil {
		return nil, err
	}
	if in.VisibilityTimeout, err = queryInt(p, "VisibilityTimeout"); err != nil {
		return nil, err
	}
	if in.WaitTimeSeconds, err = queryInt(p, "WaitTimeSeconds"); err != nil {
		return nil, err
	}
	return in, nil
}

func parseDeleteMessage(p url.Values) (*sqsDeleteInput, error) {
	return &sqsDeleteInput{QueueUrl: p.Get("QueueUrl"), ReceiptHandle: p.Get("ReceiptHandle")}, nil
}

func parseDeleteMessageBatch(p url.Values) (*sqsDeleteBatchInput, error) {
	in := &sqsDeleteBatchInput{QueueUrl: p.Get("QueueUrl")}
	for _, ep := range QueryMembers(p, "DeleteMessageBatchRequestEntry") {
		in.Entries = append(in.Entries, sqsDeleteBatchEntry{Id: ep.Get("Id"), ReceiptHandle: ep.Get("ReceiptHandle")})
	}
	return in, nil
}

func parseChangeVisibility(p url.Values) (*sqsVisibilityInput, error) {
	timeout, err := queryInt(p, "VisibilityTimeout")
	if err != nil {
		return nil, err
	}
	return &sqsVisibilityInput{QueueUrl: p.Get("QueueUrl"), ReceiptHandle: p.Get("ReceiptHandle"), VisibilityTimeout: timeout}, nil
}

func parseChangeVisibilityBatch(p url.Values) (*sqsVisibilityBatchInput, error) {
	in := &sqsVisibilityBatchInput{QueueUrl: p.Get("QueueUrl")}
	for _, ep := range QueryMembers(p, "ChangeMessageVisibilityBatchRequestEntry") {
		timeout, err := queryInt(ep, "VisibilityTimeout")
		if err != nil {
			return nil, err
		}
		in.Entries = append(in.Entries, sqsVisibilityBatchEntry{Id: ep.Get("Id"), ReceiptHandle: ep.Get("ReceiptHandle"), VisibilityTimeout: timeout})
	}
	return in, nil
}

func parseStartMoveTask(p url.Values) (*sqsStartMoveInput, error) {
	rate, err := queryInt(p, "MaxNumberOfMessagesPerSecond")
	if err != nil {
		return nil, err
	}
	return &sqsStartMoveInput{SourceArn: p.Get("SourceArn"), DestinationArn: p.Get("DestinationArn"), MaxNumberOfMessagesPerSecond: rate}, nil
}

func parseCancelMoveTask(p url.Values) (*sqsCancelMoveInput, error) {
	return &sqsCancelMoveInput{TaskHandle: p.Get("TaskHandle")}, nil
}

func parseListMoveTasks(p url.Values) (*sqsListMovesInput, error) {
	max, err := queryInt(p, "MaxResults")
	if err != nil {
		return nil, err
	}
	return &sqsListMovesInput{SourceArn: p.Get("SourceArn"), MaxResults: max}, nil
}
