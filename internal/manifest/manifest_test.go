package manifest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

func load(t *testing.T, name string, opts Options) *Application {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	app, err := Load(filepath.Join("testdata", name), data, opts)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return app
}

func spec[T any](t *testing.T, app *Application, id string) T {
	t.Helper()
	r := app.Resource(id)
	if r == nil {
		t.Fatalf("no resource %q; have %v", id, ids(app))
	}
	s, ok := r.Spec.(T)
	if !ok {
		t.Fatalf("resource %q spec is %T", id, r.Spec)
	}
	return s
}

func ids(app *Application) []string {
	var out []string
	for _, r := range app.Resources {
		out = append(out, r.LogicalID+":"+string(r.Type))
	}
	return out
}

func TestIntrinsicsShortAndLongForms(t *testing.T) {
	opts := Options{Pseudo: Pseudo{StackName: "orders"}}
	short := load(t, "intrinsics_short.yaml", opts)
	long := load(t, "intrinsics_long.yaml", opts)
	if !reflect.DeepEqual(ids(short), ids(long)) {
		t.Fatalf("short form ids %v, long form ids %v", ids(short), ids(long))
	}
	for _, r := range short.Resources {
		if l := long.Resource(r.LogicalID); l.Digest() != r.Digest() {
			t.Errorf("%s: short and long forms differ:\n%s\n%s", r.LogicalID, r.Properties, l.Properties)
		}
	}
	fn := spec[*FunctionSpec](t, short, "OrdersFunction")
	want := map[string]string{
		"QUEUE_URL":   `{"Ref":"Queue"}`,
		"QUEUE_ARN":   `{"Fn::GetAtt":["Queue","Arn"]}`,
		"QUEUE_NAME":  `{"Fn::GetAtt":["Queue","QueueName"]}`,
		"REGION_URL":  `"https://sqs.us-east-1.amazonaws.com/000000000000"`,
		"MIXED":       `{"Fn::Join":["",[{"Fn::GetAtt":["Queue","Arn"]},"|dev|${Literal}"]]}`,
		"WITH_VARS":   `"dev-x"`,
		"JOINED":      `"dev,b"`,
		"SPLIT_FIRST": `"left"`,
		"ENCODED":     `"aGVsbG8="`,
		"NOT_PROD":    `"yes"`,
		"PARTITION":   `"aws"`,
	}
	for k, w := range want {
		if got := fn.Environment[k].String(); got != w {
			t.Errorf("%s = %s, want %s", k, got, w)
		}
	}
	if _, ok := fn.Environment["PROD_ONLY"]; ok {
		t.Errorf("PROD_ONLY should be removed by AWS::NoValue")
	}
	if fn.MemorySize != 256 || fn.CodeURI != "./orders" || fn.Timeout != 3 {
		t.Errorf("function spec = %+v", fn)
	}
	if q := spec[*QueueSpec](t, short, "Queue"); q.QueueName.String() != `"orders-dev-orders"` {
		t.Errorf("queue name = %s", q.QueueName)
	}
	fr := short.Resource("OrdersFunction")
	if !reflect.DeepEqual(fr.DependsOn, []string{"OrdersFunctionRole", "Queue"}) {
		t.Errorf("DependsOn = %v", fr.DependsOn)
	}
	// The prod branch picks the other side of every Fn::If.
	prod := load(t, "intrinsics_short.yaml", Options{Parameters: map[string]string{"Stage": "prod"}})
	env := spec[*FunctionSpec](t, prod, "OrdersFunction").Environment
	if env["PROD_ONLY"].String() != `"yes"` || env["NOT_PROD"].String() != `"no"` {
		t.Errorf("prod env = %v %v", env["PROD_ONLY"], env["NOT_PROD"])
	}
	if spec[*FunctionSpec](t, prod, "OrdersFunction").MemorySize != 1024 {
		t.Errorf("FindInMap did not follow the parameter")
	}
}

