package provision

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
	"github.com/lamina-dev/lamina/internal/testfn"
	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// stackV1 has one resource of every type the provisioner makes.
const stackV1 = `
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: provided.al2023
    Handler: bootstrap
    Timeout: 3
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
      RedrivePolicy: {deadLetterTargetArn: !GetAtt JobsDLQ.Arn, maxReceiveCount: 4}
  JobsDLQ:
    Type: AWS::SQS::Queue
  Alerts:
    Type: AWS::SNS::Topic
  AlertsToDLQ:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt JobsDLQ.Arn
      RawMessageDelivery: true
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker
      AutoPublishAlias: live
      ReservedConcurrentExecutions: 5
      Environment:
        Variables:
          JOBS_URL: !Ref Jobs
          ALERTS_ARN: !Ref Alerts
      FunctionUrlConfig:
        AuthType: NONE
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt JobsDLQ.Arn}
      Events:
        Get:
          Type: HttpApi
          Properties:
            Path: /jobs/{id}
            Method: GET
        Post:
          Type: Api
          Properties:
            RestApiId: !Ref Rest
            Path: /jobs
            Method: post
            RequestModel: {Model: Job, Required: true}
            RequestParameters:
              - method.request.header.X-Job-Owner: {Required: true}
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5}
        Tick:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 3 * * ? *)
        Alert:
          Type: SNS
          Properties: {Topic: !Ref Alerts}
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Tags: {team: jobs, tier: web}
      Models:
        Job:
          type: object
          required: [name]
          properties: {name: {type: string}}
      Auth:
        ApiKeyRequired: true
        UsagePlan: {CreateUsagePlan: PER_API}
Outputs:
  Url:
    Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.amazonaws.com/jobs/7"
`

type env struct {
	t    *testing.T
	p    *laminatest.Platform
	prov *Provisioner
	code map[string]*deploy.Code
}

func newEnv(t *testing.T) *env {
	p := laminatest.Start(t)
	zip := testfn.Zip(t)
	sum := sha256.Sum256(zip)
	return &env{t: t, p: p, prov: New(Config{AWS: p.AWSConfig(), Endpoint: p.Endpoint}),
		code: map[string]*deploy.Code{"Worker": {Zip: zip, SHA256: base64.StdEncoding.EncodeToString(sum[:])}}}
}

