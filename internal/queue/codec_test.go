package queue

import (
	"reflect"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	recs := []*rec{
		{id: "1", body: "b", sent: time.UnixMilli(1700000000123), delay: 5 * time.Second, group: "g", dedup: "d",
			sender: "s", trace: "t", dlqSource: "arn", attrs: map[string]Attribute{
				"s": {DataType: "String", StringValue: "v"},
				"b": {DataType: "Binary.x", BinaryValue: []byte{0, 1, 2}},
			}},
		{id: "2", body: "", sent: time.UnixMilli(0)},
	}
	got, err := decodeSend(encodeSend(recs))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, recs) {
		t.Fatalf("got %+v\nwant %+v", got[0], recs[0])
	}
	keys := []mkey{{1, 0}, {1 << 40, 9}}
	gk, err := decodeDelete(encodeDelete(keys))
	if err != nil || !reflect.DeepEqual(gk, keys) {
		t.Fatalf("delete round trip: %v %v", gk, err)
	}
	h := handle{inc: 7, key: mkey{seq: 99, idx: 3}, nonce: 12}
	if p, ok := parseHandle(h.String()); !ok || p != h {
		t.Fatalf("handle round trip: %+v %v", p, ok)
	}
}

func FuzzDecodeSend(f *testing.F) {
	f.Add(encodeSend([]*rec{{id: "x", body: "y", attrs: map[string]Attribute{"a": {DataType: "String", StringValue: "v"}}}}))
	f.Add([]byte{1, 200, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := decodeSend(data)
		if err == nil {
			if _, err := decodeSend(encodeSend(recs)); err != nil {
				t.Fatalf("re-encoding failed: %v", err)
			}
		}
	})
}

func FuzzDecodeDelete(f *testing.F) {
	f.Add(encodeDelete([]mkey{{1, 2}, {3, 4}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = decodeDelete(data)
	})
}

func FuzzParseHandle(f *testing.F) {
	f.Add(handle{inc: 1, key: mkey{2, 3}, nonce: 4}.String())
	f.Fuzz(func(t *testing.T, s string) {
		if h, ok := parseHandle(s); ok && h.String() != s {
			t.Fatalf("handle %q parsed to %+v which prints %q", s, h, h.String())
		}
	})
}
