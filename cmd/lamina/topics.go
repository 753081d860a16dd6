package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/spf13/cobra"
)

// The topic commands use the SDK's SNS client (query protocol). A topic is
// named by its name or its ARN.

func (g *globals) snsClient(ctx context.Context) (*sns.Client, error) {
	cfg, endpoint, err := g.awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	return sns.NewFromConfig(cfg, func(o *sns.Options) { o.BaseEndpoint = aws.String(endpoint) }), nil
}

// topicARN resolves a topic name to its ARN by listing topics.
func (g *globals) topicARN(ctx context.Context, c *sns.Client, nameOrARN string) (string, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN, nil
	}
	pages := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", g.apiError(err)
		}
		for _, t := range page.Topics {
			if a := aws.ToString(t.TopicArn); topicName(a) == nameOrARN {
				return a, nil
			}
		}
	}
	return "", fmt.Errorf("no topic named %q (see: lamina topics list)", nameOrARN)
}

func topicName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

func newTopicsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "topics",
		Aliases: []string{"topic", "sns"},
		Short:   "List topics and publish to them",
		Long: `Work with Lamina's SNS-compatible topics. A TOPIC is a topic name or ARN.
Create topics and subscriptions with any SNS tool (aws sns create-topic,
aws sns subscribe, a SAM template) or "lamina deploy".`,
		Example: `  lamina topics list
  lamina topics publish orders --message '{"id":1}' --attr kind=order`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTopicsListCommand(g), newTopicsPublishCommand(g))
	return cmd
}

// topicRow is one line of "lamina topics list".
type topicRow struct {
	Name          string   `json:"name"`
	ARN           string   `json:"arn"`
	Subscriptions []string `json:"subscriptions"`
}

func newTopicsListCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List topics with their subscriptions",
		Long: `List topics (all pages of ListTopics) with their subscriptions, each shown as
PROTOCOL:ENDPOINT ("(pending)" while an HTTP subscription awaits confirmation).`,
		Example: `  lamina topics list
  lamina topics list --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := g.snsClient(ctx)
			if err != nil {
				return err
			}
			rows := []topicRow{}
			pages := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return g.apiError(err)
				}
				for _, t := range page.Topics {
					a := aws.ToString(t.TopicArn)
					row := topicRow{Name: topicName(a), ARN: a, Subscriptions: []string{}}
					subs := sns.NewListSubscriptionsByTopicPaginator(c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(a)})
					for subs.HasMorePages() {
						sp, err := subs.NextPage(ctx)
						if err != nil {
							return g.apiError(err)
						}
						for _, s := range sp.Subscriptions {
							desc := aws.ToString(s.Protocol) + ":" + aws.ToString(s.Endpoint)
							if aws.ToString(s.SubscriptionArn) == "PendingConfirmation" || aws.ToString(s.SubscriptionArn) == "pending confirmation" {
								desc += " (pending)"
							}
							row.Subscriptions = append(row.Subscriptions, desc)
						}
					}
					rows = append(rows, row)
				}
			}
			out := cmd.OutOrStdout()
			if g.Output == outputJSON {
				return writeJSON(out, rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "no topics; create one with: aws sns create-topic --name NAME --endpoint-url "+g.Endpoint)
				return nil
			}
			tw := newTable(out)
			fmt.Fprintln(tw, "NAME\tSUBSCRIPTIONS")
			for _, r := range rows {
				subs := "-"
				if len(r.Subscriptions) > 0 {
					subs = strings.Join(r.Subscriptions, ", ")
				}
				fmt.Fprintf(tw, "%s\t%s\n", r.Name, subs)
			}
			return tw.Flush()
		},
	}
	return cmd
}

func newTopicsPublishCommand(g *globals) *cobra.Command {
	var (
		message, subject, group, dedup string
		attrs                          []string
	)
	cmd := &cobra.Command{
		Use:   "publish TOPIC",
		Short: "Publish a message to a topic",
		Long: `Publish a message to TOPIC and print its message id. --message is the text, or
@FILE to read it from a file ("-" or "@-" reads stdin). --attr NAME=VALUE adds
a String message attribute (NAME:Number=VALUE, NAME:String.Array=[...] for
other types), which subscription filter policies can match. FIFO topics need
--group, and --dedup-id unless content-based deduplication is on.`,
		Example: `  lamina topics publish orders --message '{"id":1}'
  lamina topics publish orders --message @event.json --attr kind=order --attr amount:Number=12`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			text, err := readBody(message, cmd.InOrStdin())
			if err != nil {
				return err
			}
			if text == "" {
				return errors.New("--message is empty")
			}
			in := &sns.PublishInput{Message: aws.String(text)}
			if subject != "" {
				in.Subject = aws.String(subject)
			}
			if group != "" {
				in.MessageGroupId = aws.String(group)
			}
			if dedup != "" {
				in.MessageDeduplicationId = aws.String(dedup)
			}
			for _, f := range attrs {
				k, v, ok := strings.Cut(f, "=")
				if !ok || k == "" {
					return fmt.Errorf("--attr %q: want NAME=VALUE or NAME:Type=VALUE", f)
				}
				typ := "String"
				if name, t, ok := strings.Cut(k, ":"); ok {
					k, typ = name, t
				}
				if in.MessageAttributes == nil {
					in.MessageAttributes = map[string]snstypes.MessageAttributeValue{}
				}
				in.MessageAttributes[k] = snstypes.MessageAttributeValue{DataType: aws.String(typ), StringValue: aws.String(v)}
			}
			c, err := g.snsClient(ctx)
			if err != nil {
				return err
			}
			a, err := g.topicARN(ctx, c, args[0])
			if err != nil {
				return err
			}
			in.TopicArn = aws.String(a)
			out, err := c.Publish(ctx, in)
			if err != nil {
				return g.apiError(err)
			}
			if g.Output == outputJSON {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintln(cmd.OutOrStdout(), aws.ToString(out.MessageId))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&message, "message", "", "message text, or @FILE (@- for stdin)")
	f.StringVar(&subject, "subject", "", "subject (email-style; shown in the envelope)")
	f.StringArrayVar(&attrs, "attr", nil, "message attribute NAME=VALUE or NAME:Type=VALUE (repeatable)")
	f.StringVar(&group, "group", "", "message group id (FIFO topics)")
	f.StringVar(&dedup, "dedup-id", "", "deduplication id (FIFO topics)")
	_ = cmd.MarkFlagRequired("message")
	return cmd
}
