package route

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

// want names the expected route by key (so the tables read as AWS's docs
// do); "" means no match.
type matchCase struct {
	method, path string
	want         string
	params       map[string]string
	mismatch     bool
}

func runMatches(t *testing.T, keys []string, cases []matchCase) {
	t.Helper()
	tab, err := Compile(keys)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			m := tab.Match(c.method, c.path)
			got := ""
			if m.Index >= 0 {
				got = keys[m.Index]
			}
			if got != c.want {
				t.Fatalf("matched %q, want %q", got, c.want)
			}
			if !reflect.DeepEqual(m.Params, c.params) {
				t.Errorf("Params = %v, want %v", m.Params, c.params)
			}
			if m.MethodMismatch != c.mismatch {
				t.Errorf("MethodMismatch = %v, want %v", m.MethodMismatch, c.mismatch)
			}
		})
	}
}

type P = map[string]string

// The example set of AWS's "Routing API requests" section, plus neighbours.
func TestMatchPrecedence(t *testing.T) {
	keys := []string{
		"GET /pets/dog/1",
		"GET /pets/dog/{id}",
		"GET /pets/{proxy+}",
		"ANY /{proxy+}",
		"$default",
		"GET /pets/{kind}/1",
		"GET /pets/{kind}/{id}/toys",
		"GET /pets/dog/{id}/{rest+}",
	}
	runMatches(t, keys, []matchCase{
		{method: "GET", path: "/pets/dog/1", want: "GET /pets/dog/1"},
		{method: "GET", path: "/pets/dog/2", want: "GET /pets/dog/{id}", params: P{"id": "2"}},
		// Static beats param from the left: dog/{id} wins over {kind}/1.
		{method: "GET", path: "/pets/cat/1", want: "GET /pets/{kind}/1", params: P{"kind": "cat"}},
		{method: "GET", path: "/pets/cat/2", want: "GET /pets/{proxy+}", params: P{"proxy": "cat/2"}},
		// An exact route deeper in the param branch beats every greedy one.
		{method: "GET", path: "/pets/dog/7/toys", want: "GET /pets/{kind}/{id}/toys", params: P{"kind": "dog", "id": "7"}},
		// Longest greedy prefix wins, parameters before it are filled in.
		{method: "GET", path: "/pets/dog/7/a/b", want: "GET /pets/dog/{id}/{rest+}", params: P{"id": "7", "rest": "a/b"}},
		{method: "POST", path: "/pets/dog/1", want: "ANY /{proxy+}", params: P{"proxy": "pets/dog/1"}},
		{method: "GET", path: "/test", want: "ANY /{proxy+}", params: P{"proxy": "test"}},
		{method: "GET", path: "/", want: "$default"},
		// Trailing slash: no exact route, so the longest greedy above it.
		{method: "GET", path: "/pets/", want: "ANY /{proxy+}", params: P{"proxy": "pets/"}},
		{method: "GET", path: "/pets/dog/", want: "GET /pets/{proxy+}", params: P{"proxy": "dog/"}},
	})
}

func TestMatchMethods(t *testing.T) {
	keys := []string{
		"GET /x",
		"ANY /x",
		"POST /y",
		"HEAD /h",
		"ANY /a/{id}",
		"GET /a/b",
		"DELETE /g/{proxy+}",
	}
	runMatches(t, keys, []matchCase{
		{method: "GET", path: "/x", want: "GET /x"},
		{method: "POST", path: "/x", want: "ANY /x"},
		{method: "TRACE", path: "/x", want: "ANY /x"},
		{method: "get", path: "/x", want: "ANY /x"}, // methods are case-sensitive
		{method: "GET", path: "/y", mismatch: true},
		// HEAD is not served by GET routes.
		{method: "HEAD", path: "/a/b", want: "ANY /a/{id}", params: P{"id": "b"}},
		{method: "HEAD", path: "/h", want: "HEAD /h"},
		{method: "GET", path: "/h", mismatch: true},
		// The static path lacks POST, so the param route with ANY takes it.
		{method: "POST", path: "/a/b", want: "ANY /a/{id}", params: P{"id": "b"}},
		{method: "DELETE", path: "/g/1", want: "DELETE /g/{proxy+}", params: P{"proxy": "1"}},
		{method: "GET", path: "/g/1", mismatch: true},
		{method: "GET", path: "/nothing"},
	})
}

