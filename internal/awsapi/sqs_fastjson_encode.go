package awsapi

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/lamina-dev/lamina/internal/jsonenc"
)

// The answers of the SQS hot path are written by append-style encoders
// instead of json.Marshal. They write exactly the bytes json.Marshal
// writes for the same value (members in struct order, omitempty, map keys
// sorted, strings escaped as encoding/json escapes them, <, > and &
// included), so clients see no difference; FuzzSQSFastJSONEncode checks it.

// appendSQSOutput appends the JSON of out when it is one of the hot
// operations' outputs (or nil, the empty answer) and reports whether it did.
func appendSQSOutput(b []byte, out any) ([]byte, bool) {
	switch o := out.(type) {
	case nil:
		return append(b, "{}"...), true
	case sqsSendBatchOutput:
		return appendSendBatchOutput(b, &o), true
	case sqsReceiveOutput:
		return appendReceiveOutput(b, &o), true
	case sqsDeleteBatchOutput:
		return appendDeleteBatchOutput(b, &o), true
	case sqsSendResult: // SendMessage
		return appendSendResult(b, &o), true
	}
	return b, false
}

// jsonBufs recycles response buffers; one over maxPooledJSON is dropped.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledJSON = 256 << 10

// writeSQSJSON sends a JSON-protocol success answer, through the fast
// encoders when they know out.
func writeSQSJSON(w http.ResponseWriter, out any) error {
	bp := jsonBufs.Get().(*[]byte)
	b, ok := appendSQSOutput((*bp)[:0], out)
	if !ok {
		jsonBufs.Put(bp)
		return writeTargetJSON(w, contentTypeJSON10, out)
	}
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON10)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= maxPooledJSON {
		*bp = b[:0]
		jsonBufs.Put(bp)
	}
	return nil
}

func appendSendBatchOutput(b []byte, o *sqsSendBatchOutput) []byte {
	b = append(b, `{"Successful":`...)
	if o.Successful == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range o.Successful {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendSendResult(b, &o.Successful[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"Failed":`...)
	b = appendBatchErrors(b, o.Failed)
	return append(b, '}')
}

func appendSendResult(b []byte, r *sqsSendResult) []byte {
	b = append(b, '{')
	if r.Id != "" {
		b = append(b, `"Id":`...)
		b = jsonenc.AppendString(b, r.Id)
		b = append(b, ',')
	}
	b = append(b, `"MessageId":`...)
	b = jsonenc.AppendString(b, r.MessageId)
	b = append(b, `,"MD5OfMessageBody":`...)
	b = jsonenc.AppendString(b, r.MD5OfMessageBody)
	if r.MD5OfMessageAttributes != "" {
		b = append(b, `,"MD5OfMessageAttributes":`...)
		b = jsonenc.AppendString(b, r.MD5OfMessageAttributes)
	}
	if r.MD5OfMessageSystemAttributes != "" {
		b = append(b, `,"MD5OfMessageSystemAttributes":`...)
		b = jsonenc.AppendString(b, r.MD5OfMessageSystemAttributes)
	}
	if r.SequenceNumber != "" {
		b = append(b, `,"SequenceNumber":`...)
		b = jsonenc.AppendString(b, r.SequenceNumber)
	}
	return append(b, '}')
}

func appendBatchErrors(b []byte, errs []sqsBatchError) []byte {
	if errs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range errs {
		e := &errs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Id":`...)
		b = jsonenc.AppendString(b, e.Id)
		b = append(b, `,"SenderFault":`...)
		b = strconv.AppendBool(b, e.SenderFault)
		b = append(b, `,"Code":`...)
		b = jsonenc.AppendString(b, e.Code)
		if e.Message != "" {
			b = append(b, `,"Message":`...)
			b = jsonenc.AppendString(b, e.Message)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendDeleteBatchOutput(b []byte, o *sqsDeleteBatchOutput) []byte {
	b = append(b, `{"Successful":`...)
	if o.Successful == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range o.Successful {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"Id":`...)
			b = jsonenc.AppendString(b, o.Successful[i].Id)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"Failed":`...)
	b = appendBatchErrors(b, o.Failed)
	return append(b, '}')
}

func appendReceiveOutput(b []byte, o *sqsReceiveOutput) []byte {
	if len(o.Messages) == 0 {
		return append(b, "{}"...)
	}
	b = append(b, `{"Messages":[`...)
	for i := range o.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendMessage(b, &o.Messages[i])
	}
	return append(b, "]}"...)
}

func appendMessage(b []byte, m *sqsMessage) []byte {
	b = append(b, `{"MessageId":`...)
	b = jsonenc.AppendString(b, m.MessageId)
	b = append(b, `,"ReceiptHandle":`...)
	b = jsonenc.AppendString(b, m.ReceiptHandle)
	b = append(b, `,"MD5OfBody":`...)
	b = jsonenc.AppendString(b, m.MD5OfBody)
	b = append(b, `,"Body":`...)
	b = jsonenc.AppendString(b, m.Body)
	if len(m.Attributes) > 0 {
		b = append(b, `,"Attributes":{`...)
		for i, k := range sortedKeys(m.Attributes) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, k)
			b = append(b, ':')
			b = jsonenc.AppendString(b, m.Attributes[k])
		}
		b = append(b, '}')
	}
	if m.MD5OfMessageAttributes != "" {
		b = append(b, `,"MD5OfMessageAttributes":`...)
		b = jsonenc.AppendString(b, m.MD5OfMessageAttributes)
	}
	if len(m.MessageAttributes) > 0 {
		b = append(b, `,"MessageAttributes":{`...)
		for i, k := range sortedKeys(m.MessageAttributes) {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, k)
			b = append(b, ':')
			v := m.MessageAttributes[k]
			b = appendAttributeValue(b, &v)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// sortedKeys is m's keys in the order encoding/json writes them.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}

func appendAttributeValue(b []byte, v *MessageAttributeValue) []byte {
	b = append(b, `{"DataType":`...)
	b = jsonenc.AppendString(b, v.DataType)
	if v.StringValue != nil {
		b = append(b, `,"StringValue":`...)
		b = jsonenc.AppendString(b, *v.StringValue)
	}
	if len(v.BinaryValue) > 0 {
		b = append(b, `,"BinaryValue":`...)
		b = appendBase64(b, v.BinaryValue)
	}
	if len(v.StringListValues) > 0 {
		b = append(b, `,"StringListValues":[`...)
		for i, s := range v.StringListValues {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, s)
		}
		b = append(b, ']')
	}
	if len(v.BinaryListValues) > 0 {
		b = append(b, `,"BinaryListValues":[`...)
		for i, s := range v.BinaryListValues {
			if i > 0 {
				b = append(b, ',')
			}
			if s == nil {
				b = append(b, "null"...)
				continue
			}
			b = appendBase64(b, s)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendBase64(b, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}
