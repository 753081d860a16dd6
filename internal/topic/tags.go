package topic

import (
	"context"
	"errors"
	"maps"
	"unicode/utf8"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Codes SNS uses beyond those in api.go.
const (
	CodeResourceNotFound = "ResourceNotFound" // 404, tagging a missing topic
	CodeTagLimitExceeded = "TagLimitExceeded" // 400
	CodeInternalError    = "InternalError"    // 500
)

// MaxTags is SNS's limit of tags per topic.
const MaxTags = 50

func isNotFound(err error) bool { return fault.Is(err, fault.NotFound) }

func checkTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		e := fault.New(fault.Invalid, "Could not complete request: tag quota of per resource exceeded")
		e.Reason = CodeTagLimitExceeded
		return e
	}
	for k, v := range tags {
		if k == "" || utf8.RuneCountInString(k) > 128 || utf8.RuneCountInString(v) > 256 {
			e := fault.New(fault.Invalid, "1 validation error detected: Value at 'tags' failed to satisfy constraint: Tag keys must be 1-128 characters and values at most 256")
			e.Reason = CodeInvalidParameter
			return e
		}
	}
	return nil
}

// resourceTopic resolves a tagging ARN; a missing topic is
// ResourceNotFound, SNS's code for tagging operations.
func (s *Service) resourceTopic(ctx context.Context, arn string) (string, error) {
	name, err := s.parseTopicARN(arn, "ResourceArn")
	if err == nil {
		_, _, err = s.getTopic(ctx, name)
	}
	if err != nil {
		var fe *fault.Error
		if errors.As(err, &fe) && fe.Kind == fault.NotFound {
			e := fault.New(fault.NotFound, "Resource does not exist")
			e.Reason = CodeResourceNotFound
			return "", e
		}
		return "", err
	}
	return name, nil
}

// TagResource adds or replaces tags on a topic.
func (s *Service) TagResource(ctx context.Context, arn string, tags map[string]string) error {
	name, err := s.resourceTopic(ctx, arn)
	if err != nil {
		return err
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	return s.updateTopic(ctx, name, func(t *topicRec) error {
		merged := maps.Clone(t.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, tags)
		if err := checkTags(merged); err != nil {
			return err
		}
		t.Tags = merged
		return nil
	})
}

// UntagResource removes tags by key (missing keys are ignored).
func (s *Service) UntagResource(ctx context.Context, arn string, keys []string) error {
	name, err := s.resourceTopic(ctx, arn)
	if err != nil {
		return err
	}
	return s.updateTopic(ctx, name, func(t *topicRec) error {
		for _, k := range keys {
			delete(t.Tags, k)
		}
		return nil
	})
}

// ListTagsForResource returns the topic's tags.
func (s *Service) ListTagsForResource(ctx context.Context, arn string) (map[string]string, error) {
	name, err := s.resourceTopic(ctx, arn)
	if err != nil {
		return nil, err
	}
	t, _, err := s.getTopic(ctx, name)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(t.Tags)
	if out == nil {
		out = map[string]string{}
	}
	return out, nil
}
