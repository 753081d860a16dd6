package function

import (
	"log/slog"
	"regexp"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

var urlIDRe = regexp.MustCompile(`^[a-z0-9]{32}$`)

func TestNewURLID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := newURLID()
		if !urlIDRe.MatchString(id) {
			t.Fatalf("url id %q is not 32 of [a-z0-9]", id)
		}
		if seen[id] {
			t.Fatalf("url id %q made twice", id)
		}
		seen[id] = true
	}
}

func TestFunctionURLRules(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn", func(in *CreateInput) { in.Publish = true })
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	none, iam := FunctionURLAuthNone, FunctionURLAuthIAM
	c, err := e.svc.CreateFunctionURL(e.ctx, "fn", "", FunctionURLInput{AuthType: &none})
	if err != nil {
		t.Fatal(err)
	}
	if !urlIDRe.MatchString(c.URLID) || c.Qualifier != Latest || c.InvokeMode != InvokeModeBuffered || !c.CreationTime.Equal(e.clock.Now()) {
		t.Errorf("created %+v", c)
	}

	for _, tc := range []struct {
		what, qualifier string
		in              FunctionURLInput
		kind            fault.Kind
		msg             string
	}{
		{"version", "1", FunctionURLInput{AuthType: &none}, fault.Invalid,
			`1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))`},
		{"dollar in alias", "a$b", FunctionURLInput{AuthType: &none}, fault.Invalid,
			`1 validation error detected: Value 'a$b' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (^\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))`},
		{"exists ($LATEST = unqualified)", Latest, FunctionURLInput{AuthType: &iam}, fault.Conflict,
			"Failed to create function url config for [functionArn = arn:aws:lambda:us-east-1:000000000000:function:fn]. Error message:  FunctionUrlConfig exists for this Lambda function"},
		{"missing alias", "gone", FunctionURLInput{AuthType: &none}, fault.NotFound,
			"Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn:gone"},
		{"negative max age", "live", FunctionURLInput{AuthType: &none, Cors: &FunctionURLCors{MaxAge: ptrTo(-1)}}, fault.Invalid,
			"1 validation error detected: Value '-1' at 'cors.maxAge' failed to satisfy constraint: Member must have value greater than or equal to 0"},
		{"101 headers", "live", FunctionURLInput{AuthType: &none, Cors: &FunctionURLCors{ExposeHeaders: make([]string, 101)}}, fault.Invalid, ""},
	} {
		_, err := e.svc.CreateFunctionURL(e.ctx, "fn", tc.qualifier, tc.in)
		if tc.msg == "" {
			if !fault.Is(err, tc.kind) {
				t.Errorf("%s: err %v, want %v", tc.what, err, tc.kind)
			}
			continue
		}
		wantFault(t, err, tc.kind, tc.msg)
	}

	// Update keeps the id (the URL is stable for the config's life).
	e.clock.Advance(time.Minute)
	u, err := e.svc.UpdateFunctionURL(e.ctx, "fn", "", FunctionURLInput{AuthType: &iam})
	if err != nil || u.URLID != c.URLID || u.AuthType != iam || !u.LastModifiedTime.After(u.CreationTime) {
		t.Errorf("Update = %+v, %v (created %+v)", u, err, c)
	}
}

// Another node's view learns of a URL through the store's watch, so the
// gateway there finds it; a delete removes it from the index.
func TestFunctionURLLookupFollowsOtherWriters(t *testing.T) {
	e := newEnv(t)
	startView(t, e.svc)
	other, err := New(e.ctx, Options{Store: e.st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Create(e.ctx, CreateInput{FunctionName: "remote", Config: Config{Runtime: "python3.12", Handler: "app.handler", Role: testRole}, ZipFile: pyZip(t, "r"), Publish: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreateAlias(e.ctx, "remote", Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	none := FunctionURLAuthNone
	c, err := other.CreateFunctionURL(e.ctx, "remote", "live", FunctionURLInput{AuthType: &none, Cors: &FunctionURLCors{AllowOrigins: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, _, _, ok := e.svc.LookupFunctionURL(c.URLID); return ok })
	name, q, cfg, _ := e.svc.LookupFunctionURL(c.URLID)
	if name != "remote" || q != "live" || cfg.Cors == nil || cfg.Cors.AllowOrigins[0] != "*" {
		t.Errorf("lookup = %q %q %+v", name, q, cfg)
	}
	if _, _, _, ok := e.svc.LookupFunctionURL(newURLID()); ok {
		t.Error("an unknown id was found")
	}
	if err := other.DeleteFunctionURL(e.ctx, "remote", "live"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, _, _, ok := e.svc.LookupFunctionURL(c.URLID); return !ok })
}
