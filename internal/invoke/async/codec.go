package async

// A hand-written codec for Event, because encoding/json's reflection was
// the async layer's largest own cost (about a tenth of its CPU). It writes
// and reads the JSON shape encoding/json gives Event (same keys; zero times
// are left out and read back as zero), and any document it does not
// recognise is handed to encoding/json, so stored events stay plain JSON
// that either side reads.

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/lamina-dev/lamina/internal/jsonenc"
)

// encodeEvent appends ev's JSON to dst.
func encodeEvent(dst []byte, ev *Event) ([]byte, error) {
	b := append(dst, `{"requestId":`...)
	b = jsonenc.AppendString(b, ev.RequestID)
	b = append(b, `,"functionName":`...)
	b = jsonenc.AppendString(b, ev.FunctionName)
	if ev.Qualifier != "" {
		b = append(b, `,"qualifier":`...)
		b = jsonenc.AppendString(b, ev.Qualifier)
	}
	if ev.Region != "" {
		b = append(b, `,"region":`...)
		b = jsonenc.AppendString(b, ev.Region)
	}
	b = append(b, `,"payload":`...)
	b = appendRaw(b, ev.Payload)
	if ev.TraceID != "" {
		b = append(b, `,"traceId":`...)
		b = jsonenc.AppendString(b, ev.TraceID)
	}
	b = append(b, `,"source":{"Kind":`...)
	b = jsonenc.AppendString(b, ev.Source.Kind)
	b = append(b, `,"ARN":`...)
	b = jsonenc.AppendString(b, ev.Source.ARN)
	b = append(b, '}')
	if ev.Policy != nil {
		p, err := json.Marshal(ev.Policy)
		if err != nil {
			return nil, err
		}
		b = append(b, `,"policy":`...)
		b = append(b, p...)
	}
	b = appendTime(b, `,"enqueuedAt":`, ev.EnqueuedAt)
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(ev.Attempts), 10)
	b = appendInt(b, `,"throttles":`, ev.Throttles)
	b = appendInt(b, `,"deliveries":`, ev.Deliveries)
	b = appendTime(b, `,"notBefore":`, ev.NotBefore)
	if ev.LastErrorType != "" {
		b = append(b, `,"lastErrorType":`...)
		b = jsonenc.AppendString(b, ev.LastErrorType)
	}
	if ev.LastErrorMessage != "" {
		b = append(b, `,"lastErrorMessage":`...)
		b = jsonenc.AppendString(b, ev.LastErrorMessage)
	}
	if len(ev.LastResponse) > 0 {
		b = append(b, `,"lastResponse":`...)
		b = appendRaw(b, ev.LastResponse)
	}
	b = appendTime(b, `,"lastAttempt":`, ev.LastAttempt)
	b = appendInt(b, `,"lastStatusCode":`, ev.LastStatusCode)
	if ev.LastExecutedVersion != "" {
		b = append(b, `,"lastExecutedVersion":`...)
		b = jsonenc.AppendString(b, ev.LastExecutedVersion)
	}
	if ev.LastFunctionError != "" {
		b = append(b, `,"lastFunctionError":`...)
		b = jsonenc.AppendString(b, ev.LastFunctionError)
	}
	return append(b, '}'), nil
}

func appendInt(b []byte, key string, v int) []byte {
	if v == 0 {
		return b
	}
	b = append(b, key...)
	return strconv.AppendInt(b, int64(v), 10)
}

func appendTime(b []byte, key string, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	b = append(b, key...)
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendRaw appends a JSON value (null when empty), compacted only when it
// holds whitespace, and validated as encoding/json would.
func appendRaw(b []byte, raw []byte) []byte {
	if len(raw) == 0 {
		return append(b, "null"...)
	}
	if bytes.ContainsAny(raw, " \t\r\n") {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) == nil {
			return append(b, buf.Bytes()...)
		}
	}
	return append(b, raw...)
}

// decodeEvent reads an Event, falling back to encoding/json for anything
// its fast path does not handle.
func decodeEvent(data []byte, ev *Event) error {
	if err := fastDecode(data, ev); err == nil {
		return nil
	}
	*ev = Event{}
	return json.Unmarshal(data, ev)
}

var errSlow = errors.New("not for the fast path")

// scanner reads JSON tokens from a byte slice.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a string without escapes (others go the slow way).
func (s *scanner) str() (string, error) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", errSlow
	}
	j := s.i + 1
	for j < len(s.b) {
		c := s.b[j]
		if c == '"' {
			v := string(s.b[s.i+1 : j])
			s.i = j + 1
			return v, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return s.slowStr()
		}
		j++
	}
	return "", errSlow
}

// slowStr reads a string with escapes or non-ASCII through encoding/json.
func (s *scanner) slowStr() (string, error) {
	start := s.i
	if err := s.skip(); err != nil {
		return "", err
	}
	var v string
	if err := json.Unmarshal(s.b[start:s.i], &v); err != nil {
		return "", errSlow
	}
	return v, nil
}

