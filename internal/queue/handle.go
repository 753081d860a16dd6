package queue

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
)

// A receipt handle names one receive of one message: the queue's
// incarnation (so a handle outlives neither a deleted queue nor crosses to
// another queue), the message key and the receive's nonce (so the handle
// of an older receive is recognised as stale). A checksum makes a mangled
// or made-up handle invalid rather than a reference to some other message.
// Handles are opaque, URL-safe base64.
type handle struct {
	inc   uint64
	key   mkey
	nonce uint32
}

const handleVersion = 1
const handleLen = 1 + 8 + 8 + 4 + 4 + 4

func (h handle) String() string {
	b := make([]byte, 0, handleLen)
	b = append(b, handleVersion)
	b = binary.BigEndian.AppendUint64(b, h.inc)
	b = binary.BigEndian.AppendUint64(b, h.key.seq)
	b = binary.BigEndian.AppendUint32(b, h.key.idx)
	b = binary.BigEndian.AppendUint32(b, h.nonce)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseHandle(s string) (handle, bool) {
	if base64.RawURLEncoding.DecodedLen(len(s)) != handleLen {
		return handle{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != handleLen || b[0] != handleVersion {
		return handle{}, false
	}
	if crc32.ChecksumIEEE(b[:handleLen-4]) != binary.BigEndian.Uint32(b[handleLen-4:]) {
		return handle{}, false
	}
	return handle{
		inc:   binary.BigEndian.Uint64(b[1:]),
		key:   mkey{seq: binary.BigEndian.Uint64(b[9:]), idx: binary.BigEndian.Uint32(b[17:])},
		nonce: binary.BigEndian.Uint32(b[21:]),
	}, true
}
