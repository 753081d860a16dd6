package topic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Keys in Bucket. A topic name is [A-Za-z0-9_-] with an optional ".fifo"
// suffix; its key token writes the '.' as '=' so that '.' stays the
// hierarchy separator:
//
//	t.<tok>              topicRec
//	s.<tok>.<id>         subRec (the subscription ARN is <topic ARN>:<id>)
//	d.<tok>.<sha256>     dedupRec (FIFO deduplication ids, 5 minutes)
//	signing-key          the RSA key that signs messages (PEM)
func nameToken(name string) string { return strings.ReplaceAll(name, ".", "=") }

func topicKey(name string) string       { return "t." + nameToken(name) }
func subPrefix(name string) string      { return "s." + nameToken(name) + "." }
func subKey(name, id string) string     { return subPrefix(name) + id }
func dedupKey(name, hash string) string { return "d." + nameToken(name) + "." + hash }

// topicRec is a stored topic.
type topicRec struct {
	Name    string            `json:"name"`
	ARN     string            `json:"arn"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	Tags    map[string]string `json:"tags,omitempty"`
	Created time.Time         `json:"created"`
}

func (t *topicRec) fifo() bool { return t.Attrs[AttrFifoTopic] == "true" }

// subRec is a stored subscription.
type subRec struct {
	ID        string            `json:"id"`
	ARN       string            `json:"arn"`
	TopicARN  string            `json:"topicArn"`
	Protocol  string            `json:"protocol"`
	Endpoint  string            `json:"endpoint"`
	Owner     string            `json:"owner"`
	Attrs     map[string]string `json:"attrs,omitempty"`
	Confirmed bool              `json:"confirmed"`
	// Authenticated records a confirmation made through the API (rather
	// than a GET of the SubscribeURL), SNS's ConfirmationWasAuthenticated.
	Authenticated bool      `json:"authenticated,omitempty"`
	Token         string    `json:"token,omitempty"`
	Created       time.Time `json:"created"`
}

// ARNs.

func (s *Service) topicARN(name string) string {
	return "arn:aws:sns:" + s.opts.Region + ":" + s.opts.AccountID + ":" + name
}

func invalidParam(format string, args ...any) *fault.Error {
	e := fault.New(fault.Invalid, "Invalid parameter: "+format, args...)
	e.Reason = CodeInvalidParameter
	return e
}

func topicNotFound() *fault.Error {
	e := fault.New(fault.NotFound, "Topic does not exist")
	e.Reason = CodeNotFound
	return e
}

func subNotFound() *fault.Error {
	e := fault.New(fault.NotFound, "Subscription does not exist")
	e.Reason = CodeNotFound
	return e
}

// parseTopicARN returns the topic name of arn, refusing ARNs that are not
// SNS topic ARNs (InvalidParameter) and those of another account or region
// (NotFound: no such topic here).
func (s *Service) parseTopicARN(arn, param string) (string, error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sns" || !validTopicName(parts[5], true) {
		return "", invalidParam("%s", param)
	}
	if arn != s.topicARN(parts[5]) {
		return "", topicNotFound()
	}
	return parts[5], nil
}

// parseSubARN returns the topic name and subscription id of arn.
func (s *Service) parseSubARN(arn string) (name, id string, err error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "sns" || !validTopicName(parts[5], true) || !validSubID(parts[6]) {
		return "", "", invalidParam("SubscriptionArn")
	}
	if strings.Join(parts[:6], ":") != s.topicARN(parts[5]) {
		return "", "", subNotFound()
	}
	return parts[5], parts[6], nil
}

func validSubID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Store access.

func (s *Service) getTopic(ctx context.Context, name string) (*topicRec, uint64, error) {
	e, err := s.kv.Get(ctx, topicKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, topicNotFound()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("topic: read %s: %w", name, err)
	}
	var t topicRec
	if err := json.Unmarshal(e.Value, &t); err != nil {
		return nil, 0, fmt.Errorf("topic: decode %s: %w", name, err)
	}
	return &t, e.Revision, nil
}

// updateTopic applies fn to the topic and writes it back, retrying on
// concurrent changes.
func (s *Service) updateTopic(ctx context.Context, name string, fn func(*topicRec) error) error {
	for {
		t, rev, err := s.getTopic(ctx, name)
		if err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
		b, _ := json.Marshal(t)
		_, err = s.kv.Update(ctx, topicKey(name), b, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return fmt.Errorf("topic: write %s: %w", name, err)
		}
		return nil
	}
}

func (s *Service) getSub(ctx context.Context, name, id string) (*subRec, uint64, error) {
	e, err := s.kv.Get(ctx, subKey(name, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, subNotFound()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("topic: read subscription: %w", err)
	}
	var r subRec
	if err := json.Unmarshal(e.Value, &r); err != nil {
		return nil, 0, fmt.Errorf("topic: decode subscription: %w", err)
	}
	return &r, e.Revision, nil
}

func (s *Service) updateSub(ctx context.Context, name, id string, fn func(*subRec) error) (*subRec, error) {
	for {
		r, rev, err := s.getSub(ctx, name, id)
		if err != nil {
			return nil, err
		}
		if err := fn(r); err != nil {
			return nil, err
		}
		b, _ := json.Marshal(r)
		_, err = s.kv.Update(ctx, subKey(name, id), b, rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("topic: write subscription: %w", err)
		}
		return r, nil
	}
}

// listSubs returns the subscriptions of topic name (all topics when name
// is ""), sorted by key.
func (s *Service) listSubs(ctx context.Context, name string) ([]*subRec, error) {
	prefix := "s."
	if name != "" {
		prefix = subPrefix(name)
	}
	entries, err := s.kv.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("topic: list subscriptions: %w", err)
	}
	out := make([]*subRec, 0, len(entries))
	for _, e := range entries {
		var r subRec
		if err := json.Unmarshal(e.Value, &r); err != nil {
			s.log.Warn("topic: undecodable subscription skipped", "key", e.Key, "err", err)
			continue
		}
		out = append(out, &r)
	}
	return out, nil
}
