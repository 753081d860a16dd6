package gateway

import (
	"strings"
	"testing"
)

type fuzzDefs map[string]*APIDoc

func (d fuzzDefs) Snapshot(id string) *APIDoc { return d[id] }
func (d fuzzDefs) DefaultAPI() *APIDoc {
	for _, doc := range d {
		if doc.API.Default {
			return doc
		}
	}
	return nil
}

// FuzzSelect checks API and stage selection on arbitrary hosts and paths:
// no panic, and what is left of the path is always a suffix of it that
// starts with "/", so routing and the events get a well-formed path.
func FuzzSelect(f *testing.F) {
	defs := fuzzDefs{
		"abc123": {API: API{ID: "abc123"}, Stages: map[string]Stage{"prod": {Name: "prod"}, "$default": {Name: "$default"}}},
		"dflt":   {API: API{ID: "dflt", Default: true}, Stages: map[string]Stage{"v1": {Name: "v1"}}},
		"off":    {API: API{ID: "off", DisableExecuteAPIEndpoint: true}, Stages: map[string]Stage{"$default": {Name: "$default"}}},
	}
	for _, s := range [][2]string{
		{"abc123.execute-api.localhost:3000", "/prod/pets/1"},
		{"127.0.0.1:3000", "/abc123/prod/x"},
		{"127.0.0.1:3000", "/v1/x"},
		{"[::1]:3000", "/"},
		{"off.execute-api.localhost", "/x"},
		{".execute-api.", "//"},
		{"x.execute-api.", "/%24default/a"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, host, path string) {
		doc, rest := selectAPI(defs, host, path)
		if doc == nil {
			if rest != "" {
				t.Fatalf("no API but rest %q", rest)
			}
			return
		}
		norm := path
		if norm == "" || norm[0] != '/' {
			norm = "/" + norm
		}
		if !strings.HasPrefix(rest, "/") || !strings.HasSuffix(norm, strings.TrimPrefix(rest, "/")) {
			t.Fatalf("selectAPI(%q, %q) rest = %q", host, path, rest)
		}
		if id, ok := hostAPIID(host); ok && doc.API.ID != id {
			t.Fatalf("host names %q but API %q was chosen", id, doc.API.ID)
		}
		if doc.API.DisableExecuteAPIEndpoint {
			t.Fatalf("disabled API %q reached", doc.API.ID)
		}
		name, st, after, ok := selectStage(doc, rest)
		if !ok {
			if _, has := doc.Stages["$default"]; has {
				t.Fatalf("no stage although $default exists (rest %q)", rest)
			}
			return
		}
		if st == nil || st.Name != name {
			t.Fatalf("stage %q, %+v", name, st)
		}
		if !strings.HasPrefix(after, "/") || !strings.HasSuffix(rest, strings.TrimPrefix(after, "/")) {
			t.Fatalf("selectStage(%q) after = %q", rest, after)
		}
		if name == "$default" && after != rest {
			t.Fatalf("$default stage changed the path %q to %q", rest, after)
		}
	})
}
