package pattern

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

var fuzzPatterns = []string{
	`{"source":["aws.ec2"],"detail":{"state":[{"anything-but":["a","b"]}]}}`,
	`{"a":[{"numeric":[">",0,"<=",5]}],"b":[{"prefix":{"equals-ignore-case":"x"}}]}`,
	`{"$or":[{"a":[{"wildcard":"x*y\\*"}]},{"b":[{"cidr":"10.0.0.0/8"}]}]}`,
	`{"a":[{"exists":false},null,true,1.5,""]}`,
	`{"body":{"k":[{"suffix":".png"}]}}`,
	`{"a":[{"anything-but":{"wildcard":["*x*","y*"]}}]}`,
	`{"a":{"b":{"c":["x"]}}}`,
	`{"a":[]}`,
}

var fuzzEvents = []string{
	ec2Event,
	`{"a":[1,2,{"b":"x"}],"body":"{\"k\":\"a.png\"}"}`,
	`{"a":{"b":[{"c":"x"},{"c":"y"}]},"$or":["z"]}`,
	`{"a":null,"b":"10.1.2.3","c":1e400}`,
}

// FuzzCompile checks that Compile never panics, that everything it refuses
// is an Invalid fault, and that what it accepts can be matched.
func FuzzCompile(f *testing.F) {
	for _, p := range fuzzPatterns {
		for d := range 3 {
			f.Add([]byte(p), uint8(d), uint8(0))
		}
		f.Add([]byte(p), uint8(SNS), uint8(MessageBody))
	}
	f.Fuzz(func(t *testing.T, pattern []byte, dialect, scope uint8) {
		opts := Options{Dialect: Dialect(dialect % 3), Scope: Scope(scope % 2)}
		p, err := Compile(pattern, opts)
		if err != nil {
			if !fault.Is(err, fault.Invalid) {
				t.Fatalf("Compile(%q) error %v is not fault Invalid", pattern, err)
			}
			return
		}
		for _, e := range fuzzEvents {
			p.Match([]byte(e))
		}
		p.MatchAttributes(map[string]Attribute{
			"a": {Type: "String.Array", Value: `["x",1,null]`},
			"b": {Type: "Number", Value: "3"},
		})
	})
}

// FuzzMatch checks that matching never panics and that a pattern built
// from an event's own leaf values, as exact matches, matches that event.
func FuzzMatch(f *testing.F) {
	for i, p := range fuzzPatterns {
		f.Add([]byte(p), []byte(fuzzEvents[i%len(fuzzEvents)]))
	}
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		if p, err := Compile(pattern, Options{}); err == nil {
			p.Match(event)
		}
		dec := json.NewDecoder(bytes.NewReader(event))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		self, err := json.Marshal(exactPattern(obj))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(self, Options{})
		if err != nil {
			t.Fatalf("Compile(%s) built from %s: %v", self, event, err)
		}
		got := p.MatchObject(obj)
		if !got {
			t.Fatalf("pattern %s built from event %s does not match it", self, event)
		}
	})
}

// exactPattern turns an event object into the pattern of its own values:
// scalars and arrays of scalars become exact-value arrays, objects nest.
func exactPattern(obj map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		switch v := v.(type) {
		case map[string]any:
			out[k] = exactPattern(v)
		case []any:
			if vals := scalars(nil, v); len(vals) > 0 {
				out[k] = vals
			}
		default:
			out[k] = []any{v}
		}
	}
	return out
}

func scalars(dst []any, arr []any) []any {
	for _, e := range arr {
		switch e := e.(type) {
		case map[string]any:
		case []any:
			dst = scalars(dst, e)
		default:
			dst = append(dst, e)
		}
	}
	return dst
}
