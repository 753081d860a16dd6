// Command depth-reporter runs on a schedule and reports how many messages
// wait in the application's queues, as one EMF log line and as its result.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/lamina-dev/lamina/examples/orders/internal/orders"
)

func main() {
	q, err := orders.NewSQS(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "configuration:", err)
		os.Exit(1)
	}
	queues := map[string]string{
		"orders":   os.Getenv("ORDERS_URL"),
		"dlq":      os.Getenv("DLQ_URL"),
		"recorded": os.Getenv("RECORDED_URL"),
	}
	lambda.Start(func(ctx context.Context, _ json.RawMessage) ([]orders.QueueDepth, error) {
		depths, err := orders.Report(ctx, q, queues)
		if err != nil {
			return nil, err
		}
		line, _ := json.Marshal(orders.EMF(depths, time.Now().UnixMilli()))
		fmt.Println(string(line))
		return depths, nil
	})
}
