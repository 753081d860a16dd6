package esm

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/queue"
)

// sqsRecord is one record of the SQS event, members in the order Lambda
// sends them (events.SQSMessage names them the same way).
type sqsRecord struct {
	MessageID              string                   `json:"messageId"`
	ReceiptHandle          string                   `json:"receiptHandle"`
	Body                   string                   `json:"body"`
	Attributes             recordAttributes         `json:"attributes"`
	MessageAttributes      map[string]recordMsgAttr `json:"messageAttributes"`
	MD5OfBody              string                   `json:"md5OfBody"`
	MD5OfMessageAttributes *string                  `json:"md5OfMessageAttributes"`
	EventSource            string                   `json:"eventSource"`
	EventSourceARN         string                   `json:"eventSourceARN"`
	AWSRegion              string                   `json:"awsRegion"`
}

// recordAttributes are the system attributes: decimal strings, times in
// epoch milliseconds; the FIFO and tracing ones only when the message has
// them.
type recordAttributes struct {
	ApproximateReceiveCount          string `json:"ApproximateReceiveCount"`
	SentTimestamp                    string `json:"SentTimestamp"`
	SequenceNumber                   string `json:"SequenceNumber,omitempty"`
	MessageGroupID                   string `json:"MessageGroupId,omitempty"`
	SenderID                         string `json:"SenderId"`
	MessageDeduplicationID           string `json:"MessageDeduplicationId,omitempty"`
	ApproximateFirstReceiveTimestamp string `json:"ApproximateFirstReceiveTimestamp"`
	AWSTraceHeader                   string `json:"AWSTraceHeader,omitempty"`
	DeadLetterQueueSourceArn         string `json:"DeadLetterQueueSourceArn,omitempty"`
}

// recordMsgAttr is a message attribute in the event's camelCase shape; the
// list members are always empty arrays, as Lambda sends them.
type recordMsgAttr struct {
	StringValue      *string  `json:"stringValue,omitempty"`
	BinaryValue      []byte   `json:"binaryValue,omitempty"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues []string `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// isBinary reports whether a DataType ("Binary", "Binary.gif") carries a
// binary value.
func isBinary(dataType string) bool {
	base, _, _ := strings.Cut(dataType, ".")
	return base == "Binary"
}

func epochMillis(ms int64) string { return strconv.FormatInt(ms, 10) }

// encodeRecord is the JSON of m as a record of the event.
func (r *runner) encodeRecord(m *queue.Message) ([]byte, error) {
	rec := sqsRecord{
		MessageID:     m.MessageID,
		ReceiptHandle: m.ReceiptHandle,
		Body:          m.Body,
		Attributes: recordAttributes{
			ApproximateReceiveCount:          strconv.Itoa(m.ReceiveCount),
			SentTimestamp:                    epochMillis(m.SentTimestamp.UnixMilli()),
			SequenceNumber:                   m.SequenceNumber,
			MessageGroupID:                   m.MessageGroupID,
			SenderID:                         m.SenderID,
			MessageDeduplicationID:           m.DeduplicationID,
			ApproximateFirstReceiveTimestamp: epochMillis(m.FirstReceiveTimestamp.UnixMilli()),
			AWSTraceHeader:                   m.AWSTraceHeader,
			DeadLetterQueueSourceArn:         m.DeadLetterQueueSourceARN,
		},
		MessageAttributes: make(map[string]recordMsgAttr, len(m.AllAttributes)),
		MD5OfBody:         md5Hex([]byte(m.Body)),
		EventSource:       "aws:sqs",
		EventSourceARN:    r.def.EventSourceARN,
		AWSRegion:         r.s.opts.Region,
	}
	for name, a := range m.AllAttributes {
		v := recordMsgAttr{DataType: a.DataType, StringListValues: []string{}, BinaryListValues: []string{}}
		if isBinary(a.DataType) {
			v.BinaryValue = a.BinaryValue
			if v.BinaryValue == nil {
				v.BinaryValue = []byte{}
			}
		} else {
			s := a.StringValue
			v.StringValue = &s
		}
		rec.MessageAttributes[name] = v
	}
	if d := attributesDigest(m.AllAttributes); d != "" {
		rec.MD5OfMessageAttributes = &d
	}
	return json.Marshal(&rec)
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// attributesDigest is SQS's MD5OfMessageAttributes ("" when there are
// none): for each attribute by name, the length-prefixed name and DataType,
// a transport byte (1 string or number, 2 binary) and the length-prefixed
// value. Names are sorted by byte, which equals SQS's UTF-16 order for the
// characters SQS allows in attribute names.
func attributesDigest(attrs map[string]queue.Attribute) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for name := range attrs {
		names = append(names, name)
	}
	slices.Sort(names)
	h := md5.New()
	for _, name := range names {
		a := attrs[name]
		lengthPrefixed(h, []byte(name))
		lengthPrefixed(h, []byte(a.DataType))
		if isBinary(a.DataType) {
			h.Write([]byte{2})
			lengthPrefixed(h, a.BinaryValue)
		} else {
			h.Write([]byte{1})
			lengthPrefixed(h, []byte(a.StringValue))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func lengthPrefixed(h hash.Hash, b []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(b)))
	h.Write(n[:])
	h.Write(b)
}
