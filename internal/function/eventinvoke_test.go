package function

import (
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

func qualifiersOf(cs []EventInvokeConfig) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, c.Qualifier)
	}
	return out
}

func TestEventInvokeConfigs(t *testing.T) {
	e := newEnv(t)
	e.create(t, "fn", func(in *CreateInput) { in.Publish = true })
	e.create(t, "dest")
	if _, err := e.svc.CreateAlias(e.ctx, "fn", Alias{Name: "live", FunctionVersion: "1"}); err != nil {
		t.Fatal(err)
	}
	const (
		arnFn    = "arn:aws:lambda:us-east-1:000000000000:function:fn"
		arnDest  = "arn:aws:lambda:us-east-1:000000000000:function:dest"
		arnQueue = "arn:aws:sqs:us-east-1:000000000000:failures"
	)
	put := func(u EventInvokeUpdate) EventInvokeUpdate { u.Replace = true; return u }

	refusals := []struct {
		what, name, qualifier string
		u                     EventInvokeUpdate
		kind                  fault.Kind
		msg                   string
	}{
		{"nothing to set", "fn", "", put(EventInvokeUpdate{}), fault.Invalid, "You must specify at least one of error handling or destination setting."},
		{"retries above the limit", "fn", "", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(3)}), fault.Invalid,
			"1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2"},
		{"negative retries", "fn", "", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(-1)}), fault.Invalid, "greater than or equal to 0"},
		{"age too short", "fn", "", put(EventInvokeUpdate{MaximumEventAgeInSeconds: ptr(59)}), fault.Invalid,
			"Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60"},
		{"age too long", "fn", "", put(EventInvokeUpdate{MaximumEventAgeInSeconds: ptr(21601)}), fault.Invalid, "less than or equal to 21600"},
		{"not an ARN", "fn", "", put(EventInvokeUpdate{OnFailure: ptr("queue")}), fault.Invalid,
			"Value 'queue' at 'destinationConfig.onFailure.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: "},
		{"unsupported service", "fn", "", put(EventInvokeUpdate{OnSuccess: ptr("arn:aws:iam::000000000000:role/r")}), fault.Invalid,
			"The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:iam::000000000000:role/r), onFailure=null) is invalid."},
		{"S3 has nowhere to go", "fn", "", put(EventInvokeUpdate{OnFailure: ptr("arn:aws:s3:::bucket")}), fault.Invalid, "onFailure=OnFailure(destination=arn:aws:s3:::bucket)) is invalid."},
		{"malformed queue", "fn", "", put(EventInvokeUpdate{OnFailure: ptr("arn:aws:sqs:us-east-1:000000000000:a/b")}), fault.Invalid, "is invalid."},
		{"missing destination function", "fn", "", put(EventInvokeUpdate{OnSuccess: ptr(arnDest + "x")}), fault.Invalid,
			"The destination ARN " + arnDest + "x is invalid."},
		{"missing destination qualifier", "fn", "", put(EventInvokeUpdate{OnSuccess: ptr(arnDest + ":7")}), fault.Invalid, "is invalid."},
		{"itself", "fn", "", put(EventInvokeUpdate{OnSuccess: ptr(arnFn + ":live")}), fault.Invalid, "You can't specify the function as a destination for itself."},
		{"missing function", "missing", "", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(1)}), fault.NotFound, "The function doesn't exist."},
		{"missing version", "fn", "9", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(1)}), fault.NotFound, "The function doesn't exist."},
		{"missing alias", "fn", "nope", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(1)}), fault.NotFound, "The function doesn't exist."},
		{"bad qualifier", "fn", "a:b", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(1)}), fault.Invalid, "'qualifier'"},
		{"update without a config", "fn", "", EventInvokeUpdate{MaximumRetryAttempts: ptr(1)}, fault.NotFound,
			"The function " + arnFn + ":$LATEST doesn't have an EventInvokeConfig"},
		{"update of a missing function", "missing", "", EventInvokeUpdate{MaximumRetryAttempts: ptr(1)}, fault.NotFound, "The function doesn't exist."},
	}
	for _, r := range refusals {
		t.Run(r.what, func(t *testing.T) {
			_, err := e.svc.PutEventInvokeConfig(e.ctx, r.name, r.qualifier, r.u)
			wantFault(t, err, r.kind, r.msg)
		})
	}

	created := e.clock.Now()
	c, err := e.svc.PutEventInvokeConfig(e.ctx, "fn", "", put(EventInvokeUpdate{
		MaximumRetryAttempts: ptr(0), MaximumEventAgeInSeconds: ptr(60), OnSuccess: ptr(arnDest + ":$LATEST"), OnFailure: ptr(arnQueue),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Qualifier != Latest || *c.MaximumRetryAttempts != 0 || *c.MaximumEventAgeInSeconds != 60 ||
		c.OnSuccess != arnDest+":$LATEST" || c.OnFailure != arnQueue || !c.LastModified.Equal(created) {
		t.Fatalf("Put = %+v", c)
	}

	// Put replaces every field: those left out are cleared.
	c, err = e.svc.PutEventInvokeConfig(e.ctx, "fn", Latest, put(EventInvokeUpdate{MaximumRetryAttempts: ptr(1)}))
	if err != nil || *c.MaximumRetryAttempts != 1 || c.MaximumEventAgeInSeconds != nil || c.OnSuccess != "" || c.OnFailure != "" {
		t.Fatalf("Put over a config = %+v, %v", c, err)
	}

	// Update keeps the fields left out, and "" clears a destination.
	if _, err := e.svc.PutEventInvokeConfig(e.ctx, "fn", "", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(2), MaximumEventAgeInSeconds: ptr(60), OnFailure: ptr(arnQueue)})); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	c, err = e.svc.PutEventInvokeConfig(e.ctx, "fn", "", EventInvokeUpdate{MaximumEventAgeInSeconds: ptr(120), OnSuccess: ptr("arn:aws:sns:us-east-1:000000000000:done")})
	if err != nil || *c.MaximumRetryAttempts != 2 || *c.MaximumEventAgeInSeconds != 120 || c.OnFailure != arnQueue ||
		c.OnSuccess != "arn:aws:sns:us-east-1:000000000000:done" || !c.LastModified.Equal(created.Add(time.Minute)) {
		t.Fatalf("Update = %+v, %v", c, err)
	}
	c, err = e.svc.PutEventInvokeConfig(e.ctx, "fn", "", EventInvokeUpdate{OnFailure: ptr("")})
	if err != nil || c.OnFailure != "" || c.OnSuccess == "" || *c.MaximumRetryAttempts != 2 {
		t.Fatalf("Update clearing OnFailure = %+v, %v", c, err)
	}
	got, err := e.svc.GetEventInvokeConfig(e.ctx, "fn", Latest)
	if err != nil || got.OnSuccess != c.OnSuccess || *got.MaximumEventAgeInSeconds != 120 || !got.LastModified.Equal(c.LastModified) {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, c)
	}

	// A config on an alias and one on a version; an event bus destination.
	if _, err := e.svc.PutEventInvokeConfig(e.ctx, "fn", "live", put(EventInvokeUpdate{OnFailure: ptr("arn:aws:events:us-east-1:000000000000:event-bus/default")})); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PutEventInvokeConfig(e.ctx, "fn", "1", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(0)})); err != nil {
		t.Fatal(err)
	}

	snap, err := e.svc.Snapshot(e.ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	if sc := snap.EventInvokeFor(""); sc == nil || *sc.MaximumEventAgeInSeconds != 120 {
		t.Errorf("EventInvokeFor($LATEST) = %+v", sc)
	}
	if sc := snap.EventInvokeFor("live"); sc == nil || sc.OnFailure == "" {
		t.Errorf("EventInvokeFor(live) = %+v", sc)
	}
	if sc := snap.EventInvokeFor("2"); sc != nil {
		t.Errorf("EventInvokeFor(2) = %+v, want nil", sc)
	}

	// Listing: $LATEST, versions, aliases; paged.
	all, next, err := e.svc.ListEventInvokeConfigs(e.ctx, "fn", Page{})
	if err != nil || next != "" || !slices.Equal(qualifiersOf(all), []string{Latest, "1", "live"}) {
		t.Fatalf("List = %v, %q, %v", qualifiersOf(all), next, err)
	}
	var paged []EventInvokeConfig
	p := Page{MaxItems: 1}
	for range 4 {
		page, next, err := e.svc.ListEventInvokeConfigs(e.ctx, "fn", p)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, page...)
		if next == "" {
			break
		}
		p.Marker = next
	}
	if !slices.Equal(qualifiersOf(paged), []string{Latest, "1", "live"}) {
		t.Errorf("paged = %v", qualifiersOf(paged))
	}
	_, _, err = e.svc.ListEventInvokeConfigs(e.ctx, "fn", Page{MaxItems: 51})
	wantFault(t, err, fault.Invalid, "Member must have value less than or equal to 50")
	_, _, err = e.svc.ListEventInvokeConfigs(e.ctx, "missing", Page{})
	wantFault(t, err, fault.NotFound, "The function doesn't exist.")

	// Deleting an alias or a version deletes its config.
	if err := e.svc.DeleteAlias(e.ctx, "fn", "live"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.GetEventInvokeConfig(e.ctx, "fn", "live")
	wantFault(t, err, fault.NotFound, "The function "+arnFn+":live doesn't have an EventInvokeConfig")
	if err := e.svc.Delete(e.ctx, "fn", "1"); err != nil {
		t.Fatal(err)
	}
	all, _, err = e.svc.ListEventInvokeConfigs(e.ctx, "fn", Page{})
	if err != nil || !slices.Equal(qualifiersOf(all), []string{Latest}) {
		t.Errorf("List after deleting the alias and the version = %v, %v", qualifiersOf(all), err)
	}

	if err := e.svc.DeleteEventInvokeConfig(e.ctx, "fn", ""); err != nil {
		t.Fatal(err)
	}
	notFound := []struct{ what, name, qualifier, msg string }{
		{"deleted", "fn", Latest, arnFn + ":$LATEST doesn't have an EventInvokeConfig"},
		{"missing function", "missing", "", "function:missing:$LATEST doesn't have an EventInvokeConfig"},
		{"missing qualifier", "fn", "nope", arnFn + ":nope doesn't have an EventInvokeConfig"},
	}
	for _, n := range notFound {
		_, err := e.svc.GetEventInvokeConfig(e.ctx, n.name, n.qualifier)
		wantFault(t, err, fault.NotFound, n.msg)
		err = e.svc.DeleteEventInvokeConfig(e.ctx, n.name, n.qualifier)
		wantFault(t, err, fault.NotFound, n.msg)
	}

	// A function made again under a deleted one's name starts without configs.
	if _, err := e.svc.PutEventInvokeConfig(e.ctx, "dest", "", put(EventInvokeUpdate{MaximumRetryAttempts: ptr(1)})); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Delete(e.ctx, "dest", ""); err != nil {
		t.Fatal(err)
	}
	e.create(t, "dest")
	_, err = e.svc.GetEventInvokeConfig(e.ctx, "dest", "")
	wantFault(t, err, fault.NotFound, "doesn't have an EventInvokeConfig")
}

