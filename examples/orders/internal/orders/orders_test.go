package orders

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

const testKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

func sealer(t *testing.T, key string) *Sealer {
	t.Helper()
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealRoundTripAndTampering(t *testing.T) {
	s := sealer(t, testKey)
	p := &Placed{ID: "ord-1", PlacedAt: time.Unix(1700000000, 0).UTC(), Order: Order{Customer: "ann", Items: []Item{{SKU: "tea", Qty: 2}}}}
	text, err := s.Seal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "ann") || strings.Contains(text, "tea") {
		t.Fatalf("sealed text shows the order: %s", text)
	}
	again, _ := s.Seal(p)
	if again == text {
		t.Fatal("two seals of one order are equal: the nonce is not random")
	}
	got, err := s.Open(text)
	if err != nil || got.ID != "ord-1" || got.Customer != "ann" || got.Items[0].Qty != 2 {
		t.Fatalf("Open = %+v, %v", got, err)
	}

	raw, _ := base64.StdEncoding.DecodeString(text)
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	other := strings.Repeat("ff", 32)
	for name, in := range map[string]string{
		"tampered":  base64.StdEncoding.EncodeToString(flipped),
		"truncated": base64.StdEncoding.EncodeToString(raw[:10]),
		"not b64":   "%%%",
		"plain":     `{"id":"ord-1"}`,
		"empty":     "",
	} {
		if _, err := s.Open(in); !errors.Is(err, ErrUnreadable) {
			t.Errorf("%s: Open err = %v, want ErrUnreadable", name, err)
		}
	}
	if _, err := sealer(t, other).Open(text); !errors.Is(err, ErrUnreadable) {
		t.Errorf("wrong key: err = %v", err)
	}
}

func TestNewSealerRejectsBadKeys(t *testing.T) {
	for _, k := range []string{"", "zz", strings.Repeat("ab", 16), strings.Repeat("ab", 33)} {
		if _, err := NewSealer(k); err == nil {
			t.Errorf("NewSealer(%q) accepted", k)
		}
	}
}

func TestDecodeOrder(t *testing.T) {
	for _, tc := range []struct {
		body, wantErr string
	}{
		{`{"customer":"ann","items":[{"sku":"a","qty":1}]}`, ""},
		{`{"customer":"ann","items":[]}`, "at least one item"},
		{`{"customer":" ","items":[{"sku":"a","qty":1}]}`, "customer is required"},
		{`{"customer":"ann","items":[{"sku":"","qty":0}]}`, "items[0].sku is required"},
		{`{"customer":"ann","items":[{"sku":"a","qty":0}]}`, "items[0].qty must be at least 1"},
		{`{"customer":"ann","items":[{"sku":"a","qty":1}],"x":1}`, "unknown field"},
		{`not json`, "invalid order"},
	} {
		_, err := DecodeOrder([]byte(tc.body))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.body, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: err %v, want %q", tc.body, err, tc.wantErr)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	secret := []byte("s3cret")
	now := time.Unix(1800000000, 0)
	a := &Authenticator{APIKey: "k1", JWTSecret: secret, Now: func() time.Time { return now }}
	valid, _ := Token(secret, "bob", now, time.Hour)
	expired, _ := Token(secret, "bob", now.Add(-2*time.Hour), time.Hour)
	forged, _ := Token([]byte("other"), "bob", now, time.Hour)
	noSub, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}).SignedString(secret)
	noExp, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "bob"}).SignedString(secret)
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Subject: "bob", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs512, _ := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.RegisteredClaims{Subject: "bob", ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}).SignedString(secret)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    string // principal, "" = denied
	}{
		{"valid token", map[string]string{"Authorization": "Bearer " + valid}, "bob"},
		{"header case", map[string]string{"authorization": "Bearer " + valid}, "bob"},
		{"expired", map[string]string{"Authorization": "Bearer " + expired}, ""},
		{"wrong secret", map[string]string{"Authorization": "Bearer " + forged}, ""},
		{"no subject", map[string]string{"Authorization": "Bearer " + noSub}, ""},
		{"no expiry", map[string]string{"Authorization": "Bearer " + noExp}, ""},
		{"alg none", map[string]string{"Authorization": "Bearer " + none}, ""},
		{"other alg", map[string]string{"Authorization": "Bearer " + hs512}, ""},
		{"bad token, good key", map[string]string{"Authorization": "Bearer x", "x-api-key": "k1"}, ""},
		{"valid key", map[string]string{"X-Api-Key": "k1"}, "api-key"},
		{"wrong key", map[string]string{"x-api-key": "k2"}, ""},
		{"key prefix", map[string]string{"x-api-key": "k"}, ""},
		{"nothing", nil, ""},
	} {
		id, err := a.Authenticate(tc.headers)
		switch {
		case tc.want == "" && (err == nil || !errors.Is(err, ErrDenied)):
			t.Errorf("%s: allowed as %+v", tc.name, id)
		case tc.want != "" && (err != nil || id.Principal != tc.want):
			t.Errorf("%s: %+v, %v; want %s", tc.name, id, err, tc.want)
		}
	}
}

