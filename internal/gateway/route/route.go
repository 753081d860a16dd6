// Package route parses HTTP API route keys and picks the route for a
// request as API Gateway does: exact (static beats {param} position by
// position), then the longest greedy {proxy+} prefix, then $default; an
// explicit method beats ANY. It is pure: no I/O.
package route

// Key is a parsed route key.
//
//	func ParseKey(s string) (Key, error)   // "GET /pets/{id}", "ANY /{proxy+}", "$default"
//
// Errors are *fault.Error Kind Invalid with API Gateway's wording where it
// has one. Methods are upper case HTTP verbs or ANY; paths start with "/",
// segments are static, {name} or a final {name+}; parameter names are
// [A-Za-z0-9._-]+ and unique.
//
// Table is a compiled set of routes:
//
//	func Compile(keys []string) (*Table, error)  // index i of a Match is keys[i]; duplicate keys are an error
//	func (t *Table) Match(method, path string) Match
//
// path is the request path after the stage prefix, still percent-encoded
// (segments are split on "/" first, then each is decoded, so an encoded
// "%2F" stays inside its segment). Greedy {proxy+} needs at least one
// segment. Trailing slashes: "/pets/" matches "/pets/" routes only, as
// API Gateway (check and document).
type Match struct {
	// Index of the matched key in Compile's input; -1 when none matched.
	Index int
	// Params are the decoded path parameters ({proxy+} gets the rest of
	// the path without its leading "/", decoded).
	Params map[string]string
	// MethodMismatch reports that some route matched the path but none the
	// method (the gateway may answer 404 or 405 with it).
	MethodMismatch bool
}
