package awsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/stacks"
)

// Lamina's own stack API (JSON), where `lamina deploy -t` keeps each
// stack's state between deploys; errors in the Lambda API's REST-JSON shape:
//
//	GET    /_lamina/v1/stacks         {"stacks":[{...state, "revision":N}]}
//	GET    /_lamina/v1/stacks/{name}  the state; ETag: "N"
//	PUT    /_lamina/v1/stacks/{name}  If-None-Match: * (create) or If-Match: "N" (update) → ETag
//	DELETE /_lamina/v1/stacks/{name}  If-Match: "N" (optional)
//
// A save whose revision is stale is 412 (another deploy changed the stack).

// StackService is what the stack API needs; *stacks.Service satisfies it.
type StackService interface {
	Get(ctx context.Context, name string) (json.RawMessage, uint64, error)
	Put(ctx context.Context, name string, doc []byte, rev uint64) (uint64, error)
	List(ctx context.Context) ([]stacks.Entry, error)
	Delete(ctx context.Context, name string, rev uint64) error
}

var _ StackService = (*stacks.Service)(nil)

func (a *API) routeStacks() {
	for _, rt := range []struct {
		pattern, op string
		h           handlerFunc
	}{
		{"GET /_lamina/v1/stacks", "ListStacks", a.listStacks},
		{"GET /_lamina/v1/stacks/{name}", "GetStack", a.getStack},
		{"PUT /_lamina/v1/stacks/{name}", "PutStack", a.putStack},
		{"DELETE /_lamina/v1/stacks/{name}", "DeleteStack", a.deleteStack},
	} {
		a.mux.Handle(rt.pattern, a.handler(rt.op, stacks.MaxDocSize+1, rt.h))
	}
}

func (a *API) stacks() (StackService, error) {
	if a.opts.Stacks == nil {
		return nil, fault.New(fault.Unsupported, "Stacks are not enabled on this server.")
	}
	return a.opts.Stacks, nil
}

// withRevision adds "revision" to a stored state object.
func withRevision(doc json.RawMessage, rev uint64) json.RawMessage {
	return editRevision(doc, func(m map[string]json.RawMessage) {
		m["revision"] = json.RawMessage(strconv.FormatUint(rev, 10))
	})
}

// stripRevision drops a "revision" member a client echoed back.
func stripRevision(doc []byte) []byte {
	return editRevision(doc, func(m map[string]json.RawMessage) { delete(m, "revision") })
}

// editRevision applies edit to doc's top-level members; a doc that is not a
// JSON object is returned as it is (the service explains what is wrong).
func editRevision(doc []byte, edit func(map[string]json.RawMessage)) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(doc, &m) != nil {
		return doc
	}
	edit(m)
	out, err := json.Marshal(m)
	if err != nil {
		return doc
	}
	return out
}

func (a *API) listStacks(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := a.stacks()
	if err != nil {
		return err
	}
	entries, err := svc.List(r.Context())
	if err != nil {
		return err
	}
	docs := make([]json.RawMessage, 0, len(entries))
	for _, e := range entries {
		docs = append(docs, withRevision(e.Doc, e.Rev))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"stacks": docs})
}

func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }

// ifMatch reads If-Match: "N" (0 when absent).
func ifMatch(r *http.Request) (uint64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(strings.Trim(h, `"`), 10, 64)
	if err != nil || n == 0 {
		return 0, invalidParameter("If-Match must be a stack revision such as \"3\", not %s", h)
	}
	return n, nil
}

func (a *API) getStack(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := a.stacks()
	if err != nil {
		return err
	}
	doc, rev, err := svc.Get(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(rev))
	return writeJSON(w, http.StatusOK, withRevision(doc, rev))
}

func (a *API) putStack(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := a.stacks()
	if err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	create := strings.TrimSpace(r.Header.Get("If-None-Match")) == "*"
	if create == (rev != 0) {
		return invalidParameter("send exactly one of If-None-Match: * (create the stack) and If-Match: \"<revision>\" (update it)")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("read stack state: %w", err)
	}
	n, err := svc.Put(r.Context(), r.PathValue("name"), stripRevision(body), rev)
	if err != nil {
		return staleAsPrecondition(err)
	}
	w.Header().Set("ETag", etag(n))
	return writeJSON(w, http.StatusOK, map[string]uint64{"revision": n})
}

func (a *API) deleteStack(w http.ResponseWriter, r *http.Request, c *call) error {
	svc, err := a.stacks()
	if err != nil {
		return err
	}
	rev, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := svc.Delete(r.Context(), r.PathValue("name"), rev); err != nil {
		return staleAsPrecondition(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// staleAsPrecondition answers a revision conflict as HTTP answers a failed
// If-Match: 412.
func staleAsPrecondition(err error) error {
	if fault.Is(err, fault.Conflict) {
		return &fault.Error{Kind: fault.PreconditionFailed, Reason: "StackChanged", Message: err.Error()}
	}
	return err
}
