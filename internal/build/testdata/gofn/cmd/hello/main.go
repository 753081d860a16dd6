// Command hello is the sample Go function the build tests compile.
package main

import (
	"context"

	"example.com/gofn/greet"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, name string) (string, error) {
		return greet.Hello(name), nil
	})
}
