package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

// The client commands talk to Lamina with the AWS SDK's own Lambda client,
// so every command is also a check that Lamina's API is what the SDK expects.

// awsConfig returns the SDK configuration every client command uses, and
// the normalised endpoint to set as each client's BaseEndpoint.
//
// Credentials: when AWS_ACCESS_KEY_ID is set the SDK's standard chain is
// used (so a Lamina that checks signatures can be given real keys);
// otherwise static "lamina"/"lamina" keys, so that no AWS setup is needed.
func (g *globals) awsConfig(ctx context.Context) (aws.Config, string, error) {
	endpoint, err := normalizeEndpoint(g.Endpoint)
	if err != nil {
		return aws.Config{}, "", err
	}
	g.Endpoint = endpoint

	var cfg aws.Config
	if os.Getenv("AWS_ACCESS_KEY_ID") != "" {
		cfg, err = config.LoadDefaultConfig(ctx, config.WithRegion(g.Region))
		if err != nil {
			return aws.Config{}, "", fmt.Errorf("loading AWS configuration: %w", err)
		}
	} else {
		cfg = aws.Config{
			Region:      g.Region,
			Credentials: credentials.NewStaticCredentialsProvider("lamina", "lamina", ""),
		}
	}
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			// Retrying a refused connection only delays the message that
			// Lamina is not running; other transient failures are retried.
			o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(noRetryWhenRefused)}, o.Retryables...)
		})
	}
	return cfg, endpoint, nil
}

// lambdaClient returns a Lambda client for the resolved globals.
func (g *globals) lambdaClient(ctx context.Context) (*lambda.Client, error) {
	cfg, endpoint, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	}), nil
}

func noRetryWhenRefused(err error) aws.Ternary {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// normalizeEndpoint accepts "host:port" as well as a full URL and returns
// the URL without a trailing slash.
func normalizeEndpoint(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("--endpoint is empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("invalid --endpoint %q: want a URL like %s", s, defaultEndpoint)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// apiError turns an error from the SDK into one message for the user:
// an unreachable endpoint says so plainly, and an error answered by Lamina
// reads "Operation: Code: message" instead of the SDK's long chain.
func (g *globals) apiError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot reach Lamina at %s: is `lamina serve` running?", g.Endpoint)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot reach Lamina at %s: %v", g.Endpoint, dnsErr)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return fmt.Errorf("cannot reach Lamina at %s: %v", g.Endpoint, opErr.Err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		msg := apiErr.ErrorCode()
		if m := apiErr.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		var oe *smithy.OperationError
		if errors.As(err, &oe) {
			msg = oe.Operation() + ": " + msg
		}
		return &userError{msg: msg, err: err}
	}
	return err
}

// userError is an error whose message is already written for the user; it
// keeps the SDK's error for errors.As (for example to find the API code).
type userError struct {
	msg string
	err error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.err }

// errorCode is the AWS error code in err's chain, or "".
func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}
