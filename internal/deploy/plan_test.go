package deploy

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func load(t *testing.T, path string, params map[string]string) *manifest.Application {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	app, err := manifest.Load(path, data, manifest.Options{Parameters: params, Pseudo: manifest.Pseudo{StackName: "test"}})
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return app
}

// golden compares the plan's JSON with testdata/name.golden.json.
func golden(t *testing.T, name string, p *Plan) {
	t.Helper()
	var got bytes.Buffer
	if err := p.WriteJSON(&got); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("plan %s differs from %s (go test -update rewrites it):\n%s", name, path, got.String())
	}
}

func TestGoldenEmptyState(t *testing.T) {
	templates, err := filepath.Glob("../manifest/testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	templates = append(templates, "testdata/app_v1.yaml", "testdata/app_v2.yaml")
	if len(templates) < 4 {
		t.Fatalf("found only %v", templates)
	}
	for _, path := range templates {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			app := load(t, path, nil)
			p, err := ComputePlan(app, &StackState{Stack: "test"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Changes) != len(app.Resources) {
				t.Fatalf("%d changes for %d resources", len(p.Changes), len(app.Resources))
			}
			checkOrder(t, p)
			for _, c := range p.Changes {
				if c.Action != Create || c.Resource == nil || c.Previous != nil {
					t.Errorf("%s: action %s against an empty stack", c.LogicalID, c.Action)
				}
			}
			want := "to create, 0 to update, 0 to delete, 0 unchanged"
			if !strings.HasSuffix(p.Summary(), want) {
				t.Errorf("Summary = %q", p.Summary())
			}
			golden(t, name+".empty", p)
			// Planning the same template over its own state changes nothing.
			again, err := ComputePlan(app, NewState("test", app, nil), nil)
			if err != nil {
				t.Fatal(err)
			}
			if again.HasChanges() || again.Summary() != "no changes" {
				t.Errorf("replan: %s", again.Summary())
			}
		})
	}
}

// checkOrder asserts every create/update comes after the resources it
// depends on, and every delete before the deleted resources it depends on.
func checkOrder(t *testing.T, p *Plan) {
	t.Helper()
	at := map[string]int{}
	for i, c := range p.Changes {
		at[c.LogicalID] = i
	}
	for i, c := range p.Changes {
		var deps []string
		if c.Resource != nil {
			deps = c.Resource.DependsOn
		} else {
			deps = c.Previous.DependsOn
		}
		for _, d := range deps {
			j, ok := at[d]
			if !ok {
				continue
			}
			if c.Action == Delete && p.Changes[j].Action == Delete && j < i {
				t.Errorf("%s is deleted after its dependency %s", c.LogicalID, d)
			}
			if c.Action != Delete && j > i {
				t.Errorf("%s comes before its dependency %s", c.LogicalID, d)
			}
		}
	}
}

func TestGoldenModified(t *testing.T) {
	for _, tt := range []struct {
		name             string
		before, after    string
		beforeP, afterP  map[string]string
		beforeCode, code map[string]string
		create, upd, del []string
		wantChanged      map[string][]string
	}{
		{
			name: "app_v1_to_v2", before: "testdata/app_v1.yaml", after: "testdata/app_v2.yaml",
			beforeCode: map[string]string{"ApiFunction": "aaa", "WorkerFunction": "bbb"},
			code:       map[string]string{"ApiFunction": "aaa", "WorkerFunction": "ccc"},
			create:     []string{"AuditQueue"},
			upd:        []string{"ApiFunction", "WorkerFunction", "WorkerFunctionOrders"},
			del:        []string{"AlertsSubscription", "AlertsTopic"},
			wantChanged: map[string][]string{
				"ApiFunction":    {"Environment", "Timeout", "DependsOn"},
				"WorkerFunction": {"Code"},
			},
		},
		{
			name: "conditions_dev_to_prod", before: "../manifest/testdata/conditions.yaml", after: "../manifest/testdata/conditions.yaml",
			beforeP: map[string]string{"Env": "dev"}, afterP: map[string]string{"Env": "prod"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prev := NewState("test", load(t, tt.before, tt.beforeP), tt.beforeCode)
			// The state must survive the store's JSON round trip.
			raw, err := json.Marshal(prev)
			if err != nil {
				t.Fatal(err)
			}
			var stored StackState
			if err := json.Unmarshal(raw, &stored); err != nil {
				t.Fatal(err)
			}
			app := load(t, tt.after, tt.afterP)
			p, err := ComputePlan(app, &stored, tt.code)
			if err != nil {
				t.Fatal(err)
			}
			checkOrder(t, p)
			if !p.HasChanges() {
				t.Fatal("no changes between different templates")
			}
			by := map[Action][]string{}
			for _, c := range p.Changes {
				by[c.Action] = append(by[c.Action], c.LogicalID)
			}
			for action, want := range map[Action][]string{Create: tt.create, Update: tt.upd, Delete: tt.del} {
				if want == nil {
					continue
				}
				got := slices.Clone(by[action])
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("%s = %v, want %v", action, got, want)
				}
			}
			for _, c := range p.Changes {
				if want, ok := tt.wantChanged[c.LogicalID]; ok && !slices.Equal(c.Changed, want) {
					t.Errorf("%s changed %v, want %v", c.LogicalID, c.Changed, want)
				}
			}
			golden(t, tt.name, p)
		})
	}
}
