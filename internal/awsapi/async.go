package awsapi

import (
	"context"

	"github.com/lamina-dev/lamina/internal/invoke/async"
)

// AsyncInvoker queues Event invocations; *async.Service satisfies it.
type AsyncInvoker interface {
	Enqueue(ctx context.Context, req async.Request) (string, error)
}
