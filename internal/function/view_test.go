package function

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// changes records what OnChange reports.
type changes struct {
	mu  sync.Mutex
	got []string // "name:revision" or "name:deleted"
}

func (c *changes) record(name string, snap *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snap == nil {
		c.got = append(c.got, name+":deleted")
		return
	}
	c.got = append(c.got, name+":"+snap.Latest().Version.RevisionID)
}

func (c *changes) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func startView(t *testing.T, svc *Service) {
	t.Helper()
	if err := svc.StartView(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
}

// A process reads its own writes from the view at once, and subscribers
// hear of every change in order.
func TestViewReadsOwnWrites(t *testing.T) {
	e := newEnv(t)
	e.create(t, "before") // exists before the view starts: loaded initially
	startView(t, e.svc)
	var ch changes
	defer e.svc.OnChange(ch.record)()

	if _, err := e.svc.Snapshot(e.ctx, "before"); err != nil {
		t.Fatalf("initial load: %v", err)
	}
	f := e.create(t, "fn")
	snap, err := e.svc.Snapshot(e.ctx, "fn")
	if err != nil || snap.Latest().Version.RevisionID != f.RevisionID {
		t.Fatalf("after Create: %v, %v", snap, err)
	}
	createdKey := snap.Latest().Key

	v, err := e.svc.UpdateConfig(e.ctx, "fn", UpdateConfigInput{Timeout: ptr(9)})
	if err != nil {
		t.Fatal(err)
	}
	snap, _ = e.svc.Snapshot(e.ctx, "fn")
	if snap.Latest().Version.Timeout != 9 || snap.Latest().Key == createdKey {
		t.Errorf("after UpdateConfig: timeout %d, key changed %v", snap.Latest().Version.Timeout, snap.Latest().Key != createdKey)
	}
	if snap.Current(createdKey) || !snap.Current(snap.Latest().Key) {
		t.Error("Current: the old $LATEST key is still current, or the new one is not")
	}
	configKey := snap.Latest().Key

	// Publishing renews $LATEST's revision but not its code or
	// configuration: the key stays, instances stay warm.
	v1, err := e.svc.PublishVersion(e.ctx, "fn", PublishInput{})
	if err != nil {
		t.Fatal(err)
	}
	snap, _ = e.svc.Snapshot(e.ctx, "fn")
	if snap.Latest().Key != configKey {
		t.Error("publishing changed $LATEST's key")
	}
	t1, err := snap.Version(e.ctx, "1")
	if err != nil || t1.Version.RevisionID != v1.RevisionID || t1.Key == configKey {
		t.Fatalf("version 1 = %+v, %v", t1, err)
	}
	if !snap.Current(t1.Key) {
		t.Error("version 1's key is not current")
	}

	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "live", FunctionVersion: "1", AdditionalVersionWeights: nil}); err != nil {
		t.Fatal(err)
	}
	got, alias, err := e.svc.Resolve(e.ctx, "fn", "live")
	if err != nil || alias == nil || alias.Name != "live" || got.Version != "1" {
		t.Fatalf("Resolve live = %+v, %+v, %v", got, alias, err)
	}
	_, _, err = e.svc.Resolve(e.ctx, "fn", "nope")
	wantFault(t, err, fault.NotFound, "function:fn:nope")
	_, _, err = e.svc.Resolve(e.ctx, "fn", "7")
	wantFault(t, err, fault.NotFound, "function:fn:7")
	_, _, err = e.svc.Resolve(e.ctx, "missing", "live")
	wantFault(t, err, fault.NotFound, "function:missing:live")

	if _, err := e.svc.PutConcurrency(e.ctx, "fn", 5); err != nil {
		t.Fatal(err)
	}
	if snap, _ := e.svc.Snapshot(e.ctx, "fn"); snap.Reserved == nil || *snap.Reserved != 5 {
		t.Errorf("reserved = %v", snap.Reserved)
	}

	if err := e.svc.Delete(e.ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Snapshot(e.ctx, "fn")
	wantFault(t, err, fault.NotFound, "function:fn")

	got2 := ch.list()
	if len(got2) < 6 || got2[0] != "fn:"+f.RevisionID || got2[1] != "fn:"+v.RevisionID || got2[len(got2)-1] != "fn:deleted" {
		t.Errorf("changes = %v", got2)
	}
	if names := snapshotNames(e.svc); !slices.Equal(names, []string{"before"}) {
		t.Errorf("Snapshots = %v", names)
	}
}

func snapshotNames(s *Service) []string {
	var out []string
	for _, snap := range s.Snapshots() {
		out = append(out, snap.Name)
	}
	return out
}

