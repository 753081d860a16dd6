package limit

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lamina-dev/lamina/internal/gateway"
)

const petSchema = `{
  "$schema": "http://json-schema.org/draft-04/schema#",
  "title": "Pet",
  "type": "object",
  "required": ["name", "kind"],
  "properties": {
    "name":  {"type": "string", "minLength": 1},
    "kind":  {"type": "string", "enum": ["dog", "cat"]},
    "price": {"type": "number", "minimum": 0, "maximum": 100, "exclusiveMaximum": true},
    "tags":  {"type": "array", "items": {"type": "string"}}
  }
}`

func model(id, schema string) gateway.Model {
	return gateway.Model{ID: id, Name: "M" + id, ContentType: "application/json", Schema: schema}
}

func TestValidateBody(t *testing.T) {
	pet := model("pet", petSchema)
	// No $schema: draft 4 by default, so the boolean exclusiveMaximum is
	// understood (in draft 6+ it must be a number and this would not compile).
	noDraft := model("nodraft", `{"type":"object","properties":{"n":{"type":"integer","maximum":10,"exclusiveMaximum":true}}}`)
	later := model("later", `{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"n":{"exclusiveMaximum":10}}}`)
	tests := []struct {
		name       string
		model      gateway.Model
		ct         string
		body       string
		wantValid  bool
		wantDetail string // substring of one detail
	}{
		{"valid", pet, "application/json", `{"name":"rex","kind":"dog","price":99.5,"tags":["a"]}`, true, ""},
		{"missing required", pet, "application/json", `{"name":"rex"}`, false, "kind"},
		{"wrong type", pet, "application/json", `{"name":5,"kind":"dog"}`, false, "/name"},
		{"not in enum", pet, "application/json", `{"name":"rex","kind":"fish"}`, false, "/kind"},
		{"exclusiveMaximum boolean: equal is out", pet, "application/json", `{"name":"rex","kind":"cat","price":100}`, false, "/price"},
		{"not an object", pet, "application/json", `[1,2]`, false, "/"},
		{"not JSON", pet, "text/plain", `name=rex`, false, "not valid JSON (text/plain)"},
		{"trailing garbage", pet, "application/json", `{"name":"rex","kind":"dog"} x`, false, "not valid JSON"},
		{"empty body", pet, "application/json", ``, false, "empty"},
		{"draft 4 by default: below", noDraft, "application/json", `{"n":9}`, true, ""},
		{"draft 4 by default: equal", noDraft, "application/json", `{"n":10}`, false, "/n"},
		{"later draft when named", later, "application/json", `{"n":10}`, false, "/n"},
		{"later draft when named: ok", later, "application/json", `{"n":9.9}`, true, ""},
	}
	v := NewValidator()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := v.ValidateBody(tc.model, tc.ct, []byte(tc.body))
			if tc.wantValid {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want *ValidationError, got %T %v", err, err)
			}
			if ve.Message != MsgInvalidBody {
				t.Fatalf("Message = %q, want %q", ve.Message, MsgInvalidBody)
			}
			if !containsAny(ve.Details, tc.wantDetail) {
				t.Fatalf("Details %q lack %q", ve.Details, tc.wantDetail)
			}
		})
	}
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func TestValidationErrorJSON(t *testing.T) {
	err := NewValidator().ValidateBody(model("pet", petSchema), "application/json", []byte(`{"name":"rex"}`))
	b, _ := json.Marshal(err)
	var got struct {
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	if e := json.Unmarshal(b, &got); e != nil {
		t.Fatal(e)
	}
	if got.Message != "Invalid request body" || len(got.Errors) == 0 {
		t.Fatalf("body %s", b)
	}
	pe := ValidateParams(map[string]bool{"method.request.querystring.q": true}, nil, nil)
	b, _ = json.Marshal(pe)
	if string(b) != `{"message":"Missing required request parameters: [q]"}` {
		t.Fatalf("params body %s", b)
	}
}

func TestDetailsBounded(t *testing.T) {
	m := model("arr", `{"type":"array","items":{"type":"string"}}`)
	body := "[" + strings.Repeat("1,", 100) + "1]"
	var ve *ValidationError
	if !errors.As(NewValidator().ValidateBody(m, "application/json", []byte(body)), &ve) {
		t.Fatal("want *ValidationError")
	}
	if len(ve.Details) != maxDetails+1 || !strings.Contains(ve.Details[maxDetails], "not shown") {
		t.Fatalf("got %d details: %q", len(ve.Details), ve.Details)
	}
}

func TestCompileErrors(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"type":"string"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, schema string
	}{
		{"not JSON", `{"type":`},
		{"bad type keyword", `{"type":"nope"}`},
		{"bad required", `{"required":"name"}`},
		{"draft 4 numeric exclusiveMaximum", `{"$schema":"http://json-schema.org/draft-04/schema#","exclusiveMaximum":5}`},
		{"bad regexp", `{"pattern":"("}`},
		{"unknown metaschema", `{"$schema":"http://example.com/my-schema#"}`},
		{"external ref over http", `{"$ref":"http://example.com/other.json"}`},
		{"external ref to a file", `{"$ref":"file://` + filepath.ToSlash(secret) + `"}`},
		{"dangling local ref", `{"$ref":"#/definitions/none"}`},
		{"too large", `{"description":"` + strings.Repeat("x", MaxSchemaBytes) + `"}`},
	}
	v := NewValidator()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := model("bad", tc.schema)
			if _, err := v.Compile(m); err == nil {
				t.Fatal("Compile: want an error")
			}
			// ValidateBody reports the definition problem, not a 400.
			err := v.ValidateBody(m, "application/json", []byte(`"x"`))
			var ve *ValidationError
			if err == nil || errors.As(err, &ve) {
				t.Fatalf("ValidateBody = %v, want a compile error", err)
			}
		})
	}
}

