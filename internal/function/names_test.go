package function

import (
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestParseRef(t *testing.T) {
	long := strings.Repeat("a", 64)
	tests := []struct {
		in   string
		want Ref
		bad  bool
	}{
		{in: "my-fn", want: Ref{Name: "my-fn"}},
		{in: "My_Fn-2", want: Ref{Name: "My_Fn-2"}},
		{in: long, want: Ref{Name: long}},
		{in: "my-fn:prod", want: Ref{Name: "my-fn", Qualifier: "prod"}},
		{in: "my-fn:$LATEST", want: Ref{Name: "my-fn", Qualifier: "$LATEST"}},
		{in: "my-fn:12", want: Ref{Name: "my-fn", Qualifier: "12"}},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:my-fn", want: Ref{Name: "my-fn", Region: "us-east-1", Account: "000000000000"}},
		{in: "arn:aws:lambda:eu-west-3:123456789012:function:my-fn:prod", want: Ref{Name: "my-fn", Qualifier: "prod", Region: "eu-west-3", Account: "123456789012"}},
		{in: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f:$LATEST", want: Ref{Name: "f", Qualifier: "$LATEST", Region: "us-gov-west-1", Account: "123456789012"}},
		{in: "arn:aws-cn:lambda:cn-north-1:123456789012:function:f:3", want: Ref{Name: "f", Qualifier: "3", Region: "cn-north-1", Account: "123456789012"}},
		{in: "123456789012:function:my-fn", want: Ref{Name: "my-fn", Account: "123456789012"}},
		{in: "123456789012:function:my-fn:7", want: Ref{Name: "my-fn", Qualifier: "7", Account: "123456789012"}},

		{in: "", bad: true},
		{in: long + "a", bad: true},
		{in: "my fn", bad: true},
		{in: "my.fn", bad: true},
		{in: "my/fn", bad: true},
		{in: "my-fn:", bad: true},
		{in: "my-fn:a:b", bad: true},
		{in: "my-fn:$latest", bad: true},
		{in: "my-fn:" + strings.Repeat("q", 129), bad: true},
		{in: "my-fn:pr od", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:f:", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:f:a:b", bad: true},
		{in: "arn:aws:s3:us-east-1:000000000000:function:f", bad: true},
		{in: "arn:aws:lambda:us-east-1:0000:function:f", bad: true},
		{in: "arn:aws:lambda:US-EAST-1:000000000000:function:f", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:layer:f", bad: true},
		{in: "arn:gcp:lambda:us-east-1:000000000000:function:f", bad: true},
		{in: "arn:aws:lambda:us-east-1:000000000000:function:" + long + "a", bad: true},
		{in: "12345678901:function:f", bad: true},
		{in: "123456789012:functions:f", bad: true},
		{in: "123456789012:function:f:q:r", bad: true},
		{in: "arn", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseRef(%q) = %+v, want an error", tt.in, got)
				continue
			}
			if !fault.Is(err, fault.Invalid) {
				t.Errorf("ParseRef(%q) error %v is not fault.Invalid", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseRef(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseRefMessage(t *testing.T) {
	_, err := ParseRef("bad name")
	wantFault(t, err, fault.Invalid, "1 validation error detected: Value 'bad name' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: ")
}

func TestARN(t *testing.T) {
	if got := ARN("us-east-1", "000000000000", "f", ""); got != "arn:aws:lambda:us-east-1:000000000000:function:f" {
		t.Errorf("ARN = %s", got)
	}
	if got := ARN("us-east-1", "000000000000", "f", "prod"); got != "arn:aws:lambda:us-east-1:000000000000:function:f:prod" {
		t.Errorf("ARN = %s", got)
	}
}

// FuzzParseRef checks that ParseRef never panics, fails only with
// fault.Invalid, and that what it accepts is valid and survives a round
// trip through Ref.String. Seeds: testdata/fuzz/FuzzParseRef and below.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"f", "f:1", "f:$LATEST", "f:prod", "123456789012:function:f",
		"arn:aws:lambda:us-east-1:123456789012:function:f:prod", "arn:aws:lambda:::function:f", "a::b", ":",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !fault.Is(err, fault.Invalid) {
				t.Fatalf("ParseRef(%q): %v is not fault.Invalid", s, err)
			}
			return
		}
		if !nameRe.MatchString(r.Name) {
			t.Fatalf("ParseRef(%q) accepted name %q", s, r.Name)
		}
		if r.Qualifier != "" && !qualifierRe.MatchString(r.Qualifier) {
			t.Fatalf("ParseRef(%q) accepted qualifier %q", s, r.Qualifier)
		}
		if r.Region != "" && r.Account == "" {
			t.Fatalf("ParseRef(%q) = %+v: region without account", s, r)
		}
		again, err := ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("round trip of %q: %q -> %+v, %v; want %+v", s, r.String(), again, err, r)
		}
	})
}
