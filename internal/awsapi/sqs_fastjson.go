package awsapi

import (
	"encoding/base64"
	"unicode/utf16"
	"unicode/utf8"
)

// The request bodies of the SQS hot path (SendMessageBatch, ReceiveMessage,
// DeleteMessageBatch, and SendMessage and DeleteMessage) are read by a small hand-written JSON reader instead
// of encoding/json, whose reflection was a quarter of the edge's cost per
// message. The reader only accepts what it fully understands: the
// operation's exact member names, each at most once, with values of the
// expected JSON type (integers without fraction or exponent). Anything else
// (an unknown or differently cased member, null, a list attribute, a
// malformed body...) makes it decline, and the body goes to encoding/json
// as before, so the results and error messages of unusual requests are
// unchanged. Where it accepts, it decodes exactly what encoding/json
// would, including its replacement of invalid UTF-8 and unpaired
// surrogates by U+FFFD (FuzzSQSFastJSONDecode checks both properties).

// fastDecodeSQS decodes body into v when v is one of the hot operations'
// inputs and the reader accepts body; v is untouched when it declines.
func fastDecodeSQS(body []byte, v any) bool {
	r := jsonReader{b: body}
	switch in := v.(type) {
	case *sqsSendBatchInput:
		var out sqsSendBatchInput
		if r.sendBatch(&out) && r.end() {
			*in = out
			return true
		}
	case *sqsReceiveInput:
		var out sqsReceiveInput
		if r.receive(&out) && r.end() {
			*in = out
			return true
		}
	case *sqsDeleteBatchInput:
		var out sqsDeleteBatchInput
		if r.deleteBatch(&out) && r.end() {
			*in = out
			return true
		}
	case *sqsSendEntry: // SendMessage
		var out sqsSendEntry
		if r.sendEntry(&out) && r.end() {
			*in = out
			return true
		}
	case *sqsDeleteInput: // DeleteMessage
		var out sqsDeleteInput
		if r.deleteOne(&out) && r.end() {
			*in = out
			return true
		}
	}
	return false
}

// jsonReader reads JSON values from b at i. Its methods return false when
// the input is anything they do not handle; the caller then gives up.
type jsonReader struct {
	b []byte
	i int
	// scratch is reused to unescape strings.
	scratch []byte
}

// ws skips JSON whitespace.
func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// next consumes c (after whitespace) if it comes next.
func (r *jsonReader) next(c byte) bool {
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == c {
		r.i++
		return true
	}
	return false
}

// end reports whether only whitespace remains.
func (r *jsonReader) end() bool {
	r.ws()
	return r.i == len(r.b)
}

// object reads an object, calling member for each member with the reader
// at its value. Member names must be plain ASCII without escapes (every
// name the hot operations know is); member reports whether it read the
// value.
func (r *jsonReader) object(member func(name []byte) bool) bool {
	if !r.next('{') {
		return false
	}
	if r.next('}') {
		return true
	}
	for {
		name, ok := r.name()
		if !ok || !r.next(':') || !member(name) {
			return false
		}
		if r.next(',') {
			continue
		}
		return r.next('}')
	}
}

// name reads a member name of printable ASCII without escapes.
func (r *jsonReader) name() ([]byte, bool) {
	if !r.next('"') {
		return nil, false
	}
	start := r.i
	for ; r.i < len(r.b); r.i++ {
		c := r.b[r.i]
		if c == '"' {
			r.i++
			return r.b[start : r.i-1], true
		}
		if c < 0x20 || c >= utf8.RuneSelf || c == '\\' {
			return nil, false
		}
	}
	return nil, false
}

// array reads an array, calling elem for each element.
func (r *jsonReader) array(elem func() bool) bool {
	if !r.next('[') {
		return false
	}
	if r.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if r.next(',') {
			continue
		}
		return r.next(']')
	}
}

// strings reads an array of strings; [] is an empty, non-nil slice, as
// encoding/json makes it.
func (r *jsonReader) strings() ([]string, bool) {
	out := []string{}
	ok := r.array(func() bool {
		s, ok := r.str()
		out = append(out, s)
		return ok
	})
	return out, ok
}

// str reads a string. Plain strings are copied as they are; escapes and
// invalid UTF-8 take the slower unescaping loop.
func (r *jsonReader) str() (string, bool) {
	if !r.next('"') {
		return "", false
	}
	start := r.i
	for j := start; j < len(r.b); {
		c := r.b[j]
		switch {
		case c == '"':
			r.i = j + 1
			return string(r.b[start:j]), true
		case c == '\\' || c < 0x20:
			return r.unescape(start)
		case c < utf8.RuneSelf:
			j++
		default:
			rr, n := utf8.DecodeRune(r.b[j:])
			if rr == utf8.RuneError && n == 1 {
				return r.unescape(start)
			}
			j += n
		}
	}
	return "", false
}

