package build

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"io"
	"os"
	"time"
)

// zipTime is every entry's modification time: the earliest a zip can say,
// so that a package depends only on its files' names, modes and contents.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// zipEntry is one file to put in a package.
type zipEntry struct {
	name string // slash-separated
	exec bool
	open func() (io.ReadCloser, error)
}

// zipFiles writes entries, in the order given, as a deterministic zip:
// fixed times, modes 0755 or 0644, no directory entries (extraction makes
// the parents).
func zipFiles(ctx context.Context, entries []zipEntry) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// The fastest deflate: a Go binary compresses about as well at level 1
	// as at the default and 5x faster, which a hot reload feels.
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(0o644)
		if e.exec {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return nil, err
		}
		r, err := e.open()
		if err != nil {
			return nil, err
		}
		_, err = io.Copy(w, r)
		r.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func fileEntries(files []file) []zipEntry {
	entries := make([]zipEntry, len(files))
	for i, f := range files {
		abs := f.abs
		entries[i] = zipEntry{name: f.rel, exec: f.exec, open: func() (io.ReadCloser, error) { return os.Open(abs) }}
	}
	return entries
}
