package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/gateway"
	"github.com/lamina-dev/lamina/internal/store"
)

const svcFn = "arn:aws:lambda:us-east-1:000000000000:function:hello"

func svcStore(t *testing.T) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func svcNew(t *testing.T, st store.Store) *gateway.Service {
	t.Helper()
	s, err := gateway.New(t.Context(), gateway.Options{Store: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ptr[T any](v T) *T { return &v }

func wantKind(t *testing.T, err error, k fault.Kind) {
	t.Helper()
	if !fault.Is(err, k) {
		t.Fatalf("err = %v, want kind %v", err, k)
	}
}

func TestQuickCreate(t *testing.T) {
	s := svcNew(t, svcStore(t))
	ctx := t.Context()
	for _, tc := range []struct{ routeKey, wantKey string }{{"", "$default"}, {"GET /pets/{id}", "GET /pets/{id}"}} {
		d, err := s.CreateAPI(ctx, gateway.CreateAPIInput{Name: "q", ProtocolType: "HTTP", Target: svcFn + ":live", RouteKey: tc.routeKey})
		if err != nil {
			t.Fatal(err)
		}
		if len(d.API.ID) != 10 || len(d.Routes) != 1 || len(d.Integrations) != 1 || len(d.Stages) != 1 {
			t.Fatalf("doc %+v", d)
		}
		var ig gateway.Integration
		for _, ig = range d.Integrations {
		}
		if ig.Type != "AWS_PROXY" || ig.FunctionName != "hello" || ig.Qualifier != "live" || ig.PayloadFormatVersion != "2.0" ||
			ig.TimeoutMillis != 30000 || !ig.Managed || len(ig.ID) != 7 {
			t.Errorf("integration %+v", ig)
		}
		for _, r := range d.Routes {
			if r.Key != tc.wantKey || r.IntegrationID != ig.ID || !r.Managed {
				t.Errorf("route %+v", r)
			}
			// Managed resources change only with their API.
			wantKind(t, s.DeleteRoute(ctx, d.API.ID, r.ID), fault.Invalid)
		}
		st := d.Stages["$default"]
		if !st.AutoDeploy || !st.Managed || st.DeploymentID == "" {
			t.Errorf("stage %+v", st)
		}
		if got := s.Snapshot(d.API.ID); got == nil || len(got.Routes) != 1 {
			t.Errorf("Snapshot after create = %+v", got)
		}
	}
	_, err := s.CreateAPI(ctx, gateway.CreateAPIInput{Name: "ws", ProtocolType: "WEBSOCKET"})
	wantKind(t, err, fault.Invalid)
	_, err = s.CreateAPI(ctx, gateway.CreateAPIInput{Name: "bad", ProtocolType: "HTTP", Target: "arn:aws:sqs:us-east-1:0:q"})
	wantKind(t, err, fault.Invalid)
}

func TestRoutesIntegrationsValidation(t *testing.T) {
	s := svcNew(t, svcStore(t))
	ctx := t.Context()
	d, err := s.CreateAPI(ctx, gateway.CreateAPIInput{Name: "a", ProtocolType: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	api := d.API.ID
	long := "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/" + svcFn + "/invocations"
	ig, err := s.CreateIntegration(ctx, gateway.IntegrationInput{APIID: api, IntegrationType: ptr("AWS_PROXY"), IntegrationURI: ptr(long), PayloadFormatVersion: ptr("1.0")})
	if err != nil {
		t.Fatal(err)
	}
	if ig.FunctionName != "hello" || ig.Qualifier != "" || ig.TimeoutMillis != 30000 {
		t.Errorf("integration %+v", ig)
	}
	jwt, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("j"), AuthorizerType: ptr("JWT"),
		IdentitySource: []string{"$request.header.Authorization"}, Issuer: ptr("https://issuer"), Audience: []string{"aud"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: api, RouteKey: ptr("GET /pets/{id}"), Target: ptr("integrations/" + ig.ID),
		AuthorizationType: ptr("JWT"), AuthorizerID: ptr(jwt.ID), AuthorizationScopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		call func() error
		want fault.Kind
	}{
		{"duplicate route key", func() error {
			_, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: api, RouteKey: ptr("GET /pets/{id}")})
			return err
		}, fault.Conflict},
		{"bad route key", func() error {
			_, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: api, RouteKey: ptr("GET /{proxy+}/x")})
			return err
		}, fault.Invalid},
		{"unknown method", func() error {
			_, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: api, RouteKey: ptr("FETCH /x")})
			return err
		}, fault.Invalid},
		{"missing integration", func() error {
			_, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: api, RouteKey: ptr("GET /x"), Target: ptr("integrations/nope123")})
			return err
		}, fault.Invalid},
		{"bad target form", func() error {
			_, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: api, RouteKey: ptr("GET /x"), Target: ptr(ig.ID)})
			return err
		}, fault.Invalid},
		{"JWT route with unknown authorizer", func() error {
			_, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: api, RouteKey: ptr("GET /y"), AuthorizationType: ptr("JWT"), AuthorizerID: ptr("zzzzzzz")})
			return err
		}, fault.NotFound},
		{"CUSTOM route with JWT authorizer", func() error {
			_, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: api, RouteKey: ptr("GET /y"), AuthorizationType: ptr("CUSTOM"), AuthorizerID: ptr(jwt.ID)})
			return err
		}, fault.Invalid},
		{"integration in use", func() error { return s.DeleteIntegration(ctx, api, ig.ID) }, fault.Conflict},
		{"authorizer in use", func() error { return s.DeleteAuthorizer(ctx, api, jwt.ID) }, fault.Conflict},
		{"no payload version", func() error {
			_, err := s.CreateIntegration(ctx, gateway.IntegrationInput{APIID: api, IntegrationType: ptr("AWS_PROXY"), IntegrationURI: ptr(svcFn)})
			return err
		}, fault.Invalid},
		{"timeout over max", func() error {
			_, err := s.CreateIntegration(ctx, gateway.IntegrationInput{APIID: api, IntegrationType: ptr("AWS_PROXY"), IntegrationURI: ptr(svcFn), PayloadFormatVersion: ptr("2.0"), TimeoutInMillis: ptr(30001)})
			return err
		}, fault.Invalid},
		{"HTTP_PROXY", func() error {
			_, err := s.CreateIntegration(ctx, gateway.IntegrationInput{APIID: api, IntegrationType: ptr("HTTP_PROXY"), IntegrationURI: ptr("https://x"), PayloadFormatVersion: ptr("1.0")})
			return err
		}, fault.Invalid},
		{"JWT without audience", func() error {
			_, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("j"), AuthorizerType: ptr("JWT"), IdentitySource: []string{"$request.header.Authorization"}, Issuer: ptr("https://i")})
			return err
		}, fault.Invalid},
		{"REQUEST simple responses with 1.0", func() error {
			_, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("l"), AuthorizerType: ptr("REQUEST"), AuthorizerURI: ptr(long), PayloadFormatVersion: ptr("1.0"), EnableSimpleResponses: ptr(true)})
			return err
		}, fault.Invalid},
		{"REQUEST cache without identity source", func() error {
			_, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("l"), AuthorizerType: ptr("REQUEST"), AuthorizerURI: ptr(long), PayloadFormatVersion: ptr("2.0"), ResultTTLSeconds: ptr(300)})
			return err
		}, fault.Invalid},
		{"TOKEN with two identity sources", func() error {
			_, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("t"), AuthorizerType: ptr("TOKEN"), AuthorizerURI: ptr(long),
				IdentitySource: []string{"$request.header.A", "$request.header.B"}})
			return err
		}, fault.Invalid},
		{"TOKEN from a query string", func() error {
			_, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("t"), AuthorizerType: ptr("TOKEN"), AuthorizerURI: ptr(long),
				IdentitySource: []string{"$request.querystring.token"}})
			return err
		}, fault.Invalid},
		{"TOKEN with a broken expression", func() error {
			_, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("t"), AuthorizerType: ptr("TOKEN"), AuthorizerURI: ptr(long),
				IdentitySource: []string{"$request.header.Authorization"}, IdentityValidationExpression: ptr("Bearer (")})
			return err
		}, fault.Invalid},
		{"validation expression on a REQUEST authorizer", func() error {
			_, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("l"), AuthorizerType: ptr("REQUEST"), AuthorizerURI: ptr(long),
				PayloadFormatVersion: ptr("2.0"), IdentityValidationExpression: ptr(".*")})
			return err
		}, fault.Invalid},
		{"stage settings for an unknown route", func() error {
			_, err := s.CreateStage(ctx, gateway.StageInput{APIID: api, StageName: "dev", RouteSettings: map[string]gateway.RouteSettings{"GET /nope": {}}})
			return err
		}, fault.NotFound},
		{"unknown API", func() error { _, err := s.GetAPI(ctx, "nosuchapi1"); return err }, fault.NotFound},
		{"unknown route", func() error { _, err := s.GetRoute(ctx, api, "nope123"); return err }, fault.NotFound},
	} {
		t.Run(tc.name, func(t *testing.T) { wantKind(t, tc.call(), tc.want) })
	}

	// A REQUEST authorizer parsed from the long form.
	la, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("l"), AuthorizerType: ptr("REQUEST"), AuthorizerURI: ptr(long),
		PayloadFormatVersion: ptr("2.0"), EnableSimpleResponses: ptr(true), ResultTTLSeconds: ptr(60), IdentitySource: []string{"$request.header.X-Token"}})
	if err != nil || la.FunctionName != "hello" {
		t.Fatalf("REQUEST authorizer %+v, %v", la, err)
	}
	// A TOKEN authorizer in REST's spelling: stored in the HTTP API's, 1.0.
	ta, err := s.CreateAuthorizer(ctx, gateway.AuthorizerInput{APIID: api, Name: ptr("t"), AuthorizerType: ptr("TOKEN"), AuthorizerURI: ptr(long),
		IdentitySource: []string{"method.request.header.Authorization"}, IdentityValidationExpression: ptr(`Bearer .+`), ResultTTLSeconds: ptr(300)})
	if err != nil || ta.PayloadFormatVersion != "1.0" || ta.IdentitySource[0] != "$request.header.Authorization" || ta.IdentityValidationExpression != "Bearer .+" {
		t.Fatalf("TOKEN authorizer %+v, %v", ta, err)
	}
	// Update with PATCH semantics: only the key changes.
	u, err := s.UpdateRoute(ctx, gateway.RouteInput{APIID: api, RouteID: r.ID, RouteKey: ptr("GET /dogs/{id}")})
	if err != nil || u.Key != "GET /dogs/{id}" || u.IntegrationID != ig.ID || u.AuthorizerID != jwt.ID {
		t.Fatalf("UpdateRoute %+v, %v", u, err)
	}
	if err := s.DeleteRoute(ctx, api, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIntegration(ctx, api, ig.ID); err != nil {
		t.Fatal(err)
	}
	if snap := s.Snapshot(api); len(snap.Routes) != 0 || len(snap.Integrations) != 0 || len(snap.Authorizers) != 3 {
		t.Errorf("Snapshot after deletes %+v", snap)
	}
}

