package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/spf13/cobra"
)

// The queue commands use the SDK's SQS client (JSON protocol), as any AWS
// tool would; a queue is named by its name or its URL.

func (g *globals) sqsClient(ctx context.Context) (*sqs.Client, error) {
	cfg, endpoint, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(endpoint) }), nil
}

// queueURL resolves a queue name (or URL) to its URL.
func (g *globals) queueURL(ctx context.Context, c *sqs.Client, nameOrURL string) (string, error) {
	if strings.Contains(nameOrURL, "://") {
		return nameOrURL, nil
	}
	out, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(nameOrURL)})
	if err != nil {
		var missing *sqstypes.QueueDoesNotExist
		if errors.As(err, &missing) {
			return "", fmt.Errorf("no queue named %q (see: lamina queues list)", nameOrURL)
		}
		return "", g.apiError(err)
	}
	return aws.ToString(out.QueueUrl), nil
}

// queueName is the last path element of a queue URL.
func queueName(u string) string { return u[strings.LastIndex(u, "/")+1:] }

func newQueuesCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "queues",
		Aliases: []string{"queue", "sqs"},
		Short:   "List, send to, receive from, purge and redrive queues",
		Long: `Work with Lamina's SQS-compatible queues. A QUEUE is a queue name or its URL.
Create queues with any SQS tool (aws sqs create-queue, a SAM template) or
"lamina deploy"; these commands are for looking at them and moving messages.`,
		Example: `  lamina queues list
  lamina queues send orders --body '{"id":1}'
  lamina queues receive orders --max 10 --wait 5s
  lamina queues redrive orders-dlq`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newQueuesListCommand(g), newQueuesSendCommand(g), newQueuesReceiveCommand(g),
		newQueuesPurgeCommand(g), newQueuesRedriveCommand(g))
	return cmd
}

// queueRow is one line of "lamina queues list".
type queueRow struct {
	Name       string `json:"name"`
	URL        string `json:"url"`
	Visible    int    `json:"visible"`
	InFlight   int    `json:"inFlight"`
	Delayed    int    `json:"delayed"`
	DeadLetter string `json:"deadLetterQueue,omitempty"`
	MaxReceive int    `json:"maxReceiveCount,omitempty"`
}

func newQueuesListCommand(g *globals) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List queues with their message counts",
		Long: `List queues (all pages of ListQueues) with their message counts: VISIBLE
(ready to receive), IN FLIGHT (received, not yet deleted), DELAYED, and the
dead-letter queue with its maxReceiveCount when a redrive policy is set.`,
		Example: `  lamina queues list
  lamina queues list --prefix orders --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := g.sqsClient(ctx)
			if err != nil {
				return err
			}
			in := &sqs.ListQueuesInput{}
			if prefix != "" {
				in.QueueNamePrefix = aws.String(prefix)
			}
			rows := []queueRow{}
			pages := sqs.NewListQueuesPaginator(c, in)
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return g.apiError(err)
				}
				for _, u := range page.QueueUrls {
					row, err := queueStatus(ctx, c, u)
					if err != nil {
						return g.apiError(err)
					}
					rows = append(rows, row)
				}
			}
			out := cmd.OutOrStdout()
			if g.Output == outputJSON {
				return writeJSON(out, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no queues; create one with: aws sqs create-queue --queue-name NAME --endpoint-url "+g.Endpoint)
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "NAME\tVISIBLE\tIN FLIGHT\tDELAYED\tDEAD-LETTER QUEUE")
			for _, r := range rows {
				dlq := "-"
				if r.DeadLetter != "" {
					dlq = fmt.Sprintf("%s (after %d receives)", r.DeadLetter, r.MaxReceive)
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", r.Name, r.Visible, r.InFlight, r.Delayed, dlq)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "", "list only queues whose name starts with this")
	return cmd
}

// queueStatus reads a queue's counts and redrive policy.
func queueStatus(ctx context.Context, c *sqs.Client, u string) (queueRow, error) {
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(u),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		return queueRow{}, err
	}
	a := attrs.Attributes
	row := queueRow{Name: queueName(u), URL: u}
	row.Visible, _ = strconv.Atoi(a["ApproximateNumberOfMessages"])
	row.InFlight, _ = strconv.Atoi(a["ApproximateNumberOfMessagesNotVisible"])
	row.Delayed, _ = strconv.Atoi(a["ApproximateNumberOfMessagesDelayed"])
	if rp := a["RedrivePolicy"]; rp != "" {
		var p struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			MaxReceiveCount     any    `json:"maxReceiveCount"`
		}
		if json.Unmarshal([]byte(rp), &p) == nil {
			row.DeadLetter = p.DeadLetterTargetArn[strings.LastIndex(p.DeadLetterTargetArn, ":")+1:]
			row.MaxReceive, _ = strconv.Atoi(fmt.Sprint(p.MaxReceiveCount))
		}
	}
	return row, nil
}

func newQueuesSendCommand(g *globals) *cobra.Command {
	var (
		body, group, dedup string
		attrs              []string
		delay              time.Duration
		count              int
	)
	cmd := &cobra.Command{
		Use:   "send QUEUE",
		Short: "Send a message (or --count copies of it)",
		Long: `Send a message to QUEUE. --body is the text, or @FILE to read it from a file
