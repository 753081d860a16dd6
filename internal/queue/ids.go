package queue

import (
	"crypto/rand"

	"github.com/google/uuid"
)

// newMessageIDs returns n random (version 4) UUIDs as message ids, from
// one read of the system's random source rather than one per message.
func newMessageIDs(n int) []string {
	ids := make([]string, n)
	raw := make([]byte, 16*n)
	_, _ = rand.Read(raw) // never fails (crypto/rand panics rather than return an error)
	for i := range ids {
		var u uuid.UUID
		copy(u[:], raw[16*i:])
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
		ids[i] = u.String()
	}
	return ids
}
