package route

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestParseKeyValid(t *testing.T) {
	tests := []struct {
		key     string
		method  string
		path    string
		params  []string
		greedy  string
		isDeflt bool
	}{
		{key: "$default", isDeflt: true},
		{key: "GET /", method: "GET", path: "/"},
		{key: "GET /pets", method: "GET", path: "/pets"},
		{key: "POST /pets/{id}", method: "POST", path: "/pets/{id}", params: []string{"id"}},
		{key: "ANY /{proxy+}", method: "ANY", path: "/{proxy+}", params: []string{"proxy"}, greedy: "proxy"},
		{key: "DELETE /a/{x}/b/{y.z-1_}/{rest+}", method: "DELETE", path: "/a/{x}/b/{y.z-1_}/{rest+}", params: []string{"x", "y.z-1_", "rest"}, greedy: "rest"},
		{key: "PATCH /v1/items:batch", method: "PATCH", path: "/v1/items:batch"},
		{key: "HEAD /a", method: "HEAD", path: "/a"},
		{key: "OPTIONS /a", method: "OPTIONS", path: "/a"},
		{key: "PUT /~user/file.json", method: "PUT", path: "/~user/file.json"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			k, err := ParseKey(tt.key)
			if err != nil {
				t.Fatalf("ParseKey: %v", err)
			}
			if k.Method != tt.method || k.Path != tt.path || k.IsDefault() != tt.isDeflt {
				t.Errorf("got Method %q Path %q IsDefault %v", k.Method, k.Path, k.IsDefault())
			}
			if got := k.ParamNames(); !reflect.DeepEqual(got, tt.params) {
				t.Errorf("ParamNames = %q, want %q", got, tt.params)
			}
			if got := k.Greedy(); got != tt.greedy {
				t.Errorf("Greedy = %q, want %q", got, tt.greedy)
			}
			if got := k.String(); got != tt.key {
				t.Errorf("String = %q, want %q", got, tt.key)
			}
		})
	}
}

func TestParseKeyInvalid(t *testing.T) {
	tests := []struct {
		key  string
		want string // a fragment of the message
	}{
		{"", "must not be empty"},
		{"GET", `"METHOD /path"`},
		{"$DEFAULT", `"METHOD /path"`},
		{"$default ", "method"},
		{"get /pets", `method "get"`},
		{"TRACE /pets", `method "TRACE"`},
		{"GET  /pets", "must start with"},
		{"GET pets", "must start with"},
		{"GET /pets ", "not allowed"},
		{"GET /pets/", "empty path segment"},
		{"GET //pets", "empty path segment"},
		{"GET /a//b", "empty path segment"},
		{"GET /pets/{id}.json", "whole segment"},
		{"GET /pets/x{id}", "whole segment"},
		{"GET /pets/{id", "whole segment"},
		{"GET /pets/id}", "whole segment"},
		{"GET /{}", "whole segment"},
		{"GET /{+}", "parameter names"},
		{"GET /{a b}", "parameter names"},
		{"GET /{a/b}", "whole segment"},
		{"GET /{{a}}", "parameter names"},
		{"GET /{proxy+}/x", "must be the last"},
		{"GET /{a+}/{b}", "must be the last"},
		{"GET /{id}/x/{id}", "used twice"},
		{"GET /{id}/{id+}", "used twice"},
		{"GET /a%20b", "not allowed"},
		{"GET /a?b", "not allowed"},
		{"GET /a#b", "not allowed"},
		{"GET /" + strings.Repeat("a", MaxKeyLength), "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := ParseKey(tt.key)
			if err == nil {
				t.Fatal("ParseKey accepted it")
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Invalid {
				t.Fatalf("error %v is not a fault.Invalid", err)
			}
			if !strings.Contains(fe.Message, tt.want) {
				t.Errorf("message %q lacks %q", fe.Message, tt.want)
			}
		})
	}
}

// Path errors carry API Gateway's own wording so a CLI user recognises it.
func TestParseKeyAWSWording(t *testing.T) {
	_, err := ParseKey("GET /{a}/events/{eventId}.json")
	if err == nil || !strings.HasPrefix(err.Error(), "One or more path parts appear to be invalid") {
		t.Fatalf("err = %v", err)
	}
}