("-" or "@-" reads stdin). --attr NAME=VALUE adds a String message attribute
(NAME:Number=VALUE for a Number). FIFO queues need --group; --dedup-id is
needed unless the queue has content-based deduplication. --count sends that
many copies in batches of 10 (with progress), for quick load.`,
		Example: `  lamina queues send orders --body '{"id":1}'
  lamina queues send orders --body @order.json --attr source=cli --attr priority:Number=3
  lamina queues send orders.fifo --body hello --group g1 --dedup-id m1
  lamina queues send orders --body ping --count 1000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			text, err := readBody(body, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if count < 1 {
				return errors.New("--count must be at least 1")
			}
			if delay < 0 || delay > 15*time.Minute {
				return errors.New("--delay must be between 0s and 15m")
			}
			mattrs, err := parseMessageAttributes(attrs)
			if err != nil {
				return err
			}
			c, err := g.sqsClient(ctx)
			if err != nil {
				return err
			}
			u, err := g.queueURL(ctx, c, args[0])
			if err != nil {
				return err
			}
			entry := func(i int) sqstypes.SendMessageBatchRequestEntry {
				e := sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(text), MessageAttributes: mattrs}
				if group != "" {
					e.MessageGroupId = aws.String(group)
				}
				if dedup != "" {
					d := dedup
					if count > 1 {
						d = fmt.Sprintf("%s-%d", dedup, i)
					}
					e.MessageDeduplicationId = aws.String(d)
				}
				if cmd.Flags().Changed("delay") {
					e.DelaySeconds = int32(delay / time.Second)
				}
				return e
			}
			var ids []string
			progress := count >= 100
			for sent := 0; sent < count; {
				n := min(10, count-sent)
				batch := make([]sqstypes.SendMessageBatchRequestEntry, n)
				for i := range batch {
					batch[i] = entry(sent + i)
				}
				out, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: batch})
				if err != nil {
					return g.apiError(err)
				}
				if len(out.Failed) > 0 {
					f := out.Failed[0]
					return fmt.Errorf("send failed after %d messages: %s: %s", sent+len(out.Successful), aws.ToString(f.Code), aws.ToString(f.Message))
				}
				for _, s := range out.Successful {
					ids = append(ids, aws.ToString(s.MessageId))
				}
				sent += n
				if progress && (sent%1000 == 0 || sent == count) {
					fmt.Fprintf(cmd.ErrOrStderr(), "sent %d/%d\n", sent, count)
				}
			}
			out := cmd.OutOrStdout()
			if g.Output == outputJSON {
				return writeJSON(out, map[string]any{"queueUrl": u, "messageIds": ids})
			}
			if count == 1 {
				fmt.Fprintln(out, ids[0])
			} else {
				fmt.Fprintf(out, "sent %d messages to %s\n", count, queueName(u))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&body, "body", "", "message body, or @FILE (@- for stdin)")
	f.StringArrayVar(&attrs, "attr", nil, "message attribute NAME=VALUE or NAME:Number=VALUE (repeatable)")
	f.StringVar(&group, "group", "", "message group id (FIFO queues)")
	f.StringVar(&dedup, "dedup-id", "", "deduplication id (FIFO queues without content-based deduplication)")
	f.DurationVar(&delay, "delay", 0, "delay before the message becomes visible (standard queues, up to 15m)")
	f.IntVar(&count, "count", 1, "send this many copies, in batches of 10")
	_ = cmd.MarkFlagRequired("body")
	return cmd
}

