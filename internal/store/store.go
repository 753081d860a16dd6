// Package store is Lamina's durable engine: everything that must survive a
// crash lives here. It defines small interfaces (key-value buckets with
// revisions, durable streams with pull consumers, an object store for large
// blobs, leases) and implements them on NATS JetStream, embedded in-process by
// default or reached through a URL.
//
// This is the only package in Lamina that imports NATS. Services depend on the
// interfaces below, never on JetStream types.
package store

import (
	"context"
	"errors"
	"io"
	"iter"
	"log/slog"
	"time"
)

// Config says where the store lives and how big it may grow. Open reads it.
type Config struct {
	// URL of an external NATS server or cluster with JetStream enabled
	// ("nats://host:4222"). Empty starts an embedded server in-process.
	URL string
	// DataDir holds the embedded server's files (required when URL is empty).
	DataDir string
	// ClientListen optionally opens the embedded server's NATS client port
	// ("127.0.0.1:4222"); empty opens no port at all. Without ClientToken
	// the port has no authentication: any process that can reach it, on
	// loopback every local process including every function, can read and
	// write all durable state. Open logs a warning then.
	ClientListen string
	// ClientToken, when set, is the token the embedded server requires of
	// every client (ours included); clients of the port pass it, e.g. in the
	// URL as nats://TOKEN@host:port.
	ClientToken string
	// MaxMemory and MaxStore bound JetStream's memory and disk use. Zero means
	// the defaults (256 MiB memory, 10 GiB disk): JetStream would otherwise
	// reserve 75% of the machine's RAM.
	MaxMemory int64
	MaxStore  int64
	// MaxPayload is the largest message accepted (zero = 8 MiB, enough for a
	// 6 MB synchronous payload with its envelope).
	MaxPayload int32
	// SyncInterval is how often the embedded server fsyncs (zero = NATS's
	// default of 2 minutes; a process crash loses nothing, a power loss may).
	SyncInterval time.Duration
	// Replicas for streams, buckets and object stores (zero = 1).
	Replicas int
	// Logger receives the embedded server's logs (nil = slog.Default()).
	Logger *slog.Logger
}

// Errors returned by every implementation. Callers test them with errors.Is.
var (
	// ErrNotFound: the key, object, bucket or message does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: Create found the key already present.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: a compare-and-set saw a revision other than the expected one.
	ErrConflict = errors.New("store: revision conflict")
	// ErrHeld: a lease is held by another holder.
	ErrHeld = errors.New("store: lease held by another holder")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")
)

// Store opens the named buckets, streams and object stores, creating them on
// first use. Names are [A-Za-z0-9_-]+. Opening is idempotent and cheap enough
// to do at service start-up, not per request.
type Store interface {
	// KV opens (creating if needed) the key-value bucket called name.
	KV(ctx context.Context, name string) (KV, error)
	// Stream opens (creating if needed, updating limits if changed) a durable stream.
	Stream(ctx context.Context, cfg StreamConfig) (Stream, error)
	// Objects opens (creating if needed) the object store called name.
	Objects(ctx context.Context, name string) (Objects, error)
	// Leases opens (creating if needed) the lease table called name.
	Leases(ctx context.Context, name string) (Leases, error)
	// DeleteStream removes the stream called name and everything in it;
	// a missing stream is not an error.
	DeleteStream(ctx context.Context, name string) error
	// Ping reports whether the store currently answers (used by health checks).
	Ping(ctx context.Context) error
	// Close releases the connection and, for an embedded server, shuts it down
	// after flushing to disk.
	Close() error
}

// Entry is one value in a KV bucket.
type Entry struct {
	Key      string
	Value    []byte
	Revision uint64
	// Created is when this revision was written.
	Created time.Time
}