// TestConcurrentWriters: every writer's change survives (CAS retries), on
// two services sharing one store, as two nodes would.
func TestConcurrentWriters(t *testing.T) {
	st := svcStore(t)
	s1, s2 := svcNew(t, st), svcNew(t, st)
	ctx := t.Context()
	d, err := s1.CreateAPI(ctx, gateway.CreateAPIInput{Name: "c", ProtocolType: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Go(func() {
			_, err := s.CreateRoute(ctx, gateway.RouteInput{APIID: d.API.ID, RouteKey: ptr(fmt.Sprintf("GET /r%d", i))})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	routes, _, err := s1.GetRoutes(ctx, d.API.ID, gateway.Page{})
	if err != nil || len(routes) != n {
		t.Fatalf("routes %d, %v", len(routes), err)
	}
	// The other service's view catches up through the watch.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if snap := s2.Snapshot(d.API.ID); snap != nil && len(snap.Routes) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("s2 view has %d routes", len(s2.Snapshot(d.API.ID).Routes))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDefaultAPIAndOnChange(t *testing.T) {
	st := svcStore(t)
	s := svcNew(t, st)
	ctx := t.Context()
	var mu sync.Mutex
	seen := map[string]int{}
	cancel := s.OnChange(func(id string, doc *gateway.APIDoc) {
		mu.Lock()
		seen[id]++
		mu.Unlock()
	})
	defer cancel()
	if s.DefaultAPI() != nil {
		t.Fatal("default API before any")
	}
	a, err := s.CreateAPI(ctx, gateway.CreateAPIInput{Name: "a", ProtocolType: "HTTP", Tags: map[string]string{gateway.DefaultTag: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := s.DefaultAPI(); d == nil || d.API.ID != a.API.ID {
		t.Fatalf("DefaultAPI = %+v", d)
	}
	b, err := s.CreateAPI(ctx, gateway.CreateAPIInput{Name: "b", ProtocolType: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.TagResource(ctx, s.APIARN(b.API.ID), map[string]string{gateway.DefaultTag: "true"}); err != nil {
		t.Fatal(err)
	}
	if d := s.DefaultAPI(); d == nil || d.API.ID != b.API.ID {
		t.Fatalf("DefaultAPI after tagging b = %+v", d)
	}
	ga, _ := s.GetAPI(ctx, a.API.ID)
	if ga.API.Default || ga.API.Tags[gateway.DefaultTag] != "" {
		t.Errorf("a still default: %+v", ga.API)
	}
	if err := s.UntagResource(ctx, s.APIARN(b.API.ID), []string{gateway.DefaultTag}); err != nil {
		t.Fatal(err)
	}
	if d := s.DefaultAPI(); d != nil {
		t.Errorf("DefaultAPI after untag = %s", d.API.ID)
	}
	// A fresh service (another node, a restart) loads the same state.
	s2 := svcNew(t, st)
	if s2.Snapshot(a.API.ID) == nil || s2.Snapshot(b.API.ID) == nil {
		t.Error("fresh service misses APIs")
	}
	if err := s.DeleteAPI(ctx, a.API.ID); err != nil {
		t.Fatal(err)
	}
	if s.Snapshot(a.API.ID) != nil {
		t.Error("Snapshot after DeleteAPI")
	}
	wantKind(t, s.DeleteAPI(ctx, a.API.ID), fault.NotFound)
	mu.Lock()
	if seen[a.API.ID] < 3 || seen[b.API.ID] < 3 {
		t.Errorf("OnChange calls %v", seen)
	}
	mu.Unlock()
	// Paging.
	for i := range 3 {
		if _, err := s.CreateAPI(ctx, gateway.CreateAPIInput{Name: fmt.Sprint("p", i), ProtocolType: "HTTP"}); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	p := gateway.Page{MaxResults: 2}
	for {
		docs, next, err := s.GetAPIs(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			all = append(all, d.API.ID)
		}
		if next == "" {
			break
		}
		p.NextToken = next
	}
	if len(all) != 4 {
		t.Errorf("paged APIs %v", all)
	}
}