func TestEventsExpandToSAMIDs(t *testing.T) {
	app := load(t, "events.yaml", Options{})
	got := map[string]string{}
	for _, r := range app.Resources {
		got[r.LogicalID] = string(r.Type) + " " + r.CFNType
	}
	version := ""
	deployment := ""
	for id := range got {
		if strings.HasPrefix(id, "ApiFunctionVersion") {
			version = id
		}
		if strings.HasPrefix(id, "ServerlessRestApiDeployment") {
			deployment = id
		}
	}
	if !hashSuffix.MatchString(version) || !hashSuffix.MatchString(deployment) {
		t.Fatalf("version %q / deployment %q lack a 10-hex suffix", version, deployment)
	}
	want := map[string]string{
		"ApiFunction":                                "Function AWS::Lambda::Function",
		"ApiFunctionRole":                            "Role AWS::IAM::Role",
		version:                                      "Version AWS::Lambda::Version",
		"ApiFunctionAliaslive":                       "Alias AWS::Lambda::Alias",
		"ApiFunctionUrl":                             "FunctionURL AWS::Lambda::Url",
		"ApiFunctionUrlPublicPermissions":            "Permission AWS::Lambda::Permission",
		"ApiFunctionURLInvokeAllowPublicAccess":      "Permission AWS::Lambda::Permission",
		"ApiFunctionEventInvokeConfig":               "EventInvokeConfig AWS::Lambda::EventInvokeConfig",
		"ApiFunctionEventInvokeConfigOnFailureQueue": "Queue AWS::SQS::Queue",
		"ServerlessRestApi":                          "RestAPI AWS::ApiGateway::RestApi",
		"ServerlessRestApiProdStage":                 "Stage AWS::ApiGateway::Stage",
		deployment:                                   "Deployment AWS::ApiGateway::Deployment",
		"ApiFunctionGetOrderPermissionProd":          "Permission AWS::Lambda::Permission",
		"ApiFunctionGetOrderRoute":                   "Route ",
		"ServerlessHttpApi":                          "HTTPAPI AWS::ApiGatewayV2::Api",
		"ServerlessHttpApiApiGatewayDefaultStage":    "Stage AWS::ApiGatewayV2::Stage",
		"ApiFunctionPostOrderRoute":                  "Route ",
		"ApiFunctionEverythingRoute":                 "Route ",
		"ApiFunctionEverythingPermission":            "Permission AWS::Lambda::Permission",
		"OrdersQueue":                                "Queue AWS::SQS::Queue",
		"OrdersDLQ":                                  "Queue AWS::SQS::Queue",
		"OrdersTopic":                                "Topic AWS::SNS::Topic",
		"WorkerFunction":                             "Function AWS::Lambda::Function",
		"WorkerFunctionRole":                         "Role AWS::IAM::Role",
		"WorkerFunctionOrders":                       "EventSourceMapping AWS::Lambda::EventSourceMapping",
		"WorkerFunctionNightly":                      "Rule AWS::Events::Rule",
		"WorkerFunctionNightlyPermission":            "Permission AWS::Lambda::Permission",
		"WorkerFunctionHourly":                       "Schedule AWS::Scheduler::Schedule",
		"WorkerFunctionHourlyRole":                   "Role AWS::IAM::Role",
		"WorkerFunctionNotified":                     "Subscription AWS::SNS::Subscription",
		"WorkerFunctionNotifiedPermission":           "Permission AWS::Lambda::Permission",
		"WorkerFunctionBuffered":                     "Subscription AWS::SNS::Subscription",
		"WorkerFunctionBufferedQueue":                "Queue AWS::SQS::Queue",
		"WorkerFunctionBufferedQueuePolicy":          "QueuePolicy AWS::SQS::QueuePolicy",
		"WorkerFunctionBufferedEventSourceMapping":   "EventSourceMapping AWS::Lambda::EventSourceMapping",
		"WorkerFunctionChanges":                      "Rule AWS::Events::Rule",
		"WorkerFunctionChangesPermission":            "Permission AWS::Lambda::Permission",
	}
	if !reflect.DeepEqual(got, want) {
		for id, w := range want {
			if got[id] != w {
				t.Errorf("%s: got %q, want %q", id, got[id], w)
			}
		}
		for id, g := range got {
			if _, ok := want[id]; !ok {
				t.Errorf("unexpected %s (%s)", id, g)
			}
		}
	}
	// The HTTP API $default route grants access to the whole API, so the
	// /orders route gets no permission of its own (as SAM does).
	if app.Resource("ApiFunctionPostOrderPermission") != nil {
		t.Error("PostOrder should have no permission next to the $default route")
	}

	fn := spec[*FunctionSpec](t, app, "ApiFunction")
	if fn.Runtime != "provided.al2023" || fn.Handler != "bootstrap" || fn.Timeout != 10 || fn.BuildMethod != "go1.x" ||
		fn.CodeURI != "functions/api" || fn.AutoPublishAlias != "live" || fn.DeadLetter.Type != "SQS" ||
		fn.DeadLetter.TargetArn.String() != `{"Fn::GetAtt":["OrdersDLQ","Arn"]}` {
		t.Errorf("ApiFunction spec = %+v", fn)
	}
	alias := spec[*AliasSpec](t, app, "ApiFunctionAliaslive")
	if alias.Name != "live" || alias.ProvisionedConcurrency == nil || *alias.ProvisionedConcurrency != 2 || alias.Version != version {
		t.Errorf("alias = %+v", alias)
	}
	url := spec[*FunctionURLSpec](t, app, "ApiFunctionUrl")
	if url.Qualifier != "live" || url.AuthType != "NONE" || url.InvokeMode != "BUFFERED" {
		t.Errorf("url = %+v", url)
	}
	eic := spec[*EventInvokeConfigSpec](t, app, "ApiFunctionEventInvokeConfig")
	if *eic.MaximumRetryAttempts != 1 || *eic.MaximumEventAgeInSeconds != 600 || eic.Qualifier != "live" ||
		eic.OnFailure.Destination.String() != `{"Fn::GetAtt":["ApiFunctionEventInvokeConfigOnFailureQueue","Arn"]}` ||
		eic.OnSuccess.Destination.String() != `{"Ref":"OrdersTopic"}` {
		t.Errorf("event invoke config = %+v", eic)
	}
	get := spec[*RouteSpec](t, app, "ApiFunctionGetOrderRoute")
	if get.API != "ServerlessRestApi" || get.Method != "GET" || get.Path != "/orders/{id}" || get.Qualifier != "live" {
		t.Errorf("GET route = %+v", get)
	}
	def := spec[*RouteSpec](t, app, "ApiFunctionEverythingRoute")
	if def.API != "ServerlessHttpApi" || def.Path != "$default" || def.Method != "ANY" || def.PayloadFormatVersion != "2.0" {
		t.Errorf("$default route = %+v", def)
	}
	esm := spec[*EventSourceMappingSpec](t, app, "WorkerFunctionOrders")
	if esm.BatchSize != 5 || !esm.Enabled || esm.EventSourceArn.String() != `{"Fn::GetAtt":["OrdersQueue","Arn"]}` ||
		esm.Function.String() != `{"Ref":"WorkerFunction"}` || !reflect.DeepEqual(esm.FunctionResponseTypes, []string{"ReportBatchItemFailures"}) {
		t.Errorf("esm = %+v", esm)
	}
	rule := spec[*RuleSpec](t, app, "WorkerFunctionNightly")
	if rule.ScheduleExpression != "rate(1 day)" || rule.State != "ENABLED" || len(rule.Targets) != 1 ||
		rule.Targets[0].Arn.String() != `{"Fn::GetAtt":["WorkerFunction","Arn"]}` || rule.Targets[0].Input.String() != `"{\"report\": true}"` {
		t.Errorf("rule = %+v", rule)
	}
	sched := spec[*ScheduleSpec](t, app, "WorkerFunctionHourly")
	if sched.ScheduleExpression != "rate(1 hour)" || sched.State != "DISABLED" || sched.FlexibleTimeWindow.String() != `{"Mode":"OFF"}` {
		t.Errorf("schedule = %+v", sched)
	}
	sub := spec[*SubscriptionSpec](t, app, "WorkerFunctionNotified")
	if sub.Protocol != "lambda" || sub.TopicArn.String() != `{"Ref":"OrdersTopic"}` || sub.FilterPolicy.String() != `{"kind":["order"]}` {
		t.Errorf("subscription = %+v", sub)
	}
	buf := spec[*SubscriptionSpec](t, app, "WorkerFunctionBuffered")
	if buf.Protocol != "sqs" || buf.Endpoint.String() != `{"Fn::GetAtt":["WorkerFunctionBufferedQueue","Arn"]}` {
		t.Errorf("sqs subscription = %+v", buf)
	}
	q := spec[*QueueSpec](t, app, "OrdersQueue")
	if *q.VisibilityTimeout != 60 || q.MaxReceiveCount != 3 || q.DeadLetterTargetArn.String() != `{"Fn::GetAtt":["OrdersDLQ","Arn"]}` {
		t.Errorf("queue = %+v", q)
	}
	// Outputs keep references for the deployer; referable properties are
	// rewritten to the generated resource.
	outs := map[string]string{}
	for _, o := range app.Outputs {
		outs[o.Name] = o.Value.String()
	}
	wantOuts := map[string]string{
		"ApiUrl":      `{"Fn::Join":["",["https://",{"Ref":"ServerlessHttpApi"},".execute-api.us-east-1.amazonaws.com/"]]}`,
		"RestUrl":     `{"Fn::Join":["",["https://",{"Ref":"ServerlessRestApi"},".execute-api.us-east-1.amazonaws.com/Prod/"]]}`,
		"FunctionUrl": `{"Fn::GetAtt":["ApiFunctionUrl","FunctionUrl"]}`,
		"AliasArn":    `{"Ref":"ApiFunctionAliaslive"}`,
		"QueueUrl":    `{"Ref":"OrdersQueue"}`,
	}
	if !reflect.DeepEqual(outs, wantOuts) {
		t.Errorf("outputs = %v", outs)
	}
}

