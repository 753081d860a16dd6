package awsapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/invoke/async"
)

// Invoker is what the Lambda API needs to run functions and manage
// provisioned concurrency; *invoke.Service satisfies it.
type Invoker interface {
	Invoke(ctx context.Context, req invoke.Request) (*invoke.Response, error)

	PutProvisioned(ctx context.Context, name, qualifier string, n int) (invoke.ProvisionedStatus, error)
	GetProvisioned(ctx context.Context, name, qualifier string) (invoke.ProvisionedStatus, error)
	ListProvisioned(ctx context.Context, name string, page function.Page) ([]invoke.ProvisionedStatus, string, error)
	DeleteProvisioned(ctx context.Context, name, qualifier string) error

	// Prepare readies a function's new code for its first invocation.
	Prepare(ctx context.Context, name string) error
}

// prepare readies newly deployed code before the deploy call answers, as
// AWS does while a function is Pending, so that the first invocation pays
// only for a process start. A failure here is only logged: the invocation
// repeats the work and reports any error itself.
func (a *API) prepare(ctx context.Context, name string) {
	if a.opts.Invoker == nil {
		return
	}
	if err := a.opts.Invoker.Prepare(ctx, name); err != nil {
		a.log.Warn("preparing deployed code", "function", name, "err", err)
	}
}

var _ Invoker = (*invoke.Service)(nil)

// errNoInvoker answers when the edge was built without an Invoker.
func errNoInvoker() error {
	return fault.New(fault.Unsupported, "Running functions is not available on this server.")
}

// invokeFunction is Invoke (POST /2015-03-31/functions/{FunctionName}/invocations).
// It is the hot path: the service does the parsing and checking; this
// handler reads the body, copies headers and writes the answer.
//
// Requests need no signature: an unsigned curl works, in the default region.
func (a *API) invokeFunction(w http.ResponseWriter, r *http.Request, c *call) error {
	if a.opts.Invoker == nil {
		return errNoInvoker()
	}
	payload, err := readPayload(r)
	if err != nil {
		return err
	}
	h := r.Header
	qualifier := ""
	if r.URL.RawQuery != "" {
		qualifier = r.URL.Query().Get("Qualifier")
	}
	if h.Get("X-Amz-Invocation-Type") == invoke.Event {
		return a.invokeAsync(w, r, c, qualifier, payload)
	}
	resp, err := a.opts.Invoker.Invoke(r.Context(), invoke.Request{
		FunctionName:   r.PathValue("FunctionName"),
		Qualifier:      qualifier,
		InvocationType: h.Get("X-Amz-Invocation-Type"),
		LogType:        h.Get("X-Amz-Log-Type"),
		ClientContext:  h.Get("X-Amz-Client-Context"),
		Payload:        payload,
		Region:         c.region,
		RequestID:      c.id,
		TraceID:        h.Get("X-Amzn-Trace-Id"),
	})
	if err != nil {
		return err
	}
	out := w.Header()
	// Canonical header names, assigned directly: no re-canonicalisation.
	out["X-Amz-Executed-Version"] = []string{resp.ExecutedVersion}
	if resp.StatusCode == http.StatusNoContent {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if resp.FunctionError != "" {
		out["X-Amz-Function-Error"] = []string{resp.FunctionError}
	}
	if resp.LogResult != "" {
		out["X-Amz-Log-Result"] = []string{resp.LogResult}
	}
	out["Content-Type"] = []string{resp.ContentType}
	out["Content-Length"] = []string{strconv.Itoa(len(resp.Payload))}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(resp.Payload)
	return nil
}

// invokeAsync queues an Event invocation and answers 202 once the event is
// stored durably; a missing function is a 404 at once, never a silent 202.
func (a *API) invokeAsync(w http.ResponseWriter, r *http.Request, c *call, qualifier string, payload []byte) error {
	if a.opts.Async == nil {
		return fault.New(fault.Unsupported, "Asynchronous invocation is not available on this server.")
	}
	h := r.Header
	id, err := a.opts.Async.Enqueue(r.Context(), async.Request{
		FunctionName: r.PathValue("FunctionName"),
		Qualifier:    qualifier,
		Payload:      payload,
		Region:       c.region,
		RequestID:    c.id,
		TraceID:      h.Get("X-Amzn-Trace-Id"),
	})
	if err != nil {
		return err
	}
	out := w.Header()
	out["x-amzn-RequestId"] = []string{id}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// readPayload reads an invocation's body, refusing one over the
// synchronous limit before reading it when its length is declared.
func readPayload(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.ContentLength == 0 {
		return nil, nil
	}
	if r.ContentLength > invoke.MaxSyncPayload {
		return nil, invoke.ErrTooLarge()
	}
	if r.ContentLength > 0 {
		b := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, invalidContent("the body could not be read")
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, invoke.MaxSyncPayload+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, invoke.ErrTooLarge()
		}
		return nil, invalidContent("the body could not be read")
	}
	if len(b) > invoke.MaxSyncPayload {
		return nil, invoke.ErrTooLarge()
	}
	return b, nil
}