func (e *env) apply(ctx context.Context, tmpl string, prev *deploy.StackState) (*deploy.StackState, *deploy.Plan, error) {
	e.t.Helper()
	app := &manifest.Application{}
	if tmpl != "" {
		var err error
		app, err = manifest.Load("template.yaml", []byte(tmpl), manifest.Options{Pseudo: manifest.Pseudo{StackName: "jobs"}})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	hashes := map[string]string{}
	for id, c := range e.code {
		hashes[id] = c.SHA256
	}
	plan, err := deploy.ComputePlan(app, prev, hashes)
	if err != nil {
		e.t.Fatal(err)
	}
	plan.Stack = "jobs"
	s, err := deploy.Apply(ctx, plan, app, prev, deploy.ApplyOptions{Provisioner: e.prov, Code: e.code})
	return s, plan, err
}

func TestProvisionEveryResourceType(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := e.p.AWSConfig()
	lc, qc, sc := lambda.NewFromConfig(cfg), sqs.NewFromConfig(cfg), sns.NewFromConfig(cfg)
	sch, ev := scheduler.NewFromConfig(cfg), eventbridge.NewFromConfig(cfg)
	gw2, gw1 := apigatewayv2.NewFromConfig(cfg), apigateway.NewFromConfig(cfg)

	s1, _, err := e.apply(ctx, stackV1, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := func(id string) *deploy.ResourceState {
		rs := s1.Resources[id]
		if rs == nil {
			t.Fatalf("no %s in the state", id)
		}
		return rs
	}

	// The function: named after the stack, its environment resolved, tagged.
	fn, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("jobs-Worker")})
	if err != nil {
		t.Fatal(err)
	}
	vars := fn.Configuration.Environment.Variables
	if vars["JOBS_URL"] != res("Jobs").PhysicalID || vars["ALERTS_ARN"] != res("Alerts").PhysicalID || fn.Tags["lamina:stack"] != "jobs" {
		t.Errorf("function env %v tags %v", vars, fn.Tags)
	}
	if fn.Concurrency == nil || aws.ToInt32(fn.Concurrency.ReservedConcurrentExecutions) != 5 {
		t.Errorf("reserved concurrency %+v", fn.Concurrency)
	}
	alias, err := lc.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("jobs-Worker"), Name: aws.String("live")})
	if err != nil || aws.ToString(alias.FunctionVersion) != "1" {
		t.Errorf("alias live: %+v %v", alias, err)
	}
	if u, err := lc.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String("jobs-Worker"), Qualifier: aws.String("live")}); err != nil || aws.ToString(u.FunctionUrl) != res("WorkerUrl").Attrs["FunctionUrl"] {
		t.Errorf("function URL: %+v %v", u, err)
	}
	eic, err := lc.GetFunctionEventInvokeConfig(ctx, &lambda.GetFunctionEventInvokeConfigInput{FunctionName: aws.String("jobs-Worker"), Qualifier: aws.String("live")})
	if err != nil || aws.ToInt32(eic.MaximumRetryAttempts) != 1 || aws.ToString(eic.DestinationConfig.OnFailure.Destination) != res("JobsDLQ").Attrs["Arn"] {
		t.Errorf("event invoke config: %+v %v", eic, err)
	}
	// The queue's redrive policy points at the DLQ's ARN.
	qa, err := qc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(res("Jobs").PhysicalID), AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil || !strings.Contains(qa.Attributes["RedrivePolicy"], res("JobsDLQ").Attrs["Arn"]) || qa.Attributes["VisibilityTimeout"] != "30" {
		t.Errorf("queue attributes %v %v", qa, err)
	}
	// Event sources.
	esms, err := lc.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String("jobs-Worker:live")})
	if err != nil || len(esms.EventSourceMappings) != 1 || aws.ToInt32(esms.EventSourceMappings[0].BatchSize) != 5 {
		t.Errorf("event source mappings %+v %v", esms, err)
	}
	if sd, err := sch.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(res("WorkerTick").PhysicalID)}); err != nil || !strings.HasSuffix(aws.ToString(sd.Target.Arn), ":jobs-Worker:live") {
		t.Errorf("schedule %+v %v", sd, err)
	}
	if tg, err := ev.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(res("WorkerNightly").PhysicalID)}); err != nil || len(tg.Targets) != 1 {
		t.Errorf("rule targets %+v %v", tg, err)
	}
	subs, err := sc.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(res("Alerts").PhysicalID)})
	if err != nil || len(subs.Subscriptions) != 2 {
		t.Errorf("subscriptions %+v %v", subs, err)
	}
	// APIs: the HTTP API's route answers over HTTP; the REST API has its
	// model, its usage plan and a key-protected route.
	routes, err := gw2.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(res("Rest").PhysicalID)})
	if err != nil || len(routes.Items) != 1 || aws.ToString(routes.Items[0].RouteKey) != "POST /jobs" || !aws.ToBool(routes.Items[0].ApiKeyRequired) || routes.Items[0].RequestModels["application/json"] != "Job" {
		t.Errorf("REST routes %+v %v", routes, err)
	} else if p := routes.Items[0].RequestParameters["method.request.header.X-Job-Owner"]; !aws.ToBool(p.Required) {
		t.Errorf("REST route parameters %+v", routes.Items[0].RequestParameters)
	}
	restARN := "arn:aws:apigateway:" + cfg.Region + "::/apis/" + res("Rest").PhysicalID
	if tags, err := gw2.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: aws.String(restARN)}); err != nil || tags.Tags["team"] != "jobs" || tags.Tags["tier"] != "web" {
		t.Errorf("REST API tags %+v %v", tags, err)
	}
	plans, err := gw1.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{})
	if err != nil || len(plans.Items) != 1 || aws.ToString(plans.Items[0].ApiStages[0].ApiId) != res("Rest").PhysicalID {
		t.Errorf("usage plans %+v %v", plans, err)
	}
	local := s1.Outputs[0].Local
	if !strings.HasPrefix(local, e.p.GatewayURL) {
		t.Fatalf("output %+v (gateway %s)", s1.Outputs[0], e.p.GatewayURL)
	}
	resp, err := http.Get(local)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"routeKey":"GET /jobs/{id}"`) {
		t.Errorf("GET %s: %d %s", local, resp.StatusCode, body)
	}
	restURL := deploy.LocalAPIBase(res("Rest").Attrs["ApiEndpoint"], res("Rest").PhysicalID) + "/Prod/jobs"
	if resp, err := http.Post(restURL, "application/json", strings.NewReader(`{"name":"x"}`)); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST %s without a key: %v %v", restURL, resp.StatusCode, err)
	}
	// SAM's RestUsagePlan holds RestApiKey (through RestUsagePlanKey), and
	// that key opens the route.
	pk, err := gw1.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: aws.String(res("RestUsagePlan").PhysicalID)})
	if err != nil || len(pk.Items) != 1 || aws.ToString(pk.Items[0].Id) != res("RestApiKey").PhysicalID {
		t.Fatalf("usage plan keys %+v %v", pk, err)
	}
	key, err := gw1.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(res("RestApiKey").PhysicalID), IncludeValue: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	postJob := func(owner string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, restURL, strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-api-key", aws.ToString(key.Value))
		if owner != "" {
			req.Header.Set("X-Job-Owner", owner)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Past the key and the validation, the worker's answer is no proxy
	// response: 502, which is not the gateway refusing the request.
	if code := postJob("ann"); code == http.StatusForbidden || code == http.StatusBadRequest {
		t.Errorf("POST %s with the key and the owner header: %d", restURL, code)
	}
	if code := postJob(""); code != http.StatusBadRequest {
		t.Errorf("POST %s without the required header: %d, want 400", restURL, code)
	}

	// Update: the batch size changes in place, the topic and its
	// subscriptions go, the HTTP route moves.
	v2 := strings.NewReplacer(
		"BatchSize: 5", "BatchSize: 7",
		"Path: /jobs/{id}", "Path: /tasks/{id}",
		"/jobs/7", "/tasks/7",
		"Tags: {team: jobs, tier: web}", "Tags: {team: jobs}",
		"UsagePlan: {CreateUsagePlan: PER_API}", "UsagePlan: {CreateUsagePlan: PER_API, Quota: {Limit: 100, Period: DAY}, Throttle: {BurstLimit: 5, RateLimit: 10}}",
		"            RequestParameters:\n              - method.request.header.X-Job-Owner: {Required: true}\n", "",
	).Replace(stackV1)
	v2 = strings.Replace(v2, `        Alert:
          Type: SNS
          Properties: {Topic: !Ref Alerts}
