package deploy

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/manifest"
)

func TestComputePlanNoApplication(t *testing.T) {
	if _, err := ComputePlan(nil, nil, nil); err == nil {
		t.Fatal("no error for a nil application")
	}
}

func TestPlanDetails(t *testing.T) {
	app := load(t, "testdata/app_v1.yaml", nil)
	base := func() *StackState { return NewState("s", app, map[string]string{"WorkerFunction": "old"}) }
	tests := []struct {
		name    string
		prev    func() *StackState
		code    map[string]string
		want    map[string]Action // checked ids
		changed map[string][]string
		replace string
		gone    string   // an id whose previous property "Gone" was removed
		order   []string // ids expected in this relative order
	}{
		{
			name: "unknown code is not a change",
			prev: base,
			want: map[string]Action{"WorkerFunction": None, "ApiFunction": None},
		},
		{
			name: "same code",
			prev: base, code: map[string]string{"WorkerFunction": "old", "ApiFunction": "x"},
			want: map[string]Action{"WorkerFunction": None, "ApiFunction": None},
		},
		{
			name: "new code",
			prev: base, code: map[string]string{"WorkerFunction": "new"},
			want:    map[string]Action{"WorkerFunction": Update},
			changed: map[string][]string{"WorkerFunction": {"Code"}},
		},
		{
			name: "type changed under the same id",
			prev: func() *StackState {
				s := base()
				s.Resources["OrdersQueue"].Type = manifest.TypeTopic
				return s
			},
			want: map[string]Action{"OrdersQueue": Update}, replace: "OrdersQueue",
		},
		{
			name: "definition-only and removed property",
			prev: func() *StackState {
				s := base()
				s.Resources["OrdersQueue"].Digest = "x"
				s.Resources["ApiFunctionRole"].Digest = "x"
				s.Resources["ApiFunctionRole"].Properties = map[string]string{"Gone": "1"}
				return s
			},
			want:    map[string]Action{"OrdersQueue": Update, "ApiFunctionRole": Update},
			changed: map[string][]string{"OrdersQueue": {"definition"}},
			gone:    "ApiFunctionRole",
		},
		{
			name: "deletes in reverse dependency order",
			prev: func() *StackState {
				s := base()
				s.Resources["OldA"] = &ResourceState{Type: manifest.TypeQueue, Digest: "a"}
				s.Resources["OldC"] = &ResourceState{Type: manifest.TypeFunction, Digest: "c", DependsOn: []string{"OldB", "OrdersQueue"}}
				s.Resources["OldB"] = &ResourceState{Type: manifest.TypeAlias, Digest: "b", DependsOn: []string{"OldA"}}
				return s
			},
			want:  map[string]Action{"OldA": Delete, "OldB": Delete, "OldC": Delete, "OrdersQueue": None},
			order: []string{"OrdersQueue", "OldC", "OldB", "OldA"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ComputePlan(app, tt.prev(), tt.code)
			if err != nil {
				t.Fatal(err)
			}
			idx := map[string]int{}
			for i, c := range p.Changes {
				idx[c.LogicalID] = i
				if want, ok := tt.want[c.LogicalID]; ok && c.Action != want {
					t.Errorf("%s: %s, want %s (%s)", c.LogicalID, c.Action, want, c.Reason)
				}
				if want, ok := tt.changed[c.LogicalID]; ok && !slices.Equal(c.Changed, want) {
					t.Errorf("%s changed %v, want %v", c.LogicalID, c.Changed, want)
				}
				if c.LogicalID == tt.gone && !slices.Contains(c.Changed, "Gone") {
					t.Errorf("%s changed %v, want the removed property Gone in it", c.LogicalID, c.Changed)
				}
				if c.Replace != (c.LogicalID == tt.replace) {
					t.Errorf("%s: Replace = %v", c.LogicalID, c.Replace)
				}
				if c.Action == Update && !strings.Contains(c.Reason, strings.Join(c.Changed, ", ")) && !c.Replace {
					t.Errorf("%s: reason %q does not name %v", c.LogicalID, c.Reason, c.Changed)
				}
			}
			if len(idx) != len(p.Changes) {
				t.Errorf("duplicate logical ids in %d changes", len(p.Changes))
			}
			for i := 1; i < len(tt.order); i++ {
				if idx[tt.order[i-1]] >= idx[tt.order[i]] {
					t.Errorf("%s should come before %s", tt.order[i-1], tt.order[i])
				}
			}
		})
	}
}

func TestSummaryAndTable(t *testing.T) {
	p := &Plan{Stack: "s", Changes: []*Change{
		{LogicalID: "A", ResourceType: manifest.TypeQueue, CFNType: "AWS::SQS::Queue", Action: Create, Reason: "new"},
		{LogicalID: "B", ResourceType: manifest.TypeRoute, Action: Update, Reason: "changed: Path"},
		{LogicalID: "C", ResourceType: manifest.TypeTopic, Action: None},
		{LogicalID: "D", ResourceType: manifest.TypeTopic, Action: None},
	}}
	if got, want := p.Summary(), "1 to create, 1 to update, 0 to delete, 2 unchanged"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	var b bytes.Buffer
	if err := p.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	want := `ACTION   LOGICAL ID   TYPE    CLOUDFORMATION TYPE   REASON
create   A            Queue   AWS::SQS::Queue       new
update   B            Route   -                     changed: Path
none     C            Topic   -                     -
none     D            Topic   -                     -

stack s: 1 to create, 1 to update, 0 to delete, 2 unchanged
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	empty := &Plan{Stack: "s"}
	if empty.Summary() != "no changes" {
		t.Errorf("empty Summary = %q", empty.Summary())
	}
}

func TestPhysicalIDsCarryOver(t *testing.T) {
	app := load(t, "testdata/app_v1.yaml", nil)
	prev := NewState("s", app, nil)
	prev.Resources["OrdersQueue"].PhysicalID = "http://q/orders"
	prev.Resources["Old"] = &ResourceState{Type: manifest.TypeTopic, Digest: "d", PhysicalID: "arn:old"}
	p, err := ComputePlan(app, prev, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range p.Changes {
		if c.PhysicalID != "" {
			got[c.LogicalID] = c.PhysicalID
		}
	}
	if len(got) != 2 || got["OrdersQueue"] != "http://q/orders" || got["Old"] != "arn:old" {
		t.Errorf("physical ids = %v", got)
	}
	if p.Stack != "s" || p.Summary() != "0 to create, 0 to update, 1 to delete, 12 unchanged" {
		t.Errorf("stack %q, summary %q", p.Stack, p.Summary())
	}
}