func TestPolicy(t *testing.T) {
	arn := "arn:aws:execute-api:us-east-1:000000000000:abc/Prod/POST/orders"
	allow := Policy(arn, &Identity{Principal: "bob", Method: "jwt"})
	deny := Policy(arn, nil)
	if s := allow.PolicyDocument.Statement[0]; s.Effect != "Allow" || s.Resource[0] != arn || allow.PrincipalID != "bob" || allow.Context["authMethod"] != "jwt" {
		t.Errorf("allow = %+v", allow)
	}
	if deny.PolicyDocument.Statement[0].Effect != "Deny" {
		t.Errorf("deny = %+v", deny)
	}
}

type fakeQueue struct {
	sent []string
	fail bool
}

func (f *fakeQueue) Send(_ context.Context, _, body string) error {
	if f.fail {
		return errors.New("queue down")
	}
	f.sent = append(f.sent, body)
	return nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestWorkerReportsOnlyUnreadableMessages(t *testing.T) {
	s := sealer(t, testKey)
	good, _ := s.Seal(&Placed{ID: "ord-1", Order: Order{Customer: "ann", Items: []Item{{SKU: "a", Qty: 1}}}})
	good2, _ := s.Seal(&Placed{ID: "ord-2", Order: Order{Customer: "bob", Items: []Item{{SKU: "b", Qty: 3}}}})
	out := &fakeQueue{}
	w := &Worker{Sealer: s, Out: out, RecordURL: "q", Log: quiet}
	resp, err := w.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m1", Body: good}, {MessageId: "m2", Body: "poison"}, {MessageId: "m3", Body: good2},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" {
		t.Fatalf("failures %+v, want [m2]", resp.BatchItemFailures)
	}
	if len(out.sent) != 2 || !strings.Contains(out.sent[0], `"ord-1"`) || !strings.Contains(out.sent[1], `"bob"`) {
		t.Fatalf("recorded %q", out.sent)
	}
	// When recording fails, every message is reported, none lost.
	resp, _ = (&Worker{Sealer: s, Out: &fakeQueue{fail: true}, RecordURL: "q", Log: quiet}).Handle(context.Background(),
		events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: good}}})
	if len(resp.BatchItemFailures) != 1 {
		t.Fatalf("failures %+v when recording fails", resp.BatchItemFailures)
	}
}

func TestPlacer(t *testing.T) {
	s := sealer(t, testKey)
	for _, tc := range []struct {
		name     string
		req      events.APIGatewayProxyRequest
		queueErr bool
		status   int
	}{
		{"good", events.APIGatewayProxyRequest{Body: `{"customer":"ann","items":[{"sku":"a","qty":1}]}`}, false, 202},
		{"base64 body", events.APIGatewayProxyRequest{Body: base64.StdEncoding.EncodeToString([]byte(`{"customer":"ann","items":[{"sku":"a","qty":1}]}`)), IsBase64Encoded: true}, false, 202},
		{"invalid", events.APIGatewayProxyRequest{Body: `{"customer":"ann"}`}, false, 400},
		{"queue down", events.APIGatewayProxyRequest{Body: `{"customer":"ann","items":[{"sku":"a","qty":1}]}`}, true, 500},
	} {
		q := &fakeQueue{fail: tc.queueErr}
		p := &Placer{Sealer: s, Queue: q, QueueURL: "q", Log: quiet}
		resp, err := p.Handle(context.Background(), tc.req)
		if err != nil || resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s %v, want %d", tc.name, resp.StatusCode, resp.Body, err, tc.status)
			continue
		}
		if tc.status != 202 {
			if len(q.sent) != 0 {
				t.Errorf("%s: queued %q", tc.name, q.sent)
			}
			continue
		}
		var body struct{ OrderID string }
		_ = json.Unmarshal([]byte(resp.Body), &body)
		placed, err := s.Open(q.sent[0])
		if err != nil || placed.ID != body.OrderID || placed.Customer != "ann" {
			t.Errorf("%s: queued %+v (%v) for answer %s", tc.name, placed, err, resp.Body)
		}
	}
}

type fakeDepths map[string][2]int

func (f fakeDepths) Depth(_ context.Context, url string) (int, int, error) {
	d, ok := f[url]
	if !ok {
		return 0, 0, errors.New("no such queue")
	}
	return d[0], d[1], nil
}

func TestReportAndEMF(t *testing.T) {
	r := fakeDepths{"u1": {3, 1}, "u2": {0, 0}}
	depths, err := Report(context.Background(), r, map[string]string{"orders": "u1", "dlq": "u2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(depths) != 2 || depths[0].Queue != "dlq" || depths[1].Visible != 3 || depths[1].InFlight != 1 {
		t.Fatalf("depths %+v", depths)
	}
	rec := EMF(depths, 42)
	raw, _ := json.Marshal(rec)
	for _, want := range []string{`"Timestamp":42`, `"Namespace":"LaminaExamples/Orders"`, `"Queue":"dlq"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("EMF %s lacks %s", raw, want)
		}
	}
	if _, err := Report(context.Background(), r, map[string]string{"x": "missing"}); err == nil {
		t.Error("a failing queue did not fail the report")
	}
}
