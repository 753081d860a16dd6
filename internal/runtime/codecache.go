package runtime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sync"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/function"
)

// codeCache extracts each deployment package once into dir/<hex sha256>/
// and makes it read-only. Concurrent first uses of a package wait for the one
// extraction; a failed extraction is forgotten so that a later call retries.
// A package directory only appears (by rename) once complete, so a directory
// left by an earlier run of Lamina is reused as is.
type codeCache struct {
	dir string

	mu      sync.Mutex
	entries map[string]*codeEntry // by hex sha256 (or "key:"+Spec.Key without a sha)
}

type codeEntry struct {
	done chan struct{}
	path string
	err  error
}

func newCodeCache(dir string) *codeCache {
	return &codeCache{dir: dir, entries: map[string]*codeEntry{}}
}

// get returns the directory holding spec's code, extracting it if needed.
func (cc *codeCache) get(ctx context.Context, spec *Spec) (string, error) {
	id, err := cacheID(spec)
	if err != nil {
		return "", err
	}
	cc.mu.Lock()
	e, ok := cc.entries[id]
	if !ok {
		e = &codeEntry{done: make(chan struct{})}
		cc.entries[id] = e
		cc.mu.Unlock()
		// Extraction runs to its end even if this caller gives up, so that
		// the others waiting for it are not failed by one caller's context.
		e.path, e.err = cc.extract(context.WithoutCancel(ctx), spec, id)
		if e.err != nil {
			cc.mu.Lock()
			delete(cc.entries, id)
			cc.mu.Unlock()
		}
		close(e.done)
	} else {
		cc.mu.Unlock()
	}
	select {
	case <-e.done:
		return e.path, e.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// cacheID names spec's package in the cache: the hex of its sha256.
func cacheID(spec *Spec) (string, error) {
	if spec.CodeSha256 == "" {
		// Without a checksum the package is named after the version key;
		// the sha of the bytes names the directory once they are read.
		return "key:" + spec.Key, nil
	}
	sum, err := base64.StdEncoding.DecodeString(spec.CodeSha256)
	if err != nil || len(sum) != sha256.Size {
		return "", fault.New(fault.Invalid, "CodeSha256 %q is not the base64 of a SHA-256 digest", spec.CodeSha256)
	}
	return hex.EncodeToString(sum), nil
}

func (cc *codeCache) extract(ctx context.Context, spec *Spec, id string) (string, error) {
	final := filepath.Join(cc.dir, id)
	if len(id) == 2*sha256.Size {
		if fi, err := os.Stat(final); err == nil && fi.IsDir() {
			return final, nil
		}
	}
	if spec.Code == nil {
		return "", fault.New(fault.Internal, "runtime: no code reader for %s", spec.Key)
	}
	zip, err := spec.Code(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(zip)
	hexSum := hex.EncodeToString(sum[:])
	if len(id) == 2*sha256.Size && hexSum != id {
		return "", fault.New(fault.Internal, "runtime: the code package of %s does not match its CodeSha256", spec.Key)
	}
	final = filepath.Join(cc.dir, hexSum)
	if fi, err := os.Stat(final); err == nil && fi.IsDir() {
		return final, nil
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(cc.dir, ".extract-"+hex.EncodeToString(rnd[:]))
	if err := function.Extract(ctx, zip, tmp, 0); err != nil {
		removeTree(tmp)
		if fault.KindOf(err) != fault.Internal {
			return "", err
		}
		return "", fault.Wrap(fault.Internal, err, "runtime: extracting the code of %s", spec.Key)
	}
	if err := makeReadOnly(tmp); err != nil {
		removeTree(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		removeTree(tmp)
		// Another Lamina process sharing the directory may have won.
		if fi, serr := os.Stat(final); serr == nil && fi.IsDir() {
			return final, nil
		}
		return "", err
	}
	return final, nil
}

var errClosed = errors.New("runtime: pool closed")
