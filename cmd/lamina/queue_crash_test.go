package main

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func (p *servedProcess) sqsClient() *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(p.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

func (p *servedProcess) snsClient() *sns.Client {
	return sns.New(sns.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(p.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// TestQueuesAndTopicsSurviveSIGKILL sends 10,000 messages to a queue with
// SendMessageBatch and publishes 2,000 messages to a topic that fans out to
// a second queue, while a consumer receives and deletes from the first
// queue; it kills the server with SIGKILL half-way, restarts it on the same
// data directory, sends the rest, and expects every message whose send or
// publish was acknowledged to be received at least once.
func TestQueuesAndTopicsSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lamina and sends 12,000 messages")
	}
	const (
		total     = 10000
		published = 2000
	)
	bin := buildLamina(t)
	dataDir := t.TempDir()
	srv := startServe(t, bin, dataDir)
	ctx := context.Background()
	q, tp := srv.sqsClient(), srv.snsClient()

	work, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("work")})
	if err != nil {
		t.Fatal(err)
	}
	fan, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("fanout")})
	if err != nil {
		t.Fatal(err)
	}
	fanAttrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: fan.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	topic, err := tp.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(fanAttrs.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}

	var sent [total]atomic.Bool
	var pub [published]atomic.Bool
	var nSent, nPub atomic.Int64
	var mu sync.Mutex
	received := map[string]bool{} // bodies seen by any consumer, before or after the kill

	// send sends every id not yet acknowledged, in batches of 10 from 8
	// clients, and publishes the topic's ids from 2 more, until stop.
	send := func(q *sqs.Client, tp *sns.Client, stop func() bool) {
		var next, nextPub atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop() {
					first := int(next.Add(10) - 10)
					if first >= total {
						return
					}
					var entries []sqstypes.SendMessageBatchRequestEntry
					for i := first; i < first+10; i++ {
						if !sent[i].Load() {
							entries = append(entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String("w" + strconv.Itoa(i))})
						}
					}
					if len(entries) == 0 {
						continue
					}
					out, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: work.QueueUrl, Entries: entries},
						func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
					if err != nil {
						continue
					}
					for _, s := range out.Successful {
						i, _ := strconv.Atoi(aws.ToString(s.Id))
						sent[i].Store(true)
						nSent.Add(1)
					}
				}
			}()
		}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop() {
					i := int(nextPub.Add(1) - 1)
					if i >= published {
						return
					}
					if pub[i].Load() {
						continue
					}
					if _, err := tp.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("p" + strconv.Itoa(i))},
						func(o *sns.Options) { o.RetryMaxAttempts = 1 }); err == nil {
						pub[i].Store(true)
						nPub.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	}
	// consume receives and deletes from both queues until stop.
	consume := func(q *sqs.Client, stop func() bool, done *sync.WaitGroup) {
		for _, u := range []*string{work.QueueUrl, fan.QueueUrl} {
			done.Add(1)
			go func() {
				defer done.Done()
				for !stop() {
					out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u, MaxNumberOfMessages: 10, WaitTimeSeconds: 1},
						func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					var del []sqstypes.DeleteMessageBatchRequestEntry
					mu.Lock()
					for i, m := range out.Messages {
						received[aws.ToString(m.Body)] = true
						del = append(del, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
					}
					mu.Unlock()
					if len(del) > 0 {
						_, _ = q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: u, Entries: del},
							func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
					}
				}
			}()
		}
	}

	killed := make(chan struct{})
	isKilled := func() bool {
		select {
		case <-killed:
			return true
		default:
			return false
		}
	}
	go func() {
		for nSent.Load() < total/2 {
			time.Sleep(time.Millisecond)
		}
		_ = srv.cmd.Process.Signal(syscall.SIGKILL)
		_ = srv.wait()
		close(killed)
	}()
	var consumers sync.WaitGroup
	consume(q, isKilled, &consumers)
	send(q, tp, isKilled)
	<-killed
	consumers.Wait()
	mu.Lock()
	t.Logf("killed with %d sends and %d publishes acknowledged and %d messages received", nSent.Load(), nPub.Load(), len(received))
	if len(received) >= int(nSent.Load()+nPub.Load()) {
		t.Fatalf("every acknowledged message was received before the kill: the test did not kill mid-way")
	}
	mu.Unlock()

	srv = startServe(t, bin, dataDir)
	q, tp = srv.sqsClient(), srv.snsClient()
	send(q, tp, func() bool { return false })
	if n := nSent.Load(); n != total {
		t.Fatalf("only %d of %d messages were acknowledged after the restart", n, total)
	}
	var stopped atomic.Bool
	consume(q, stopped.Load, &consumers)
	defer func() { stopped.Store(true); consumers.Wait() }()

	deadline := time.Now().Add(2 * time.Minute)
	for {
		missing, missingPub := 0, 0
		mu.Lock()
		for i := range total {
			if sent[i].Load() && !received["w"+strconv.Itoa(i)] {
				missing++
			}
		}
		for i := range published {
			if pub[i].Load() && !received["p"+strconv.Itoa(i)] {
				missingPub++
			}
		}
		mu.Unlock()
		if missing == 0 && missingPub == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged sends and %d acknowledged publishes were never received; server logs:\n%s",
				missing, missingPub, tail(srv.logs.String(), 4000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
