package telemetry

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// How logs are laid out in the store.
//
// Every batch of lines of one log stream is one message of the store
// stream "logs" on the subject
//
//	logs.<function>.<version>.<log stream>
//
// each part made a subject token by token(): names of [A-Za-z0-9_-] are
// kept as they are (Lambda function names always are), anything else
// (log stream names hold '/', '[', '$' and ']') becomes "=" and its
// unpadded base64url. "$LATEST" is "LATEST" (published versions are
// numbers, so nothing else can be). The same tokens make the keys of the
// stream index, a KV bucket with one entry "s.<function>.<log stream>" per
// log stream.
//
// An event's position is its message's stream sequence and its index in
// the batch; its ID (and the tokens that page through a query) is the two
// as 20+6 decimal digits, so IDs sort as the events were stored.
const (
	storeStream = "logs"
	subjectRoot = "logs"
	indexBucket = "logs_index"
	indexPrefix = "s."
)

// token encodes s as one subject token, also valid in a KV key.
func token(s string) string {
	if s != "" && plainToken(s) {
		return s
	}
	return "=" + base64.RawURLEncoding.EncodeToString([]byte(s))
}

func plainToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// untoken reverses token.
func untoken(t string) (string, error) {
	enc, ok := strings.CutPrefix(t, "=")
	if !ok {
		return t, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("bad name token %q", t)
	}
	return string(b), nil
}

func versionToken(v string) string {
	if v == "$LATEST" {
		return "LATEST"
	}
	return token(v)
}

func lineSubject(fn, version, stream string) string {
	return subjectRoot + "." + token(fn) + "." + versionToken(version) + "." + token(stream)
}

func functionSubjects(fn string) string { return subjectRoot + "." + token(fn) + ".>" }

func streamSubjects(fn, stream string) string {
	return subjectRoot + "." + token(fn) + ".*." + token(stream)
}

func indexKey(fn, stream string) string { return indexPrefix + token(fn) + "." + token(stream) }

func indexFunctionPrefix(fn string) string { return indexPrefix + token(fn) + "." }

// StartToken is a position before every event: as a LogQuery.NextToken it
// selects from the first event, as a Before it selects nothing.
const StartToken = "00000000000000000000000000"

// position is where an event is stored: its message's stream sequence and
// its index in that message's batch.
type position struct {
	seq uint64
	idx int
}

const (
	seqDigits = 20
	idxDigits = 6
	// maxBatchLines keeps idx within idxDigits.
	maxBatchLines = 100_000
)

func (p position) id() string {
	return fmt.Sprintf("%0*d%0*d", seqDigits, p.seq, idxDigits, p.idx)
}

func (p position) zero() bool { return p.seq == 0 && p.idx == 0 }

// before reports whether p comes before q.
func (p position) before(q position) bool {
	return p.seq < q.seq || (p.seq == q.seq && p.idx < q.idx)
}

// parsePosition reads an event ID (or a token made from one).
func parsePosition(s string) (position, bool) {
	if len(s) != seqDigits+idxDigits {
		return position{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return position{}, false
		}
	}
	seq, err1 := strconv.ParseUint(s[:seqDigits], 10, 64)
	idx, err2 := strconv.Atoi(s[seqDigits:])
	if err1 != nil || err2 != nil {
		return position{}, false
	}
	return position{seq: seq, idx: idx}, true
}
