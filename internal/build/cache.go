package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The cache is a flat directory of <key>.zip files. Entries are written to
// a temporary file and renamed into place, so a reader never sees half a
// package and concurrent builds of one key just write the same bytes twice.

func (b *Builder) cachePath(key string) string {
	return filepath.Join(b.cacheDir, key+".zip")
}

// cached returns the package stored under key, if any.
func (b *Builder) cached(key string) ([]byte, bool, error) {
	data, err := os.ReadFile(b.cachePath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("build cache: %w", err)
	}
	return data, true, nil
}

// store saves data under key and returns its path.
func (b *Builder) store(key string, data []byte) (string, error) {
	if err := os.MkdirAll(b.cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("build cache: %w", err)
	}
	tmp, err := os.CreateTemp(b.cacheDir, key+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("build cache: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), b.cachePath(key))
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("build cache: %w", werr)
	}
	return b.cachePath(key), nil
}
