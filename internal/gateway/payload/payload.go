// Package payload turns an HTTP request into the Lambda proxy event of
// payload format 1.0 (REST API shape) or 2.0 (HTTP API shape, also Function
// URLs), using aws-lambda-go's events types, and a function's result back
// into an HTTP response with API Gateway's rules (including 2.0's
// inference when a function returns something other than a response
// object). It is pure: no I/O.
package payload

import (
	"net/http"
	"time"
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

// The functions (payload.go, response.go):
//
//	func BuildV1(r *http.Request, in *Request) ([]byte, error)  // events.APIGatewayProxyRequest JSON
//	func BuildV2(r *http.Request, in *Request) ([]byte, error)  // events.APIGatewayV2HTTPRequest JSON
//	func ParseV1(result []byte) (*Response, error)               // events.APIGatewayProxyResponse
//	func ParseV2(result []byte) (*Response, error)               // events.APIGatewayV2HTTPResponse, or inferred
//	func (r *Response) Write(w http.ResponseWriter)
//
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
