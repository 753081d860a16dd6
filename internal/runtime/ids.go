package runtime

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// newUUID returns a random (version 4) UUID, the shape of Lambda request ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// newTraceID returns an X-Ray trace header for an invocation that came
// without one: Root=1-<epoch seconds hex>-<96 random bits>;Sampled=0.
func newTraceID() string {
	var r [12]byte
	rand.Read(r[:])
	b := make([]byte, 0, 64)
	b = append(b, "Root=1-"...)
	b = strconv.AppendInt(b, time.Now().Unix(), 16)
	b = append(b, '-')
	b = hex.AppendEncode(b, r[:])
	b = append(b, ";Sampled=0"...)
	return string(b)
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
