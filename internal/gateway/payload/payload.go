// Package payload turns an HTTP request into the Lambda proxy event of
// payload format 1.0 (REST API shape) or 2.0 (HTTP API shape, also Function
// URLs), using aws-lambda-go's events types, and a function's result back
// into an HTTP response with API Gateway's rules (including 2.0's
// inference when a function returns something other than a response
// object). It is pure: no I/O.
package payload

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Request is what the gateway knows of a request beyond the *http.Request.
type Request struct {
	APIID, Stage, RequestID, AccountID, Region string
	// RouteKey is the matched route key ("GET /pets/{id}", "$default");
	// ResourcePath its path ("/pets/{id}") for 1.0's resource field.
	RouteKey, ResourcePath string
	// Path is the request path after the stage prefix (decoded); RawPath
	// the same, as received. 1.0's path and 2.0's rawPath keep the stage prefix as AWS does: check.
	Path, RawPath  string
	PathParameters map[string]string
	StageVariables map[string]string
	DomainName     string
	SourceIP       string
	Time           time.Time
	// Authorizer is what the authorizer produced: for 2.0 it becomes
	// requestContext.authorizer ({"jwt":{"claims":..,"scopes":..}} or
	// {"lambda":{...context}}); for 1.0 the authorizer map.
	Authorizer map[string]any
	// Body is the request body as read (the gateway bounds its size).
	Body []byte
}

// Bodies that are not valid UTF-8 text (by Content-Type and content) are
// base64 with isBase64Encoded = true. A result that cannot be mapped is an
// error: the gateway answers 502 {"message":"Internal Server Error"}.

// Response is an HTTP response a function asked for.
type Response struct {
	StatusCode int
	Header     http.Header // multi-value headers merged with single ones
	Cookies    []string    // 2.0 "cookies": each becomes a Set-Cookie header
	Body       []byte      // decoded when the function sent base64
}

// requestTimeLayout is API Gateway's $context.requestTime format
// ("12/Mar/2020:19:03:58 +0000"), always in UTC.
const requestTimeLayout = "02/Jan/2006:15:04:05 -0700"

// errNoRequest guards the builders against a nil request or Request: the
// gateway always has both, so this is a programming error, not a 5xx path.
var errNoRequest = errors.New("payload: nil *http.Request, URL or *Request")

// v1Event is the 1.0 event as HTTP APIs send it. It is aws-lambda-go's
// APIGatewayProxyRequest plus what that type cannot express: the
// "version":"1.0" HTTP APIs add, a body that is null (not "") when the
// request has none, and isBase64Encoded present even when false. The outer
// fields shadow the embedded ones of the same JSON name, so the JSON still
// unmarshals into events.APIGatewayProxyRequest.
type v1Event struct {
	Version string `json:"version"`
	events.APIGatewayProxyRequest
	Body            *string `json:"body"`
	IsBase64Encoded bool    `json:"isBase64Encoded"`
}

// v2Event is aws-lambda-go's APIGatewayV2HTTPRequest with a request context
// whose authorizer is the map the gateway's authorizer produced (the events
// type's JWT claims are map[string]string and would not carry a Lambda
// authorizer's typed context faithfully) and whose authentication block is
// left out unless there is a client certificate, as AWS does.
type v2Event struct {
	events.APIGatewayV2HTTPRequest
	RequestContext v2Context `json:"requestContext"`
}

type v2Context struct {
	events.APIGatewayV2HTTPRequestContext
	Authorizer     map[string]any                                       `json:"authorizer,omitempty"`
	Authentication *events.APIGatewayV2HTTPRequestContextAuthentication `json:"authentication,omitempty"`
}

