package orders

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Placer is the POST /orders handler: it checks the order, seals it and
// queues it for the worker, answering 202 with the order id.
type Placer struct {
	Sealer   *Sealer
	Queue    Sender
	QueueURL string
	Log      *slog.Logger
	Now      func() time.Time
}

func jsonResponse(status int, v any) events.APIGatewayProxyResponse {
	body, _ := json.Marshal(v)
	return events.APIGatewayProxyResponse{StatusCode: status, Body: string(body), Headers: map[string]string{"Content-Type": "application/json"}}
}

// Handle answers one REST (payload 1.0) proxy request.
func (p *Placer) Handle(ctx context.Context, req events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		// Sent with a content type the gateway treats as binary (curl -d
		// without -H 'content-type: application/json'): still JSON to us.
		raw, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return jsonResponse(http.StatusBadRequest, map[string]string{"message": "invalid base64 body"}), nil
		}
		body = raw
	}
	o, err := DecodeOrder(body)
	if err != nil {
		return jsonResponse(http.StatusBadRequest, map[string]string{"message": err.Error()}), nil
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	placed := &Placed{ID: newID(), PlacedAt: now().UTC(), Order: *o}
	sealed, err := p.Sealer.Seal(placed)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	if err := p.Queue.Send(ctx, p.QueueURL, sealed); err != nil {
		// A 500 tells the client to try again; nothing was queued.
		p.Log.Error("queue order", "err", err)
		return jsonResponse(http.StatusInternalServerError, map[string]string{"message": "the order could not be queued; try again"}), nil
	}
	principal, _ := req.RequestContext.Authorizer["principalId"].(string)
	p.Log.Info("order placed", "orderId", placed.ID, "customer", o.Customer, "by", principal)
	return jsonResponse(http.StatusAccepted, map[string]string{"orderId": placed.ID}), nil
}

func newID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(errors.Join(errors.New("order id"), err))
	}
	return "ord-" + hex.EncodeToString(b)
}
