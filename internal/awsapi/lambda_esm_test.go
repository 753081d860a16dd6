package awsapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/esm"
	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
	"github.com/lamina-dev/lamina/internal/invoke"
	"github.com/lamina-dev/lamina/internal/queue"
	"github.com/lamina-dev/lamina/internal/store"
)

// esmFunctions knows one function, "worker".
type esmFunctions struct{}

func (esmFunctions) Resolve(ctx context.Context, name string) (esm.Function, error) {
	ref, err := function.ParseRef(name)
	if err != nil {
		return esm.Function{}, err
	}
	arn := function.ARN("us-east-1", "000000000000", ref.Name, ref.Qualifier)
	if ref.Name != "worker" {
		return esm.Function{}, fault.New(fault.NotFound, "Function not found: %s", arn)
	}
	return esm.Function{ARN: arn, Timeout: 3 * time.Second}, nil
}

// esmInvoker records the bodies it was given.
type esmInvoker struct {
	mu     sync.Mutex
	events [][]byte
}

func (i *esmInvoker) Invoke(ctx context.Context, req invoke.Request) (*invoke.Response, error) {
	i.mu.Lock()
	i.events = append(i.events, req.Payload)
	i.mu.Unlock()
	return &invoke.Response{StatusCode: 200, Payload: []byte("null")}, nil
}

func (i *esmInvoker) seen(sub string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, e := range i.events {
		if strings.Contains(string(e), sub) {
			return true
		}
	}
	return false
}