// Changes made by another process (another node on the same store) reach
// the view through the store's watch; deletes too.
func TestViewFollowsOtherWriters(t *testing.T) {
	e := newEnv(t)
	startView(t, e.svc)
	var ch changes
	defer e.svc.OnChange(ch.record)()

	other, err := New(e.ctx, Options{Store: e.st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	f, err := other.Create(e.ctx, CreateInput{FunctionName: "remote", Config: Config{Runtime: "python3.12", Handler: "app.handler", Role: testRole}, ZipFile: pyZip(t, "r"), Publish: true})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		snap, err := e.svc.Snapshot(e.ctx, "remote")
		return err == nil && snap.HasVersion("1")
	})
	snap, _ := e.svc.Snapshot(e.ctx, "remote")
	// Version 1 was written by the other process: read once, on first use.
	t1, err := snap.Version(e.ctx, "1")
	if err != nil || t1.Version.CodeSha256 != f.CodeSha256 {
		t.Fatalf("version 1 = %+v, %v", t1, err)
	}
	if vs := snap.Versions(); !slices.Equal(vs, []string{"1"}) {
		t.Errorf("Versions = %v", vs)
	}

	if err := other.Delete(e.ctx, "remote", ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := e.svc.Snapshot(e.ctx, "remote")
		return fault.Is(err, fault.NotFound)
	})
	waitFor(t, func() bool {
		got := ch.list()
		return len(got) > 0 && got[len(got)-1] == "remote:deleted"
	})
}

// A late watch event never undoes a newer write; a deletion at the same
// revision wins over the document.
func TestViewIgnoresStaleRevisions(t *testing.T) {
	e := newEnv(t)
	startView(t, e.svc)
	e.create(t, "fn")
	snap, _ := e.svc.Snapshot(e.ctx, "fn")
	d := &fnDoc{Schema: docSchema, Latest: snap.Latest().Version}
	d.Latest.Timeout = 77

	e.svc.view.put("fn", snap.Revision-1, d, nil)
	if now, _ := e.svc.Snapshot(e.ctx, "fn"); now != snap {
		t.Error("an older revision replaced the snapshot")
	}
	e.svc.view.put("fn", snap.Revision, d, nil)
	if now, _ := e.svc.Snapshot(e.ctx, "fn"); now != snap {
		t.Error("the same revision replaced the snapshot")
	}
	e.svc.view.remove("fn", snap.Revision)
	if _, err := e.svc.Snapshot(e.ctx, "fn"); !fault.Is(err, fault.NotFound) {
		t.Errorf("deletion at the same revision: %v", err)
	}
	e.svc.view.put("fn", snap.Revision, d, nil)
	if _, err := e.svc.Snapshot(e.ctx, "fn"); !fault.Is(err, fault.NotFound) {
		t.Error("the deleted document came back")
	}
	e.svc.view.put("fn", snap.Revision+100, d, nil)
	if now, err := e.svc.Snapshot(e.ctx, "fn"); err != nil || now.Latest().Version.Timeout != 77 {
		t.Errorf("a newer revision was not applied: %v", err)
	}
}

// Before StartView, Snapshot reads the store.
func TestSnapshotWithoutView(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn", func(in *CreateInput) { in.Publish = true })
	snap, err := e.svc.Snapshot(e.ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	if t1, err := snap.Version(e.ctx, "1"); err != nil || t1.Version.Version != "1" {
		t.Errorf("version 1 = %+v, %v", t1, err)
	}
	if len(e.svc.Snapshots()) != 0 {
		t.Error("Snapshots before StartView")
	}
	_, err = e.svc.Snapshot(e.ctx, "nope")
	wantFault(t, err, fault.NotFound, "function:nope")
}

// ReadPackage reads exactly the package a version names.
func TestReadPackage(t *testing.T) {
	e := newEnv(t)
	f := e.create(t, "fn", func(in *CreateInput) { in.Publish = true })
	if _, err := e.svc.UpdateCode(e.ctx, "fn", UpdateCodeInput{ZipFile: pyZip(t, "two")}); err != nil {
		t.Fatal(err)
	}
	v1, _, err := e.svc.Resolve(e.ctx, "fn", "1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.ReadPackage(e.ctx, v1)
	if err != nil || sha(b) != f.CodeSha256 {
		t.Errorf("ReadPackage(1): %v", err)
	}
	// Another process reads it from the store.
	other, err := New(e.ctx, Options{Store: e.st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := other.ReadPackage(e.ctx, v1); err != nil || sha(b) != f.CodeSha256 {
		t.Errorf("ReadPackage(1) from the store: %v", err)
	}
	v1.CodeKey += "-gone"
	_, err = other.ReadPackage(e.ctx, v1)
	wantFault(t, err, fault.NotFound, "function:fn:1")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("condition not met in time")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestRecentCode(t *testing.T) {
	r := recentCode{budget: 10}
	r.put("a", []byte("12345"))
	r.put("b", []byte("1234"))
	r.put("big", []byte("12345678901"))
	if _, ok := r.get("big"); ok {
		t.Error("a package over the budget was kept")
	}
	r.put("c", []byte("123"))
	if _, ok := r.get("a"); ok {
		t.Error("the oldest package was not evicted")
	}
	for _, k := range []string{"b", "c"} {
		if _, ok := r.get(k); !ok {
			t.Errorf("%s was evicted", k)
		}
	}
}
