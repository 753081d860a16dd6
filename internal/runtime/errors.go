package runtime

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// apiError is an answer of the Runtime API to a call it refuses. The body is
// Lambda's {"errorMessage":..,"errorType":..}; runtimes (aws-lambda-go in
// particular) treat any status but the expected 200/202 as fatal.
type apiError struct {
	Status  int
	Type    string
	Message string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

// body renders the error document.
func (e *apiError) body() []byte { return errorDoc(e.Type, e.Message) }

// The catalogue of Runtime API refusals (src: aws-lambda-runtime-interface-emulator
// lambda/rapi/handler and rendering).
var (
	errInvalidRequestID = &apiError{400, "InvalidRequestID", "Invalid request ID"}
	errTruncatedRequest = &apiError{400, "TruncatedHTTPRequest", "Received a truncated HTTP request body"}
	errInvalidMode      = &apiError{400, "InvalidFunctionResponseMode", "Lambda-Runtime-Function-Response-Mode must be 'streaming' when set"}
	errNotFound         = &apiError{404, "NotFound", "No such Runtime API endpoint"}
	errMethodNotAllowed = &apiError{405, "MethodNotAllowed", "Method not allowed for this Runtime API endpoint"}
	errInstanceGone     = &apiError{500, "Runtime.Unavailable", "This execution environment is shutting down"}
)

// errTransition is the 403 for an event that is illegal in state s.
func errTransition(s state, e event) *apiError {
	return &apiError{403, "InvalidStateTransition",
		fmt.Sprintf("State transition from %s to %s failed for runtime. Error: State transition is not allowed", s, e)}
}

// errTooLarge is the 413 the runtime gets for an oversize result.
func errTooLarge(limit int64) *apiError {
	return &apiError{413, "RequestEntityTooLarge",
		"Exceeded maximum allowed payload size (" + strconv.FormatInt(limit, 10) + " bytes)."}
}

// Platform-generated function errors: the payload a caller gets (with
// FunctionError "Unhandled") when the platform fails an invocation on the
// function's behalf (spec B.4).
const (
	typeTimedOut          = "Sandbox.Timedout"
	typeExitError         = "Runtime.ExitError"
	typeOutOfMemory       = "Runtime.OutOfMemory"
	typeInvalidEntrypoint = "Runtime.InvalidEntrypoint"
	typeResponseTooLarge  = "Function.ResponseSizeTooLarge"
	typeUnknown           = "Runtime.Unknown"
)

// errorDoc renders {"errorMessage":msg,"errorType":typ} in AWS's key order.
func errorDoc(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{msg, typ})
	return b
}

func timeoutMessage(reqID string, seconds float64) string {
	return "RequestId: " + reqID + " Error: Task timed out after " + strconv.FormatFloat(seconds, 'f', 2, 64) + " seconds"
}

func exitMessage(reqID, how string) string {
	return "RequestId: " + reqID + " Error: Runtime exited with error: " + how
}

func tooLargeMessage(limit int64) string {
	return "Response payload size exceeded maximum allowed payload size (" + strconv.FormatInt(limit, 10) + " bytes)."
}

// errorTypeOf finds the errorType of an error document a runtime posted
// without a Lambda-Runtime-Function-Error-Type header (aws-lambda-go does
// that). Only failed invocations pay for this parse.
func errorTypeOf(doc []byte) string {
	var v struct {
		Type string `json:"errorType"`
	}
	if json.Unmarshal(doc, &v) != nil || v.Type == "" {
		return "Runtime.Unhandled"
	}
	return v.Type
}
