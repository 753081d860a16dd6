package function

import (
	"errors"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func TestProvisionedConfigs(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn", func(in *CreateInput) { in.Publish = true })
	if _, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Timeout: ptr(5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "dev", FunctionVersion: Latest}); err != nil {
		t.Fatal(err)
	}

	refusals := []struct {
		name, qualifier string
		n               int
		kind            fault.Kind
		msg             string
	}{
		{"fn", Latest, 1, fault.Invalid, "cannot be applied to unpublished function versions"},
		{"fn", "dev", 1, fault.Invalid, "cannot be applied to unpublished function versions"},
		{"fn", "", 1, fault.Invalid, "'qualifier'"},
		{"fn", "1", 0, fault.Invalid, "greater than or equal to 1"},
		{"fn", "9", 1, fault.NotFound, "Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn:9"},
		{"fn", "nope", 1, fault.NotFound, "Cannot find alias arn: arn:aws:lambda:us-east-1:000000000000:function:fn:nope"},
		{"missing", "1", 1, fault.NotFound, "function:missing"},
		{"fn", "1", 1000, fault.Invalid, "unreserved concurrency"},
	}
	for _, r := range refusals {
		_, err := e.svc.PutProvisioned(e.ctx, r.name, r.qualifier, r.n)
		wantFault(t, err, r.kind, r.msg)
	}

	c, err := e.svc.PutProvisioned(e.ctx, "fn", "live", 2)
	if err != nil || c.Requested != 2 || c.Qualifier != "live" || c.LastModified.IsZero() {
		t.Fatalf("Put live = %+v, %v", c, err)
	}
	// An alias and the version it points to cannot both be provisioned.
	_, err = e.svc.PutProvisioned(e.ctx, "fn", "1", 1)
	wantFault(t, err, fault.Conflict, "Version is pointed by a Provisioned Concurrency alias")
	if _, err := e.svc.PutProvisioned(e.ctx, "fn", "2", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "two", FunctionVersion: "2"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.PutProvisioned(e.ctx, "fn", "two", 1)
	wantFault(t, err, fault.Conflict, "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")

	// With reserved concurrency, all settings must fit in it.
	if _, err := e.svc.PutConcurrency(e.ctx, "fn", 5); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.PutProvisioned(e.ctx, "fn", "live", 3)
	wantFault(t, err, fault.Invalid, "should not be greater than the reservedConcurrentExecution")
	if _, err := e.svc.PutProvisioned(e.ctx, "fn", "live", 2); err != nil {
		t.Errorf("re-putting the same value: %v", err)
	}

	got, err := e.svc.GetProvisioned(e.ctx, "fn", "live")
	if err != nil || got.Requested != 2 {
		t.Errorf("Get live = %+v, %v", got, err)
	}
	_, err = e.svc.GetProvisioned(e.ctx, "fn", "two")
	wantFault(t, err, fault.NotFound, "No Provisioned Concurrency Config found for this function")
	if !errors.Is(err, ErrNoProvisionedConfig) {
		t.Error("Get of an unset qualifier does not wrap ErrNoProvisionedConfig")
	}
	_, err = e.svc.GetProvisioned(e.ctx, "fn", Latest)
	wantFault(t, err, fault.Invalid, "must be an alias or a published version")

	list, next, err := e.svc.ListProvisioned(e.ctx, "fn", Page{})
	if err != nil || next != "" || len(list) != 2 || list[0].Qualifier != "2" || list[1].Qualifier != "live" {
		t.Errorf("List = %+v, %q, %v", list, next, err)
	}
	page1, next, err := e.svc.ListProvisioned(e.ctx, "fn", Page{MaxItems: 1})
	if err != nil || len(page1) != 1 || next == "" {
		t.Fatalf("List page 1 = %+v, %q, %v", page1, next, err)
	}
	page2, next, err := e.svc.ListProvisioned(e.ctx, "fn", Page{MaxItems: 1, Marker: next})
	if err != nil || len(page2) != 1 || page2[0].Qualifier != "live" || next != "" {
		t.Errorf("List page 2 = %+v, %q, %v", page2, next, err)
	}

	// The view carries the settings.
	snap, err := e.svc.Snapshot(e.ctx, "fn")
	if err != nil || snap.Provisioned["live"].Requested != 2 {
		t.Errorf("snapshot provisioned = %+v, %v", snap.Provisioned, err)
	}

	if err := e.svc.DeleteProvisioned(e.ctx, "fn", "live"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteProvisioned(e.ctx, "fn", "live"); err != nil {
		t.Errorf("deleting again: %v", err)
	}
	err = e.svc.DeleteProvisioned(e.ctx, "fn", "nope")
	wantFault(t, err, fault.NotFound, "Cannot find alias arn")
	// Deleting an alias or a version drops its setting.
	if _, err := e.svc.PutProvisioned(e.ctx, "fn", "live", 1); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteAlias(e.ctx, "fn", "live"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DeleteAlias(e.ctx, "fn", "two"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(e.ctx, "fn", "2"); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := e.svc.ListProvisioned(e.ctx, "fn", Page{}); len(list) != 0 {
		t.Errorf("after deleting alias and version: %+v", list)
	}
}
