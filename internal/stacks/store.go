package stacks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/store"
)

// Bucket is the store KV bucket holding one document per stack.
const Bucket = "stacks"

// MaxDocSize bounds one stack's document.
const MaxDocSize = 4 << 20

// nameRule is CloudFormation's rule for stack names.
var nameRule = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)

// Entry is one stored stack.
type Entry struct {
	Name string
	Doc  json.RawMessage
	Rev  uint64
}

// Service stores stack documents.
type Service struct {
	kv store.KV
}

// New opens the service's bucket.
func New(ctx context.Context, st store.Store) (*Service, error) {
	kv, err := st.KV(ctx, Bucket)
	if err != nil {
		return nil, fmt.Errorf("stacks bucket: %w", err)
	}
	return &Service{kv: kv}, nil
}

func key(name string) string { return "stack." + name }

func checkName(name string) error {
	if !nameRule.MatchString(name) {
		return &fault.Error{Kind: fault.Invalid, Reason: "ValidationError", Message: fmt.Sprintf("invalid stack name %q: letters, digits and hyphens, starting with a letter, at most 128", name)}
	}
	return nil
}

// Get returns the stack's document and revision.
func (s *Service) Get(ctx context.Context, name string) (json.RawMessage, uint64, error) {
	if err := checkName(name); err != nil {
		return nil, 0, err
	}
	e, err := s.kv.Get(ctx, key(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, &fault.Error{Kind: fault.NotFound, Reason: "StackNotFound", Message: fmt.Sprintf("stack %q does not exist", name)}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("get stack %q: %w", name, err)
	}
	return e.Value, e.Revision, nil
}

// Put stores doc as the stack's state: rev 0 creates the stack (it must not
// exist), another rev updates it only if that is still its revision.
func (s *Service) Put(ctx context.Context, name string, doc []byte, rev uint64) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	if err := checkDoc(name, doc); err != nil {
		return 0, err
	}
	var (
		n   uint64
		err error
	)
	if rev == 0 {
		n, err = s.kv.Create(ctx, key(name), doc)
	} else {
		n, err = s.kv.Update(ctx, key(name), doc, rev)
	}
	switch {
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict):
		return 0, conflict(name)
	case err != nil:
		return 0, fmt.Errorf("put stack %q: %w", name, err)
	}
	return n, nil
}

func conflict(name string) error {
	return &fault.Error{Kind: fault.Conflict, Reason: "StackChanged", Message: fmt.Sprintf("stack %q was changed by another deploy since it was read: run the deploy again", name)}
}

func checkDoc(name string, doc []byte) error {
	if len(doc) > MaxDocSize {
		return &fault.Error{Kind: fault.TooLarge, Reason: "ValidationError", Message: fmt.Sprintf("stack %q: state of %d bytes is over the %d-byte limit", name, len(doc), MaxDocSize)}
	}
	var head struct {
		Stack *string `json:"stack"`
	}
	if err := json.Unmarshal(doc, &head); err != nil {
		return &fault.Error{Kind: fault.Invalid, Reason: "ValidationError", Message: fmt.Sprintf("stack %q: state is not a JSON object: %v", name, err)}
	}
	if head.Stack == nil || *head.Stack != name {
		return &fault.Error{Kind: fault.Invalid, Reason: "ValidationError", Message: fmt.Sprintf("stack %q: state names stack %q", name, deref(head.Stack))}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// List returns every stack, sorted by name.
func (s *Service) List(ctx context.Context) ([]Entry, error) {
	entries, err := s.kv.List(ctx, "stack.")
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		out = append(out, Entry{Name: e.Key[len("stack."):], Doc: e.Value, Rev: e.Revision})
	}
	return out, nil
}

// Delete removes the stack if its revision is still rev (0: whatever it is).
func (s *Service) Delete(ctx context.Context, name string, rev uint64) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, _, err := s.Get(ctx, name); err != nil {
		return err
	}
	err := s.kv.Delete(ctx, key(name), rev)
	if errors.Is(err, store.ErrConflict) {
		return conflict(name)
	}
	if err != nil {
		return fmt.Errorf("delete stack %q: %w", name, err)
	}
	return nil
}
