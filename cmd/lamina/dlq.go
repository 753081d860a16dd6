package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/smithy-go"
	"github.com/spf13/cobra"

	"github.com/lamina-dev/lamina/internal/deadletter"
)

// The dead-letter API is Lamina's own (there is no AWS API for it), so these
// commands speak plain HTTP and JSON to /_lamina/v1/dead-letters; its errors
// come in the same shape as the Lambda API's.

const (
	dlqPath = "/_lamina/v1/dead-letters"
	// dlqListDefault and dlqListMax mirror the server's listing bounds.
	dlqListDefault = 100
	dlqListMax     = 1000
	// dlqErrorWidth is how much of a failure the list table shows.
	dlqErrorWidth = 60
)

func newDLQCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "dlq",
		Aliases: []string{"dead-letters"},
		Short:   "Inspect, redrive and purge dead letters",
		Long: `Dead letters are the events Lamina could not deliver: asynchronous (Event)
invocations that failed every attempt or grew too old and had no on-failure
destination, schedule and rule firings that exhausted their retry policy, and
destination deliveries that themselves failed. Each keeps the original event,
the last error, the number of attempts and its timestamps, for 14 days unless
the server is configured otherwise.

"redrive" queues the events again as new asynchronous invocations of the
function they were for, with a fresh attempt count, and removes each record
once its event is queued. "purge" removes records for good. Both need
--function, record IDs or --all, so that no command replays or deletes every
dead letter by accident.`,
		Example: `  lamina dlq list
  lamina dlq list --function orders --limit 20
  lamina dlq show 01JQ3W7ZK4M8X2V6N9B5C1D0EF
  lamina dlq redrive --function orders
  lamina dlq purge 01JQ3W7ZK4M8X2V6N9B5C1D0EF 01JQ3W80A1B2C3D4E5F6G7H8J9
  lamina dlq purge --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDLQListCommand(g), newDLQShowCommand(g), newDLQRedriveCommand(g), newDLQPurgeCommand(g))
	return cmd
}

func newDLQListCommand(g *globals) *cobra.Command {
	var function string
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List dead letters, oldest first",
		Long: `List dead letters, oldest first. The table shows ID, FUNCTION, CONDITION
(RetriesExhausted, EventAgeExceeded or DeliveryFailed), ATTEMPTS, FAILED AT and
the start of the last ERROR; "lamina dlq show ID" prints a whole record with its
payload. --output json prints the records in full.

At most --limit records are listed (up to 1000); a note on stderr says when
there are more.`,
		Example: `  lamina dlq list
  lamina dlq list --function orders
  lamina dlq list --limit 1000 --output json | jq -r '.deadLetters[].id'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 || limit > dlqListMax {
				return fmt.Errorf("invalid --limit %d: want 1 to %d", limit, dlqListMax)
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if function != "" {
				q.Set("function", function)
			}
			raw, err := g.dlqCall(cmd.Context(), "ListDeadLetters", http.MethodGet, dlqPath+"?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.Output == outputJSON {
				return writeIndented(out, raw)
			}
			var res struct {
				DeadLetters []deadletter.Record `json:"deadLetters"`
				Truncated   bool                `json:"truncated"`
			}
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("unexpected answer from %s: %w", g.Endpoint, err)
			}
			if len(res.DeadLetters) == 0 {
				if function != "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "no dead letters for %s\n", function)
				} else {
					fmt.Fprintln(cmd.ErrOrStderr(), "no dead letters")
				}
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "ID\tFUNCTION\tCONDITION\tATTEMPTS\tFAILED AT\tERROR")
			for _, r := range res.DeadLetters {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, dlqTarget(r), orDash(r.Condition), r.Attempts,
					r.FailedAt.UTC().Format(time.RFC3339), dlqError(r))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if res.Truncated {
				fmt.Fprintf(cmd.ErrOrStderr(), "more dead letters than the %d shown: raise --limit (up to %d) or narrow with --function\n", limit, dlqListMax)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&function, "function", "", "list only the dead letters of this function")
	cmd.Flags().IntVar(&limit, "limit", dlqListDefault, fmt.Sprintf("list at most this many (1 to %d)", dlqListMax))
	return cmd
}

func newDLQShowCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one dead letter with its payload",
		Long: `Show one dead letter as indented JSON (whatever --output says): the original
event as "payload", the last error and the function's error document as
"response", the number of attempts and when it was queued, last tried and
given up on.`,
		Example: `  lamina dlq show 01JQ3W7ZK4M8X2V6N9B5C1D0EF
  lamina dlq show 01JQ3W7ZK4M8X2V6N9B5C1D0EF | jq .payload`,
		Args: exactArgs(1, "a dead-letter ID (see lamina dlq list)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := g.dlqCall(cmd.Context(), "GetDeadLetter", http.MethodGet, dlqPath+"/"+url.PathEscape(args[0]), nil)
			if err != nil {
				return err
			}
			return writeIndented(cmd.OutOrStdout(), raw)
		},
	}
}

