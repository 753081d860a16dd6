package queue

// The journal's records use a small hand-written binary encoding: a send
// record carries whole messages, so its encoding is on the hot path of
// every SendMessageBatch, and JSON's reflection would be its largest cost.
//
//	send record:   version(1) count(uvarint) message*
//	message:       id body sentMillis(varint) delayMillis(uvarint) group dedup
//	               sender trace dlqSource attrCount(uvarint) attribute*
//	attribute:     name type kind(1: 0 string, 1 binary) value
//	delete record: version(1) count(uvarint) (seq(uvarint) index(uvarint))*
//
// Strings are a uvarint length and the bytes. Decoders never trust a count
// or a length beyond the bytes that remain, so arbitrary input cannot make
// them allocate much or panic.

import (
	"encoding/binary"
	"errors"
	"time"
)

const recordVersion = 1

// rec is what the journal keeps of a message: everything that does not
// change after it is sent.
type rec struct {
	id        string
	body      string
	sent      time.Time
	delay     time.Duration
	group     string
	dedup     string
	sender    string
	trace     string
	dlqSource string
	attrs     map[string]Attribute
	// bodyMD5 is SendInput.BodyMD5; not journaled (a memo, not state).
	bodyMD5 string
}

var errCorrupt = errors.New("queue: corrupt journal record")

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodedSize is an upper bound of rec's encoding, used to split sends
// into records the store accepts.
func (r *rec) encodedSize() int {
	n := 64 + len(r.id) + len(r.body) + len(r.group) + len(r.dedup) + len(r.sender) + len(r.trace) + len(r.dlqSource)
	for k, a := range r.attrs {
		n += 16 + len(k) + len(a.DataType) + len(a.StringValue) + len(a.BinaryValue)
	}
	return n
}

func encodeSend(recs []*rec) []byte {
	size := 8
	for _, r := range recs {
		size += r.encodedSize()
	}
	b := make([]byte, 0, size)
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for _, r := range recs {
		b = appendStr(b, r.id)
		b = appendStr(b, r.body)
		b = binary.AppendVarint(b, r.sent.UnixMilli())
		b = binary.AppendUvarint(b, uint64(r.delay/time.Millisecond))
		b = appendStr(b, r.group)
		b = appendStr(b, r.dedup)
		b = appendStr(b, r.sender)
		b = appendStr(b, r.trace)
		b = appendStr(b, r.dlqSource)
		b = binary.AppendUvarint(b, uint64(len(r.attrs)))
		for name, a := range r.attrs {
			b = appendStr(b, name)
			b = appendStr(b, a.DataType)
			if baseType(a.DataType) == "Binary" {
				b = append(b, 1)
				b = appendBytes(b, a.BinaryValue)
			} else {
				b = append(b, 0)
				b = appendStr(b, a.StringValue)
			}
		}
	}
	return b
}

// reader decodes a record; the first error sticks and zero values follow.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errCorrupt
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) byte1() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errCorrupt
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) raw() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errCorrupt
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.raw()) }

// count reads an element count that cannot exceed the bytes left divided
// by each element's smallest encoding.
func (r *reader) count(minSize int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minSize) {
		r.err = errCorrupt
		return 0
	}
	return int(n)
}

func decodeSend(data []byte) ([]*rec, error) {
	r := &reader{b: data}
	if r.byte1() != recordVersion {
		return nil, errCorrupt
	}
	n := r.count(10)
	recs := make([]*rec, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		m := &rec{}
		m.id = r.str()
		m.body = r.str()
		m.sent = time.UnixMilli(r.varint())
		m.delay = time.Duration(r.uvarint()&(1<<40-1)) * time.Millisecond
		m.group = r.str()
		m.dedup = r.str()
		m.sender = r.str()
		m.trace = r.str()
		m.dlqSource = r.str()
		na := r.count(4)
		if na > 0 {
			m.attrs = make(map[string]Attribute, na)
		}
		for j := 0; j < na && r.err == nil; j++ {
			name := r.str()
			a := Attribute{DataType: r.str()}
			switch r.byte1() {
			case 0:
				a.StringValue = r.str()
			case 1:
				a.BinaryValue = append([]byte(nil), r.raw()...)
			default:
				r.err = errCorrupt
			}
			m.attrs[name] = a
		}
		recs = append(recs, m)
	}
	if r.err != nil {
		return nil, r.err
	}
	return recs, nil
}

// mkey names a message: the sequence of its send record in the journal
// and its index in that record.
type mkey struct {
	seq uint64
	idx uint32
}

func encodeDelete(keys []mkey) []byte {
	b := make([]byte, 0, 2+len(keys)*8)
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = binary.AppendUvarint(b, k.seq)
		b = binary.AppendUvarint(b, uint64(k.idx))
	}
	return b
}

func decodeDelete(data []byte) ([]mkey, error) {
	r := &reader{b: data}
	if r.byte1() != recordVersion {
		return nil, errCorrupt
	}
	n := r.count(2)
	keys := make([]mkey, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		k := mkey{seq: r.uvarint()}
		idx := r.uvarint()
		if idx >= maxRecordMessages {
			r.err = errCorrupt
		}
		k.idx = uint32(idx)
		keys = append(keys, k)
	}
	if r.err != nil {
		return nil, r.err
	}
	return keys, nil
}
