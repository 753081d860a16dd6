package orders_test

// The example's end-to-end test: a real Lamina (laminatest), the real
// `lamina` binary deploying template.yaml as a user does, and the
// application driven over HTTP and the SQS and Lambda APIs.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lamina-dev/lamina/examples/orders/internal/orders"
	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/pkg/laminatest"
)

// The template's parameter defaults.
const (
	devAPIKey    = "orders-dev-key"
	devJWTSecret = "orders-dev-jwt-secret"
)

func repoRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// laminaBinary builds the lamina command as a user would run it.
func laminaBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lamina")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/lamina")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/lamina: %v\n%s", err, out)
	}
	return bin
}

type cli struct {
	t        *testing.T
	bin      string
	endpoint string
}

// run runs lamina with args against the platform; it fails the test on error.
func (c cli) run(args ...string) (stdout, stderr string) {
	c.t.Helper()
	cmd := exec.Command(c.bin, append(args, "--endpoint", c.endpoint)...)
	cmd.Dir = repoRoot(c.t)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("lamina %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func (c cli) deploy(extra ...string) (*deploy.StackState, string) {
	c.t.Helper()
	out, errOut := c.run(append([]string{"deploy", "-t", "examples/orders/template.yaml", "--stack", "orders", "--output", "json"}, extra...)...)
	var s deploy.StackState
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		c.t.Fatalf("deploy output is not a stack state: %v\n%s", err, out)
	}
	return &s, errOut
}

