package payload

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
)

// ErrMalformed wraps every reason a function's result cannot be mapped to
// an HTTP response; the gateway answers those with its Internal Server
// Error, as AWS does for a "malformed Lambda proxy response".
var ErrMalformed = errors.New("payload: malformed Lambda proxy response")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// ParseV1 maps a payload format 1.0 result (events.APIGatewayProxyResponse
// JSON) to a Response. With 1.0 API Gateway makes no assumptions: the result
// must be a JSON object with a numeric statusCode, or the request fails.
// headers and multiValueHeaders are merged into one list per name, a pair
// present in both appearing once (AWS's documented merge). A body with
// isBase64Encoded true is decoded.
func ParseV1(result []byte) (*Response, error) {
	var out events.APIGatewayProxyResponse
	if err := decodeObject(result, &out); err != nil {
		return nil, err
	}
	return finish(out.StatusCode, out.Headers, out.MultiValueHeaders, nil, out.Body, out.IsBase64Encoded)
}

// ParseV2 maps a payload format 2.0 result to a Response. AWS's rule: if
// the function returns valid JSON that has a statusCode, it is a response
// ({statusCode, headers, cookies, body, isBase64Encoded}); if it returns
// valid JSON without one, API Gateway infers the response — status 200,
// content-type application/json, isBase64Encoded false, and the function's
// result as the body. A JSON string result becomes the body as its
// unquoted text ("hi" → hi, AWS's own example); anything else (an object
// without statusCode, an array, a number, true, null) becomes the body as
// the JSON text returned. A result that is not valid JSON is an error.
//
// The Go events type still has multiValueHeaders for 2.0; AWS documents
// none, but merging them, as 1.0 does, loses nothing, so they are honoured.
// Each cookies entry becomes its own Set-Cookie header.
func ParseV2(result []byte) (*Response, error) {
	trimmed := bytes.TrimSpace(result)
	if !json.Valid(trimmed) {
		return nil, malformed("result is not valid JSON")
	}
	// Only an object with a top-level "statusCode" is a response; a result
	// that does not contain the string at all cannot be one, and skips the probe.
	if trimmed[0] == '{' && bytes.Contains(trimmed, []byte(`"statusCode"`)) {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			return nil, malformed("%v", err)
		}
		if _, ok := probe["statusCode"]; ok {
			var out events.APIGatewayV2HTTPResponse
			if err := decodeObject(trimmed, &out); err != nil {
				return nil, err
			}
			return finish(out.StatusCode, out.Headers, out.MultiValueHeaders, out.Cookies, out.Body, out.IsBase64Encoded)
		}
	}
	body := append([]byte(nil), result...)
	if trimmed[0] == '"' {
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return nil, malformed("%v", err)
		}
		body = []byte(s)
	}
	return &Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       body,
	}, nil
}

// decodeObject decodes a result that must be a JSON object into v. A
// field of the wrong type (a numeric header value, a string statusCode) is
// malformed, as in AWS, where such a response fails the request.
func decodeObject(result []byte, v any) error {
	trimmed := bytes.TrimSpace(result)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return malformed("result is not a JSON object")
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return malformed("%v", err)
	}
	return nil
}

// finish checks the status, merges the headers and decodes the body.
// A final response cannot be 1xx (net/http would send it as an
// informational response followed by a 200), so the range is 200..599.
func finish(status int, single map[string]string, multi map[string][]string, cookies []string, body string, b64 bool) (*Response, error) {
	if status < 200 || status > 599 {
		return nil, malformed("statusCode %d out of range", status)
	}
	resp := &Response{StatusCode: status, Header: mergeHeaders(single, multi)}
	for _, c := range cookies {
		if validFieldValue(c) {
			resp.Cookies = append(resp.Cookies, c)
		}
	}
	if b64 {
		b, err := decodeBase64(body)
		if err != nil {
			return nil, malformed("isBase64Encoded body: %v", err)
		}
		resp.Body = b
	} else {
		resp.Body = []byte(body)
	}
	return resp, nil
}

// decodeBase64 accepts padded and unpadded standard base64, since both
// are common in functions' output.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		return b, nil
	}
	if b, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
		return b, nil
	}
	return nil, err
}

// mergeHeaders merges multiValueHeaders and headers: for each name the
// multi values first, then the single value unless it is already among
// them. Names are canonicalised, so "content-type" and "Content-Type" are
// one header. Names that are not HTTP tokens and values with control
// characters cannot be sent and are dropped rather than failing the
// request. Iteration is sorted so the result is deterministic.
func mergeHeaders(single map[string]string, multi map[string][]string) http.Header {
	h := make(http.Header, len(single)+len(multi))
	for _, k := range sortedKeys(multi) {
		if !validFieldName(k) {
			continue
		}
		for _, v := range multi[k] {
			if validFieldValue(v) {
				h.Add(k, v)
			}
		}
	}
	for _, k := range sortedKeys(single) {
		v := single[k]
		if !validFieldName(k) || !validFieldValue(v) {
			continue
		}
		if !contains(h.Values(k), v) {
			h.Add(k, v)
		}
	}
	return h
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validFieldName reports whether s is an RFC 9110 token.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validFieldValue reports whether s has no control characters but tab, so
// it cannot split or end the header block.
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// hopByHop are headers a function cannot usefully set: the server frames
// the response itself, and Content-Length is computed from the body.
var hopByHop = map[string]bool{
	"Content-Length":    true,
	"Transfer-Encoding": true,
	"Connection":        true,
	"Keep-Alive":        true,
	"Upgrade":           true,
	"Trailer":           true,
}

// Write sends the response. Headers the gateway has already set on w
// (apigw-requestid, CORS, which AWS applies over the backend's) win over
// the function's headers of the same name; framing headers from the
// function are ignored and Content-Length is set from the body. Each
// cookie is its own Set-Cookie header. With no Content-Type the response
// goes without one rather than with one net/http would guess.
func (r *Response) Write(w http.ResponseWriter) {
	h := w.Header()
	preset := make(map[string]bool, len(h))
	for k := range h {
		preset[http.CanonicalHeaderKey(k)] = true
	}
	for k, vs := range r.Header {
		ck := http.CanonicalHeaderKey(k)
		if preset[ck] || hopByHop[ck] {
			continue
		}
		for _, v := range vs {
			h.Add(ck, v)
		}
	}
	for _, c := range r.Cookies {
		h.Add("Set-Cookie", c)
	}
	status := r.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	body := bodyAllowed(status)
	if _, ok := h["Content-Type"]; !ok {
		h["Content-Type"] = nil // stops net/http's content sniffing
	}
	if body {
		h.Set("Content-Length", strconv.Itoa(len(r.Body)))
	} else {
		h.Del("Content-Length")
	}
	w.WriteHeader(status)
	if body && len(r.Body) > 0 {
		_, _ = w.Write(r.Body) // the client went away: nothing to do
	}
}

// bodyAllowed reports whether a status may carry a body (RFC 9110: not
// 1xx, 204 or 304; net/http refuses to write one).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
