package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
	"time"
)

// keyHash accumulates a cache key: labelled fields and file digests, each
// length-prefixed so no two different inputs write the same bytes.
type keyHash struct{ h hash.Hash }

func newKey(version string) *keyHash {
	k := &keyHash{h: sha256.New()}
	k.field("lamina-build", version)
	return k
}

func (k *keyHash) field(name, value string) {
	fmt.Fprintf(k.h, "%d:%s=%d:%s\n", len(name), name, len(value), value)
}

func (k *keyHash) sum() string { return hex.EncodeToString(k.h.Sum(nil)) }

// files adds each file's path (under prefix), executable bit and content
// digest.
func (k *keyHash) files(prefix string, files []file, memo *digestMemo) error {
	k.field("tree", prefix)
	for _, f := range files {
		d, err := memo.digest(f)
		if err != nil {
			return err
		}
		mode := "644"
		if f.exec {
			mode = "755"
		}
		k.field(f.rel, mode+" "+d)
	}
	return nil
}

// digestMemo remembers file digests by path, size and modification time,
// so a Builder that rebuilds on every save (lamina up) reads only the
// files that changed since its last build.
type digestMemo struct {
	mu sync.Mutex
	m  map[string]memoEntry
}

type memoEntry struct {
	size   int64
	mtime  time.Time
	digest string
}

func (m *digestMemo) digest(f file) (string, error) {
	m.mu.Lock()
	e, ok := m.m[f.abs]
	m.mu.Unlock()
	if ok && e.size == f.size && e.mtime.Equal(f.mtime) {
		return e.digest, nil
	}
	fh, err := os.Open(f.abs)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("reading %s: %w", f.abs, err)
	}
	d := hex.EncodeToString(h.Sum(nil))
	// A file written during this same clock tick could change again without
	// its mtime moving: don't trust the memo for it next time.
	if time.Since(f.mtime) > 2*time.Second {
		m.mu.Lock()
		if m.m == nil {
			m.m = map[string]memoEntry{}
		}
		m.m[f.abs] = memoEntry{size: f.size, mtime: f.mtime, digest: d}
		m.mu.Unlock()
	}
	return d, nil
}
