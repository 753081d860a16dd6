package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/spf13/cobra"
)

func newInvokeCommand(g *globals) *cobra.Command {
	var (
		payload   string
		qualifier string
		showLog   bool
		dryRun    bool
		async     bool
	)
	cmd := &cobra.Command{
		Use:   "invoke NAME[:QUALIFIER]",
		Short: "Invoke a function and print its response",
		Long: `Invoke a function synchronously and print its response to stdout, as the
function returned it.

--payload is the event: JSON text, @FILE to read it from a file, or - to read
it from stdin (default: {}). --log prints the end of the invocation's log
(START ... REPORT, up to 4 KB) to stderr. --dry-run only checks that the
function (and qualifier) exists and could be invoked. --async queues the
event (an Event invocation) and returns as soon as Lamina has stored it,
printing the request id; failures are then retried by the function's
event-invoke config and end at its on-failure destination or in the
dead-letter store (see lamina dlq).

When the function fails, its error document is printed to stdout and the
command exits with status 1. When Lamina refuses the invocation for
concurrency (HTTP 429), the message says which limit was hit.`,
		Example: `  lamina invoke hello
  lamina invoke hello --payload '{"name":"Ada"}'
  lamina invoke hello --payload @event.json --qualifier live --log
  echo '{"n":1}' | lamina invoke hello:2 --payload -
  lamina invoke hello --dry-run
  lamina invoke hello --async --payload '{"job":42}'`,
		Args: exactArgs(1, "a function NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readPayloadFlag(payload, cmd.InOrStdin())
			if err != nil {
				return err
			}
			client, err := g.lambdaClient(cmd.Context())
			if err != nil {
				return err
			}
			name, q := splitQualifier(args[0])
			if qualifier != "" {
				if q != "" && q != qualifier {
					return fmt.Errorf("%s names qualifier %q but --qualifier is %q", args[0], q, qualifier)
				}
				q = qualifier
			}
			in := &lambda.InvokeInput{FunctionName: aws.String(name), Payload: body}
			if q != "" {
				in.Qualifier = aws.String(q)
			}
			if showLog {
				in.LogType = types.LogTypeTail
			}
			switch {
			case dryRun && async:
				return fmt.Errorf("--dry-run and --async cannot be combined")
			case dryRun:
				in.InvocationType = types.InvocationTypeDryRun
			case async:
				if showLog {
					return fmt.Errorf("--log needs a synchronous invocation: an --async one has no log to return yet (see lamina logs)")
				}
				in.InvocationType = types.InvocationTypeEvent
			}
			// One attempt: an invocation is not idempotent, and a throttled
			// one is reported, not retried.
			res, err := client.Invoke(cmd.Context(), in, func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
			if err != nil {
				return invokeError(g, err)
			}
			stdout, stderr := cmd.OutOrStdout(), cmd.ErrOrStderr()
			if showLog && res.LogResult != nil {
				if tail, err := base64.StdEncoding.DecodeString(*res.LogResult); err == nil {
					stderr.Write(tail)
					if len(tail) > 0 && tail[len(tail)-1] != '\n' {
						fmt.Fprintln(stderr)
					}
				}
			}
			if async {
				id, _ := awsmiddleware.GetRequestIDMetadata(res.ResultMetadata)
				if g.Output == outputJSON {
					return writeJSON(stdout, map[string]any{"requestId": id, "statusCode": res.StatusCode})
				}
				_, err := fmt.Fprintf(stdout, "queued %s (request id %s)\n", args[0], id)
				return err
			}
			if dryRun {
				_, err := fmt.Fprintf(stderr, "dry run: %s can be invoked (version %s)\n", args[0], aws.ToString(res.ExecutedVersion))
				return err
			}
			if len(res.Payload) > 0 {
				stdout.Write(res.Payload)
				if res.Payload[len(res.Payload)-1] != '\n' {
					fmt.Fprintln(stdout)
				}
			}
			if res.FunctionError != nil && *res.FunctionError != "" {
				return &userError{msg: functionFailure(args[0], *res.FunctionError, res.Payload)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&payload, "payload", "p", "", "event JSON, @FILE, or - for stdin (default {})")
	f.StringVarP(&qualifier, "qualifier", "q", "", "version or alias to invoke (default $LATEST)")
	f.BoolVar(&showLog, "log", false, "print the invocation's log tail to stderr")
	f.BoolVar(&dryRun, "dry-run", false, "check that the function can be invoked, without running it")
	f.BoolVar(&async, "async", false, "queue the event (Event invocation) and print its request id")
	return cmd
}

// readPayloadFlag resolves --payload: literal JSON, @file, or - for stdin.
func readPayloadFlag(v string, stdin io.Reader) ([]byte, error) {
	var (
		b    []byte
		err  error
		from = "--payload"
	)
	switch {
	case v == "":
		return []byte("{}"), nil
	case v == "-":
		from = "stdin"
		b, err = io.ReadAll(stdin)
	case strings.HasPrefix(v, "@"):
		from = v[1:]
		b, err = os.ReadFile(v[1:])
	default:
		b = []byte(v)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the payload: %w", err)
	}
	if len(bytes.TrimSpace(b)) > 0 && !json.Valid(b) {
		return nil, fmt.Errorf("the payload from %s is not valid JSON (Lambda accepts only JSON events)", from)
	}
	return b, nil
}

// functionFailure summarises a function's error document for the message.
func functionFailure(name, kind string, doc []byte) string {
	var e struct {
		ErrorType    string `json:"errorType"`
		ErrorMessage string `json:"errorMessage"`
	}
	msg := fmt.Sprintf("function %s failed (%s)", name, kind)
	if json.Unmarshal(doc, &e) == nil && (e.ErrorType != "" || e.ErrorMessage != "") {
		msg += ": " + strings.TrimPrefix(e.ErrorType+": "+e.ErrorMessage, ": ")
	}
	return msg
}

// invokeError words a refused invocation; throttling says which limit.
func invokeError(g *globals, err error) error {
	var tooMany *types.TooManyRequestsException
	if errors.As(err, &tooMany) {
		why := "Lamina refused it for now"
		switch tooMany.Reason {
		case types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded:
			why = "the function's reserved concurrency is all in use"
		case types.ThrottleReasonConcurrentInvocationLimitExceeded:
			why = "the node's unreserved concurrency is all in use"
		}
		return &userError{msg: fmt.Sprintf("throttled (429 %s): %s; try again later", tooMany.Reason, why), err: err}
	}
	return g.apiError(err)
}