// parseMessageAttributes reads --attr NAME[:Type]=VALUE flags.
func parseMessageAttributes(flags []string) (map[string]sqstypes.MessageAttributeValue, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	out := make(map[string]sqstypes.MessageAttributeValue, len(flags))
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--attr %q: want NAME=VALUE or NAME:Number=VALUE", f)
		}
		typ := "String"
		if name, t, ok := strings.Cut(k, ":"); ok {
			k, typ = name, t
		}
		switch strings.SplitN(typ, ".", 2)[0] {
		case "String", "Number":
		default:
			return nil, fmt.Errorf("--attr %q: type %q is not String or Number", f, typ)
		}
		out[k] = sqstypes.MessageAttributeValue{DataType: aws.String(typ), StringValue: aws.String(v)}
	}
	return out, nil
}

func newQueuesReceiveCommand(g *globals) *cobra.Command {
	var (
		max              int
		wait, visibility time.Duration
		del              bool
	)
	cmd := &cobra.Command{
		Use:   "receive QUEUE",
		Short: "Receive messages (and optionally delete them)",
		Long: `Receive up to --max messages (1-10) from QUEUE, waiting up to --wait (0-20s)
for the first one. Received messages stay invisible for --visibility (default:
the queue's visibility timeout) and then come back, unless --delete deletes
them once printed. The table shows MESSAGE ID, RECEIVES and BODY; --output json
prints the messages with all their attributes.`,
		Example: `  lamina queues receive orders
  lamina queues receive orders --max 10 --wait 20s --delete`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if max < 1 || max > 10 {
				return errors.New("--max must be between 1 and 10")
			}
			if wait < 0 || wait > 20*time.Second {
				return errors.New("--wait must be between 0s and 20s")
			}
			c, err := g.sqsClient(ctx)
			if err != nil {
				return err
			}
			u, err := g.queueURL(ctx, c, args[0])
			if err != nil {
				return err
			}
			in := &sqs.ReceiveMessageInput{
				QueueUrl:                    aws.String(u),
				MaxNumberOfMessages:         int32(max),
				WaitTimeSeconds:             int32(wait / time.Second),
				MessageAttributeNames:       []string{"All"},
				MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			}
			if cmd.Flags().Changed("visibility") {
				in.VisibilityTimeout = int32(visibility / time.Second)
			}
			got, err := c.ReceiveMessage(ctx, in)
			if err != nil {
				return g.apiError(err)
			}
			if cmd.Flags().Changed("visibility") && visibility < time.Second && len(got.Messages) > 0 && !del {
				// The SDK cannot send VisibilityTimeout 0 on a receive (it
				// omits zero), so the messages are made visible again here.
				entries := make([]sqstypes.ChangeMessageVisibilityBatchRequestEntry, len(got.Messages))
				for i, m := range got.Messages {
					entries[i] = sqstypes.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
				}
				if _, err := c.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(u), Entries: entries}); err != nil {
					return g.apiError(err)
				}
			}
			if del && len(got.Messages) > 0 {
				entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(got.Messages))
				for i, m := range got.Messages {
					entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle}
				}
				res, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(u), Entries: entries})
				if err != nil {
					return g.apiError(err)
				}
				if len(res.Failed) > 0 {
					return fmt.Errorf("delete failed: %s: %s", aws.ToString(res.Failed[0].Code), aws.ToString(res.Failed[0].Message))
				}
			}
			out := cmd.OutOrStdout()
			if g.Output == outputJSON {
				return writeJSON(out, map[string]any{"Messages": got.Messages})
			}
			if len(got.Messages) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no messages")
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "MESSAGE ID\tRECEIVES\tBODY")
			for _, m := range got.Messages {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", aws.ToString(m.MessageId), m.Attributes["ApproximateReceiveCount"], oneLine(aws.ToString(m.Body), 100))
			}
			return tw.Flush()
		},
	}
	f := cmd.Flags()
	f.IntVar(&max, "max", 1, "most messages to receive (1-10)")
	f.DurationVar(&wait, "wait", 0, "long-poll wait for the first message (0-20s)")
	f.DurationVar(&visibility, "visibility", 0, "visibility timeout for the received messages (default: the queue's)")
	f.BoolVar(&del, "delete", false, "delete the messages after printing them")
	return cmd
}

