package jsonenc

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAppendStringAllRunes compares every rune and every single byte
// (invalid UTF-8 included) with encoding/json.
func TestAppendStringAllRunes(t *testing.T) {
	var s strings.Builder
	for r := rune(0); r <= utf8.MaxRune; r++ {
		s.WriteRune(r)
	}
	for c := 0; c < 256; c++ {
		s.WriteByte(byte(c))
	}
	want, _ := json.Marshal(s.String())
	if got := AppendString(nil, s.String()); !bytes.Equal(got, want) {
		t.Fatal("AppendString differs from encoding/json")
	}
}

func TestAppendStringAppends(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `x""`},
		{"a\"b\\c", `x"a\"b\\c"`},
		{"\b\f\n\r\t\x01", `x"\b\f\n\r\t\u0001"`},
		{"<&>", `x"\u003c\u0026\u003e"`},
		{"\u2028é\xff", `x"\u2028é\ufffd"`},
	} {
		if got := string(AppendString([]byte("x"), tc.in)); got != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\", "\x00\x1f", "<>&", "\u2028\u2029", "\xff\xfe", "é😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	})
}