`, "", 1)
	v2 = strings.Replace(v2, `  Alerts:
    Type: AWS::SNS::Topic
  AlertsToDLQ:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Alerts
      Protocol: sqs
      Endpoint: !GetAtt JobsDLQ.Arn
      RawMessageDelivery: true
`, "", 1)
	v2 = strings.Replace(v2, "          ALERTS_ARN: !Ref Alerts\n", "", 1)
	s2, plan, err := e.apply(ctx, v2, s1)
	if err != nil {
		t.Fatal(err)
	}
	// The environment changed, so SAM's version id changes, and the REST
	// API's definition changed, so its deployment id does: those are the
	// only creates.
	for _, c := range plan.Changes {
		if c.Action == deploy.Create && c.ResourceType != manifest.TypeVersion && c.ResourceType != manifest.TypeDeployment {
			t.Errorf("update plan creates %s (%s): %s", c.LogicalID, c.ResourceType, plan.Summary())
		}
	}
	if plan.Counts()[deploy.Delete] < 3 {
		t.Errorf("update plan %s", plan.Summary())
	}
	if alias, err := lc.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("jobs-Worker"), Name: aws.String("live")}); err != nil || aws.ToString(alias.FunctionVersion) != "2" {
		t.Errorf("alias after update: %+v %v", alias, err)
	}
	if s2.Resources["WorkerQueue"].PhysicalID != s1.Resources["WorkerQueue"].PhysicalID {
		t.Error("the event source mapping was replaced instead of updated")
	}
	esms, _ = lc.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: aws.String("jobs-Worker:live")})
	if len(esms.EventSourceMappings) != 1 || aws.ToInt32(esms.EventSourceMappings[0].BatchSize) != 7 {
		t.Errorf("after update: mappings %+v", esms.EventSourceMappings)
	}
	if topics, _ := sc.ListTopics(ctx, &sns.ListTopicsInput{}); len(topics.Topics) != 0 {
		t.Errorf("topics after update: %+v", topics.Topics)
	}
	if resp, err := http.Get(s2.Outputs[0].Local); err != nil || resp.StatusCode != 200 {
		t.Errorf("moved route: %v %v", resp, err)
	}
	if resp, err := http.Get(local); err != nil || resp.StatusCode != 404 {
		t.Errorf("old route still answers: %v %v", resp, err)
	}
	// The usage plan was patched in place: same id, new limits, its key kept.
	if s2.Resources["RestUsagePlan"].PhysicalID != s1.Resources["RestUsagePlan"].PhysicalID {
		t.Error("the usage plan was replaced instead of updated")
	}
	up, err := gw1.GetUsagePlan(ctx, &apigateway.GetUsagePlanInput{UsagePlanId: aws.String(s2.Resources["RestUsagePlan"].PhysicalID)})
	if err != nil || up.Quota == nil || up.Quota.Limit != 100 || up.Throttle == nil || up.Throttle.BurstLimit != 5 || up.Throttle.RateLimit != 10 {
		t.Errorf("usage plan after update %+v %v", up, err)
	}
	if pk, err := gw1.GetUsagePlanKeys(ctx, &apigateway.GetUsagePlanKeysInput{UsagePlanId: up.Id}); err != nil || len(pk.Items) != 1 {
		t.Errorf("usage plan keys after update %+v %v", pk, err)
	}
	// The REST API lost a tag and its route the header it required.
	if tags, err := gw2.GetTags(ctx, &apigatewayv2.GetTagsInput{ResourceArn: aws.String(restARN)}); err != nil || tags.Tags["team"] != "jobs" || tags.Tags["tier"] != "" {
		t.Errorf("REST API tags after update %v %v (want team, and tier gone)", tags.Tags, err)
	}
	if code := postJob(""); code == http.StatusForbidden || code == http.StatusBadRequest {
		t.Errorf("POST %s without the header the template no longer requires: %d", restURL, code)
	}

	// Delete everything: nothing of the stack is left.
	s3, _, err := e.apply(ctx, "", s2)
	if err != nil {
		t.Fatal(err)
	}
	if len(s3.Resources) != 0 {
		t.Errorf("state after delete: %v", slices.Collect(mapsKeys(s3.Resources)))
	}
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("jobs-Worker")}); !notFound(err) {
		t.Errorf("function after delete: %v", err)
	}
	if qs, _ := qc.ListQueues(ctx, &sqs.ListQueuesInput{}); len(qs.QueueUrls) != 0 {
		t.Errorf("queues after delete: %v", qs.QueueUrls)
	}
	if apis, _ := gw2.GetApis(ctx, &apigatewayv2.GetApisInput{}); len(apis.Items) != 0 {
		t.Errorf("APIs after delete: %+v", apis.Items)
	}
	if plans, _ := gw1.GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{}); len(plans.Items) != 0 {
		t.Errorf("usage plans after delete: %+v", plans.Items)
	}
	if ss, _ := sch.ListSchedules(ctx, &scheduler.ListSchedulesInput{}); len(ss.Schedules) != 0 {
		t.Errorf("schedules after delete: %+v", ss.Schedules)
	}
	if rules, _ := ev.ListRules(ctx, &eventbridge.ListRulesInput{}); len(rules.Rules) != 0 {
		t.Errorf("rules after delete: %+v", rules.Rules)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestProvisionErrorsAreShort: a refused call reads as the service's code
// and message, not the SDK's operation, status and request id.
func TestProvisionErrorsAreShort(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tmpl := `
Resources:
  Bad:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 999999
`
	_, _, err := e.apply(ctx, tmpl, nil)
	if err == nil {
		t.Fatal("a queue with an invalid visibility timeout was created")
	}
	msg := err.Error()
	if strings.Contains(msg, "RequestID") || strings.Contains(msg, "https response error") || !strings.Contains(msg, "Bad") || !strings.Contains(msg, "VisibilityTimeout") {
		t.Errorf("error %q", msg)
	}
}
