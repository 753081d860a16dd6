package invoke

import (
	"errors"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
)

func TestProvisionedConcurrency(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	e.publish(t, "fn", "one")
	e.publish(t, "fn", "two")
	if _, err := e.reg.CreateAlias(e.ctx, "fn", function.Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	snap, _ := e.reg.Snapshot(e.ctx, "fn")
	t1, _ := snap.Version(e.ctx, "1")
	t2, _ := snap.Version(e.ctx, "2")

	st, err := e.svc.PutProvisioned(e.ctx, "fn", "live", 3)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusReady || st.Requested != 3 || st.Allocated != 3 || st.Available != 3 || st.Qualifier != "live" || st.LastModified.IsZero() {
		t.Errorf("Put = %+v", st)
	}
	if got := e.pool.provisionedCopy(); len(got) != 1 || got[t1.Key] != 3 {
		t.Errorf("pool provisioned = %v, want 3 of version 1", got)
	}
	_, err = e.svc.PutProvisioned(e.ctx, "fn", function.Latest, 1)
	wantFault(t, err, fault.Invalid, "unpublished function versions")

	// Moving the alias moves the instances.
	two := "2"
	if _, err := e.reg.UpdateAlias(e.ctx, "fn", "live", function.AliasUpdate{FunctionVersion: &two}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "provisioned instances to follow the alias", func() bool {
		got := e.pool.provisionedCopy()
		return len(got) == 1 && got[t2.Key] == 3
	})
	// Routing weights split them.
	weights := map[string]float64{"1": 0.34}
	if _, err := e.reg.UpdateAlias(e.ctx, "fn", "live", function.AliasUpdate{AdditionalVersionWeights: &weights}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "provisioned instances to split", func() bool {
		got := e.pool.provisionedCopy()
		return got[t1.Key] == 1 && got[t2.Key] == 2
	})
	get, err := e.svc.GetProvisioned(e.ctx, "fn", "live")
	if err != nil || get.Status != StatusReady || get.Available != 3 {
		t.Errorf("Get = %+v, %v", get, err)
	}
	list, next, err := e.svc.ListProvisioned(e.ctx, "fn", function.Page{})
	if err != nil || next != "" || len(list) != 1 || list[0].Qualifier != "live" {
		t.Errorf("List = %+v, %q, %v", list, next, err)
	}
	_, err = e.svc.GetProvisioned(e.ctx, "fn", "1")
	wantFault(t, err, fault.NotFound, "No Provisioned Concurrency Config found")
	if !errors.Is(err, function.ErrNoProvisionedConfig) {
		t.Error("not ErrNoProvisionedConfig")
	}

	if err := e.svc.DeleteProvisioned(e.ctx, "fn", "live"); err != nil {
		t.Fatal(err)
	}
	if got := e.pool.provisionedCopy(); len(got) != 0 {
		t.Errorf("after Delete: pool provisioned = %v", got)
	}

	// A failure to start is reported, with the reason the pool gave.
	e.pool.mu.Lock()
	e.pool.provErr = fault.New(fault.Invalid, "python3 is not installed")
	e.pool.mu.Unlock()
	st, err = e.svc.PutProvisioned(e.ctx, "fn", "1", 1)
	if err != nil || st.Status != StatusFailed || st.StatusReason != "python3 is not installed" {
		t.Errorf("failed Put = %+v, %v", st, err)
	}
	e.pool.mu.Lock()
	e.pool.provErr = nil
	e.pool.mu.Unlock()
	// The next change retries it.
	if _, err := e.reg.PutConcurrency(e.ctx, "fn", 10); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed setting to be retried", func() bool { return e.pool.provisionedCopy()[t1.Key] == 1 })
}

// Settings stored before the service starts are applied at start.
func TestProvisionedAppliedAtStart(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn")
	e.publish(t, "fn", "one")
	if _, err := e.reg.PutProvisioned(e.ctx, "fn", "1", 2); err != nil {
		t.Fatal(err)
	}
	snap, _ := e.reg.Snapshot(e.ctx, "fn")
	t1, _ := snap.Version(e.ctx, "1")
	// The registry changed under the first service too; start a second
	// one on a fresh pool, as a restarted server would.
	e.pool = newFakePool()
	e.newService(t)
	waitFor(t, "stored provisioned concurrency to be applied", func() bool { return e.pool.provisionedCopy()[t1.Key] == 2 })

	// Deleting the function releases them.
	if err := e.reg.Delete(e.ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "provisioned instances to be released", func() bool { return len(e.pool.provisionedCopy()) == 0 })
}
