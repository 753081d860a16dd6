// Command place-order is the POST /orders function: it validates the
// order, seals it with AES-GCM (ORDER_KEY) and queues it (QUEUE_URL).
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
	p := &orders.Placer{Sealer: sealer, Queue: q, QueueURL: os.Getenv("QUEUE_URL"), Log: log}
	lambda.Start(p.Handle)
}
