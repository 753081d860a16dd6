package provision

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// TestStackClientRoundTrip stores, reads, lists, updates and deletes stack
// states through a real server, and checks that stale revisions are refused.
func TestStackClientRoundTrip(t *testing.T) {
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := NewStackClient(p.Endpoint, &http.Client{Timeout: 10 * time.Second})

	if s, rev, err := c.Load(ctx, "shop"); err != nil || s != nil || rev != 0 {
		t.Fatalf("Load of a missing stack = %v, %d, %v; want nil, 0, nil", s, rev, err)
	}
	state := &deploy.StackState{Stack: "shop", Status: deploy.StatusDeployed,
		Resources: map[string]*deploy.ResourceState{"Q": {Type: "Queue", PhysicalID: "http://q/shop-Q", Attrs: map[string]string{"Arn": "arn:q"}}},
		Outputs:   []deploy.Output{{Name: "Url", Value: "http://q/shop-Q"}}}
	rev1, err := c.Save(ctx, state, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Creating it again is a conflict, not an overwrite.
	if _, err := c.Save(ctx, state, 0); !errors.Is(err, ErrStackChanged) {
		t.Fatalf("second create: %v, want ErrStackChanged", err)
	}
	got, rev, err := c.Load(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if rev != rev1 || got.Resources["Q"].Attrs["Arn"] != "arn:q" || got.Outputs[0].Value != "http://q/shop-Q" {
		t.Fatalf("loaded %+v at %d (saved at %d)", got, rev, rev1)
	}
	got.Status = deploy.StatusFailed
	rev2, err := c.Save(ctx, got, rev1)
	if err != nil {
		t.Fatal(err)
	}
	if rev2 <= rev1 {
		t.Errorf("revision %d after %d", rev2, rev1)
	}
	// A deploy that read revision 1 cannot overwrite revision 2.
	if _, err := c.Save(ctx, state, rev1); !errors.Is(err, ErrStackChanged) {
		t.Fatalf("stale save: %v, want ErrStackChanged", err)
	}
	if _, err := c.Save(ctx, &deploy.StackState{Stack: "other"}, 0); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Stack != "other" || list[1].Stack != "shop" || list[1].Status != deploy.StatusFailed {
		t.Fatalf("list = %+v", list)
	}
	if err := c.Delete(ctx, "shop", rev1); !errors.Is(err, ErrStackChanged) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := c.Delete(ctx, "shop", rev2); err != nil {
		t.Fatal(err)
	}
	if s, _, err := c.Load(ctx, "shop"); err != nil || s != nil {
		t.Fatalf("after delete: %v, %v", s, err)
	}
	// A bad name is refused with the rule.
	if _, err := c.Save(ctx, &deploy.StackState{Stack: "9bad_name"}, 0); err == nil || !strings.Contains(err.Error(), "invalid stack name") {
		t.Fatalf("bad name: %v", err)
	}
}
