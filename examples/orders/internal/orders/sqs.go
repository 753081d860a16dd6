package orders

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQS is the Sender and DepthReader over the SQS API. Inside Lamina the
// SDK finds Lamina's endpoint in AWS_ENDPOINT_URL; on AWS it finds SQS.
type SQS struct{ Client *sqs.Client }

// NewSQS loads the SDK's default configuration.
func NewSQS(ctx context.Context) (*SQS, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return &SQS{Client: sqs.NewFromConfig(cfg)}, nil
}

// Send implements Sender.
func (s *SQS) Send(ctx context.Context, queueURL, body string) error {
	_, err := s.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
	return err
}

// Depth implements DepthReader.
func (s *SQS) Depth(ctx context.Context, queueURL string) (int, int, error) {
	out, err := s.Client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, 0, err
	}
	v, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	f, _ := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return v, f, nil
}
