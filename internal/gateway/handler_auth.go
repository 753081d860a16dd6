package gateway

import (
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"

	"github.com/lamina-dev/lamina/internal/gateway/payload"
)

// authEntry is a built authorizer and the definition it was built from.
type authEntry struct {
	doc *APIDoc // the document it was last checked against
	def Authorizer
	az  RequestAuthorizer
	err error
}

// authorizer returns the authorizer def of doc, building it when it is new
// or its definition changed. A document change that leaves the
// definition alone keeps the built one (and a Lambda authorizer's cache).
func (h *handler) authorizer(doc *APIDoc, def Authorizer) (RequestAuthorizer, error) {
	key := doc.API.ID + "/" + def.ID
	h.authMu.Lock()
	defer h.authMu.Unlock()
	if e, ok := h.auths[key]; ok {
		if e.doc == doc {
			return e.az, e.err
		}
		if reflect.DeepEqual(e.def, def) {
			e.doc = doc
			return e.az, e.err
		}
	}
	e := &authEntry{doc: doc, def: def}
	if h.opts.NewAuthorizer == nil {
		e.err = fmt.Errorf("no authorizer support configured for %s authorizer %s", def.Type, def.ID)
	} else if e.az, e.err = h.opts.NewAuthorizer(doc.API.ID, def); e.err == nil && e.az == nil {
		e.err = fmt.Errorf("authorizer %s: none built", def.ID)
	}
	if e.err != nil {
		e.err = fmt.Errorf("authorizer %s: %w", def.ID, e.err)
	}
	h.auths[key] = e
	return e.az, e.err
}

// authorize applies the route's authorization. It writes the denial and
// returns false when the request may not go on; otherwise it returns the
// authorizer's result (zero for NONE).
func (h *handler) authorize(w http.ResponseWriter, r *http.Request, doc *APIDoc, rt Route, in *payload.Request, rec *accessRecord) (AuthResult, bool) {
	switch rt.AuthorizationType {
	case "", AuthNone:
		return AuthResult{Allowed: true}, true
	case AuthIAM:
		// HOOK(iam): SigV4 verification is not wired yet. Until it is, a
		// request must at least carry a SigV4 Authorization header, so a
		// client that forgot to sign gets AWS's 403 locally too.
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			rec.authorizerError = "missing SigV4 signature"
			writeMessage(w, http.StatusForbidden, msgForbidden)
			return AuthResult{}, false
		}
		return AuthResult{Allowed: true}, true
	case AuthJWT, AuthCustom:
	default:
		rec.authorizerError = fmt.Sprintf("unknown authorization type %q", rt.AuthorizationType)
		writeMessage(w, http.StatusInternalServerError, msgInternal)
		return AuthResult{}, false
	}
	def, ok := doc.Authorizers[rt.AuthorizerID]
	if !ok {
		rec.authorizerError = fmt.Sprintf("route %q names missing authorizer %q", rt.Key, rt.AuthorizerID)
		writeMessage(w, http.StatusInternalServerError, msgInternal)
		return AuthResult{}, false
	}
	az, err := h.authorizer(doc, def)
	if err != nil {
		rec.authorizerError = err.Error()
		writeMessage(w, http.StatusInternalServerError, msgInternal)
		return AuthResult{}, false
	}
	res, err := az.Authorize(r.Context(), r, in, rt.AuthorizationScopes)
	if err != nil {
		rec.authorizerError = err.Error()
	}
	if res.Allowed {
		return res, true
	}
	status, msg := res.Status, res.Message
	if status == 0 {
		status = http.StatusForbidden
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeMessage(w, status, msg)
	return AuthResult{}, false
}

// authorizerContext is requestContext.authorizer for the integration's
// payload format. Payload 2.0 takes the authorizer's map as is; payload
// 1.0 flattens it (payload.BuildV1 does) and also carries a Lambda
// authorizer's principalId, which 2.0 has no place for.
func authorizerContext(format string, res AuthResult) map[string]any {
	if len(res.Context) == 0 && res.PrincipalID == "" {
		return nil
	}
	if format != "1.0" || res.PrincipalID == "" {
		return res.Context
	}
	flat := make(map[string]any, len(res.Context)+1)
	if inner, ok := res.Context["lambda"].(map[string]any); ok && len(res.Context) == 1 {
		maps.Copy(flat, inner)
	} else {
		maps.Copy(flat, res.Context)
	}
	flat["principalId"] = res.PrincipalID
	return flat
}
