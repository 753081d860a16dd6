package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/manifest"
)

// fakeProvisioner records calls and keeps "live" resources by physical id,
// resolving every reference of a resource's spec as a real one must.
type fakeProvisioner struct {
	calls    []string          // "create Foo", "update Foo", "delete Foo"
	live     map[string]string // physical id → logical id
	failOn   string            // "create Foo" fails
	failOnce bool              // ... only the first time
	seq      int
	// applied is the digest of the definition each resource last got, and
	// code the package hash it last got (functions given one).
	applied map[string]string
	code    map[string]string
}

func newFake() *fakeProvisioner {
	return &fakeProvisioner{live: map[string]string{}, applied: map[string]string{}, code: map[string]string{}}
}

// DeployedCode makes the fake a CodeReader: a function's package is the
// hash it was last given.
func (f *fakeProvisioner) DeployedCode(_ context.Context, rs *ResourceState) (*Code, error) {
	id := f.live[rs.PhysicalID]
	return &Code{SHA256: "code-of-" + f.applied[id]}, nil
}

func (f *fakeProvisioner) outcome(req *Request, verb string) (*Outcome, error) {
	id := req.Resource.LogicalID
	f.calls = append(f.calls, verb+" "+id)
	if f.failOn == verb+" "+id {
		if f.failOnce {
			f.failOn = ""
		}
		return nil, errors.New("refused by the service")
	}
	f.applied[id] = req.Resource.Digest()
	if req.Code != nil {
		f.code[id] = req.Code.SHA256
	}
	// Every reference must resolve: dependencies were deployed first.
	if _, err := manifest.Resolve(req.Resource.Properties, req.Resolver); err != nil {
		return nil, err
	}
	for _, ref := range req.Resource.DependsOn {
		if req.Deployed(ref) == nil && req.App.Resource(ref) != nil && req.App.Resource(ref).Type != manifest.TypeRole {
			return nil, fmt.Errorf("%s deployed before its dependency %s", id, ref)
		}
	}
	f.seq++
	phys := fmt.Sprintf("%s-%d", id, f.seq)
	if req.Previous != nil && req.Previous.PhysicalID != "" {
		delete(f.live, req.Previous.PhysicalID)
	}
	f.live[phys] = id
	attrs := map[string]string{"Arn": "arn:" + phys, "QueueName": phys, "QueueUrl": "http://q/" + phys}
	if req.Resource.Type == manifest.TypeHTTPAPI {
		phys = "abc123"
		attrs["ApiEndpoint"] = "http://abc123.execute-api.localhost:3000"
	}
	return &Outcome{PhysicalID: phys, Attrs: attrs, Data: map[string]string{"seq": fmt.Sprint(f.seq)}}, nil
}

func (f *fakeProvisioner) Create(_ context.Context, req *Request) (*Outcome, error) {
	return f.outcome(req, "create")
}

func (f *fakeProvisioner) Update(_ context.Context, req *Request) (*Outcome, error) {
	return f.outcome(req, "update")
}

func (f *fakeProvisioner) Delete(_ context.Context, req *DeleteRequest) error {
	f.calls = append(f.calls, "delete "+req.LogicalID)
	if f.failOn == "delete "+req.LogicalID {
		return errors.New("refused by the service")
	}
	delete(f.live, req.State.PhysicalID)
	return nil
}

func deployApp(t *testing.T, app *manifest.Application, prev *StackState, f *fakeProvisioner) (*StackState, *Plan, error) {
	t.Helper()
	plan, err := ComputePlan(app, prev, nil)
	if err != nil {
		t.Fatal(err)
	}
	if prev != nil {
		plan.Stack = prev.Stack
	} else {
		plan.Stack = "test"
	}
	next, err := Apply(context.Background(), plan, app, prev, ApplyOptions{Provisioner: f})
	return next, plan, err
}

