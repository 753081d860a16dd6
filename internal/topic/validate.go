package topic

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lamina-dev/lamina/internal/fault"
)

// SNS's input rules, in one place.

// validTopicName: 1-256 of [A-Za-z0-9_-], ".fifo" allowed (when fifoOK)
// as the suffix, counted in the 256.
func validTopicName(name string, fifoOK bool) bool {
	if len(name) == 0 || len(name) > 256 {
		return false
	}
	base := name
	if fifoOK {
		base = strings.TrimSuffix(name, ".fifo")
	}
	if base == "" {
		return false
	}
	for i := 0; i < len(base); i++ {
		c := base[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isTrueFalse(v string) bool { return v == "true" || v == "false" }

// attrInvalid is SNS's wording for a bad attribute value.
func attrInvalid(reason string) *fault.Error {
	return invalidParam("Attributes Reason: %s", reason)
}

// checkTopicAttr validates one settable topic attribute. create is set
// for CreateTopic, where FifoTopic may be given.
func checkTopicAttr(name, value string, create, fifo bool) error {
	switch name {
	case AttrDisplayName:
		if utf8.RuneCountInString(value) > 100 {
			return attrInvalid("DisplayName: must be at most 100 characters")
		}
	case AttrPolicy, AttrDeliveryPolicy, "DataProtectionPolicy", "ArchivePolicy":
		if value != "" && !json.Valid([]byte(value)) {
			return attrInvalid(name + ": failed to parse JSON")
		}
	case AttrFifoTopic:
		if !create {
			return invalidParam("AttributeName")
		}
		if !isTrueFalse(value) {
			return attrInvalid("FifoTopic: invalid value [" + value + "]: must be true or false")
		}
	case AttrContentBasedDeduplication:
		if !isTrueFalse(value) {
			return attrInvalid("ContentBasedDeduplication: invalid value [" + value + "]: must be true or false")
		}
		if !fifo && value == "true" {
			return attrInvalid("Content based deduplication can only be set for FIFO topics")
		}
	case AttrSignatureVersion:
		if value != "1" && value != "2" {
			return attrInvalid("SignatureVersion: invalid value [" + value + "]")
		}
	case AttrTracingConfig:
		if value != "PassThrough" && value != "Active" {
			return attrInvalid("TracingConfig: invalid value [" + value + "]")
		}
	case "FifoThroughputScope":
		if !fifo {
			return attrInvalid("FifoThroughputScope can only be set for FIFO topics")
		}
		if value != "Topic" && value != "MessageGroup" {
			return attrInvalid("FifoThroughputScope: invalid value [" + value + "]")
		}
	case AttrKmsMasterKeyID:
	default:
		if strings.HasSuffix(name, "FeedbackRoleArn") || strings.HasSuffix(name, "FeedbackSampleRate") {
			return nil // delivery status logging: accepted, not acted on
		}
		return invalidParam("AttributeName")
	}
	return nil
}

// Message rules.

// MaxSubjectLength is SNS's Subject limit.
const MaxSubjectLength = 100

func checkSubject(subj string) error {
	if subj == "" {
		return nil
	}
	if len(subj) > MaxSubjectLength {
		return invalidParam("Subject")
	}
	for i := 0; i < len(subj); i++ {
		if c := subj[i]; c < 0x20 || c > 0x7e {
			return invalidParam("Subject")
		}
	}
	return nil
}

func validAttrName(name string) bool {
	if name == "" || len(name) > 256 || name[0] == '.' || name[len(name)-1] == '.' || strings.Contains(name, "..") {
		return false
	}
	low := strings.ToLower(name)
	if strings.HasPrefix(low, "aws.") || strings.HasPrefix(low, "amazon.") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// checkAttributes validates message attributes and returns their size
// (names, types and values), which counts against MaxMessageSize.
func checkAttributes(attrs map[string]Attribute) (int, error) {
	if len(attrs) > 10 {
		return 0, invalidParam("Number of message attributes [%d] exceeds the allowed maximum [10].", len(attrs))
	}
	size := 0
	for name, a := range attrs {
		if !validAttrName(name) {
			return 0, invalidParam("MessageAttributes: the message attribute name '%s' is invalid", name)
		}
		base, custom, _ := strings.Cut(a.DataType, ".")
		if a.DataType == "" {
			return 0, invalidParam("The message attribute '%s' must contain non-empty message attribute type.", name)
		}
		if len(a.DataType) > 256 {
			return 0, invalidParam("The message attribute '%s' has an invalid message attribute type", name)
		}
		switch base {
		case "String", "Number":
			if a.StringValue == "" {
				return 0, invalidParam("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, base)
			}
			if base == "Number" {
				if _, err := strconv.ParseFloat(strings.TrimSpace(a.StringValue), 64); err != nil {
					return 0, invalidParam("Could not cast message attribute '%s' value to number.", name)
				}
			}
			if base == "String" && (custom == "Array" || strings.HasPrefix(custom, "Array.")) {
				var arr []any
				if json.Unmarshal([]byte(a.StringValue), &arr) != nil {
					return 0, invalidParam("The message attribute '%s' with type 'String.Array' has an invalid value: it must be a JSON array.", name)
				}
				for _, v := range arr {
					switch v.(type) {
					case map[string]any, []any:
						return 0, invalidParam("The message attribute '%s' with type 'String.Array' can only contain strings, numbers, booleans and null.", name)
					}
				}
			}
			size += len(a.StringValue)
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return 0, invalidParam("The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Binary'.", name)
			}
			size += len(a.BinaryValue)
		default:
			return 0, invalidParam("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		}
		size += len(name) + len(a.DataType)
	}
	return size, nil
}

// checkStructure validates a MessageStructure "json" message: a JSON
// object of strings with a "default" key.
func checkStructure(msg string) (map[string]string, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(msg), &m); err != nil {
		return nil, invalidParam("Message Structure - JSON message body failed to parse")
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, invalidParam("Message Structure - JSON message body failed to parse")
		}
		out[k] = s
	}
	if _, ok := out["default"]; !ok {
		return nil, invalidParam("Message Structure - No default entry in JSON message body")
	}
	return out, nil
}

func validBatchID(id string) bool {
	if id == "" || len(id) > 80 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validDedupOrGroup: 1-128 printable ASCII characters.
func validDedupOrGroup(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// checkEndpoint validates a subscription's endpoint for its protocol.
func (s *Service) checkEndpoint(protocol, endpoint string) error {
	switch protocol {
	case "http", "https":
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != protocol || u.Host == "" {
			return invalidParam("Endpoint must match the specified protocol")
		}
	case "sqs":
		if s.opts.Queues == nil {
			return invalidParam("Amazon SNS does not support this protocol string: sqs")
		}
		if _, err := s.opts.Queues.NameFromARN(endpoint); err != nil || !strings.HasPrefix(endpoint, "arn:") {
			return invalidParam("SQS endpoint ARN")
		}
	case "lambda":
		if s.opts.Functions == nil {
			return invalidParam("Amazon SNS does not support this protocol string: lambda")
		}
		parts := strings.Split(endpoint, ":")
		if len(parts) < 7 || len(parts) > 8 || parts[0] != "arn" || parts[2] != "lambda" || parts[5] != "function" || parts[6] == "" {
			return invalidParam("Lambda endpoint ARN")
		}
	default:
		return invalidParam("Amazon SNS does not support this protocol string: %s", protocol)
	}
	return nil
}