// BuildV1 returns the payload format 1.0 event (events.APIGatewayProxyRequest
// JSON, plus "version":"1.0") for r. AWS's rules, as followed here:
//   - header names are lower-cased (HTTP APIs lower-case every header name in
//     both formats); headers holds the last value of a repeated header,
//     multiValueHeaders all of them in order. The Cookie header stays a
//     header (only 2.0 splits cookies out).
//   - queryStringParameters holds the last value of a repeated key (REST's
//     documented rule; AWS's HTTP API 1.0 sample is inconsistent on this) and
//     multiValueQueryStringParameters all values, decoded; both are null
//     when there is no query string. pathParameters and stageVariables are
//     null when empty.
//   - path and requestContext.path carry the stage prefix for a named stage
//     ("/prod/pets/1"); the $default stage adds none. resource and
//     requestContext.resourcePath are the route's path ("/pets/{id}"); for
//     the $default route, which has none, the request path without stage.
//   - body is null when empty, text when the Content-Type is textual and the
//     bytes are UTF-8, base64 with isBase64Encoded otherwise (see isText).
//   - requestContext.authorizer is the authorizer's map, except that a JWT
//     authorizer's {"jwt":{claims,scopes}} and a Lambda authorizer's
//     {"lambda":{...}} are flattened to their contents, as 1.0 carries them.
func BuildV1(r *http.Request, in *Request) ([]byte, error) {
	if r == nil || r.URL == nil || in == nil {
		return nil, errNoRequest
	}
	names, vals := lowerHeaders(r, len(in.Body))
	headers := make(map[string]string, len(names))
	multi := make(map[string][]string, len(names))
	for _, n := range names {
		v := vals[n]
		headers[n] = v[len(v)-1]
		multi[n] = v
	}
	var query map[string]string
	qkeys, qvals := parseQuery(r.URL.RawQuery)
	var mquery map[string][]string
	if len(qkeys) > 0 {
		query = make(map[string]string, len(qkeys))
		mquery = make(map[string][]string, len(qkeys))
		for _, k := range qkeys {
			v := qvals[k]
			query[k] = v[len(v)-1]
			mquery[k] = v
		}
	}
	stage := stageOf(in)
	path := stagePath(stage, cleanPath(in.Path))
	resource := in.ResourcePath
	if resource == "" {
		resource = cleanPath(in.Path)
	}
	t := timeOf(in)
	domain, prefix := domainOf(r, in)

	ev := v1Event{Version: "1.0"}
	ev.Resource = resource
	ev.Path = path
	ev.HTTPMethod = r.Method
	ev.Headers = headers
	ev.MultiValueHeaders = multi
	ev.QueryStringParameters = query
	ev.MultiValueQueryStringParameters = mquery
	ev.PathParameters = nilIfEmpty(in.PathParameters)
	ev.StageVariables = nilIfEmpty(in.StageVariables)
	ev.RequestContext = events.APIGatewayProxyRequestContext{
		AccountID:         in.AccountID,
		APIID:             in.APIID,
		DomainName:        domain,
		DomainPrefix:      prefix,
		ExtendedRequestID: in.RequestID,
		HTTPMethod:        r.Method,
		Identity: events.APIGatewayRequestIdentity{
			SourceIP:  sourceIP(r, in),
			UserAgent: r.UserAgent(),
		},
		Path:             path,
		Protocol:         protocolOf(r),
		RequestID:        in.RequestID,
		RequestTime:      t.Format(requestTimeLayout),
		RequestTimeEpoch: t.UnixMilli(),
		ResourcePath:     resource,
		Stage:            stage,
		Authorizer:       v1Authorizer(in.Authorizer),
	}
	if len(in.Body) > 0 {
		body, b64 := encodeBody(r.Header.Get("Content-Type"), in.Body)
		ev.Body, ev.IsBase64Encoded = &body, b64
	}
	return marshal(ev)
}