func output(t *testing.T, s *deploy.StackState, name string) deploy.Output {
	t.Helper()
	for _, o := range s.Outputs {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no output %s in %+v", name, s.Outputs)
	return deploy.Output{}
}

func post(t *testing.T, url string, headers map[string]string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// receiveAll collects the bodies of a queue's messages (deleting them)
// until want says it has enough or the deadline passes.
func receiveAll(ctx context.Context, t *testing.T, qc *sqs.Client, url string, want func([]string) bool) []string {
	t.Helper()
	var bodies []string
	deadline := time.Now().Add(60 * time.Second)
	for !want(bodies) {
		if time.Now().After(deadline) {
			t.Fatalf("queue %s: got %d messages %q before the deadline", url, len(bodies), bodies)
		}
		out, err := qc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			bodies = append(bodies, aws.ToString(m.Body))
			if _, err := qc.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bodies
}

func TestOrdersEndToEnd(t *testing.T) {
	p := laminatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := cli{t: t, bin: laminaBinary(t), endpoint: p.Endpoint}
	qc := sqs.NewFromConfig(p.AWSConfig())
	lc := lambda.NewFromConfig(p.AWSConfig())

	// Deploy.
	state, _ := c.deploy()
	if state.Status != deploy.StatusDeployed {
		t.Fatalf("status %s: %s", state.Status, state.Reason)
	}
	api := output(t, state, "OrdersApiUrl")
	if !strings.HasPrefix(api.Value, "https://"+state.Resources["OrdersApi"].PhysicalID+".execute-api.") || !strings.HasPrefix(api.Local, p.GatewayURL) {
		t.Fatalf("OrdersApiUrl %+v (gateway %s)", api, p.GatewayURL)
	}
	url := api.Local
	recorded := output(t, state, "RecordedOrdersUrl").Value
	dlq := output(t, state, "OrdersDLQUrl").Value
	ordersQueue := output(t, state, "OrdersQueueUrl").Value
	key := map[string]string{"x-api-key": devAPIKey}
	order := `{"customer":"ann","items":[{"sku":"tea","qty":2}]}`

	// Authorization: nothing, a wrong key, an expired or forged token are refused.
	now := time.Now()
	expired, _ := orders.Token([]byte(devJWTSecret), "ann", now.Add(-2*time.Hour), time.Hour)
	forged, _ := orders.Token([]byte("not-the-secret"), "ann", now, time.Hour)
	for name, h := range map[string]map[string]string{
		"no credentials": nil,
		"wrong key":      {"x-api-key": "guess"},
		"expired token":  {"Authorization": "Bearer " + expired},
		"forged token":   {"Authorization": "Bearer " + forged},
	} {
		if code, body := post(t, url, h, order); code != http.StatusForbidden && code != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401/403", name, code, body)
		}
	}
	// Validation by the API's JSON Schema model, before the function.
	for _, bad := range []string{`{"customer":"ann","items":[]}`, `{"items":[{"sku":"x","qty":1}]}`, `{"customer":"ann","items":[{"sku":"x","qty":0}]}`, `{"customer":"ann","items":[{"sku":"x","qty":1}],"extra":1}`} {
		code, body := post(t, url, key, bad)
		if code != http.StatusBadRequest || !strings.Contains(body, "Invalid request body") {
			t.Errorf("order %s: %d %s, want 400 Invalid request body", bad, code, body)
		}
	}
	// Two good orders: one with the API key, one with a token.
	var ids []string
	token, _ := orders.Token([]byte(devJWTSecret), "bob@example.com", now, time.Hour)
	for _, h := range []map[string]string{key, {"Authorization": "Bearer " + token}} {
		code, body := post(t, url, h, order)
		var placed struct{ OrderID string }
		if code != http.StatusAccepted || json.Unmarshal([]byte(body), &placed) != nil || placed.OrderID == "" {
			t.Fatalf("place order: %d %s", code, body)
		}
		ids = append(ids, placed.OrderID)
	}
	// The default-API address (the template tags OrdersApi lamina:default) works too.
	if code, body := post(t, p.GatewayURL+"/Prod/orders", key, `{"customer":"cy","items":[{"sku":"x","qty":1}]}`); code != http.StatusAccepted {
		t.Errorf("default API address: %d %s", code, body)
	} else {
		var placed struct{ OrderID string }
		_ = json.Unmarshal([]byte(body), &placed)
		ids = append(ids, placed.OrderID)
	}

	// The worker records each order, decrypted, exactly as placed.
	got := receiveAll(ctx, t, qc, recorded, func(b []string) bool { return len(b) >= len(ids) })
	seen := map[string]orders.Placed{}
	for _, b := range got {
		var pl orders.Placed
		if err := json.Unmarshal([]byte(b), &pl); err != nil {
			t.Fatalf("recorded order %q: %v", b, err)
		}
		seen[pl.ID] = pl
	}
	for _, id := range ids {
		pl, ok := seen[id]
		if !ok {
			t.Fatalf("order %s was not recorded; recorded %q", id, got)
		}
		if len(pl.Items) != 1 || pl.Items[0].SKU == "" {
			t.Errorf("recorded order %+v", pl)
		}
	}

	// A poison message (not sealed with the key) lands in the DLQ after 3 receives
	// and is never recorded.
	if _, err := qc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(ordersQueue), MessageBody: aws.String("poison: not an order")}); err != nil {
		t.Fatal(err)
	}
	dead := receiveAll(ctx, t, qc, dlq, func(b []string) bool { return len(b) >= 1 })
	if len(dead) != 1 || dead[0] != "poison: not an order" {
		t.Fatalf("DLQ holds %q", dead)
	}
	if out, err := qc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(recorded), WaitTimeSeconds: 1}); err != nil || len(out.Messages) != 0 {
		t.Fatalf("recorded after the poison: %v %v", out, err)
	}

	// The depth reporter (run by its schedule every minute) reports the queues.
	inv, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(state.Resources["DepthReporterFunction"].PhysicalID), Payload: []byte(`{}`)})
	if err != nil || inv.FunctionError != nil {
		t.Fatalf("depth reporter: %v %s", err, inv.Payload)
	}
	var depths []orders.QueueDepth
	if err := json.Unmarshal(inv.Payload, &depths); err != nil || len(depths) != 3 {
		t.Fatalf("depth report %s: %v", inv.Payload, err)
	}
	for _, d := range depths {
		if d.Visible != 0 || d.InFlight != 0 {
			t.Errorf("queue %s not empty after the test drained it: %+v", d.Queue, d)
		}
	}
	if state.Resources["DepthReporterFunctionEveryMinute"] == nil {
		t.Error("the schedule is not part of the stack")
	}

	// A second deploy changes nothing.
	again, errOut := c.deploy()
	if !strings.Contains(errOut, "no changes") {
		t.Errorf("redeploy said:\n%s", errOut)
	}
	for id, rs := range state.Resources {
		if again.Resources[id] == nil || again.Resources[id].PhysicalID != rs.PhysicalID {
			t.Errorf("redeploy changed %s", id)
		}
	}

	// A new API key: only the authorizer changes, and only the new key works.
	_, errOut = c.deploy("--parameter-overrides", "ApiKey=rotated-key")
	if !strings.Contains(errOut, "update   AuthorizerFunction") || !strings.Contains(errOut, "0 to create, 1 to update, 0 to delete") {
		t.Errorf("key rotation plan:\n%s", errOut)
	}
	if code, _ := post(t, url, key, order); code != http.StatusForbidden {
		t.Errorf("old key after rotation: %d, want 403", code)
	}
	if code, body := post(t, url, map[string]string{"x-api-key": "rotated-key"}, order); code != http.StatusAccepted {
		t.Errorf("new key: %d %s", code, body)
	}

	// Deleting the stack removes everything it made.
	c.run("stacks", "delete", "orders")
	if _, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(state.Resources["PlaceOrderFunction"].PhysicalID)}); err == nil {
		t.Error("PlaceOrderFunction still exists after stacks delete")
	}
	if code, _ := post(t, url, key, order); code != http.StatusNotFound {
		t.Errorf("API after delete: %d, want 404", code)
	}
	if list, _ := c.run("stacks", "list", "--output", "json"); strings.Contains(list, `"orders"`) {
		t.Errorf("stack still listed: %s", list)
	}
}