func TestResolveAtDeployTime(t *testing.T) {
	app := load(t, "events.yaml", Options{})
	r := MapResolver{
		Refs:  map[string]string{"ServerlessHttpApi": "abc123", "OrdersQueue": "http://localhost:4566/000000000000/orders"},
		Attrs: map[string]string{"ApiFunctionUrl.FunctionUrl": "http://fn.localhost/"},
	}
	got := map[string]string{}
	for _, o := range app.Outputs {
		v, err := Resolve(o.Value, r)
		if err != nil {
			t.Fatal(err)
		}
		got[o.Name] = v.String()
	}
	if got["ApiUrl"] != `"https://abc123.execute-api.us-east-1.amazonaws.com/"` {
		t.Errorf("ApiUrl = %s", got["ApiUrl"])
	}
	if got["FunctionUrl"] != `"http://fn.localhost/"` || got["QueueUrl"] != `"http://localhost:4566/000000000000/orders"` {
		t.Errorf("outputs = %v", got)
	}
	// What the resolver does not know stays a reference.
	if got["RestUrl"] != `{"Fn::Join":["",["https://",{"Ref":"ServerlessRestApi"},".execute-api.us-east-1.amazonaws.com/Prod/"]]}` {
		t.Errorf("RestUrl = %s", got["RestUrl"])
	}
	if _, err := ResolveString(app.Outputs[1].Value, r); err == nil {
		t.Error("ResolveString of an unresolved value should fail")
	}
	// Select/Split/Base64 over a reference are computed once it resolves.
	v := keep(&Value{}, "Fn::Base64", RefTo("Q"))
	if s, err := ResolveString(v, MapResolver{Refs: map[string]string{"Q": "hi"}}); err != nil || s != "aGk=" {
		t.Errorf("Base64 = %q, %v", s, err)
	}
}

