package telemetry

import (
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"", []string{"", "anything"}, nil},
		{"   ", []string{"anything"}, nil},
		{`""`, []string{"anything"}, nil},
		{"ERROR", []string{"ERROR x", "xERRORx"}, []string{"error", "WARN"}},
		{"ERROR  db\ttimeout", []string{"db timeout ERROR"}, []string{"ERROR db", "ERROR timeout"}},
		{`"a b"`, []string{"xa by"}, []string{"a  b", "b a"}},
		{`"say \"hi\"" \`, []string{`say "hi" \`}, []string{`say hi \`}},
		{`"back\\slash"`, []string{`back\slash`}, []string{`backslash`}},
		{"ERROR -retry", []string{"ERROR now"}, []string{"ERROR retry", "now"}},
		{`-"not this"`, []string{"this not", ""}, []string{"so not this"}},
		{"?a ?b", []string{"a", "b", "ab"}, []string{"c", ""}},
		{"x ?a ?b", []string{"xa", "bx"}, []string{"x", "a"}},
		{"-", []string{"a-b"}, []string{"ab"}},
		{"?", []string{"what?"}, []string{"what"}},
		{`%^\d{3}$%`, []string{"123"}, []string{"1234", "abc"}},
		{`%%`, []string{"anything"}, nil},
		{`-%fail(ed|ure)%`, []string{"ok"}, []string{"it failed"}},
		{"100%", []string{"100%"}, []string{"100"}},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.pattern)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tt.pattern, err)
			continue
		}
		for _, s := range tt.match {
			if !f.Match(s) {
				t.Errorf("%q does not match %q", tt.pattern, s)
			}
		}
		for _, s := range tt.noMatch {
			if f.Match(s) {
				t.Errorf("%q matches %q", tt.pattern, s)
			}
		}
	}
	for pattern, kind := range map[string]fault.Kind{
		`"open`:                    fault.Invalid,
		`x "open \"`:               fault.Invalid,
		`%open`:                    fault.Invalid,
		`%(%`:                      fault.Invalid,
		`{ $.a = 1 }`:              fault.Unsupported,
		` [ip, user]`:              fault.Unsupported,
		string(make([]byte, 1025)): fault.Invalid,
	} {
		if _, err := ParseFilter(pattern); fault.KindOf(err) != kind {
			t.Errorf("ParseFilter(%q) = %v, want a %v fault", pattern, err, kind)
		}
	}
	var nilFilter *Filter
	if !nilFilter.Match("x") {
		t.Error("a nil filter must match everything")
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "ERROR", `"a b" -c ?d ?e`, `%[0-9]+%`, `"unclosed`, `{ $.x = 1 }`, `-`, `"\\"`} {
		f.Add(s, "some ERROR line a b d")
	}
	f.Fuzz(func(t *testing.T, pattern, line string) {
		flt, err := ParseFilter(pattern)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid && k != fault.Unsupported {
				t.Fatalf("ParseFilter(%q) failed with a %v fault: %v", pattern, k, err)
			}
			return
		}
		flt.Match(line)
	})
}