// unescape reads the rest of a string that starts at start (after its
// quote), decoding it as encoding/json does.
func (r *jsonReader) unescape(start int) (string, bool) {
	buf := r.scratch[:0]
	b := r.b
	for j := start; j < len(b); {
		c := b[j]
		switch {
		case c == '"':
			r.i = j + 1
			r.scratch = buf
			return string(buf), true
		case c < 0x20:
			return "", false // a raw control character: not JSON
		case c == '\\':
			if j+1 >= len(b) {
				return "", false
			}
			switch e := b[j+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				u, ok := hex4(b[j+2:])
				if !ok {
					return "", false
				}
				j += 6
				if utf16.IsSurrogate(u) {
					// Only a high and a low surrogate escaped back to back
					// make a character; any other surrogate is U+FFFD, and
					// what follows it is read on its own.
					if j+1 < len(b) && b[j] == '\\' && b[j+1] == 'u' {
						if u2, ok := hex4(b[j+2:]); ok {
							if rr := utf16.DecodeRune(u, u2); rr != utf8.RuneError {
								buf = utf8.AppendRune(buf, rr)
								j += 6
								continue
							}
						}
					}
					u = utf8.RuneError
				}
				buf = utf8.AppendRune(buf, u)
				continue
			default:
				return "", false
			}
			j += 2
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			j++
		default:
			rr, n := utf8.DecodeRune(b[j:])
			if rr == utf8.RuneError && n == 1 {
				buf = utf8.AppendRune(buf, utf8.RuneError)
			} else {
				buf = append(buf, b[j:j+n]...)
			}
			j += n
		}
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var v rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// maxFastDigits bounds the integers read here, far from int's limits; a
// longer one (and a fraction or exponent, which encoding/json refuses for
// an int) is left to encoding/json.
const maxFastDigits = 15

// intPtr reads an integer into a new *int.
func (r *jsonReader) intPtr() (*int, bool) {
	r.ws()
	j := r.i
	neg := j < len(r.b) && r.b[j] == '-'
	if neg {
		j++
	}
	first, n := j, 0
	for j < len(r.b) && r.b[j] >= '0' && r.b[j] <= '9' {
		if j-first == maxFastDigits {
			return nil, false
		}
		n = n*10 + int(r.b[j]-'0')
		j++
	}
	digits := j - first
	if digits == 0 || digits > 1 && r.b[first] == '0' {
		return nil, false
	}
	if j < len(r.b) {
		if c := r.b[j]; c == '.' || c == 'e' || c == 'E' {
			return nil, false
		}
	}
	r.i = j
	if neg {
		n = -n
	}
	return &n, true
}

// blob reads a base64 string as encoding/json decodes a []byte: with
// base64.StdEncoding ("" is an empty, non-nil slice).
func (r *jsonReader) blob() ([]byte, bool) {
	s, ok := r.str()
	if !ok {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
	n, err := base64.StdEncoding.Decode(out, []byte(s))
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// seen marks member bit in *mask and reports whether it was new: a
// repeated member is left to encoding/json (which merges some repeats).
func seen(mask *uint32, bit uint32) bool {
	if *mask&bit != 0 {
		return false
	}
	*mask |= bit
	return true
}

func (r *jsonReader) sendBatch(in *sqsSendBatchInput) bool {
	var mask uint32
	return r.object(func(name []byte) bool {
		var ok bool
		switch string(name) {
		case "QueueUrl":
			if !seen(&mask, 1) {
				return false
			}
			in.QueueUrl, ok = r.str()
		case "Entries":
			if !seen(&mask, 2) {
				return false
			}
			in.Entries = []sqsSendEntry{}
			ok = r.array(func() bool {
				in.Entries = append(in.Entries, sqsSendEntry{})
				return r.sendEntry(&in.Entries[len(in.Entries)-1])
			})
		}
		return ok
	})
}

func (r *jsonReader) sendEntry(e *sqsSendEntry) bool {
	var mask uint32
	return r.object(func(name []byte) bool {
		var ok bool
		switch string(name) {
		case "Id":
			if !seen(&mask, 1) {
				return false
			}
			e.Id, ok = r.str()
		case "MessageBody":
			if !seen(&mask, 2) {
				return false
			}
			e.MessageBody, ok = r.str()
		case "QueueUrl":
			if !seen(&mask, 4) {
				return false
			}
			e.QueueUrl, ok = r.str()
		case "DelaySeconds":
			if !seen(&mask, 8) {
				return false
			}
			e.DelaySeconds, ok = r.intPtr()
		case "MessageAttributes":
			if !seen(&mask, 16) {
				return false
			}
			e.MessageAttributes, ok = r.attributes()
		case "MessageSystemAttributes":
			if !seen(&mask, 32) {
				return false
			}
			e.MessageSystemAttributes, ok = r.attributes()
		case "MessageDeduplicationId":
			if !seen(&mask, 64) {
				return false
			}
			e.MessageDeduplicationId, ok = r.str()
		case "MessageGroupId":
			if !seen(&mask, 128) {
				return false
			}
			e.MessageGroupId, ok = r.str()
		}
		return ok
	})
}

// attributes reads a map of message attributes. A repeated name replaces
// the earlier value, as in encoding/json (which decodes each into a fresh
// value).
func (r *jsonReader) attributes() (map[string]MessageAttributeValue, bool) {
	r.ws()
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		return nil, false
	}
	r.i++
	out := map[string]MessageAttributeValue{}
	if r.next('}') {
		return out, true
	}
	for {
		name, ok := r.str()
		if !ok || !r.next(':') {
			return nil, false
		}
		v, ok := r.attribute()
		if !ok {
			return nil, false
		}
		out[name] = v
		if r.next(',') {
			continue
		}
		return out, r.next('}')
	}
}

func (r *jsonReader) attribute() (MessageAttributeValue, bool) {
	var v MessageAttributeValue
	var mask uint32
	ok := r.object(func(name []byte) bool {
		var ok bool
		switch string(name) {
		case "DataType":
			if !seen(&mask, 1) {
				return false
			}
			v.DataType, ok = r.str()
		case "StringValue":
			if !seen(&mask, 2) {
				return false
			}
			var s string
			if s, ok = r.str(); ok {
				v.StringValue = &s
			}
		case "BinaryValue":
			if !seen(&mask, 4) {
				return false
			}
			v.BinaryValue, ok = r.blob()
		}
		return ok
	})
	return v, ok
}

func (r *jsonReader) receive(in *sqsReceiveInput) bool {
	var mask uint32
	return r.object(func(name []byte) bool {
		var ok bool
		switch string(name) {
		case "QueueUrl":
			if !seen(&mask, 1) {
				return false
			}
			in.QueueUrl, ok = r.str()
		case "MaxNumberOfMessages":
			if !seen(&mask, 2) {
				return false
			}
			in.MaxNumberOfMessages, ok = r.intPtr()
		case "WaitTimeSeconds":
			if !seen(&mask, 4) {
				return false
			}
			in.WaitTimeSeconds, ok = r.intPtr()
		case "VisibilityTimeout":
			if !seen(&mask, 8) {
				return false
			}
			in.VisibilityTimeout, ok = r.intPtr()
		case "AttributeNames":
			if !seen(&mask, 16) {
				return false
			}
			in.AttributeNames, ok = r.strings()
		case "MessageSystemAttributeNames":
			if !seen(&mask, 32) {
				return false
			}
			in.MessageSystemAttributeNames, ok = r.strings()
		case "MessageAttributeNames":
			if !seen(&mask, 64) {
				return false
			}
			in.MessageAttributeNames, ok = r.strings()
		case "ReceiveRequestAttemptId":
			if !seen(&mask, 128) {
				return false
			}
			in.ReceiveRequestAttemptId, ok = r.str()
		}
		return ok
	})
}

func (r *jsonReader) deleteBatch(in *sqsDeleteBatchInput) bool {
	var mask uint32
	return r.object(func(name []byte) bool {
		var ok bool
		switch string(name) {
		case "QueueUrl":
			if !seen(&mask, 1) {
				return false
			}
			in.QueueUrl, ok = r.str()
		case "Entries":
			if !seen(&mask, 2) {
				return false
			}
			in.Entries = []sqsDeleteBatchEntry{}
			ok = r.array(func() bool {
				var e sqsDeleteBatchEntry
				var emask uint32
				ok := r.object(func(name []byte) bool {
					var ok bool
					switch string(name) {
					case "Id":
						if !seen(&emask, 1) {
							return false
						}
						e.Id, ok = r.str()
					case "ReceiptHandle":
						if !seen(&emask, 2) {
							return false
						}
						e.ReceiptHandle, ok = r.str()
					}
					return ok
				})
				in.Entries = append(in.Entries, e)
				return ok
			})
		}
		return ok
	})
}

func (r *jsonReader) deleteOne(in *sqsDeleteInput) bool {
	var mask uint32
	return r.object(func(name []byte) bool {
		var ok bool
		switch string(name) {
		case "QueueUrl":
			if !seen(&mask, 1) {
				return false
			}
			in.QueueUrl, ok = r.str()
		case "ReceiptHandle":
			if !seen(&mask, 2) {
				return false
			}
			in.ReceiptHandle, ok = r.str()
		}
		return ok
	})
}
