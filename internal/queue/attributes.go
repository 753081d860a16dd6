package queue

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// config is a queue's attributes parsed into the values the engine uses.
// The attribute map stays the source of truth (it is what GetAttributes
// reports); config is derived from it whenever it changes.
type config struct {
	delay        time.Duration
	maxSize      int
	retention    time.Duration
	wait         time.Duration
	visibility   time.Duration
	fifo         bool
	contentDedup bool
	groupScope   bool // DeduplicationScope = messageGroup
	redrive      *redrivePolicy
	allow        *allowPolicy
}

// intAttr describes a numeric attribute: its bounds and its default.
type intAttr struct{ min, max, def int }

var intAttrs = map[string]intAttr{
	AttrDelaySeconds:                  {0, int(MaxDelay / time.Second), 0},
	AttrMaximumMessageSize:            {MinMessageSize, MaxMessageSize, MaxMessageSize},
	AttrMessageRetentionPeriod:        {int(MinRetention / time.Second), int(MaxRetention / time.Second), int(DefaultRetention / time.Second)},
	AttrReceiveMessageWaitTimeSeconds: {0, int(MaxWait / time.Second), 0},
	AttrVisibilityTimeout:             {0, int(MaxVisibilityTimeout / time.Second), int(DefaultVisibilityTimeout / time.Second)},
	AttrKmsDataKeyReusePeriodSeconds:  {60, 86400, 300},
}

// fifoOnly attributes exist only on FIFO queues; on a standard queue SQS
// calls them unknown.
var fifoOnly = map[string]bool{
	AttrContentBasedDeduplication: true,
	AttrDeduplicationScope:        true,
	AttrFifoThroughputLimit:       true,
}

var readOnly = map[string]bool{
	AttrQueueArn:                              true,
	AttrApproximateNumberOfMessages:           true,
	AttrApproximateNumberOfMessagesNotVisible: true,
	AttrApproximateNumberOfMessagesDelayed:    true,
	AttrCreatedTimestamp:                      true,
	AttrLastModifiedTimestamp:                 true,
}

func settable(name string) bool {
	if _, ok := intAttrs[name]; ok {
		return true
	}
	switch name {
	case AttrRedrivePolicy, AttrRedriveAllowPolicy, AttrPolicy, AttrFifoQueue, AttrKmsMasterKeyID,
		AttrSqsManagedSseEnabled, AttrContentBasedDeduplication, AttrDeduplicationScope, AttrFifoThroughputLimit:
		return true
	}
	return false
}

// defaultAttrs are the attributes a new queue reports before any is set.
func defaultAttrs(fifo bool) map[string]string {
	m := map[string]string{
		AttrDelaySeconds:                  "0",
		AttrMaximumMessageSize:            strconv.Itoa(MaxMessageSize),
		AttrMessageRetentionPeriod:        strconv.Itoa(int(DefaultRetention / time.Second)),
		AttrReceiveMessageWaitTimeSeconds: "0",
		AttrVisibilityTimeout:             strconv.Itoa(int(DefaultVisibilityTimeout / time.Second)),
		AttrSqsManagedSseEnabled:          "true",
	}
	if fifo {
		m[AttrFifoQueue] = "true"
		m[AttrContentBasedDeduplication] = "false"
		m[AttrDeduplicationScope] = "queue"
		m[AttrFifoThroughputLimit] = "perQueue"
	}
	return m
}

