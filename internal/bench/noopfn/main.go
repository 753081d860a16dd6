// Command noopfn is the async benchmark's function: an aws-lambda-go
// handler that does nothing, so that what is measured is the platform.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(context.Context) error { return nil }

func main() { lambda.Start(handle) }
