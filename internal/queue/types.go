package queue

import (
	"time"
)

// Queue attribute names, as SQS names them on the wire. The service keeps
// attributes as strings in these names so that the wire layer passes them
// through; it validates and normalises every value itself.
const (
	AttrDelaySeconds                  = "DelaySeconds"
	AttrMaximumMessageSize            = "MaximumMessageSize"
	AttrMessageRetentionPeriod        = "MessageRetentionPeriod"
	AttrReceiveMessageWaitTimeSeconds = "ReceiveMessageWaitTimeSeconds"
	AttrVisibilityTimeout             = "VisibilityTimeout"
	AttrRedrivePolicy                 = "RedrivePolicy"
	AttrRedriveAllowPolicy            = "RedriveAllowPolicy"
	AttrPolicy                        = "Policy"
	AttrFifoQueue                     = "FifoQueue"
	AttrContentBasedDeduplication     = "ContentBasedDeduplication"
	AttrDeduplicationScope            = "DeduplicationScope"
	AttrFifoThroughputLimit           = "FifoThroughputLimit"
	AttrKmsMasterKeyID                = "KmsMasterKeyId"
	AttrKmsDataKeyReusePeriodSeconds  = "KmsDataKeyReusePeriodSeconds"
	AttrSqsManagedSseEnabled          = "SqsManagedSseEnabled"

	// Read-only attributes, computed on GetAttributes.
	AttrQueueArn                              = "QueueArn"
	AttrApproximateNumberOfMessages           = "ApproximateNumberOfMessages"
	AttrApproximateNumberOfMessagesNotVisible = "ApproximateNumberOfMessagesNotVisible"
	AttrApproximateNumberOfMessagesDelayed    = "ApproximateNumberOfMessagesDelayed"
	AttrCreatedTimestamp                      = "CreatedTimestamp"
	AttrLastModifiedTimestamp                 = "LastModifiedTimestamp"

	// AttrAll asks GetAttributes for every attribute.
	AttrAll = "All"
)

// Message system attribute names (ReceiveInput.SystemAttributeNames and
// Message.SystemAttributes). "All" asks for every one.
const (
	SysApproximateReceiveCount          = "ApproximateReceiveCount"
	SysApproximateFirstReceiveTimestamp = "ApproximateFirstReceiveTimestamp"
	SysSentTimestamp                    = "SentTimestamp"
	SysSenderID                         = "SenderId"
	SysMessageGroupID                   = "MessageGroupId"
	SysMessageDeduplicationID           = "MessageDeduplicationId"
	SysSequenceNumber                   = "SequenceNumber"
	SysAWSTraceHeader                   = "AWSTraceHeader"
	SysDeadLetterQueueSourceArn         = "DeadLetterQueueSourceArn"
)

// Limits and defaults, as SQS documents them.
const (
	MaxBatchEntries          = 10      // entries per batch call on the wire
	MaxMessageSize           = 1 << 20 // 1 MiB, body plus attributes
	MinMessageSize           = 1024    // lowest MaximumMessageSize
	DefaultRetention         = 4 * 24 * time.Hour
	MinRetention             = 60 * time.Second
	MaxRetention             = 14 * 24 * time.Hour
	DefaultVisibilityTimeout = 30 * time.Second
	MaxVisibilityTimeout     = 12 * time.Hour
	MaxDelay                 = 15 * time.Minute
	MaxWait                  = 20 * time.Second
	DedupWindow              = 5 * time.Minute
	MaxReceiveCountLimit     = 1000
	MaxQueueNameLength       = 80
	MaxAttributesPerMessage  = 10
)

// Error codes. Every error the service returns to a caller is a
// *fault.Error whose Reason is one of these (the JSON protocol's
// "__type" without its namespace; the wire layer maps each onto the query
// protocol's legacy code where SQS has one, see QueryCode) and whose Kind
// gives the status class (NotFound, Invalid, Conflict, TooLarge,
// Unsupported). Messages read like SQS's own.
const (
	CodeQueueDoesNotExist        = "QueueDoesNotExist"         // query: AWS.SimpleQueueService.NonExistentQueue
	CodeQueueNameExists          = "QueueNameExists"           // create with other attributes; JSON type "QueueNameExists"
	CodeQueueDeletedRecently     = "QueueDeletedRecently"      // query: AWS.SimpleQueueService.QueueDeletedRecently
	CodeInvalidAttributeName     = "InvalidAttributeName"      //
	CodeInvalidAttributeValue    = "InvalidAttributeValue"     //
	CodeInvalidParameterValue    = "InvalidParameterValue"     //
	CodeMissingParameter         = "MissingParameter"          //
	CodeInvalidMessageContents   = "InvalidMessageContents"    // body characters outside SQS's allowed set
	CodeReceiptHandleIsInvalid   = "ReceiptHandleIsInvalid"    //
	CodeMessageNotInflight       = "MessageNotInflight"        // query: AWS.SimpleQueueService.MessageNotInflight
	CodePurgeQueueInProgress     = "PurgeQueueInProgress"      // query: AWS.SimpleQueueService.PurgeQueueInProgress
	CodeUnsupportedOperation     = "UnsupportedOperation"      // query: AWS.SimpleQueueService.UnsupportedOperation
	CodeResourceNotFound         = "ResourceNotFoundException" // message move tasks
	CodeInvalidAddress           = "InvalidAddress"            // a queue URL that is not one
	CodeOverLimit                = "OverLimit"                 //
	CodeTooManyEntriesInBatch    = "TooManyEntriesInBatchRequest"
	CodeEmptyBatchRequest        = "EmptyBatchRequest"
	CodeBatchEntryIdsNotDistinct = "BatchEntryIdsNotDistinct"
	CodeInvalidBatchEntryID      = "InvalidBatchEntryId"
	CodeBatchRequestTooLong      = "BatchRequestTooLong"
)