// nullOr reports (and consumes) a null.
func (s *scanner) null() bool {
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

func (s *scanner) optStr() (string, error) {
	if s.null() {
		return "", nil
	}
	return s.str()
}

// integer reads a JSON integer (no leading zeros, no fraction or exponent).
func (s *scanner) integer() (int, error) {
	s.ws()
	j := s.i
	if j < len(s.b) && s.b[j] == '-' {
		j++
	}
	digits := j
	for j < len(s.b) && s.b[j] >= '0' && s.b[j] <= '9' {
		j++
	}
	if j == digits || s.b[digits] == '0' && j-digits > 1 {
		return 0, errSlow
	}
	if j < len(s.b) && (s.b[j] == '.' || s.b[j] == 'e' || s.b[j] == 'E') {
		return 0, errSlow
	}
	n, err := strconv.Atoi(string(s.b[s.i:j]))
	if err != nil {
		return 0, errSlow
	}
	s.i = j
	return n, nil
}

func (s *scanner) time() (time.Time, error) {
	if s.null() {
		return time.Time{}, nil
	}
	v, err := s.str()
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, errSlow
	}
	return t, nil
}

// raw returns the next value as it is (nil for null).
func (s *scanner) raw() (json.RawMessage, error) {
	if s.null() {
		return nil, nil
	}
	start := s.i
	if err := s.skip(); err != nil {
		return nil, err
	}
	return s.b[start:s.i:s.i], nil
}

// skip passes over one value, which must be well-formed.
func (s *scanner) skip() error {
	s.ws()
	if s.i >= len(s.b) {
		return errSlow
	}
	switch c := s.b[s.i]; {
	case c == '"':
		for j := s.i + 1; j < len(s.b); j++ {
			switch s.b[j] {
			case '\\':
				j++
			case '"':
				if !json.Valid(s.b[s.i : j+1]) {
					return errSlow
				}
				s.i = j + 1
				return nil
			}
		}
		return errSlow
	case c == '{' || c == '[':
		// The extent of a nested value; its validity is checked below.
		depth, start := 0, s.i
		for j := s.i; j < len(s.b); j++ {
			switch s.b[j] {
			case '"':
				for j++; j < len(s.b) && s.b[j] != '"'; j++ {
					if s.b[j] == '\\' {
						j++
					}
				}
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i = j + 1
					if !json.Valid(s.b[start:s.i]) {
						return errSlow
					}
					return nil
				}
			}
		}
		return errSlow
	default:
		j := s.i
		for j < len(s.b) && !bytes.ContainsRune([]byte(",}] \t\r\n"), rune(s.b[j])) {
			j++
		}
		if !json.Valid(s.b[s.i:j]) {
			return errSlow
		}
		s.i = j
		return nil
	}
}

func fastDecode(data []byte, ev *Event) error {
	*ev = Event{}
	s := &scanner{b: data}
	if !s.consume('{') {
		return errSlow
	}
	if s.consume('}') {
		return s.end()
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if !s.consume(':') {
			return errSlow
		}
		switch key {
		case "requestId":
			ev.RequestID, err = s.optStr()
		case "functionName":
			ev.FunctionName, err = s.optStr()
		case "qualifier":
			ev.Qualifier, err = s.optStr()
		case "region":
			ev.Region, err = s.optStr()
		case "payload":
			ev.Payload, err = s.raw()
		case "traceId":
			ev.TraceID, err = s.optStr()
		case "source":
			err = s.source(&ev.Source)
		case "policy":
			var raw json.RawMessage
			if raw, err = s.raw(); err == nil && raw != nil {
				ev.Policy = new(DeliveryPolicy)
				if json.Unmarshal(raw, ev.Policy) != nil {
					err = errSlow
				}
			}
		case "enqueuedAt":
			ev.EnqueuedAt, err = s.time()
		case "attempts":
			ev.Attempts, err = s.integer()
		case "throttles":
			ev.Throttles, err = s.integer()
		case "deliveries":
			ev.Deliveries, err = s.integer()
		case "notBefore":
			ev.NotBefore, err = s.time()
		case "lastErrorType":
			ev.LastErrorType, err = s.optStr()
		case "lastErrorMessage":
			ev.LastErrorMessage, err = s.optStr()
		case "lastResponse":
			ev.LastResponse, err = s.raw()
		case "lastAttempt":
			ev.LastAttempt, err = s.time()
		case "lastStatusCode":
			ev.LastStatusCode, err = s.integer()
		case "lastExecutedVersion":
			ev.LastExecutedVersion, err = s.optStr()
		case "lastFunctionError":
			ev.LastFunctionError, err = s.optStr()
		default:
			// Other spellings (encoding/json matches keys without regard
			// to case) or other fields: the general decoder decides.
			return errSlow
		}
		if err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return s.end()
		}
		return errSlow
	}
}

// end checks that nothing but white space follows.
func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return errSlow
	}
	return nil
}

func (s *scanner) source(src *Source) error {
	if s.null() {
		return nil
	}
	if !s.consume('{') {
		return errSlow
	}
	if s.consume('}') {
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if !s.consume(':') {
			return errSlow
		}
		switch key {
		case "Kind":
			src.Kind, err = s.optStr()
		case "ARN":
			src.ARN, err = s.optStr()
		default:
			return errSlow
		}
		if err != nil {
			return err
		}
		if s.consume(',') {
			continue
		}
		if s.consume('}') {
			return nil
		}
		return errSlow
	}
}
