package invoke

import (
	"errors"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

// FuzzInvokeRequest feeds arbitrary request fields to Invoke: it never
// panics, and every refusal is a fault the edge can render.
func FuzzInvokeRequest(f *testing.F) {
	e := newEnv(f)
	e.create(f, "fn")
	f.Add("fn", "", "", "", "e30=", []byte(`{}`))
	f.Add("fn:$LATEST", "$LATEST", "DryRun", "Tail", "", []byte(`[1]`))
	f.Add("arn:aws:lambda:us-east-1:000000000000:function:fn:1", "1", "Event", "None", "%%", []byte(`nope`))
	f.Add("000000000000:function:fn", "x y", "RequestResponse", "All", "bnVsbA==", []byte(" "))
	f.Fuzz(func(t *testing.T, name, qualifier, typ, logType, clientContext string, payload []byte) {
		resp, err := e.svc.Invoke(e.ctx, Request{FunctionName: name, Qualifier: qualifier, InvocationType: typ, LogType: logType, ClientContext: clientContext, Payload: payload})
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind == fault.Internal {
				t.Fatalf("error %v is not a caller fault", err)
			}
			return
		}
		if resp.StatusCode != 200 && resp.StatusCode != 204 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}
