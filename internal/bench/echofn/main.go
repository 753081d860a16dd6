// Command echofn is the function the invoke benchmark runs: an aws-lambda-go
// handler that decodes the event, and answers with what it was sent.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// Event is what the benchmark sends.
type Event struct {
	Message string `json:"message"`
	// SleepMs holds the invocation, to force several instances at once.
	SleepMs int `json:"sleepMs,omitempty"`
}

// Reply is what it answers.
type Reply struct {
	Echo string `json:"echo"`
}

func handle(_ context.Context, ev Event) (Reply, error) {
	if ev.SleepMs > 0 {
		time.Sleep(time.Duration(ev.SleepMs) * time.Millisecond)
	}
	return Reply{Echo: ev.Message}, nil
}

func main() { lambda.Start(handle) }