func TestApplyCreatesThenRedeploysNothing(t *testing.T) {
	app := load(t, "testdata/app_v1.yaml", nil)
	f := newFake()
	s1, _, err := deployApp(t, app, nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(s1.Resources), len(app.Resources); got != want {
		t.Fatalf("state has %d resources, template %d", got, want)
	}
	if len(f.live) != len(app.Resources) {
		t.Fatalf("%d live resources after the first deploy, want %d", len(f.live), len(app.Resources))
	}
	for id, rs := range s1.Resources {
		if rs.PhysicalID == "" || rs.Digest == "" {
			t.Errorf("%s: state without physical id or digest: %+v", id, rs)
		}
	}
	if s1.Status != StatusDeployed {
		t.Errorf("status %q", s1.Status)
	}

	// A second deploy of the same template calls nothing.
	f.calls = nil
	s2, plan, err := deployApp(t, app, s1, f)
	if err != nil {
		t.Fatal(err)
	}
	if plan.HasChanges() || len(f.calls) != 0 {
		t.Fatalf("redeploy: plan %s, calls %v", plan.Summary(), f.calls)
	}
	if s2.Resources["OrdersQueue"].PhysicalID != s1.Resources["OrdersQueue"].PhysicalID {
		t.Error("unchanged resource lost its physical id")
	}
}

func TestApplyUpdatesAndDeletes(t *testing.T) {
	f := newFake()
	s1, _, err := deployApp(t, load(t, "testdata/app_v1.yaml", nil), nil, f)
	if err != nil {
		t.Fatal(err)
	}
	f.calls = nil
	v2 := load(t, "testdata/app_v2.yaml", nil)
	s2, _, err := deployApp(t, v2, s1, f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"create AuditQueue", "update ApiFunction", "delete AlertsSubscription", "delete AlertsTopic"} {
		if !slices.Contains(f.calls, want) {
			t.Errorf("calls %v lack %q", f.calls, want)
		}
	}
	// The subscription goes before the topic it belongs to, after every create/update.
	if i, j := slices.Index(f.calls, "delete AlertsSubscription"), slices.Index(f.calls, "delete AlertsTopic"); i > j {
		t.Errorf("topic deleted before its subscription: %v", f.calls)
	}
	if i, j := slices.Index(f.calls, "update ApiFunction"), slices.Index(f.calls, "delete AlertsTopic"); i > j {
		t.Errorf("delete before update: %v", f.calls)
	}
	if s2.Resources["AlertsTopic"] != nil || s2.Resources["AuditQueue"] == nil {
		t.Errorf("state resources: %v", keys(s2.Resources))
	}
	if len(f.live) != len(v2.Resources) {
		t.Errorf("%d live resources, want %d: %v", len(f.live), len(v2.Resources), f.live)
	}
}

func TestApplyFailureRollsBackCreatesAndKeepsPrevious(t *testing.T) {
	f := newFake()
	s1, _, err := deployApp(t, load(t, "testdata/app_v1.yaml", nil), nil, f)
	if err != nil {
		t.Fatal(err)
	}
	liveBefore := len(f.live)
	f.calls = nil
	v2 := load(t, "testdata/app_v2.yaml", nil)
	// ApiFunction depends on AuditQueue (its environment), so AuditQueue
	// is created first and must be rolled back.
	f.failOn = "update ApiFunction"
	s2, _, err := deployApp(t, v2, s1, f)
	var ae *ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *ApplyError", err)
	}
	if ae.LogicalID != "ApiFunction" || !strings.Contains(err.Error(), "refused by the service") {
		t.Errorf("error names %q: %v", ae.LogicalID, err)
	}
	if !slices.Equal(ae.RolledBack, []string{"AuditQueue"}) {
		t.Errorf("rolled back %v, want [AuditQueue]", ae.RolledBack)
	}
	for _, c := range f.calls {
		if strings.HasPrefix(c, "delete Alerts") {
			t.Errorf("a removed resource was deleted by a failed deploy: %v", f.calls)
		}
	}
	if len(f.live) != liveBefore {
		t.Errorf("%d live resources after the failed deploy, want the previous %d", len(f.live), liveBefore)
	}
	if s2.Status != StatusFailed || !strings.Contains(s2.Reason, "ApiFunction") {
		t.Errorf("state status %q reason %q", s2.Status, s2.Reason)
	}
	if s2.Resources["AuditQueue"] != nil || s2.Resources["AlertsTopic"] == nil {
		t.Errorf("state after failure: %v", keys(s2.Resources))
	}
	if s2.Resources["ApiFunction"].Digest != "" {
		t.Error("the failed update is not marked for the next deploy")
	}

	// The next deploy (the failure fixed) finishes the job.
	f.failOn, f.calls = "", nil
	s3, _, err := deployApp(t, v2, s2, f)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.calls, "update ApiFunction") || !slices.Contains(f.calls, "create AuditQueue") {
		t.Errorf("retry calls %v", f.calls)
	}
	if len(f.live) != len(v2.Resources) || s3.Status != StatusDeployed {
		t.Errorf("after retry: %d live, status %s", len(f.live), s3.Status)
	}
}