// BuildV2 returns the payload format 2.0 event
// (events.APIGatewayV2HTTPRequest JSON) for r. AWS's rules, as followed
// here:
//   - header names are lower-cased and a repeated header's values are joined
//     with "," into one value; there are no multi-value fields.
//   - every Cookie header is split on ";" into the cookies array and left out
//     of headers.
//   - rawQueryString is the query as received (no "?"); queryStringParameters
//     holds decoded values, a repeated key's values joined with ",".
//   - rawPath and requestContext.http.path carry the stage prefix for a named
//     stage, none for $default; rawPath keeps the request's escaping,
//     http.path is decoded.
//   - empty cookies, queryStringParameters, pathParameters, stageVariables
//     and body are left out (AWS omits them); headers and isBase64Encoded are
//     always there.
//   - the body is text or base64 by the same rule as 1.0 (see isText).
func BuildV2(r *http.Request, in *Request) ([]byte, error) {
	if r == nil || r.URL == nil || in == nil {
		return nil, errNoRequest
	}
	names, vals := lowerHeaders(r, len(in.Body))
	headers := make(map[string]string, len(names))
	var cookies []string
	for _, n := range names {
		if n == "cookie" {
			cookies = splitCookies(vals[n])
			continue
		}
		headers[n] = strings.Join(vals[n], ",")
	}
	var query map[string]string
	if qkeys, qvals := parseQuery(r.URL.RawQuery); len(qkeys) > 0 {
		query = make(map[string]string, len(qkeys))
		for _, k := range qkeys {
			query[k] = strings.Join(qvals[k], ",")
		}
	}
	stage := stageOf(in)
	routeKey := in.RouteKey
	if routeKey == "" {
		routeKey = "$default"
	}
	rawPath := in.RawPath
	if rawPath == "" {
		rawPath = in.Path
	}
	t := timeOf(in)
	domain, prefix := domainOf(r, in)

	var ev v2Event
	ev.Version = "2.0"
	ev.RouteKey = routeKey
	ev.RawPath = stagePath(stage, cleanPath(rawPath))
	ev.RawQueryString = r.URL.RawQuery
	ev.Cookies = cookies
	ev.Headers = headers
	ev.QueryStringParameters = query
	ev.PathParameters = nilIfEmpty(in.PathParameters)
	ev.StageVariables = nilIfEmpty(in.StageVariables)
	ev.RequestContext.AccountID = in.AccountID
	ev.RequestContext.APIID = in.APIID
	ev.RequestContext.Authorizer = in.Authorizer
	ev.RequestContext.DomainName = domain
	ev.RequestContext.DomainPrefix = prefix
	ev.RequestContext.HTTP = events.APIGatewayV2HTTPRequestContextHTTPDescription{
		Method:    r.Method,
		Path:      stagePath(stage, cleanPath(in.Path)),
		Protocol:  protocolOf(r),
		SourceIP:  sourceIP(r, in),
		UserAgent: r.UserAgent(),
	}
	ev.RequestContext.RequestID = in.RequestID
	ev.RequestContext.RouteKey = routeKey
	ev.RequestContext.Stage = stage
	ev.RequestContext.Time = t.Format(requestTimeLayout)
	ev.RequestContext.TimeEpoch = t.UnixMilli()
	if len(in.Body) > 0 {
		ev.Body, ev.IsBase64Encoded = encodeBody(r.Header.Get("Content-Type"), in.Body)
	}
	return marshal(ev)
}

// marshal encodes without HTML escaping: the event should carry "<" and
// "&" as the client sent them, as AWS's does, not as \u003c.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// lowerHeaders returns the request's header names lower-cased and sorted
// (so the events are deterministic), each with its values in the order
// received. Two spellings of one name (possible in a hand-built
// http.Header) merge. Host, which net/http moves out of the header map
// into r.Host, is put back; so is Content-Length when the body is known
// and the client sent it chunked, since API Gateway buffers the body and
// the function sees its length.
func lowerHeaders(r *http.Request, bodyLen int) ([]string, map[string][]string) {
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make(map[string][]string, len(keys)+2)
	names := make([]string, 0, len(keys)+2)
	add := func(n string, v ...string) {
		if _, ok := vals[n]; !ok {
			names = append(names, n)
		}
		vals[n] = append(vals[n], v...)
	}
	for _, k := range keys {
		if len(r.Header[k]) == 0 {
			continue
		}
		add(strings.ToLower(k), r.Header[k]...)
	}
	if _, ok := vals["host"]; !ok && r.Host != "" {
		add("host", r.Host)
	}
	if _, ok := vals["content-length"]; !ok && bodyLen > 0 {
		add("content-length", strconv.Itoa(bodyLen))
	}
	sort.Strings(names)
	return names, vals
}

