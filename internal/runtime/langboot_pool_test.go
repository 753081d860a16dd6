package runtime

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/runtime/langboot"
)

// TestManagedRuntimes runs a Node and a Python handler through the pool
// with Lamina's embedded bootstraps (skipped where the interpreter is not
// installed), including an error, a print attributed to its request and an
// unsupported runtime.
func TestManagedRuntimes(t *testing.T) {
	t.Parallel()
	p, sink := newTestPool(t, Options{})
	cases := []struct {
		runtime, handler, file, code string
	}{
		{"nodejs20.x", "index.handler", "index.js", `
exports.handler = async (event, context) => {
  if (event.fail) throw new Error("node says no");
  console.log("node line");
  return { echo: event, requestId: context.awsRequestId, user: process.getuid(), tmp: process.env.TMPDIR };
};
`},
		{"python3.12", "app.handler", "app.py", `
import os
def handler(event, context):
    if event.get("fail"):
        raise ValueError("python says no")
    print("python line")
    return {"echo": event, "requestId": context.aws_request_id, "user": os.getuid(), "tmp": os.environ["TMPDIR"]}
`},
	}
	for _, tc := range cases {
		t.Run(tc.runtime, func(t *testing.T) {
			t.Parallel()
			if _, err := langboot.Resolve(tc.runtime); err != nil {
				t.Skipf("%s: %v", tc.runtime, err)
			}
			spec := specFor("managed-"+strings.Split(tc.runtime, ".")[0], makeZip(t, zipFile{tc.file, []byte(tc.code), 0o644}), nil)
			spec.Runtime, spec.Handler = tc.runtime, tc.handler
			id := newUUID()
			res := invoke(t, p, spec, `{"a":1}`, func(inv *Invocation) { inv.RequestID = id })
			var out struct {
				Echo      map[string]int
				RequestID string
				User      int
				Tmp       string
			}
			if err := json.Unmarshal(res.Payload, &out); err != nil || res.FunctionError != "" {
				t.Fatalf("%s %v: %s", res.FunctionError, err, res.Payload)
			}
			if out.Echo["a"] != 1 || out.RequestID != id || !strings.HasPrefix(out.Tmp, p.layout.tmpDir()) {
				t.Errorf("result %+v", out)
			}
			if !strings.Contains(strings.Join(sink.forRequest(id), "\n"), "line") {
				t.Errorf("the handler's print is not in its request's log: %q", sink.forRequest(id))
			}
			res = invoke(t, p, spec, `{"fail":true}`)
			if res.FunctionError != "Unhandled" || !strings.Contains(string(res.Payload), "says no") {
				t.Errorf("error: %s %s", res.FunctionError, res.Payload)
			}
		})
	}
	t.Run("unsupported", func(t *testing.T) {
		t.Parallel()
		spec := specFor("java", makeZip(t, zipFile{"x.jar", []byte("x"), 0o644}), nil)
		spec.Runtime = "java21"
		_, err := p.Invoke(t.Context(), spec, &Invocation{Payload: []byte(`{}`)})
		var fe *fault.Error
		if !errors.As(err, &fe) || fe.Kind != fault.Unsupported {
			t.Errorf("java21: %v", err)
		}
	})
}