// TestEventSourceMappingsSDK drives the event source mapping operations
// through aws-sdk-go-v2's Lambda client against the edge over a real esm
// service, queue service and embedded store.
func TestEventSourceMappingsSDK(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	queues, err := queue.New(ctx, queue.Options{Store: st, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { queues.Close() })
	inv := &esmInvoker{}
	svc, err := esm.New(ctx, esm.Options{Store: st, Queues: queues, Invoker: inv, Functions: esmFunctions{}, Logger: quietLogger(), PollWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	url := serveEdge(t, awsapi.Options{EventSourceMappings: svc, Logger: quietLogger()})
	client := lambda.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	}, func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(url)
		o.RetryMaxAttempts = 1
	})
	src, err := queues.CreateQueue(ctx, "src", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := queues.CreateQueue(ctx, "other", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const fnARN = "arn:aws:lambda:us-east-1:000000000000:function:worker"

	created, err := client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{
		FunctionName:                   aws.String("worker"),
		EventSourceArn:                 aws.String(src.ARN),
		BatchSize:                      aws.Int32(100),
		MaximumBatchingWindowInSeconds: aws.Int32(1),
		FunctionResponseTypes:          []types.FunctionResponseType{types.FunctionResponseTypeReportBatchItemFailures},
		ScalingConfig:                  &types.ScalingConfig{MaximumConcurrency: aws.Int32(5)},
		FilterCriteria:                 &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String(`{"body":{"kind":["a"]}}`)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(created.UUID)
	if id == "" || aws.ToString(created.State) != "Creating" || aws.ToString(created.FunctionArn) != fnARN ||
		aws.ToString(created.EventSourceArn) != src.ARN || aws.ToInt32(created.BatchSize) != 100 ||
		aws.ToInt32(created.MaximumBatchingWindowInSeconds) != 1 || len(created.FunctionResponseTypes) != 1 ||
		aws.ToInt32(created.ScalingConfig.MaximumConcurrency) != 5 || len(created.FilterCriteria.Filters) != 1 ||
		aws.ToString(created.EventSourceMappingArn) != "arn:aws:lambda:us-east-1:000000000000:event-source-mapping:"+id ||
		created.LastModified == nil || time.Since(*created.LastModified) > time.Minute {
		t.Fatalf("CreateEventSourceMapping: %+v", created)
	}

	got, err := client.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String(id)})
	if err != nil || aws.ToString(got.State) != "Enabled" || aws.ToString(got.StateTransitionReason) != "USER_INITIATED" ||
		aws.ToString(got.LastProcessingResult) == "" {
		t.Fatalf("GetEventSourceMapping: %+v, %v", got, err)
	}

	// A second mapping of the pair; a missing function, queue or mapping;
	// bad values.
	_, err = client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String(fnARN), EventSourceArn: aws.String(src.ARN)})
	if e := wantErr[*types.ResourceConflictException](t, err); !strings.Contains(aws.ToString(e.Message), id) {
		t.Errorf("conflict message %q", aws.ToString(e.Message))
	}
	_, err = client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("nope"), EventSourceArn: aws.String(other.ARN)})
	wantErr[*types.ResourceNotFoundException](t, err)
	_, err = client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker"), EventSourceArn: aws.String(other.ARN + "x")})
	wantErr[*types.InvalidParameterValueException](t, err)
	_, err = client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker"), EventSourceArn: aws.String(other.ARN), BatchSize: aws.Int32(50)})
	if e := wantErr[*types.InvalidParameterValueException](t, err); !strings.Contains(aws.ToString(e.Message), "Maximum batch window") {
		t.Errorf("batch size message %q", aws.ToString(e.Message))
	}
	_, err = client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker"), EventSourceArn: aws.String(other.ARN),
		FilterCriteria: &types.FilterCriteria{Filters: []types.Filter{{Pattern: aws.String(`{"body":`)}}}})
	wantErr[*types.InvalidParameterValueException](t, err)
	_, err = client.GetEventSourceMapping(ctx, &lambda.GetEventSourceMappingInput{UUID: aws.String("00000000-0000-0000-0000-000000000000")})
	wantErr[*types.ResourceNotFoundException](t, err)

	second, err := client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker:live"), EventSourceArn: aws.String(other.ARN), Enabled: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	third, err := client.CreateEventSourceMapping(ctx, &lambda.CreateEventSourceMappingInput{FunctionName: aws.String("worker"), EventSourceArn: aws.String(other.ARN)})
	if err != nil {
		t.Fatal(err)
	}

	// List with filters and paging.
	for _, tc := range []struct {
		fn, src string
		want    int
	}{{"", "", 3}, {"worker", "", 3}, {"worker:live", "", 1}, {"", src.ARN, 1}, {fnARN, other.ARN, 2}} {
		out, err := client.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{FunctionName: optional(tc.fn), EventSourceArn: optional(tc.src)})
		if err != nil || len(out.EventSourceMappings) != tc.want {
			t.Errorf("List(%q, %q): %d, %v; want %d", tc.fn, tc.src, len(out.EventSourceMappings), err, tc.want)
		}
	}
	var all []string
	p := lambda.NewListEventSourceMappingsPaginator(client, &lambda.ListEventSourceMappingsInput{MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.EventSourceMappings) > 2 {
			t.Errorf("page of %d", len(page.EventSourceMappings))
		}
		for _, m := range page.EventSourceMappings {
			all = append(all, aws.ToString(m.UUID))
		}
	}
	if len(all) != 3 {
		t.Errorf("paged through %v", all)
	}
	_, err = client.ListEventSourceMappings(ctx, &lambda.ListEventSourceMappingsInput{MaxItems: aws.Int32(0)})
	wantErr[*types.InvalidParameterValueException](t, err)

	// Messages flow through the first mapping (the filter keeps kind a).
	if _, err := queues.Send(ctx, "src", []queue.SendInput{{Body: `{"kind":"a","n":1}`}, {Body: `{"kind":"b","n":2}`}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !inv.seen(`\"n\":1`) {
		if time.Now().After(deadline) {
			t.Fatal("the mapping did not deliver")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if inv.seen(`\"n\":2`) {
		t.Error("a filtered-out message was delivered")
	}

	// Update: disable, clear filters and scaling; errors.
	up, err := client.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{
		UUID: aws.String(id), Enabled: aws.Bool(false), BatchSize: aws.Int32(10),
		FilterCriteria: &types.FilterCriteria{}, ScalingConfig: &types.ScalingConfig{},
	})
	if err != nil || aws.ToString(up.State) != "Disabling" || aws.ToInt32(up.BatchSize) != 10 || up.FilterCriteria != nil || up.ScalingConfig != nil {
		t.Fatalf("UpdateEventSourceMapping: %+v, %v", up, err)
	}
	_, err = client.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(id), BatchSize: aws.Int32(0)})
	wantErr[*types.InvalidParameterValueException](t, err)
	_, err = client.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String(aws.ToString(second.UUID)), FunctionName: aws.String("worker")})
	wantErr[*types.ResourceConflictException](t, err)
	_, err = client.UpdateEventSourceMapping(ctx, &lambda.UpdateEventSourceMappingInput{UUID: aws.String("00000000-0000-0000-0000-000000000000"), Enabled: aws.Bool(true)})
	wantErr[*types.ResourceNotFoundException](t, err)

	// Delete answers with the mapping in state Deleting.
	del, err := client.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: third.UUID})
	if err != nil || aws.ToString(del.State) != "Deleting" || aws.ToString(del.UUID) != aws.ToString(third.UUID) {
		t.Fatalf("DeleteEventSourceMapping: %+v, %v", del, err)
	}
	_, err = client.DeleteEventSourceMapping(ctx, &lambda.DeleteEventSourceMappingInput{UUID: third.UUID})
	wantErr[*types.ResourceNotFoundException](t, err)

	// The collection path with a trailing slash, as AWS documents it.
	resp, err := http.Get(url + "/2015-03-31/event-source-mappings/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET with trailing slash: %s", resp.Status)
	}
}

// TestEventSourceMappingsUnserved: without the service the routes are
// unknown operations.
func TestEventSourceMappingsUnserved(t *testing.T) {
	url := serveEdge(t, awsapi.Options{Logger: quietLogger()})
	resp, err := http.Get(url + "/2015-03-31/event-source-mappings")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" {
		t.Errorf("unserved: %s %s", resp.Status, resp.Header.Get("X-Amzn-ErrorType"))
	}
}
