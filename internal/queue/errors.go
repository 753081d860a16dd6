package queue

import (
	"fmt"

	"github.com/lamina-dev/lamina/internal/fault"
)

// The constructors below are the one place where the service words its
// errors, so that messages read like SQS's own and stay consistent.

func newErr(kind fault.Kind, code, format string, args ...any) *fault.Error {
	return &fault.Error{Kind: kind, Reason: code, Message: fmt.Sprintf(format, args...)}
}

func errNoQueue() *fault.Error {
	return newErr(fault.NotFound, CodeQueueDoesNotExist, "The specified queue does not exist.")
}

func errInvalidParam(format string, args ...any) *fault.Error {
	return newErr(fault.Invalid, CodeInvalidParameterValue, format, args...)
}

func errMissing(param string) *fault.Error {
	return newErr(fault.Invalid, CodeMissingParameter, "The request must contain the parameter %s.", param)
}

func errUnknownAttr(name string) *fault.Error {
	return newErr(fault.Invalid, CodeInvalidAttributeName, "Unknown Attribute %s.", name)
}

func errAttrValue(name string) *fault.Error {
	return newErr(fault.Invalid, CodeInvalidAttributeValue, "Invalid value for the parameter %s.", name)
}

func errAttrReason(name, value, reason string) *fault.Error {
	return newErr(fault.Invalid, CodeInvalidAttributeValue, "Value %s for parameter %s is invalid. Reason: %s.", value, name, reason)
}

func errBadHandle(h string) *fault.Error {
	return newErr(fault.Invalid, CodeReceiptHandleIsInvalid, "The input receipt handle %q is not a valid receipt handle.", h)
}

func errNotInflight() *fault.Error {
	return newErr(fault.Invalid, CodeMessageNotInflight, "Message is not in flight.")
}

func errUnsupported(format string, args ...any) *fault.Error {
	return newErr(fault.Unsupported, CodeUnsupportedOperation, format, args...)
}

func errInternal(err error, format string, args ...any) *fault.Error {
	return fault.Wrap(fault.Internal, err, format, args...)
}
