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
	var raw [handleLen]byte
	var text [(handleLen*8 + 5) / 6]byte
	b := raw[:0]
	b = append(b, handleVersion)
	b = binary.BigEndian.AppendUint64(b, h.inc)
	b = binary.BigEndian.AppendUint64(b, h.key.seq)
	b = binary.BigEndian.AppendUint32(b, h.key.idx)
	b = binary.BigEndian.AppendUint32(b, h.nonce)
	b = binary.BigEndian.AppendUint32(b, checksum(b))
	base64.RawURLEncoding.Encode(text[:], b)
	return string(text[:])
}

// crcTable is CRC-32 (IEEE)'s table; checksum computes it over the
// handle's bytes here rather than by crc32.ChecksumIEEE, whose argument
// escapes and would cost each handle (made and parsed once per message
// received) two more allocations.
var crcTable = crc32.MakeTable(crc32.IEEE)

func checksum(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c = crcTable[byte(c)^x] ^ c>>8
	}
	return ^c
}

// handleEncoding decodes handles (made once: Strict copies the encoding).
var handleEncoding = base64.RawURLEncoding.Strict()

func parseHandle(s string) (handle, bool) {
	if handleEncoding.DecodedLen(len(s)) != handleLen {
		return handle{}, false
	}
	var raw [handleLen + 3]byte
	n, err := handleEncoding.Decode(raw[:], []byte(s))
	b := raw[:n]
	if err != nil || len(b) != handleLen || b[0] != handleVersion {
		return handle{}, false
	}
	if checksum(b[:handleLen-4]) != binary.BigEndian.Uint32(b[handleLen-4:]) {
		return handle{}, false
	}
	return handle{
		inc:   binary.BigEndian.Uint64(b[1:]),
		key:   mkey{seq: binary.BigEndian.Uint64(b[9:]), idx: binary.BigEndian.Uint32(b[17:])},
		nonce: binary.BigEndian.Uint32(b[21:]),
	}, true
}