func TestGlobalsMerge(t *testing.T) {
	app := load(t, "globals.yaml", Options{})
	m := spec[*FunctionSpec](t, app, "Merged")
	if m.MemorySize != 512 || m.Timeout != 30 || m.Runtime != "python3.12" {
		t.Errorf("scalars: %+v", m)
	}
	var layers []string
	for _, l := range m.Layers {
		layers = append(layers, str(l))
	}
	if !reflect.DeepEqual(layers, []string{"arn:aws:lambda:us-east-1:123456789012:layer:base:1", "arn:aws:lambda:us-east-1:123456789012:layer:extra:2"}) {
		t.Errorf("lists concatenate global+local: %v", layers)
	}
	env := map[string]string{}
	for k, v := range m.Environment {
		env[k] = str(v)
	}
	if !reflect.DeepEqual(env, map[string]string{"LOG_LEVEL": "info", "SHARED": "local", "OWN": "mine"}) {
		t.Errorf("maps merge with local winning: %v", env)
	}
	all := spec[*FunctionSpec](t, app, "IgnoresAll")
	if all.Runtime != "nodejs20.x" || all.MemorySize != 128 || all.Timeout != 3 || len(all.Layers) != 0 || all.Environment != nil {
		t.Errorf("IgnoreGlobals *: %+v", all)
	}
	some := spec[*FunctionSpec](t, app, "IgnoresSome")
	if some.MemorySize != 256 || some.Environment != nil || len(some.Layers) != 0 || str(some.Tags["team"]) != "orders" {
		t.Errorf("IgnoreGlobals list: %+v", some)
	}
	// An intrinsic locally wins over a global map, and NoValue removes it.
	if iw := spec[*FunctionSpec](t, app, "IntrinsicWins"); iw.Environment != nil {
		t.Errorf("intrinsic should replace the global Environment: %v", iw.Environment)
	}
	api := spec[*APISpec](t, app, "ServerlessHttpApi")
	if !api.Implicit || api.Cors.String() != `{"AllowOrigins":["https://example.com"]}` {
		t.Errorf("Globals.HttpApi on the implicit API: %+v", api)
	}
}