// oneLine shortens s to one line of at most n runes for a table.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func newQueuesPurgeCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "purge QUEUE",
		Short: "Delete every message in a queue",
		Long: `Delete every message in QUEUE (PurgeQueue). As in SQS, a queue can be purged
once every 60 seconds.`,
		Example: `  lamina queues purge orders`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := g.sqsClient(ctx)
			if err != nil {
				return err
			}
			u, err := g.queueURL(ctx, c, args[0])
			if err != nil {
				return err
			}
			if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(u)}); err != nil {
				return g.apiError(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "purged %s\n", queueName(u))
			return nil
		},
	}
	return cmd
}

func newQueuesRedriveCommand(g *globals) *cobra.Command {
	var (
		to     string
		rate   int
		noWait bool
	)
	cmd := &cobra.Command{
		Use:   "redrive DLQ",
		Short: "Move messages from a dead-letter queue back to their source",
		Long: `Move the messages of the dead-letter queue DLQ back to the queue each came
from (or to --to), with a message move task (StartMessageMoveTask), and show
its progress until it finishes; --no-wait returns at once with the task
handle. --rate limits the messages moved per second.`,
		Example: `  lamina queues redrive orders-dlq
  lamina queues redrive orders-dlq --to orders-replay --rate 50`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if rate < 0 {
				return errors.New("--rate must not be negative")
			}
			c, err := g.sqsClient(ctx)
			if err != nil {
				return err
			}
			arnOf := func(q string) (string, error) {
				u, err := g.queueURL(ctx, c, q)
				if err != nil {
					return "", err
				}
				a, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u),
					AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
				if err != nil {
					return "", g.apiError(err)
				}
				return a.Attributes["QueueArn"], nil
			}
			src, err := arnOf(args[0])
			if err != nil {
				return err
			}
			in := &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(src)}
			if to != "" {
				dst, err := arnOf(to)
				if err != nil {
					return err
				}
				in.DestinationArn = aws.String(dst)
			}
			if rate > 0 {
				in.MaxNumberOfMessagesPerSecond = aws.Int32(int32(rate))
			}
			started, err := c.StartMessageMoveTask(ctx, in)
			if err != nil {
				return g.apiError(err)
			}
			handle := aws.ToString(started.TaskHandle)
			out := cmd.OutOrStdout()
			if noWait {
				if g.Output == outputJSON {
					return writeJSON(out, map[string]string{"taskHandle": handle})
				}
				fmt.Fprintf(out, "started move task %s\n", handle)
				return nil
			}
			last := int64(-1)
			for {
				tasks, err := c.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(src), MaxResults: aws.Int32(10)})
				if err != nil {
					return g.apiError(err)
				}
				var task *sqstypes.ListMessageMoveTasksResultEntry
				for i := range tasks.Results {
					if aws.ToString(tasks.Results[i].TaskHandle) == handle || (task == nil && i == 0) {
						task = &tasks.Results[i]
					}
				}
				if task == nil {
					return fmt.Errorf("move task %s is not listed any more", handle)
				}
				if task.ApproximateNumberOfMessagesMoved != last {
					last = task.ApproximateNumberOfMessagesMoved
					fmt.Fprintf(cmd.ErrOrStderr(), "moved %d/%d\n", last, task.ApproximateNumberOfMessagesToMove)
				}
				switch status := aws.ToString(task.Status); status {
				case "RUNNING", "CANCELLING":
				case "COMPLETED":
					if g.Output == outputJSON {
						return writeJSON(out, task)
					}
					fmt.Fprintf(out, "moved %d messages from %s\n", task.ApproximateNumberOfMessagesMoved, queueName(args[0]))
					return nil
				default:
					return fmt.Errorf("move task %s: %s %s", handle, status, aws.ToString(task.FailureReason))
				}
				select {
				case <-ctx.Done():
					return errors.New("interrupted (the move task goes on; see it with aws sqs list-message-move-tasks)")
				case <-time.After(200 * time.Millisecond):
				}
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "destination queue (default: each message's source queue)")
	f.IntVar(&rate, "rate", 0, "most messages moved per second (0 = as fast as possible)")
	f.BoolVar(&noWait, "no-wait", false, "return once the task has started")
	return cmd
}

// readBody reads a --body value: text, @FILE, or "-"/"@-" for stdin.
func readBody(v string, stdin io.Reader) (string, error) {
	switch {
	case v == "-" || v == "@-":
		b, err := io.ReadAll(stdin)
		if err != nil {
			return "", fmt.Errorf("read body from stdin: %w", err)
		}
		return string(b), nil
	case strings.HasPrefix(v, "@"):
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return "", fmt.Errorf("read body: %w", err)
		}
		return string(b), nil
	}
	return v, nil
}
