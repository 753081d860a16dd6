package route

import (
	"strings"
	"testing"
)

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{
		"$default", "GET /", "GET /pets/{id}", "ANY /{proxy+}", "GET /pets/{id}.json",
		"GET /a//b", "GET /{a}/{a}", "POST /{x+}/y", "get /x", "GET /{}", "GET /a:b@c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			return
		}
		// Accepted keys are canonical: String gives back the input, and
		// parsing that again gives the same key.
		if k.String() != s {
			t.Fatalf("String() = %q for input %q", k.String(), s)
		}
		k2, err := ParseKey(k.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", k.String(), err)
		}
		if k2.String() != k.String() || strings.Join(k2.ParamNames(), ",") != strings.Join(k.ParamNames(), ",") || k2.Greedy() != k.Greedy() {
			t.Fatalf("round trip changed %q", s)
		}
		seen := map[string]bool{}
		for _, n := range k.ParamNames() {
			if seen[n] {
				t.Fatalf("duplicate parameter %q accepted in %q", n, s)
			}
			seen[n] = true
		}
	})
}

// fuzzKeys is a route set with every kind of segment and method, so that
// fuzzed requests exercise static, param, greedy, ANY and $default.
var fuzzKeys = []string{
	"GET /", "GET /pets", "POST /pets", "GET /pets/{id}", "ANY /pets/{id}/toys/{toy}",
	"GET /pets/dog/{id}", "GET /pets/{proxy+}", "ANY /{proxy+}", "HEAD /h/{a}/{b+}",
	"DELETE /x/{a}/y/{b}", "$default",
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/", "", "/pets", "/pets/", "/pets/dog/1", "/pets/a%2Fb/toys/%zz", "/h/1/2/3", "x", "//", "/%"} {
		f.Add("GET", s, false)
		f.Add("HEAD", s, true)
	}
	tabWith, err := Compile(fuzzKeys)
	if err != nil {
		f.Fatal(err)
	}
	tabWithout, err := Compile(fuzzKeys[:len(fuzzKeys)-1])
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path string, withDefault bool) {
		tab := tabWithout
		if withDefault {
			tab = tabWith
		}
		m := tab.Match(method, path)
		if m.Index < -1 || m.Index >= tab.Len() {
			t.Fatalf("Index %d out of range", m.Index)
		}
		if m.Index == -1 {
			if len(m.Params) != 0 {
				t.Fatalf("no match but Params %v", m.Params)
			}
			return
		}
		if m.MethodMismatch {
			t.Fatal("MethodMismatch set on a match")
		}
		k := tab.Key(m.Index)
		if k.Method != "ANY" && k.Method != "" && k.Method != method {
			t.Fatalf("%s %q matched %q", method, path, k)
		}
		names := k.ParamNames()
		if len(m.Params) != len(names) {
			t.Fatalf("%q: Params %v, key has %v", k, m.Params, names)
		}
		for _, n := range names {
			v, ok := m.Params[n]
			if !ok {
				t.Fatalf("%q: Params %v lack %q", k, m.Params, n)
			}
			if n != k.Greedy() && (v == "" || strings.Contains(v, "/") && !strings.Contains(strings.ToUpper(path), "%2F")) {
				t.Fatalf("%q: parameter %q = %q from %q", k, n, v, path)
			}
		}
		if g := k.Greedy(); g != "" && m.Params[g] == "" {
			t.Fatalf("%q: empty greedy value from %q", k, path)
		}
	})
}