// With the previous application at hand, a failed deploy also puts back
// what it updated (the failed resource included), newest first, with the
// code it replaced; the state then records the previous definitions.
func TestApplyFailureRestoresUpdates(t *testing.T) {
	f := newFake()
	// WorkerFunction's package changes between the two deploys.
	deploy := func(app *manifest.Application, prev *StackState, code string, opts ApplyOptions) (*StackState, *Plan, error) {
		t.Helper()
		plan, err := ComputePlan(app, prev, map[string]string{"WorkerFunction": code})
		if err != nil {
			t.Fatal(err)
		}
		plan.Stack = "test"
		opts.Provisioner = f
		opts.Code = map[string]*Code{"WorkerFunction": {SHA256: code}}
		next, err := Apply(context.Background(), plan, app, prev, opts)
		return next, plan, err
	}
	v1 := load(t, "testdata/app_v1.yaml", nil)
	s1, _, err := deploy(v1, nil, "code-1", ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v1Applied := maps.Clone(f.applied)
	f.calls = nil
	v2 := load(t, "testdata/app_v2.yaml", nil)
	f.failOn, f.failOnce = "update WorkerFunctionOrders", true
	var events []string
	s2, plan, err := deploy(v2, s1, "code-2", ApplyOptions{Previous: v1,
		Progress: func(e Event) { events = append(events, e.Phase+" "+e.LogicalID) }})
	var ae *ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an *ApplyError", err)
	}
	want := []string{
		"create AuditQueue", "update ApiFunction", "update WorkerFunction", "update WorkerFunctionOrders", // the deploy
		"update WorkerFunctionOrders", "update WorkerFunction", "update ApiFunction", "delete AuditQueue", // its undoing
	}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls\n%v\nwant\n%v", f.calls, want)
	}
	if !slices.Equal(ae.Restored, []string{"WorkerFunctionOrders", "WorkerFunction", "ApiFunction"}) || !slices.Equal(ae.RolledBack, []string{"AuditQueue"}) {
		t.Errorf("restored %v, rolled back %v", ae.Restored, ae.RolledBack)
	}
	if !strings.Contains(err.Error(), "restored 3 updated resource(s)") || !slices.Contains(events, "rolled-back ApiFunction") {
		t.Errorf("error %q, events %v", err, events)
	}
	for _, id := range []string{"ApiFunction", "WorkerFunction", "WorkerFunctionOrders"} {
		if f.applied[id] != v1Applied[id] {
			t.Errorf("%s was left with a definition of v2", id)
		}
		if s2.Resources[id].Digest != s1.Resources[id].Digest {
			t.Errorf("%s: state digest %q, want the previous %q", id, s2.Resources[id].Digest, s1.Resources[id].Digest)
		}
	}
	// The code read back before the update went back with the restore,
	// and the state still knows the package the stack had.
	if f.code["WorkerFunction"] != "code-of-"+v1Applied["WorkerFunction"] || s2.Resources["WorkerFunction"].CodeSha256 != "code-1" {
		t.Errorf("WorkerFunction's code after the rollback: %q (state %q)", f.code["WorkerFunction"], s2.Resources["WorkerFunction"].CodeSha256)
	}
	if s2.Resources["AuditQueue"] != nil || s2.Status != StatusFailed {
		t.Errorf("state after failure: %v, %s", keys(s2.Resources), s2.Status)
	}

	// The next deploy does it all again.
	f.calls = nil
	if _, plan, err = deploy(v2, s2, "code-2", ApplyOptions{Previous: v1}); err != nil {
		t.Fatal(err)
	}
	if plan.Counts()[Update] != 3 {
		t.Errorf("retry plan %s", plan.Summary())
	}
	for _, c := range want[:4] {
		if !slices.Contains(f.calls, c) {
			t.Errorf("retry calls %v lack %q", f.calls, c)
		}
	}
}

