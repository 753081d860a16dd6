// Package route parses HTTP API route keys and picks the route for a
// request as API Gateway does: exact (static beats {param} position by
// position), then the longest greedy {proxy+} prefix, then $default; an
// explicit method beats ANY. It is pure: no I/O.
//
// The API:
//
//	func ParseKey(s string) (Key, error)         // "GET /pets/{id}", "ANY /{proxy+}", "$default"
//	func Compile(keys []string) (*Table, error)  // index i of a Match is keys[i]; duplicate keys are an error
//	func (t *Table) Match(method, path string) Match
//
// Errors are *fault.Error Kind Invalid with API Gateway's wording where it
// has one. Methods are upper case HTTP verbs (GET POST PUT PATCH DELETE
// HEAD OPTIONS) or ANY; paths start with "/", segments are static, {name}
// or a final {name+}; parameter names are [A-Za-z0-9._-]+ and unique.
//
// path is the request path after the stage prefix, still percent-encoded
// (segments are split on "/" first, then each is decoded, so an encoded
// "%2F" stays inside its segment). Greedy {proxy+} needs at least one
// segment.
//
// Findings where the digest was silent or unsure (AWS wins):
//   - Trailing slashes are significant in HTTP APIs. A route key cannot end
//     in "/" (CreateRoute rejects "GET /events/";
//     aws/serverless-application-model#1949), and a request for "/pets/" is
//     not sent to "GET /pets": only REST APIs fold the two (tested on AWS in
//     aws-powertools/powertools-lambda-python#1609, which normalises for
//     REST only). So "/pets/" reaches a greedy route above it ("/{proxy+}"
//     with proxy "pets/") or $default. A {param} never takes an empty
//     segment and a greedy one needs at least one character, so "/pets/"
//     does not reach "/pets/{proxy+}" and "/" does not reach "/{proxy+}".
//   - HEAD is its own verb: it matches HEAD and ANY routes, never GET
//     (API Gateway answers HEAD on a GET-only resource with an error;
//     dherault/serverless-offline#704).
//   - A parameter must be a whole segment: "{id}.json" is rejected, as
//     CreateRoute does ("One or more path parts appear to be invalid";
//     serverless/serverless#10423).
//   - Matching is case-sensitive, on methods and paths.
package route

// Match is the outcome of Table.Match.
type Match struct {
	// Index of the matched key in Compile's input; -1 when none matched.
	Index int
	// Params are the decoded path parameters ({proxy+} gets the rest of
	// the path without its leading "/", decoded).
	Params map[string]string
	// MethodMismatch reports that some route matched the path but none the
	// method (the gateway may answer 404 or 405 with it). It is set only
	// when nothing matched (Index -1): a $default route takes such requests.
	MethodMismatch bool
}
