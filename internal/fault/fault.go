// Package fault defines the kinds of failure that services report, so that
// edges (the AWS wire protocols, the gateway, the CLI) can render them in their
// own shapes without the services knowing any wire format.
//
// A service returns a *fault.Error (possibly wrapped); an edge finds it with
// errors.As and maps its Kind onto the protocol's error name and status.
// Anything that is not a *fault.Error is an internal failure: edges log it and
// answer with a generic service error, never with its text.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies a failure by what the caller should do about it.
type Kind int

const (
	// Internal is a failure of the platform itself; its message is not shown to callers.
	Internal Kind = iota
	// Invalid means a parameter value is not acceptable.
	Invalid
	// InvalidContent means the request body could not be parsed.
	InvalidContent
	// NotFound means the named resource does not exist.
	NotFound
	// Conflict means the resource exists already or is in a state that forbids the call.
	Conflict
	// PreconditionFailed means a revision id given by the caller is not the current one.
	PreconditionFailed
	// TooLarge means a payload is over its size limit.
	TooLarge
	// Throttled means a rate or concurrency limit refused the call; Reason says which.
	Throttled
	// Unsupported means the operation or option is recognised but not implemented.
	Unsupported
)

var kindNames = [...]string{"Internal", "Invalid", "InvalidContent", "NotFound", "Conflict", "PreconditionFailed", "TooLarge", "Throttled", "Unsupported"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a failure the caller can act on.
type Error struct {
	Kind Kind
	// Message is shown to the caller as is.
	Message string
	// Reason refines Kind where a protocol has a field for it (for example the
	// Lambda 429 Reason such as "ReservedFunctionConcurrentInvocationLimitExceeded").
	Reason string
	// Err is the underlying cause, kept for logs; never shown to callers.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an *Error of the given kind with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error of the given kind whose cause is err.
func Wrap(kind Kind, err error, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...), Err: err}
}

// KindOf reports the Kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return Internal
}

// Is reports whether err carries a *Error of kind k.
func Is(err error, k Kind) bool {
	var fe *Error
	return errors.As(err, &fe) && fe.Kind == k
}