func TestApplyResolvesOutputs(t *testing.T) {
	tmpl := `
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn
      Runtime: provided.al2023
      Handler: bootstrap
      Events:
        Get:
          Type: HttpApi
          Properties: {Path: /x, Method: GET}
  Q:
    Type: AWS::SQS::Queue
Outputs:
  Url:
    Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com/x"
  QueueUrl:
    Description: the queue
    Value: !Ref Q
  Both:
    Value: !Join [",", [!GetAtt Q.Arn, !Ref Fn]]
`
	app, err := manifest.Load("template.yaml", []byte(tmpl), manifest.Options{Pseudo: manifest.Pseudo{StackName: "test", Region: "eu-west-1"}})
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := deployApp(t, app, nil, newFake())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Output{}
	for _, o := range s.Outputs {
		got[o.Name] = o
	}
	if o := got["Url"]; o.Value != "https://abc123.execute-api.eu-west-1.amazonaws.com/x" || o.Local != "http://127.0.0.1:3000/abc123/x" {
		t.Errorf("Url output %+v", o)
	}
	if o := got["QueueUrl"]; o.Value != s.Resources["Q"].PhysicalID || o.Description != "the queue" || o.Local != "" {
		t.Errorf("QueueUrl output %+v", o)
	}
	if o := got["Both"]; o.Value != s.Resources["Q"].Attrs["Arn"]+","+s.Resources["Fn"].PhysicalID {
		t.Errorf("Both output %+v", o)
	}
}

func TestLocalFunctionURL(t *testing.T) {
	s := &StackState{}
	for _, tc := range []struct{ in, want string }{
		{"http://abc123.lambda-url.us-east-1.localhost:3000/", "http://127.0.0.1:3000/_lamina/function-urls/abc123/"},
		{"http://abc123.lambda-url.eu-west-1.localhost/x", "http://127.0.0.1/_lamina/function-urls/abc123/x"},
		{"https://abc123.lambda-url.us-east-1.on.aws/", ""},
		{"http://127.0.0.1:4566/000000000000/q", ""},
	} {
		if got := localURL(tc.in, s); got != tc.want {
			t.Errorf("localURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLocalAPIBase(t *testing.T) {
	for _, tc := range []struct{ endpoint, id, want string }{
		{"http://abc.execute-api.localhost:3000", "abc", "http://127.0.0.1:3000/abc"},
		{"http://abc.execute-api.localhost", "abc", "http://127.0.0.1/abc"},
		{"https://gw.example.com/", "abc", "https://gw.example.com"},
		{"", "abc", ""},
	} {
		if got := LocalAPIBase(tc.endpoint, tc.id); got != tc.want {
			t.Errorf("LocalAPIBase(%q) = %q, want %q", tc.endpoint, got, tc.want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A failed code-only update (the plan's last change, so the old package is
// not read back) leaves the state with the code that runs, so that the
// next deploy updates it.
func TestApplyFailedCodeUpdateIsRetried(t *testing.T) {
	f := newFake()
	app := load(t, "testdata/app_v1.yaml", nil)
	deploy := func(prev *StackState, code string) (*StackState, *Plan, error) {
		t.Helper()
		plan, err := ComputePlan(app, prev, map[string]string{"WorkerFunction": code})
		if err != nil {
			t.Fatal(err)
		}
		plan.Stack = "test"
		next, err := Apply(context.Background(), plan, app, prev, ApplyOptions{Provisioner: f, Previous: app,
			Code: map[string]*Code{"WorkerFunction": {SHA256: code}}})
		return next, plan, err
	}
	s1, _, err := deploy(nil, "code-1")
	if err != nil {
		t.Fatal(err)
	}
	f.failOn, f.failOnce = "update WorkerFunction", true
	s2, plan, err := deploy(s1, "code-2")
	if err == nil || plan.Counts()[Update] != 1 {
		t.Fatalf("deploy of new code: %v, plan %s", err, plan.Summary())
	}
	if got := s2.Resources["WorkerFunction"].CodeSha256; got != "code-1" {
		t.Errorf("state says code %q after a failed code update, want code-1", got)
	}
	f.calls = nil
	if _, plan, err = deploy(s2, "code-2"); err != nil || !slices.Contains(f.calls, "update WorkerFunction") {
		t.Errorf("retry: %v, calls %v, plan %s", err, f.calls, plan.Summary())
	}
}