// QueueInfo identifies a queue.
type QueueInfo struct {
	Name string
	ARN  string
	FIFO bool
}

// Attribute is one message attribute (or message system attribute) value.
// DataType is "String", "Number" or "Binary", optionally with a custom
// suffix ("Number.float"); exactly one of StringValue and BinaryValue is
// meaningful, by the type's base.
type Attribute struct {
	DataType    string
	StringValue string
	BinaryValue []byte
}

// SendInput is one message to send.
type SendInput struct {
	// ID is the batch entry id (echoed in SendResult; "" for a single send).
	ID   string
	Body string
	// Delay overrides the queue's DelaySeconds when DelaySet (standard
	// queues only; FIFO queues refuse a per-message delay).
	Delay    time.Duration
	DelaySet bool
	// Attributes are the message attributes (at most 10).
	Attributes map[string]Attribute
	// SystemAttributes are the message system attributes (only
	// AWSTraceHeader is accepted, as in SQS).
	SystemAttributes map[string]Attribute
	// MessageGroupID and DeduplicationID are for FIFO queues; a standard
	// queue accepts a group id (fair queues) and refuses a dedup id.
	MessageGroupID  string
	DeduplicationID string
	// BodyMD5 is an optional digest of Body that the caller has already
	// computed (the SQS edge answers every send with it); it is kept in
	// memory with the message and returned as Message.BodyMD5, so that
	// receives need not hash the body again. The service does not check it.
	BodyMD5 string
}

// SendResult is the outcome of one SendInput. Err, when set, is a
// *fault.Error for this entry alone (batch semantics: other entries may
// have succeeded).
type SendResult struct {
	ID             string
	MessageID      string
	SequenceNumber string // FIFO queues only
	Err            error
}

// ReceiveInput asks for messages.
type ReceiveInput struct {
	// Max is how many messages at most (0 = 1). The wire layer keeps it
	// within 1..10; event source mappings ask for more.
	Max int
	// Wait is the long-poll time; WaitSet distinguishes an explicit 0 from
	// "use the queue's ReceiveMessageWaitTimeSeconds".
	Wait    time.Duration
	WaitSet bool
	// Visibility overrides the queue's VisibilityTimeout when VisibilitySet.
	Visibility    time.Duration
	VisibilitySet bool
	// AttributeNames selects message attributes to return ("All", ".*",
	// exact names, or prefixes ending in ".*"); none = none.
	AttributeNames []string
	// SystemAttributeNames selects system attributes ("All" = every one).
	SystemAttributeNames []string
	// ReceiveRequestAttemptID makes a FIFO receive retry-safe (5 minutes).
	ReceiveRequestAttemptID string
}

// Message is one received message.
type Message struct {
	MessageID     string
	ReceiptHandle string
	Body          string
	// BodyMD5 is SendInput.BodyMD5 of the send, or "" when the sender gave
	// none or the message was replayed from the journal.
	BodyMD5 string
	// Attributes are the message attributes selected by
	// ReceiveInput.AttributeNames.
	Attributes map[string]Attribute
	// SystemAttributes are those selected by
	// ReceiveInput.SystemAttributeNames, as SQS formats them (decimal
	// strings; timestamps in epoch milliseconds).
	SystemAttributes map[string]string
	// AllAttributes and the fields below are always filled, whatever was
	// selected: event source mappings build their records from them.
	AllAttributes            map[string]Attribute
	SentTimestamp            time.Time
	FirstReceiveTimestamp    time.Time
	ReceiveCount             int
	MessageGroupID           string
	DeduplicationID          string
	SequenceNumber           string
	AWSTraceHeader           string
	SenderID                 string
	DeadLetterQueueSourceARN string
}

// DeleteEntry is one DeleteMessage entry.
type DeleteEntry struct {
	ID            string // batch entry id
	ReceiptHandle string
}

// VisibilityChange is one ChangeMessageVisibility entry.
type VisibilityChange struct {
	ID            string // batch entry id
	ReceiptHandle string
	Timeout       time.Duration
}

// EntryResult is the outcome of one Delete or VisibilityChange entry: Err
// is nil on success, else a *fault.Error for this entry.
type EntryResult struct {
	ID  string
	Err error
}

// MoveTask is a message move task (StartMessageMoveTask).
type MoveTask struct {
	TaskHandle                        string
	Status                            string // RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED
	SourceARN                         string
	DestinationARN                    string // "" = each message's original source
	MaxNumberOfMessagesPerSecond      int    // 0 = unlimited
	ApproximateNumberOfMessagesMoved  int64
	ApproximateNumberOfMessagesToMove int64
	FailureReason                     string
	StartedTimestamp                  time.Time
}

// Counts are a queue's message counts (exact in Lamina; SQS calls them
// approximate).
type Counts struct {
	Visible    int // ApproximateNumberOfMessages
	NotVisible int // ...NotVisible (in flight)
	Delayed    int // ...Delayed
}
