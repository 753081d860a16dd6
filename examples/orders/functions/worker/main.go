// Command worker takes sealed orders off the queue in batches, opens them
// and records them (RECORDED_URL), reporting the messages it could not
// read as batch item failures.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lamina-dev/lamina/examples/orders/internal/orders"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	sealer, err := orders.NewSealer(os.Getenv("ORDER_KEY"))
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	q, err := orders.NewSQS(context.Background())
	if err != nil {
		log.Error("configuration", "err", err)
		os.Exit(1)
	}
	w := &orders.Worker{Sealer: sealer, Out: q, RecordURL: os.Getenv("RECORDED_URL"), Log: log}
	lambda.Start(w.Handle)
}
