package schedule

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Validation as the Scheduler and EventBridge models constrain their
// members, with AWS's wording ("1 validation error detected: ...").

// Patterns of the models.
const (
	schedulerNamePattern = `^[0-9a-zA-Z-_.]+$`
	eventsNamePattern    = `[\.\-_A-Za-z0-9]+`
	clientTokenPattern   = `^[a-zA-Z0-9-_]+$`
	roleArnPattern       = `^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$`
	sqsArnPattern        = `^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$`
	kmsKeyArnPattern     = `^arn:aws(-[a-z]+)?:kms:[a-z0-9\-]+:\d{12}:(key|alias)\/[0-9a-zA-Z-_]*$`
)

var (
	schedulerNameRE = regexp.MustCompile(schedulerNamePattern)
	eventsNameRE    = regexp.MustCompile(`^` + eventsNamePattern + `$`)
	clientTokenRE   = regexp.MustCompile(clientTokenPattern)
	roleArnRE       = regexp.MustCompile(roleArnPattern)
	sqsArnRE        = regexp.MustCompile(sqsArnPattern)
	kmsKeyArnRE     = regexp.MustCompile(kmsKeyArnPattern)
	// lambdaArnRE is a function ARN, optionally qualified; queueArnRE and
	// topicArnRE an SQS queue and an SNS topic: the targets Lamina fires.
	lambdaArnRE = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]{1,64}(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	queueArnRE  = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9_-]{1,80}$`)
	topicArnRE  = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:\d{12}:[a-zA-Z0-9_-]{1,256}$`)
)

func invalid(format string, args ...any) *fault.Error {
	return fault.New(fault.Invalid, format, args...)
}

// constraint is AWS's message for one member that fails its model.
func constraint(value, member, rule string) *fault.Error {
	return invalid("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, rule)
}

// checkLen checks a string's length in characters.
func checkLen(value, member string, lo, hi int) error {
	n := utf8.RuneCountInString(value)
	switch {
	case n < lo:
		return constraint(value, member, "Member must have length greater than or equal to "+itoa(lo))
	case hi > 0 && n > hi:
		return constraint(value, member, "Member must have length less than or equal to "+itoa(hi))
	}
	return nil
}

// checkPattern checks length and pattern.
func checkPattern(value, member string, lo, hi int, re *regexp.Regexp, pattern string) error {
	if err := checkLen(value, member, lo, hi); err != nil {
		return err
	}
	if !re.MatchString(value) {
		return constraint(value, member, "Member must satisfy regular expression pattern: "+pattern)
	}
	return nil
}

func checkSchedulerName(value, member string) error {
	return checkPattern(value, member, 1, 64, schedulerNameRE, schedulerNamePattern)
}

func checkEventsName(value, member string) error {
	return checkPattern(value, member, 1, 64, eventsNameRE, eventsNamePattern)
}

func checkRange(v int32, member string, lo, hi int32) error {
	switch {
	case v < lo:
		return constraint(itoa(int(v)), member, "Member must have value greater than or equal to "+itoa(int(lo)))
	case v > hi:
		return constraint(itoa(int(v)), member, "Member must have value less than or equal to "+itoa(int(hi)))
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// checkTarget refuses targets Lamina cannot fire: anything but a Lambda
// function, an SQS queue or an SNS topic.
func checkTarget(arn string) error {
	if !lambdaArnRE.MatchString(arn) && !queueArnRE.MatchString(arn) && !topicArnRE.MatchString(arn) {
		return invalid("Target %s is not supported: Lamina fires Lambda function, SQS queue and SNS topic targets only.", arn)
	}
	return nil
}

// checkRetryPolicy validates a target's RetryPolicy and returns it with
// the defaults filled in.
func checkRetryPolicy(p *RetryPolicy, member string) (*RetryPolicy, error) {
	out := &RetryPolicy{
		MaximumEventAgeInSeconds: ptr(int32(DefaultMaximumEventAgeInSeconds)),
		MaximumRetryAttempts:     ptr(int32(DefaultMaximumRetryAttempts)),
	}
	if p == nil {
		return out, nil
	}
	if p.MaximumEventAgeInSeconds != nil {
		if err := checkRange(*p.MaximumEventAgeInSeconds, member+".maximumEventAgeInSeconds", 60, 86400); err != nil {
			return nil, err
		}
		out.MaximumEventAgeInSeconds = ptr(*p.MaximumEventAgeInSeconds)
	}
	if p.MaximumRetryAttempts != nil {
		if err := checkRange(*p.MaximumRetryAttempts, member+".maximumRetryAttempts", 0, 185); err != nil {
			return nil, err
		}
		out.MaximumRetryAttempts = ptr(*p.MaximumRetryAttempts)
	}
	return out, nil
}

func checkDeadLetter(c *DeadLetterConfig, member string) (*DeadLetterConfig, error) {
	if c == nil || c.Arn == "" {
		return nil, nil
	}
	if err := checkPattern(c.Arn, member+".arn", 1, 1600, sqsArnRE, sqsArnPattern); err != nil {
		return nil, err
	}
	return &DeadLetterConfig{Arn: c.Arn}, nil
}

// checkTags validates tags and merges them into into (which may be nil).
func checkTags(into map[string]string, tags []Tag, minValue int) (map[string]string, error) {
	out := make(map[string]string, len(into)+len(tags))
	for k, v := range into {
		out[k] = v
	}
	for _, t := range tags {
		if err := checkLen(t.Key, "tags.member.key", 1, 128); err != nil {
			return nil, err
		}
		if err := checkLen(t.Value, "tags.member.value", minValue, 256); err != nil {
			return nil, err
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, invalid("Tag keys beginning with 'aws:' are reserved: %s", t.Key)
		}
		out[t.Key] = t.Value
	}
	if len(out) > maxTagsPerResource {
		return nil, invalid("A resource can have at most %d tags.", maxTagsPerResource)
	}
	return out, nil
}

const maxTagsPerResource = 50

// pageToken and parseToken make opaque NextTokens from the sort key of
// the last item of a page.
func pageToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}

func parseToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(token) > 2048 {
		return "", invalid("Invalid NextToken: %s", token)
	}
	return string(b), nil
}

// pageLimit checks a page size against its model's bounds.
func pageLimit(n int, member string) (int, error) {
	if n == 0 {
		return 100, nil
	}
	if n < 1 || n > 100 {
		return 0, constraint(itoa(n), member, "Member must have value between 1 and 100")
	}
	return n, nil
}

// checkJSONInput checks a target Input, which Lambda targets need to be JSON.
func checkJSONInput(input *string, member string, max int) error {
	if input == nil {
		return nil
	}
	if err := checkLen(*input, member, 1, max); err != nil {
		return err
	}
	if !json.Valid([]byte(*input)) {
		return invalid("%s must be well-formed JSON for a Lambda target.", member)
	}
	return nil
}

// toMillis keeps times at the precision the wire carries, in UTC.
func toMillis(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func ptr[T any](v T) *T { return &v }