func newDLQRedriveCommand(g *globals) *cobra.Command {
	s := &dlqSelection{}
	cmd := &cobra.Command{
		Use:   "redrive [ID...]",
		Short: "Queue dead letters' events again",
		Long: `Queue the selected dead letters' events again as asynchronous invocations of
the function (and qualifier) they were for, with a fresh attempt count; each
record is removed once its event is queued. Should the event fail again, it
comes back as a new dead letter.

Select records by ID, by --function, or both (the IDs of that function); --all
redrives every dead letter and cannot be combined with the others.`,
		Example: `  lamina dlq redrive 01JQ3W7ZK4M8X2V6N9B5C1D0EF
  lamina dlq redrive --function orders
  lamina dlq redrive --all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDLQSelection(cmd, g, s, args, "redrive", "RedriveDeadLetters", "redriven")
		},
	}
	s.flags(cmd, "redrive")
	return cmd
}

func newDLQPurgeCommand(g *globals) *cobra.Command {
	s := &dlqSelection{}
	cmd := &cobra.Command{
		Use:   "purge [ID...]",
		Short: "Delete dead letters for good",
		Long: `Delete the selected dead letters for good, and print how many were deleted.

Select records by ID, by --function, or both (the IDs of that function); --all
deletes every dead letter and cannot be combined with the others.`,
		Example: `  lamina dlq purge 01JQ3W7ZK4M8X2V6N9B5C1D0EF
  lamina dlq purge --function orders
  lamina dlq purge --all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDLQSelection(cmd, g, s, args, "purge", "PurgeDeadLetters", "purged")
		},
	}
	s.flags(cmd, "purge")
	return cmd
}

// dlqSelection is the flags of redrive and purge, and their request body.
type dlqSelection struct {
	Function string   `json:"function,omitempty"`
	IDs      []string `json:"ids,omitempty"`
	All      bool     `json:"all,omitempty"`
}

func (s *dlqSelection) flags(cmd *cobra.Command, verb string) {
	cmd.Flags().StringVar(&s.Function, "function", "", verb+" the dead letters of this function")
	cmd.Flags().BoolVar(&s.All, "all", false, verb+" every dead letter")
}

// runDLQSelection runs redrive or purge; member is the count's name in the
// answer ("redriven", "purged").
func runDLQSelection(cmd *cobra.Command, g *globals, s *dlqSelection, ids []string, verb, op, member string) error {
	s.IDs = ids
	named := s.Function != "" || len(s.IDs) > 0
	switch {
	case s.All && named:
		return fmt.Errorf("--all %ss every dead letter: give it without --function or IDs", verb)
	case !s.All && !named:
		return fmt.Errorf("name the dead letters to %s: IDs, --function F, or --all for every one\nUsage: %s", verb, cmd.UseLine())
	}
	for _, id := range ids {
		if strings.TrimSpace(id) == "" {
			return errors.New("an empty ID was given")
		}
	}
	body, err := json.Marshal(s)
	if err != nil {
		return err
	}
	raw, err := g.dlqCall(cmd.Context(), op, http.MethodPost, dlqPath+"/"+verb, body)
	if err != nil {
		return err
	}
	var res map[string]int
	if err := json.Unmarshal(raw, &res); err != nil {
		return fmt.Errorf("unexpected answer from %s: %w", g.Endpoint, err)
	}
	n, ok := res[member]
	if !ok {
		return fmt.Errorf("unexpected answer from %s: no %q count", g.Endpoint, member)
	}
	out := cmd.OutOrStdout()
	if g.Output == outputJSON {
		return writeIndented(out, raw)
	}
	noun := "dead letters"
	if n == 1 {
		noun = "dead letter"
	}
	_, err = fmt.Fprintf(out, "%d %s %s\n", n, noun, member)
	return err
}

// dlqCall sends one request to the dead-letter API and returns the body of
// a success. A failure reads "Op: Code: message", as the SDK-based commands'
// do.
func (g *globals) dlqCall(ctx context.Context, op, method, path string, body []byte) ([]byte, error) {
	endpoint, err := normalizeEndpoint(g.Endpoint)
	if err != nil {
		return nil, err
	}
	g.Endpoint = endpoint
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, g.apiError(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, g.apiError(fmt.Errorf("reading the answer from %s: %w", endpoint, err))
	}
	if resp.StatusCode < 300 {
		return raw, nil
	}
	var e struct {
		Lower string `json:"message"`
		Upper string `json:"Message"`
	}
	_ = json.Unmarshal(raw, &e)
	msg := e.Lower + e.Upper
	code := resp.Header.Get("X-Amzn-ErrorType")
	if code == "" && msg == "" {
		return nil, fmt.Errorf("%s: %s answered %s", op, endpoint, resp.Status)
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	apiErr := &smithy.GenericAPIError{Code: code, Message: msg}
	return nil, &userError{msg: op + ": " + code + ": " + msg, err: apiErr}
}

// writeIndented prints a JSON document indented, exactly as received
// otherwise: unlike writeJSON it leaves empty values alone, since they may
// be part of an event's payload.
func writeIndented(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// dlqTarget is the function a record was for, with its qualifier.
func dlqTarget(r deadletter.Record) string {
	if r.Qualifier != "" {
		return r.FunctionName + ":" + r.Qualifier
	}
	return orDash(r.FunctionName)
}

// dlqError is the last failure on one line, cut to the table's width.
func dlqError(r deadletter.Record) string {
	s := r.ErrorMessage
	if r.ErrorType != "" {
		s = r.ErrorType + ": " + s
		if r.ErrorMessage == "" {
			s = r.ErrorType
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > dlqErrorWidth {
		s = string([]rune(s)[:dlqErrorWidth-1]) + "…"
	}
	return orDash(s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
