package gateway

import (
	"net/http"
	"strconv"
	"strings"
)

// CORS as HTTP APIs apply an API's corsConfiguration:
//   - a preflight (OPTIONS with Origin and Access-Control-Request-Method)
//     is answered by the gateway itself with 204, whatever the path and
//     whatever routes exist, before routing and authorization; so an
//     authorizer on $default never sees it;
//   - every other response (errors and authorizer denials included) gets
//     Access-Control-Allow-Origin, -Allow-Credentials and -Expose-Headers
//     when the request's Origin is allowed;
//   - CORS headers the function returns are dropped: API Gateway ignores
//     them when CORS is configured.
//
// An origin that is not allowed gets the response without any CORS
// header (a preflight still answers 204): the browser then refuses the
// response, which is how API Gateway signals it. Origins are compared
// case-insensitively (scheme and host are); "*" allows any origin and is
// sent as "*".

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// allowOrigin returns the Access-Control-Allow-Origin value for origin,
// or "" when it is not allowed.
func (c *Cors) allowOrigin(origin string) string {
	if origin == "" {
		return ""
	}
	for _, o := range c.AllowOrigins {
		if o == "*" {
			return "*"
		}
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return origin
		}
	}
	return ""
}

// writePreflight answers a preflight request.
func (c *Cors) writePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if allow := c.allowOrigin(r.Header.Get("Origin")); allow != "" {
		h.Set("Access-Control-Allow-Origin", allow)
		if allow != "*" {
			h.Add("Vary", "Origin")
		}
		if len(c.AllowMethods) > 0 {
			h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
		}
		if len(c.AllowHeaders) > 0 {
			h.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
		}
		if len(c.ExposeHeaders) > 0 {
			h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
		}
		if c.MaxAge != nil {
			h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAge))
		}
		if c.AllowCredentials {
			h.Set("Access-Control-Allow-Credentials", "true")
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// setResponseHeaders puts the CORS headers of an actual (non-preflight)
// response for a request from origin into h, before anything else is
// written: payload.Response.Write lets headers already set win over the
// function's, which is how the gateway's CORS headers override.
func (c *Cors) setResponseHeaders(h http.Header, origin string) {
	allow := c.allowOrigin(origin)
	if allow == "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if allow != "*" {
		h.Add("Vary", "Origin")
	}
	if c.AllowCredentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
	}
}

// stripCORS removes the CORS response headers a function returned.
func stripCORS(h http.Header) {
	for k := range h {
		if len(k) >= len("access-control-") && strings.EqualFold(k[:len("access-control-")], "access-control-") {
			delete(h, k)
		}
	}
}
