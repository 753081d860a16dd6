// Command authorizer is the API's Lambda REQUEST authorizer: a request is
// allowed with a bearer JWT signed with JWT_SECRET or with the API_KEY.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lamina-dev/lamina/examples/orders/internal/orders"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	auth := &orders.Authenticator{APIKey: os.Getenv("API_KEY"), JWTSecret: []byte(os.Getenv("JWT_SECRET"))}
	lambda.Start(func(_ context.Context, req events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		id, err := auth.Authenticate(req.Headers)
		if err != nil {
			log.Info("denied", "path", req.Path, "reason", err.Error())
			return orders.Policy(req.MethodArn, nil), nil
		}
		return orders.Policy(req.MethodArn, id), nil
	})
}