func TestMatchExplicitBeatsAnyOnGreedy(t *testing.T) {
	runMatches(t, []string{"ANY /{proxy+}", "GET /{proxy+}", "ANY /api/{proxy+}"}, []matchCase{
		{method: "GET", path: "/x", want: "GET /{proxy+}", params: P{"proxy": "x"}},
		{method: "PUT", path: "/x", want: "ANY /{proxy+}", params: P{"proxy": "x"}},
		// Longer prefix first, even though the shorter one names GET.
		{method: "GET", path: "/api/v1", want: "ANY /api/{proxy+}", params: P{"proxy": "v1"}},
		// "/api/" leaves nothing for /api/{proxy+}.
		{method: "GET", path: "/api/", want: "GET /{proxy+}", params: P{"proxy": "api/"}},
		{method: "GET", path: "/"},
	})
}

func TestMatchPaths(t *testing.T) {
	keys := []string{
		"GET /",
		"GET /files/{name}",
		"GET /raw/{path+}",
		"GET /Case",
		"GET /a:b",
	}
	runMatches(t, keys, []matchCase{
		{method: "GET", path: "/", want: "GET /"},
		{method: "GET", path: "", want: "GET /"},
		{method: "GET", path: "/files/a%20b", want: "GET /files/{name}", params: P{"name": "a b"}},
		// %2F stays inside its segment.
		{method: "GET", path: "/files/a%2Fb", want: "GET /files/{name}", params: P{"name": "a/b"}},
		{method: "GET", path: "/files/a/b"},
		{method: "GET", path: "/files/"},
		{method: "GET", path: "/files"},
		// A "+" in a path is a plus, not a space.
		{method: "GET", path: "/files/a+b", want: "GET /files/{name}", params: P{"name": "a+b"}},
		{method: "GET", path: "/raw/a/b%20c/", want: "GET /raw/{path+}", params: P{"path": "a/b c/"}},
		{method: "GET", path: "/raw//x", want: "GET /raw/{path+}", params: P{"path": "/x"}},
		{method: "GET", path: "/raw/"},
		{method: "GET", path: "/raw"},
		// Static segments are compared decoded.
		{method: "GET", path: "/%43ase", want: "GET /Case"},
		{method: "GET", path: "/case"},
		{method: "GET", path: "/a:b", want: "GET /a:b"},
		// Malformed escapes and unrooted paths match nothing.
		{method: "GET", path: "/files/%zz"},
		{method: "GET", path: "/files/%4"},
		{method: "GET", path: "/raw/a%"},
		{method: "GET", path: "files/x"},
	})
}

func TestMatchBadPathSkipsDefault(t *testing.T) {
	tab, err := Compile([]string{"$default"})
	if err != nil {
		t.Fatal(err)
	}
	if m := tab.Match("GET", "/%g0"); m.Index != -1 {
		t.Errorf("malformed escape matched %d", m.Index)
	}
	if m := tab.Match("GET", "/anything/at/all"); m.Index != 0 || m.Params != nil {
		t.Errorf("$default: %+v", m)
	}
}