// Limits raise AWS's maxima, and configs survive a restart (they are in the
// function's stored document).
func TestEventInvokeLimitsAndDurability(t *testing.T) {
	lim := Limits{MaxAsyncRetryAttempts: 5, MaxEventAge: 86400}
	e := newEnv(t, func(o *Options) { o.Limits = lim })
	e.create(t, "fn")
	c, err := e.svc.PutEventInvokeConfig(e.ctx, "fn", "", EventInvokeUpdate{Replace: true, MaximumRetryAttempts: ptr(5), MaximumEventAgeInSeconds: ptr(86400)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.PutEventInvokeConfig(e.ctx, "fn", "", EventInvokeUpdate{MaximumRetryAttempts: ptr(6)})
	wantFault(t, err, fault.Invalid, "Member must have value less than or equal to 5")
	_, err = e.svc.PutEventInvokeConfig(e.ctx, "fn", "", EventInvokeUpdate{MaximumEventAgeInSeconds: ptr(86401)})
	wantFault(t, err, fault.Invalid, "Member must have value less than or equal to 86400")

	again, err := New(e.ctx, Options{Store: e.st, Clock: e.clock, Limits: lim, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.StartView(e.ctx); err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	snap, err := again.Snapshot(e.ctx, "fn")
	if err != nil {
		t.Fatal(err)
	}
	got := snap.EventInvokeFor(Latest)
	if got == nil || *got.MaximumRetryAttempts != 5 || *got.MaximumEventAgeInSeconds != 86400 || !got.LastModified.Equal(c.LastModified) {
		t.Fatalf("after a restart: %+v", got)
	}
	// What Put returns shares nothing with the view's snapshot.
	c, err = again.PutEventInvokeConfig(e.ctx, "fn", "", EventInvokeUpdate{MaximumRetryAttempts: ptr(4)})
	if err != nil {
		t.Fatal(err)
	}
	*c.MaximumRetryAttempts = 0
	snap, _ = again.Snapshot(e.ctx, "fn")
	if got := snap.EventInvokeFor(""); *got.MaximumRetryAttempts != 4 {
		t.Errorf("snapshot retries = %d after the caller changed Put's result, want 4", *got.MaximumRetryAttempts)
	}
}
