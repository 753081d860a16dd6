package deadletter

import (
	"crypto/rand"
	"sync"
	"time"
)

// IDs are ULID-like: 10 characters of millisecond timestamp and 16 of
// randomness in Crockford's base32, 26 characters in all. They sort (as
// strings) by the time they carry, which Put takes from FailedAt, so key
// order is age order; within one millisecond a process increments the
// random part, so records it stores in the same millisecond keep their order.
const (
	idLen      = 26
	idTimeLen  = 10
	crockford  = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	maxIDLen   = 128 // for IDs a caller chose
	maxTimeVal = 1<<48 - 1
)

// idGen makes IDs; the zero value is ready.
type idGen struct {
	mu     sync.Mutex
	lastMs int64
	last   [10]byte // the 80 random bits of the last ID
}

// next returns a new ID for time t.
func (g *idGen) next(t time.Time) string {
	ms := min(max(t.UnixMilli(), 0), maxTimeVal)
	g.mu.Lock()
	var r [10]byte
	if ms == g.lastMs && incr(&g.last) {
		r = g.last
	} else {
		_, _ = rand.Read(r[:]) // never fails (crypto/rand panics rather than return an error)
		g.lastMs, g.last = ms, r
	}
	g.mu.Unlock()
	return encodeID(ms, r)
}

// incr adds one to b (big-endian) and reports false on overflow.
func incr(b *[10]byte) bool {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return true
		}
	}
	return false
}

func encodeID(ms int64, r [10]byte) string {
	var out [idLen]byte
	for i := idTimeLen - 1; i >= 0; i-- {
		out[i] = crockford[ms&31]
		ms >>= 5
	}
	// 80 bits, 5 at a time, most significant first.
	var acc uint64
	bits, j := 0, idTimeLen
	for _, c := range r {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out[j] = crockford[(acc>>bits)&31]
			j++
		}
	}
	return string(out[:])
}

// validID reports whether id can be a record's ID: 1 to 128 characters of
// [A-Za-z0-9_-], so that it is one token of a store key.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := range len(id) {
		if !plainByte(id[i]) {
			return false
		}
	}
	return true
}

func plainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