// A long path leaves Match's stack buffers and must still work.
func TestMatchDeepPath(t *testing.T) {
	segs := make([]string, 40)
	for i := range segs {
		segs[i] = fmt.Sprintf("{p%d}", i)
	}
	key := "GET /" + strings.Join(segs, "/")
	tab, err := Compile([]string{key, "GET /{proxy+}"})
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]string, 40)
	for i := range vals {
		vals[i] = fmt.Sprintf("v%%2F%d", i)
	}
	m := tab.Match("GET", "/"+strings.Join(vals, "/"))
	if m.Index != 0 || m.Params["p0"] != "v/0" || m.Params["p39"] != "v/39" || len(m.Params) != 40 {
		t.Fatalf("got %d %v", m.Index, m.Params)
	}
	m = tab.Match("GET", "/"+strings.Join(vals, "/")+"/more")
	if m.Index != 1 {
		t.Fatalf("41 segments matched %d", m.Index)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		keys []string
		want string
	}{
		{[]string{"GET /a", "GET /a"}, "given twice"},
		{[]string{"$default", "$default"}, "given twice"},
		{[]string{"GET /p/{id}", "GET /p/{name}"}, "differ only in parameter names"},
		{[]string{"ANY /{a+}", "ANY /{b+}"}, "differ only in parameter names"},
		{[]string{"GET /ok", "GET /bad/"}, "empty path segment"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.keys, ","), func(t *testing.T) {
			tab, err := Compile(tt.keys)
			if err == nil || tab != nil {
				t.Fatal("Compile accepted it")
			}
			if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want Invalid with %q", err, tt.want)
			}
		})
	}
	// Same path, different methods, and a param beside a greedy at one
	// position are all distinct routes.
	if _, err := Compile([]string{"GET /p/{id}", "POST /p/{id}", "ANY /p/{id}", "GET /p/{rest+}"}); err != nil {
		t.Errorf("distinct routes rejected: %v", err)
	}
}

func TestNilAndEmptyTable(t *testing.T) {
	var nilTab *Table
	if m := nilTab.Match("GET", "/"); m.Index != -1 {
		t.Errorf("nil table matched %d", m.Index)
	}
	tab, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := tab.Match("GET", "/"); m.Index != -1 || m.MethodMismatch {
		t.Errorf("empty table: %+v", m)
	}
	if tab.Len() != 0 {
		t.Errorf("Len = %d", tab.Len())
	}
}

func TestTableKey(t *testing.T) {
	tab, err := Compile([]string{"$default", "GET /a/{b}"})
	if err != nil {
		t.Fatal(err)
	}
	if !tab.Key(0).IsDefault() || tab.Key(1).String() != "GET /a/{b}" || tab.Len() != 2 {
		t.Errorf("keys: %v %v", tab.Key(0), tab.Key(1))
	}
	var fe *fault.Error
	_, err = Compile([]string{"GET a"})
	if !errors.As(err, &fe) {
		t.Errorf("error is %T", err)
	}
}

// benchKeys builds ~200 routes of the shapes real APIs have: a static
// collection, an item, sub-collections and a greedy fallback per resource.
func benchKeys() []string {
	var keys []string
	for r := 0; r < 25; r++ {
		res := fmt.Sprintf("/v1/resource%d", r)
		keys = append(keys,
			"GET "+res,
			"POST "+res,
			"GET "+res+"/{id}",
			"PUT "+res+"/{id}",
			"DELETE "+res+"/{id}",
			"GET "+res+"/{id}/children",
			"GET "+res+"/{id}/children/{childId}",
			"ANY "+res+"/{proxy+}",
		)
	}
	return append(keys, "ANY /{proxy+}", "$default")
}

func BenchmarkMatch(b *testing.B) {
	keys := benchKeys()
	tab, err := Compile(keys)
	if err != nil {
		b.Fatal(err)
	}
	reqs := []struct{ method, path string }{
		{"GET", "/v1/resource24"},
		{"GET", "/v1/resource17/abc-123"},
		{"GET", "/v1/resource3/abc/children/x%20y"},
		{"PATCH", "/v1/resource9/abc/deep/path"},
		{"GET", "/other/thing"},
	}
	b.Logf("%d routes", len(keys))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := reqs[i%len(reqs)]
		if tab.Match(r.method, r.path).Index < 0 {
			b.Fatal("no match")
		}
	}
}