// normalizeAttrs validates attrs for a queue of the given type and returns
// them in canonical form. creating allows FifoQueue; redrive targets are
// checked by the caller (they need the service's queue table).
func normalizeAttrs(attrs map[string]string, fifo, creating bool) (map[string]string, error) {
	out := make(map[string]string, len(attrs))
	for name, v := range attrs {
		if !settable(name) || (fifoOnly[name] && !fifo) || (name == AttrFifoQueue && !creating) {
			return nil, errUnknownAttr(name)
		}
		if b, ok := intAttrs[name]; ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < b.min || n > b.max {
				return nil, errAttrValue(name)
			}
			out[name] = strconv.Itoa(n)
			continue
		}
		switch name {
		case AttrFifoQueue, AttrContentBasedDeduplication, AttrSqsManagedSseEnabled:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, errAttrValue(name)
			}
			out[name] = strconv.FormatBool(b)
		case AttrDeduplicationScope:
			if v != "queue" && v != "messageGroup" {
				return nil, errAttrValue(name)
			}
			out[name] = v
		case AttrFifoThroughputLimit:
			if v != "perQueue" && v != "perMessageGroupId" {
				return nil, errAttrValue(name)
			}
			out[name] = v
		case AttrPolicy:
			if v != "" && !json.Valid([]byte(v)) {
				return nil, errAttrValue(name)
			}
			out[name] = v
		case AttrRedrivePolicy:
			if v == "" {
				out[name] = ""
				continue
			}
			p, err := parseRedrive(v)
			if err != nil {
				return nil, err
			}
			out[name] = p.String()
		case AttrRedriveAllowPolicy:
			if v == "" {
				out[name] = ""
				continue
			}
			p, err := parseAllow(v)
			if err != nil {
				return nil, err
			}
			out[name] = p.String()
		default: // KmsMasterKeyId: stored and echoed
			out[name] = v
		}
	}
	if v, ok := out[AttrFifoQueue]; ok && v != strconv.FormatBool(fifo) {
		if fifo {
			return nil, errAttrValue(AttrFifoQueue)
		}
		return nil, errInvalidParam("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
	}
	return out, nil
}

// merge returns base with changes applied; an empty RedrivePolicy,
// RedriveAllowPolicy, Policy or KmsMasterKeyId removes the attribute.
func merge(base, changes map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(changes))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range changes {
		switch k {
		case AttrRedrivePolicy, AttrRedriveAllowPolicy, AttrPolicy, AttrKmsMasterKeyID:
			if v == "" {
				delete(out, k)
				continue
			}
		}
		out[k] = v
	}
	if _, kms := out[AttrKmsMasterKeyID]; kms {
		if _, set := changes[AttrSqsManagedSseEnabled]; !set {
			out[AttrSqsManagedSseEnabled] = "false"
		}
	}
	return out
}

// checkCombined applies the rules that involve more than one attribute.
func checkCombined(attrs map[string]string) error {
	if attrs[AttrFifoThroughputLimit] == "perMessageGroupId" && attrs[AttrDeduplicationScope] == "queue" {
		return errAttrReason(AttrFifoThroughputLimit, "perMessageGroupId",
			"The perMessageGroupId value is allowed only when the value for DeduplicationScope is messageGroup")
	}
	if attrs[AttrSqsManagedSseEnabled] == "true" && attrs[AttrKmsMasterKeyID] != "" {
		return errInvalidParam("You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS SSE.")
	}
	return nil
}

// parseConfig derives the engine's config from a normalised attribute map.
func parseConfig(attrs map[string]string) config {
	sec := func(name string) time.Duration {
		n, err := strconv.Atoi(attrs[name])
		if err != nil {
			n = intAttrs[name].def
		}
		return time.Duration(n) * time.Second
	}
	c := config{
		delay:        sec(AttrDelaySeconds),
		retention:    sec(AttrMessageRetentionPeriod),
		wait:         sec(AttrReceiveMessageWaitTimeSeconds),
		visibility:   sec(AttrVisibilityTimeout),
		fifo:         attrs[AttrFifoQueue] == "true",
		contentDedup: attrs[AttrContentBasedDeduplication] == "true",
		groupScope:   attrs[AttrDeduplicationScope] == "messageGroup",
	}
	c.maxSize = int(sec(AttrMaximumMessageSize) / time.Second)
	if v := attrs[AttrRedrivePolicy]; v != "" {
		if p, err := parseRedrive(v); err == nil {
			c.redrive = &p
		}
	}
	if v := attrs[AttrRedriveAllowPolicy]; v != "" {
		if p, err := parseAllow(v); err == nil {
			c.allow = &p
		}
	}
	return c
}
