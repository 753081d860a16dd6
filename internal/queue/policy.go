package queue

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// redrivePolicy is a parsed RedrivePolicy attribute.
type redrivePolicy struct {
	Target     string // deadLetterTargetArn
	MaxReceive int
}

func (p redrivePolicy) String() string {
	b, _ := json.Marshal(struct {
		Target     string `json:"deadLetterTargetArn"`
		MaxReceive int    `json:"maxReceiveCount"`
	}{p.Target, p.MaxReceive})
	return string(b)
}

func redriveErr(v, reason string) error {
	return errInvalidParam("Value %s for parameter RedrivePolicy is invalid. Reason: %s", v, reason)
}

// parseRedrive parses a RedrivePolicy; maxReceiveCount may be a JSON
// number or a string holding one, as SQS accepts both.
func parseRedrive(v string) (redrivePolicy, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return redrivePolicy{}, redriveErr(v, "Redrive policy is not a valid JSON map.")
	}
	var p redrivePolicy
	for k, val := range raw {
		switch k {
		case "deadLetterTargetArn":
			if err := json.Unmarshal(val, &p.Target); err != nil || p.Target == "" {
				return p, redriveErr(v, "Invalid value for deadLetterTargetArn.")
			}
		case "maxReceiveCount":
			n, ok := jsonInt(val)
			if !ok || n < 1 || n > MaxReceiveCountLimit {
				return p, redriveErr(v, "Invalid value for maxReceiveCount: must be an integer from 1 to 1000.")
			}
			p.MaxReceive = n
		default:
			return p, redriveErr(v, "Only following attributes are supported: [deadLetterTargetArn, maxReceiveCount].")
		}
	}
	if p.Target == "" {
		return p, redriveErr(v, "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
	}
	if p.MaxReceive == 0 {
		return p, redriveErr(v, "Redrive policy does not contain mandatory attribute: maxReceiveCount.")
	}
	return p, nil
}

// jsonInt reads an integer given as a JSON number or a JSON string.
func jsonInt(raw json.RawMessage) (int, bool) {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) > 0 && raw[0] == '"' {
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
	} else {
		s = string(raw)
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// allowPolicy is a parsed RedriveAllowPolicy attribute.
type allowPolicy struct {
	Permission string   `json:"redrivePermission"`
	Sources    []string `json:"sourceQueueArns,omitempty"`
}

func (p allowPolicy) String() string {
	b, _ := json.Marshal(p)
	return string(b)
}

// allows reports whether a queue with ARN src may use this queue as its
// dead-letter queue.
func (p *allowPolicy) allows(src string) bool {
	if p == nil {
		return true
	}
	switch p.Permission {
	case "denyAll":
		return false
	case "byQueue":
		return slices.Contains(p.Sources, src)
	}
	return true
}

func parseAllow(v string) (allowPolicy, error) {
	bad := func(reason string) error {
		return errInvalidParam("Value %s for parameter RedriveAllowPolicy is invalid. Reason: %s", v, reason)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return allowPolicy{}, bad("Redrive allow policy is not a valid JSON map.")
	}
	var p allowPolicy
	for k, val := range raw {
		switch k {
		case "redrivePermission":
			if err := json.Unmarshal(val, &p.Permission); err != nil {
				return p, bad("Invalid value for redrivePermission.")
			}
		case "sourceQueueArns":
			if err := json.Unmarshal(val, &p.Sources); err != nil {
				return p, bad("Invalid value for sourceQueueArns.")
			}
		default:
			return p, bad("Only following attributes are supported: [redrivePermission, sourceQueueArns].")
		}
	}
	switch p.Permission {
	case "allowAll", "denyAll":
		if len(p.Sources) > 0 {
			return p, bad("sourceQueueArns is allowed only when redrivePermission is byQueue.")
		}
	case "byQueue":
		if len(p.Sources) == 0 || len(p.Sources) > 10 {
			return p, bad("sourceQueueArns must contain 1 to 10 queue ARNs when redrivePermission is byQueue.")
		}
	default:
		return p, bad("redrivePermission must be one of allowAll, denyAll, byQueue.")
	}
	return p, nil
}
