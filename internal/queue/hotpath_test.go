package queue

import (
	"fmt"
	"hash/crc32"
	"regexp"
	"testing"
)

func TestBodyMD5KeptInMemoryOnly(t *testing.T) {
	e := newEnv(t)
	e.create("q", nil)
	e.sendIn("q", SendInput{ID: "a", Body: "with", BodyMD5: "digest-of-with"}, SendInput{ID: "b", Body: "without"})
	got := map[string]string{}
	for _, m := range e.recv("q", 10) {
		got[m.Body] = m.BodyMD5
	}
	if got["with"] != "digest-of-with" || got["without"] != "" || len(got) != 2 {
		t.Fatalf("digests = %v", got)
	}
	// The digest is a memo, not journaled: after a restart the edge
	// computes it again.
	e.restart()
	for _, m := range e.recv("q", 10) {
		if m.BodyMD5 != "" {
			t.Errorf("%q: digest %q after a restart", m.Body, m.BodyMD5)
		}
	}
}

func TestNewMessageIDs(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for _, n := range []int{0, 1, 10, 100} {
		ids := newMessageIDs(n)
		if len(ids) != n {
			t.Fatalf("%d ids for %d", len(ids), n)
		}
		for _, id := range ids {
			if !v4.MatchString(id) || seen[id] {
				t.Fatalf("id %q: not a fresh version 4 UUID", id)
			}
			seen[id] = true
		}
	}
}

// TestDeleteRepeatedHandles covers both ways Delete finds a handle given
// twice: the scan of an API batch and the map of a larger one.
func TestDeleteRepeatedHandles(t *testing.T) {
	for _, n := range []int{3, 20} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t)
			e.create("q", nil)
			bodies := make([]string, n)
			for i := range bodies {
				bodies[i] = fmt.Sprint("m", i)
			}
			e.send("q", bodies...)
			msgs := e.recv("q", 10)
			if n > 10 {
				msgs = append(msgs, e.recv("q", 10)...)
			}
			if len(msgs) != n {
				t.Fatalf("received %d of %d", len(msgs), n)
			}
			var entries []DeleteEntry
			for i, m := range msgs {
				entries = append(entries, DeleteEntry{ID: fmt.Sprint("a", i), ReceiptHandle: m.ReceiptHandle},
					DeleteEntry{ID: fmt.Sprint("b", i), ReceiptHandle: m.ReceiptHandle})
			}
			res, err := e.svc.Delete(e.ctx, "q", entries)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					t.Fatalf("%s: %v", r.ID, r.Err)
				}
			}
			if c := e.counts("q"); c != (Counts{}) {
				t.Fatalf("counts after delete: %+v", c)
			}
			q, err := e.svc.queue("q")
			if err != nil {
				t.Fatal(err)
			}
			q.mu.Lock()
			live := len(q.msgs)
			q.mu.Unlock()
			if live != 0 {
				t.Fatalf("%d messages still live", live)
			}
		})
	}
}

func TestHandleChecksumIsCRC32(t *testing.T) {
	b := make([]byte, 64)
	for n := range len(b) {
		for i := range b {
			b[i] = byte(i*31 + n*7)
		}
		if got, want := checksum(b[:n]), crc32.ChecksumIEEE(b[:n]); got != want {
			t.Fatalf("%d bytes: checksum %08x, crc32 %08x", n, got, want)
		}
	}
	h := handle{inc: 1 << 40, key: mkey{seq: 12345, idx: 9}, nonce: 77}
	if got, ok := parseHandle(h.String()); !ok || got != h {
		t.Fatalf("round trip: %+v, %v", got, ok)
	}
}