func TestCompileCache(t *testing.T) {
	v := NewValidator()
	m := model("m", `{"type":"string"}`)
	s1, err := v.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := v.Compile(m)
	if s1 != s2 {
		t.Fatal("same model compiled twice")
	}
	// An update under the same id is recompiled and takes effect.
	m.Schema = `{"type":"number"}`
	if err := v.ValidateBody(m, "application/json", []byte(`"x"`)); err == nil {
		t.Fatal("updated schema not applied")
	}
	if err := v.ValidateBody(m, "application/json", []byte(`1`)); err != nil {
		t.Fatalf("updated schema: %v", err)
	}
	v.Forget("m")
	if len(v.cache) != 0 {
		t.Fatal("Forget kept the entry")
	}
}

func TestValidatorConcurrent(t *testing.T) {
	v := NewValidator()
	m := model("pet", petSchema)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				body := `{"name":"rex","kind":"dog"}`
				if i%2 == 1 {
					body = `{"name":"rex"}`
				}
				err := v.ValidateBody(m, "application/json", []byte(body))
				if (err == nil) != (i%2 == 0) {
					t.Errorf("goroutine %d: %v", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSelectModel(t *testing.T) {
	models := map[string]string{"application/json": "Pet", "$default": "Any"}
	tests := []struct {
		name   string
		models map[string]string
		ct     string
		want   string
		wantOK bool
	}{
		{"exact", models, "application/json", "Pet", true},
		{"parameters and case", models, "Application/JSON; charset=utf-8", "Pet", true},
		{"falls back to $default", models, "text/plain", "Any", true},
		{"no content type: $default", models, "", "Any", true},
		{"no match, no default: not validated", map[string]string{"application/json": "Pet"}, "text/plain", "", false},
		{"no models", nil, "application/json", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := SelectModel(tc.models, tc.ct)
			if got != tc.want || ok != tc.wantOK {
				t.Fatalf("SelectModel = (%q, %v), want (%q, %v)", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestValidateParams(t *testing.T) {
	req := map[string]bool{
		"method.request.querystring.page": true,
		"method.request.header.X-Tenant":  true,
		"method.request.querystring.opt":  false, // not required
		"method.request.path.id":          true,  // routing guarantees it
		"bogus":                           true,  // refused by the control plane; skipped here
	}
	tests := []struct {
		name   string
		query  url.Values
		header http.Header
		want   string // "" = valid
	}{
		{"all present", url.Values{"page": {"1"}}, http.Header{"X-Tenant": {"t"}}, ""},
		{"header name case-insensitive", url.Values{"page": {"1"}}, http.Header{"X-Tenant": {"t"}}, ""},
		{"both missing, sorted", nil, nil, "Missing required request parameters: [X-Tenant, page]"},
		{"blank counts as missing", url.Values{"page": {"  "}}, http.Header{"X-Tenant": {""}}, "Missing required request parameters: [X-Tenant, page]"},
		{"one non-blank value is enough", url.Values{"page": {"", "2"}}, http.Header{"X-Tenant": {"t"}}, ""},
		{"query names are case-sensitive", url.Values{"Page": {"1"}}, http.Header{"X-Tenant": {"t"}}, "Missing required request parameters: [page]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tc.header {
				for _, v := range vs {
					h.Add(strings.ToLower(k), v) // Add canonicalises: lookups must too
				}
			}
			err := ValidateParams(req, tc.query, h)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Message != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseParamKey(t *testing.T) {
	tests := []struct {
		key, loc, name string
		ok             bool
	}{
		{"method.request.querystring.q", ParamQuery, "q", true},
		{"method.request.header.X-A.b", ParamHeader, "X-A.b", true},
		{"method.request.path.id", ParamPath, "id", true},
		{"method.request.body.x", "", "", false},
		{"method.request.header.", "", "", false},
		{"request.header.x", "", "", false},
	}
	for _, tc := range tests {
		loc, name, ok := ParseParamKey(tc.key)
		if loc != tc.loc || name != tc.name || ok != tc.ok {
			t.Errorf("ParseParamKey(%q) = (%q, %q, %v)", tc.key, loc, name, ok)
		}
	}
}

// FuzzValidateBody feeds arbitrary schemas and bodies: compiling and
// validating must never panic, and a body refused must be refused with a
// *ValidationError only when the schema compiled.
func FuzzValidateBody(f *testing.F) {
	f.Add(petSchema, `{"name":"rex","kind":"dog"}`)
	f.Add(`{"type":"array","items":{"$ref":"#"}}`, `[[[[]]]]`)
	f.Add(`{"definitions":{"a":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"}`, `1`)
	f.Add(`{"pattern":"^a+$","type":"string"}`, `"aaa"`)
	f.Add(`{"$schema":"http://json-schema.org/draft-07/schema#","if":{"type":"string"},"then":{"minLength":2}}`, `"a"`)
	f.Add(`{"$ref":"file:///etc/passwd"}`, `{}`)
	f.Add(`{"format":"email"}`, `"x@"`)
	f.Fuzz(func(t *testing.T, schema, body string) {
		v := NewValidator()
		m := gateway.Model{ID: "f", Name: "F", Schema: schema}
		_, cerr := v.Compile(m)
		err := v.ValidateBody(m, "application/json", []byte(body))
		var ve *ValidationError
		if errors.As(err, &ve) {
			if cerr != nil {
				t.Fatalf("schema did not compile (%v) but body refused as invalid", cerr)
			}
			if ve.Message != MsgInvalidBody || len(ve.Details) == 0 {
				t.Fatalf("bad ValidationError %+v", ve)
			}
		} else if (err != nil) != (cerr != nil) {
			t.Fatalf("compile error %v, validate error %v", cerr, err)
		}
	})
}
