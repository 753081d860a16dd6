package runtime

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
			if p.dropUser && out.User != sandboxUID {
				t.Errorf("the handler ran as uid %d, not the sandbox user's %d", out.User, sandboxUID)
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

// TestRootOnlyInterpreter: when Lamina runs as root and the only Python on
// PATH cannot be run by nobody (as pyenv under a 0700 /root), functions fail
// with Runtime.InvalidEntrypoint instead of running as root, unless
// Options.AllowRoot says otherwise.
func TestRootOnlyInterpreter(t *testing.T) {
	// Not parallel: it changes PATH.
	if os.Geteuid() != 0 {
		t.Skip("needs root: instances keep Lamina's user otherwise")
	}
	real, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	private := t.TempDir() // 0700, like /root
	fake := filepath.Join(private, "python3")
	script := "#!/bin/sh\nif [ \"$1\" = -S ] && [ \"$2\" = -c ]; then printf '%s\\n3.99.0\\n' '" + fake + "'; exit 0; fi\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", private)
	code := makeZip(t, zipFile{"app.py", []byte("import os\ndef handler(event, context):\n    return {\"user\": os.getuid()}\n"), 0o644})

	p, _ := newTestPool(t, Options{})
	spec := specFor("rootonly", code, nil)
	spec.Runtime, spec.Handler = "python3.12", "app.handler"
	res := invoke(t, p, spec, `{}`)
	wantError(t, res, typeInvalidEntrypoint, "cannot be run by the sandbox user")
	if !strings.Contains(string(res.Payload), fake) {
		t.Errorf("the error does not name the interpreter: %s", res.Payload)
	}

	p, _ = newTestPool(t, Options{AllowRoot: true})
	spec = specFor("rootonly-allowed", code, nil)
	spec.Runtime, spec.Handler = "python3.12", "app.handler"
	res = invoke(t, p, spec, `{}`)
	if res.FunctionError != "" || string(res.Payload) != `{"user": 0}` {
		t.Errorf("with AllowRoot: %s %s", res.FunctionError, res.Payload)
	}
}