// splitCookies turns Cookie header values ("a=1; b=2") into one entry per
// cookie, as 2.0's cookies array carries them.
func splitCookies(values []string) []string {
	var out []string
	for _, v := range values {
		for _, c := range strings.Split(v, ";") {
			if c = strings.TrimSpace(c); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// parseQuery splits a raw query into decoded keys (in first-seen order) and
// their values (in order). Unlike url.ParseQuery it never drops a pair: a
// malformed escape is passed through as received rather than losing the
// parameter, and ";" is an ordinary character, not a separator. A key with
// no "=" has the value "". Pairs with an empty key are dropped.
func parseQuery(raw string) ([]string, map[string][]string) {
	if raw == "" {
		return nil, nil
	}
	var keys []string
	vals := make(map[string][]string)
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescape(k), unescape(v)
		if k == "" {
			continue
		}
		if _, ok := vals[k]; !ok {
			keys = append(keys, k)
		}
		vals[k] = append(vals[k], v)
	}
	return keys, vals
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// encodeBody returns the body as the event carries it and whether it is
// base64. HTTP APIs have no binaryMediaTypes setting: API Gateway decides
// by the request's Content-Type alone. Observed on AWS (ministack PR 766,
// Function URLs alike): the body is passed as text only for text/*,
// application/json, application/xml and application/javascript; any other
// type, and a missing Content-Type, is base64 — application/x-www-form-
// urlencoded included. A textual type whose bytes are not UTF-8 is base64
// too, since a JSON string cannot carry them unchanged.
func encodeBody(contentType string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	if isText(contentType) && utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// isText reports whether a Content-Type is one API Gateway passes as text.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	if strings.HasPrefix(mt, "text/") {
		return true
	}
	switch mt {
	case "application/json", "application/xml", "application/javascript":
		return true
	}
	return false
}

// stageOf is the stage name, $default when the gateway left it empty.
func stageOf(in *Request) string {
	if in.Stage == "" {
		return "$default"
	}
	return in.Stage
}

// stagePath adds a named stage's prefix: on HTTP APIs the stage segment of
// the invoke URL stays in 1.0's path and 2.0's rawPath (frameworks strip it
// themselves), while the $default stage, served at the root, adds nothing.
func stagePath(stage, p string) string {
	if stage == "$default" || stage == "" {
		return p
	}
	return "/" + stage + p
}

// cleanPath makes sure a path starts with "/": the root is "/", never "".
func cleanPath(p string) string {
	if !strings.HasPrefix(p, "/") {
		return "/" + p
	}
	return p
}

func timeOf(in *Request) time.Time {
	t := in.Time
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC()
}

// domainOf returns requestContext.domainName and domainPrefix (its first
// label). Without a DomainName from the gateway it falls back to the Host
// the client used, without its port, as AWS's domainName has none.
func domainOf(r *http.Request, in *Request) (string, string) {
	d := in.DomainName
	if d == "" {
		d = r.Host
		if h, _, err := net.SplitHostPort(d); err == nil {
			d = h
		}
	}
	prefix, _, _ := strings.Cut(d, ".")
	return d, prefix
}

func sourceIP(r *http.Request, in *Request) string {
	if in.SourceIP != "" {
		return in.SourceIP
	}
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

func protocolOf(r *http.Request) string {
	if r.Proto == "" {
		return "HTTP/1.1"
	}
	return r.Proto
}

func nilIfEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// v1Authorizer shapes the authorizer map for 1.0. The gateway hands over
// 2.0's shape ({"jwt":{...}} or {"lambda":{...}}); 1.0 has no such level:
// a JWT authorizer's claims and scopes sit directly under authorizer (AWS's
// 1.0 sample and awsdocs issue 113), and a Lambda authorizer's context keys
// likewise, as REST APIs put them. Any other map is passed as it is.
func v1Authorizer(m map[string]any) map[string]any {
	if len(m) != 1 {
		return m
	}
	for _, k := range []string{"jwt", "lambda"} {
		if inner, ok := m[k].(map[string]any); ok {
			return inner
		}
	}
	return m
}