func TestMergeGlobalRules(t *testing.T) {
	v := func(s string) *Value {
		x, err := parseValue([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tests := []struct{ g, l, want string }{
		{`a`, `b`, `"b"`},
		{`[1, 2]`, `[3]`, `[1,2,3]`},
		{`{A: 1, B: {C: 1, D: 2}}`, `{B: {D: 3}, E: 4}`, `{"A":1,"B":{"C":1,"D":3},"E":4}`},
		{`{A: 1}`, `[1]`, `[1]`},
		{`{A: 1}`, `!Ref X`, `{"Ref":"X"}`},
		{`!If [C, {A: 1}, {B: 2}]`, `{B: 3}`, `{"B":3}`},
	}
	for _, tt := range tests {
		if got := mergeGlobal(v(tt.g), v(tt.l)).String(); got != tt.want {
			t.Errorf("merge(%s, %s) = %s, want %s", tt.g, tt.l, got, tt.want)
		}
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		name       string
		opts       Options
		prodQueue  bool
		eastQueue  bool
		reserved   *int
		desc       string
		ruleState  string
		outputKeys []string
	}{
		{name: "dev", prodQueue: false, desc: "development", ruleState: "DISABLED", outputKeys: []string{"Env"}},
		{name: "staging", opts: Options{Parameters: map[string]string{"Env": "staging"}}, reserved: intp(10), desc: "shared", ruleState: "DISABLED", outputKeys: []string{"Env"}},
		{name: "prod", opts: Options{Parameters: map[string]string{"Env": "prod"}}, prodQueue: true, eastQueue: true, reserved: intp(10), desc: "shared", ruleState: "ENABLED", outputKeys: []string{"ProdQueueUrl", "Env"}},
		{name: "prod elsewhere", opts: Options{Parameters: map[string]string{"Env": "prod"}, Pseudo: Pseudo{Region: "eu-west-1"}}, prodQueue: true, reserved: intp(10), desc: "shared", ruleState: "ENABLED", outputKeys: []string{"ProdQueueUrl", "Env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := load(t, "conditions.yaml", tt.opts)
			if (app.Resource("ProdQueue") != nil) != tt.prodQueue || (app.Resource("EastQueue") != nil) != tt.eastQueue {
				t.Errorf("queues: %v", ids(app))
			}
			fn := spec[*FunctionSpec](t, app, "Fn")
			if !reflect.DeepEqual(fn.ReservedConcurrentExecutions, tt.reserved) || fn.Description != tt.desc {
				t.Errorf("fn = %+v", fn)
			}
			if st := spec[*RuleSpec](t, app, "FnTick").State; st != tt.ruleState {
				t.Errorf("rule state %s", st)
			}
			var keys []string
			for _, o := range app.Outputs {
				keys = append(keys, o.Name)
			}
			if !reflect.DeepEqual(keys, tt.outputKeys) {
				t.Errorf("outputs %v", keys)
			}
		})
	}
}

func intp(n int) *int { return &n }

func TestParameterOverrides(t *testing.T) {
	data, err := os.ReadFile("testdata/conditions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		params map[string]string
		want   string
	}{
		{map[string]string{"Env": "qa"}, `conditions.yaml:3: parameter "Env": value "qa" is not one of [dev staging prod]`},
		{map[string]string{"Replicas": "nine"}, `parameter "Replicas": value "nine" is not a number`},
		{map[string]string{"Replicas": "9"}, `parameter "Replicas": value 9 is above MaxValue 5`},
		{map[string]string{"Nope": "1"}, `parameter override "Nope": the template has no such parameter`},
	}
	for _, tt := range tests {
		_, err := Load("conditions.yaml", data, Options{Parameters: tt.params})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.params, err, tt.want)
		}
		if fault.KindOf(err) != fault.Invalid {
			t.Errorf("%v: kind %v", tt.params, fault.KindOf(err))
		}
	}
}

func TestExplicitAPIs(t *testing.T) {
	app := load(t, "explicit_apis.yaml", Options{})
	for _, id := range []string{"OrdersApi", "OrdersApiv1Stage", "ParamStageApi", "ParamStageApiStage",
		"PublicApi", "PublicApiliveStage", "DefaultStageApi", "DefaultStageApiApiGatewayDefaultStage",
		"OrdersFunctionCreatePermissionv1", "OrdersFunctionParamPermissionStage", "OrdersFunctionPublicPermission",
		"OrdersFunctionDefaultPermission", "BufferedFromTopic", "BufferedFromTopicQueuePolicy",
		"BufferedFromTopicEventSourceMapping"} {
		if app.Resource(id) == nil {
			t.Errorf("missing %s; have %v", id, ids(app))
		}
	}
	if app.Resource("ServerlessRestApi") != nil || app.Resource("ServerlessHttpApi") != nil || app.Resource("BufferedFromTopicQueue") != nil {
		t.Errorf("no implicit API or queue expected: %v", ids(app))
	}
	api := spec[*APISpec](t, app, "OrdersApi")
	if api.Implicit || api.StageName != "v1" || api.Cors.String() != `"'*'"` || api.Models.Get("Order") == nil ||
		api.Auth.Get("Authorizers").Get("TokenAuth").Get("FunctionArn").String() != `{"Fn::GetAtt":["AuthFunction","Arn"]}` {
		t.Errorf("OrdersApi = %+v", api)
	}
	if deps := app.Resource("OrdersApi").DependsOn; !reflect.DeepEqual(deps, []string{"AuthFunction"}) {
		t.Errorf("the API depends on its authorizer function: %v", deps)
	}
	create := spec[*RouteSpec](t, app, "OrdersFunctionCreateRoute")
	if create.API != "OrdersApi" || create.APIType != TypeRestAPI || create.RequestModel.Get("Model").String() != `"Order"` {
		t.Errorf("create route = %+v", create)
	}
	public := spec[*RouteSpec](t, app, "OrdersFunctionPublicRoute")
	if public.API != "PublicApi" || public.PayloadFormatVersion != "1.0" || public.Method != "GET" {
		t.Errorf("public route = %+v", public)
	}
	esm := spec[*EventSourceMappingSpec](t, app, "BufferedFromTopicEventSourceMapping")
	if esm.BatchSize != 7 || esm.EventSourceArn.String() != `{"Fn::GetAtt":["Inbox","Arn"]}` {
		t.Errorf("esm = %+v", esm)
	}
	if len(app.Outputs) != 1 || app.Outputs[0].Value.String() != `{"Ref":"OrdersApiv1Stage"}` {
		t.Errorf("outputs %v", app.Outputs)
	}
}

func TestCloudFormationResources(t *testing.T) {
	app := load(t, "cloudformation.yaml", Options{Pseudo: Pseudo{StackName: "shop"}})
	if app.Template.IsSAM() {
		t.Error("a template without AWS::Serverless types is not SAM")
	}
	fn := spec[*FunctionSpec](t, app, "Fn")
	if fn.FunctionName.String() != `"shop-fn"` || fn.MemorySize != 512 || fn.Timeout != 20 || fn.Architecture != "arm64" ||
		fn.InlineCode == "" || fn.Environment["TOPIC"].String() != `{"Ref":"Topic"}` || fn.DeadLetter == nil {
		t.Errorf("fn = %+v", fn)
	}
	if a := spec[*AliasSpec](t, app, "Alias"); a.Function != "Fn" || a.Name != "live" {
		t.Errorf("alias = %+v", a)
	}
	if v := spec[*VersionSpec](t, app, "Version"); v.Function != "Fn" {
		t.Errorf("version = %+v", v)
	}
	if u := spec[*FunctionURLSpec](t, app, "Url"); u.Function != "Fn" || u.AuthType != "AWS_IAM" || u.Qualifier != "live" {
		t.Errorf("url = %+v", u)
	}
	if deps := app.Resource("Url").DependsOn; !reflect.DeepEqual(deps, []string{"Alias", "Fn"}) {
		t.Errorf("url deps = %v", deps)
	}
	if e := spec[*EventInvokeConfigSpec](t, app, "Async"); *e.MaximumRetryAttempts != 0 || e.OnFailure == nil {
		t.Errorf("eic = %+v", e)
	}
	if q := spec[*QueueSpec](t, app, "Dlq"); !q.FifoQueue {
		t.Errorf("queue = %+v", q)
	}
	if s := spec[*SubscriptionSpec](t, app, "Sub"); s.Protocol != "sqs" || !s.RawMessageDelivery {
		t.Errorf("sub = %+v", s)
	}
	if m := spec[*EventSourceMappingSpec](t, app, "Mapping"); m.BatchSize != 1 || m.Enabled {
		t.Errorf("esm = %+v", m)
	}
	if r := spec[*RuleSpec](t, app, "Rule"); r.ScheduleExpression != "cron(0 12 * * ? *)" || r.State != "ENABLED" || len(r.Targets) != 1 || r.Targets[0].ID != "fn" {
		t.Errorf("rule = %+v", r)
	}
	if s := spec[*ScheduleSpec](t, app, "Schedule"); s.ScheduleExpression != "at(2030-01-01T00:00:00)" || s.State != "ENABLED" {
		t.Errorf("schedule = %+v", s)
	}
	if p := spec[*PermissionSpec](t, app, "Perm"); p.Action != "lambda:InvokeFunction" || p.SourceArn.String() != `{"Fn::GetAtt":["Rule","Arn"]}` {
		t.Errorf("perm = %+v", p)
	}
	if types := app.Template.ResourceTypes(); len(types) != 13 {
		t.Errorf("types = %v", types)
	}
}