// KV is a bucket of keys with per-key revisions. Keys are made of
// [-/_=.a-zA-Z0-9] and may not start or end with '.'; use '.' as the
// hierarchy separator so prefixes can be listed and watched.
type KV interface {
	// Get returns the current value, or ErrNotFound (also for deleted keys).
	Get(ctx context.Context, key string) (Entry, error)
	// Put writes value unconditionally and returns the new revision.
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	// Create writes value only if key does not exist (or was deleted); else ErrExists.
	Create(ctx context.Context, key string, value []byte) (uint64, error)
	// Update writes value only if the key's current revision is rev; else ErrConflict.
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error)
	// Delete removes key. With rev > 0 it deletes only if the current revision
	// is rev (else ErrConflict). Deleting a missing key is not an error.
	Delete(ctx context.Context, key string, rev uint64) error
	// List returns the current entries whose key starts with prefix ("" = all),
	// sorted by key.
	List(ctx context.Context, prefix string) ([]Entry, error)
	// Keys returns the current keys that start with prefix, sorted.
	Keys(ctx context.Context, prefix string) ([]string, error)
	// Watch sends the current entries under prefix, then a marker event
	// (InitialDone), then every later change, until ctx ends; the channel is
	// closed then.
	Watch(ctx context.Context, prefix string) (<-chan WatchEvent, error)
}

// WatchEvent is one change seen by KV.Watch. The first events are the
// current values; then one event with InitialDone=true (and no Key) marks the
// end of them; later events are live changes.
type WatchEvent struct {
	Entry
	Deleted     bool
	InitialDone bool
}

// StreamConfig describes a durable stream. Subjects are NATS-style with '.'
// separators; "*" matches one token and ">" the rest.
type StreamConfig struct {
	Name     string
	Subjects []string
	// MaxAge drops messages older than this (0 = keep until acknowledged by
	// work-queue consumers, or forever).
	MaxAge time.Duration
	// MaxBytes bounds the stream's size (0 = unlimited within the account).
	MaxBytes int64
	// WorkQueue removes each message once a consumer acknowledges it.
	WorkQueue bool
	// DuplicateWindow is how long PublishOptions.MsgID deduplicates (0 = 2 min).
	DuplicateWindow time.Duration
}

// PublishOptions refine one publish.
type PublishOptions struct {
	// MsgID deduplicates publishes within the stream's duplicate window.
	MsgID string
	// Header is carried with the message.
	Header map[string]string
}

// Stream is an append-only durable log.
type Stream interface {
	Name() string
	// Publish appends data and returns its sequence number only once the
	// store has confirmed the write.
	Publish(ctx context.Context, subject string, data []byte, opts *PublishOptions) (uint64, error)
	// Consumer opens (creating or updating) a durable pull consumer.
	Consumer(ctx context.Context, cfg ConsumerConfig) (Consumer, error)
	// DeleteConsumer removes a durable consumer; missing is not an error.
	DeleteConsumer(ctx context.Context, durable string) error
	// Info reports the stream's message count and bytes.
	Info(ctx context.Context) (StreamInfo, error)
	// Get returns the message with sequence seq, or ErrNotFound.
	Get(ctx context.Context, seq uint64) (*RawMessage, error)
	// Purge removes all messages whose subject matches subject ("" = all).
	Purge(ctx context.Context, subject string) error
	// PurgeBefore removes every message whose sequence is below seq: one
	// call compacts a log whose older entries are all dead.
	PurgeBefore(ctx context.Context, seq uint64) error
	// PublishBatch appends msgs without waiting for each confirmation in
	// turn: it keeps a bounded number of writes in flight and returns once
	// the store has confirmed or refused every one. seqs[i] is the sequence
	// of msgs[i], or 0 when that write failed; err joins the failures (nil
	// when all were stored). Writes that succeed are stored in the order of
	// msgs.
	PublishBatch(ctx context.Context, msgs []BatchMessage) (seqs []uint64, err error)
	// Read returns the stored messages selected by opts, in stream order,
	// without a durable consumer (nothing is acknowledged; any number of
	// readers may read at once). Without opts.Follow the iteration ends after
	// the last selected message stored when it caught up; with it, it waits
	// for new ones until ctx ends. An error ends the iteration: it is yielded
	// last, with a nil message; an ended ctx yields ctx.Err(). Breaking out
	// of the loop releases the reader.
	Read(ctx context.Context, opts ReadOptions) iter.Seq2[*RawMessage, error]
}

// BatchMessage is one message of Stream.PublishBatch.
type BatchMessage struct {
	Subject string
	Data    []byte
	// Opts are as for Publish (nil = none).
	Opts *PublishOptions
}

