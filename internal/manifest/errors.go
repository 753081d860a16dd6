package manifest

import (
	"errors"
	"fmt"

	"github.com/lamina-dev/lamina/internal/fault"
)

// Error is one problem in a template, with the place it was found.
type Error struct {
	File     string // template file name as given to Read ("template.yaml")
	Pos      Pos
	Resource string // logical id, when the problem is inside a resource
	Msg      string
}

func (e *Error) Error() string {
	s := ""
	if e.File != "" {
		s = e.File
	} else {
		s = "template"
	}
	if e.Pos.Line > 0 {
		s += fmt.Sprintf(":%d", e.Pos.Line)
	}
	s += ": "
	if e.Resource != "" {
		s += fmt.Sprintf("resource %q: ", e.Resource)
	}
	return s + e.Msg
}

// errorf builds an *Error; File is filled in by the public entry points.
func errorf(pos Pos, resource, format string, args ...any) *Error {
	return &Error{Pos: pos, Resource: resource, Msg: fmt.Sprintf(format, args...)}
}

// errUnsupported marks errors about types Lamina does not implement, so the
// caller gets fault.Unsupported instead of fault.Invalid.
type errUnsupported struct{ err *Error }

func (u errUnsupported) Error() string { return u.err.Error() }
func (u errUnsupported) Unwrap() error { return u.err }

// toFault turns an internal error into the *fault.Error callers receive,
// naming the file. The *Error stays reachable with errors.As through Err.
func toFault(file string, err error) error {
	if err == nil {
		return nil
	}
	kind := fault.Invalid
	var u errUnsupported
	if errors.As(err, &u) {
		kind = fault.Unsupported
		err = u.err
	}
	var e *Error
	if errors.As(err, &e) {
		if e.File == "" {
			e.File = file
		}
		return &fault.Error{Kind: kind, Reason: "ValidationError", Message: e.Error()}
	}
	return &fault.Error{Kind: kind, Reason: "ValidationError", Message: fmt.Sprintf("%s: %v", file, err)}
}