// ReadOptions select what Stream.Read delivers.
type ReadOptions struct {
	// Subjects restrict the messages to those matching any of these
	// subject filters (none = every message). Filters may use wildcards but
	// must not overlap one another.
	Subjects []string
	// StartSeq starts at this stream sequence (0 = see Since).
	StartSeq uint64
	// Since, when StartSeq is 0, starts at the first message stored at or
	// after this time (zero = the oldest message).
	Since time.Time
	// Follow keeps delivering messages stored after the read caught up,
	// until ctx ends.
	Follow bool
}

// StreamInfo is a snapshot of a stream's state.
type StreamInfo struct {
	Messages uint64
	Bytes    uint64
	FirstSeq uint64
	LastSeq  uint64
}

// RawMessage is a stored message read directly by sequence.
type RawMessage struct {
	Subject  string
	Sequence uint64
	Data     []byte
	Header   map[string]string
	Time     time.Time
}

// ConsumerConfig describes a durable pull consumer.
type ConsumerConfig struct {
	// Durable names the consumer; its position survives restarts.
	Durable string
	// FilterSubject restricts delivery to matching subjects ("" = all).
	FilterSubject string
	// AckWait is how long a fetched message stays invisible before it is
	// delivered again unless acked, nak'd or marked in progress (0 = 30 s).
	AckWait time.Duration
	// MaxDeliver bounds deliveries (0 or -1 = unlimited).
	MaxDeliver int
	// MaxAckPending bounds messages in flight across fetchers (0 = 1000).
	MaxAckPending int
}

// Consumer hands out messages to any number of concurrent fetchers.
type Consumer interface {
	// Fetch waits until at least one message is available or ctx ends, then
	// returns up to max messages. An ended ctx returns (nil, ctx.Err()).
	Fetch(ctx context.Context, max int) ([]Message, error)
}

// Message is one delivery from a Consumer; exactly one of Ack, Nak or Term
// should end it (InProgress only extends it).
type Message interface {
	Subject() string
	Data() []byte
	Header() map[string]string
	// Sequence is the message's position in the stream.
	Sequence() uint64
	// Delivered counts deliveries of this message, starting at 1.
	Delivered() int
	// Published is when the message was appended.
	Published() time.Time
	// Ack removes the message from the consumer, and waits for the store to
	// confirm it (so a side effect may depend on it).
	Ack(ctx context.Context) error
	// AckNoWait removes the message from the consumer without waiting for
	// the store to confirm: for at-least-once consumers whose side effects
	// are already stored, where a lost acknowledgement only means one more
	// delivery. It saves a round trip per message.
	AckNoWait() error
	// Nak asks for redelivery after delay (0 = at once).
	Nak(ctx context.Context, delay time.Duration) error
	// Term stops all redelivery of the message.
	Term(ctx context.Context) error
	// InProgress restarts the message's AckWait.
	InProgress(ctx context.Context) error
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Name    string
	Size    int64
	Digest  string // as reported by the implementation; opaque
	ModTime time.Time
}

// Objects stores blobs of any size by name.
type Objects interface {
	// Put stores the content read from r under name, replacing any previous one.
	Put(ctx context.Context, name string, r io.Reader) (ObjectInfo, error)
	// Get opens the object for reading, or returns ErrNotFound.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// Stat describes the object, or returns ErrNotFound.
	Stat(ctx context.Context, name string) (ObjectInfo, error)
	// Delete removes the object; missing is not an error.
	Delete(ctx context.Context, name string) error
	// List describes every object whose name starts with prefix, sorted by name.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
}

// Leases hands out named, time-limited exclusive holds, for singleton duties
// (for example firing schedules) among several nodes.
type Leases interface {
	// Acquire takes the lease name for holder for ttl. It succeeds if the lease
	// is free, expired, or already held by holder (then it is renewed); else ErrHeld.
	Acquire(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error)
}

// Lease is a held lease.
type Lease interface {
	Name() string
	Holder() string
	// Expires is when the lease lapses unless renewed.
	Expires() time.Time
	// Renew extends the lease by its ttl; ErrHeld if it was lost meanwhile.
	Renew(ctx context.Context) error
	// Release gives the lease up; releasing a lost lease is not an error.
	Release(ctx context.Context) error
}
