package function

import (
	"archive/zip"
	"bytes"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/lamina-dev/lamina/internal/fault"
)

// zf is one entry of a zip built by buildZip.
type zf struct {
	name string
	body string
	mode fs.FileMode // 0: 0644 file (or directory when name ends in /)
}

func link(name, target string) zf { return zf{name: name, body: target, mode: fs.ModeSymlink | 0o777} }

// buildZip writes a real zip archive with the given entries.
func buildZip(t testing.TB, files ...zf) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		switch {
		case f.mode != 0:
			h.SetMode(f.mode)
		case strings.HasSuffix(f.name, "/"):
			h.SetMode(fs.ModeDir | 0o755)
		default:
			h.SetMode(0o644)
		}
		fw, err := w.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// bitWriter writes a DEFLATE bit stream (least significant bit first).
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.n
	w.n += n
	for w.n >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// code writes a Huffman code, which DEFLATE packs most significant bit first.
func (w *bitWriter) code(c uint64, n uint) {
	var r uint64
	for i := uint(0); i < n; i++ {
		r = r<<1 | (c>>i)&1
	}
	w.bits(r, n)
}

// zerosDeflate returns a raw DEFLATE stream (one fixed-Huffman block) that
// inflates to 1+258*matches zero bytes: a literal 0 then matches copies of
// <length 258, distance 1>, 13 bits each, without ever materialising the data.
func zerosDeflate(matches int) []byte {
	w := &bitWriter{buf: make([]byte, 0, matches*13/8+16)}
	w.bits(1, 1)    // BFINAL
	w.bits(1, 2)    // BTYPE = 01, fixed Huffman
	w.code(0x30, 8) // literal 0
	for range matches {
		w.code(0xC5, 8) // length symbol 285 = 258
		w.code(0, 5)    // distance code 0 = 1
	}
	w.code(0, 7) // end of block (256)
	if w.n > 0 {
		w.buf = append(w.buf, byte(w.acc))
	}
	return w.buf
}

// bombZip is a zip holding one entry that inflates to about size bytes of
// zeros; declared is the uncompressed size its headers claim.
func bombZip(t testing.TB, name string, size int64, declared uint64) []byte {
	t.Helper()
	matches := int((size - 1) / 258)
	data := zerosDeflate(matches)
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	h := &zip.FileHeader{
		Name:               name,
		Method:             zip.Deflate,
		CompressedSize64:   uint64(len(data)),
		UncompressedSize64: declared,
		CRC32:              0, // never checked: reading stops before the end
	}
	h.SetMode(0o755)
	fw, err := w.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wantFault checks that err is a *fault.Error of kind k whose message
// contains msg.
func wantFault(t testing.TB, err error, k fault.Kind, msg string) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want a fault.%v", err, err, k)
	}
	if fe.Kind != k {
		t.Fatalf("kind = %v (%q), want %v", fe.Kind, fe.Message, k)
	}
	if !strings.Contains(fe.Message, msg) {
		t.Fatalf("message = %q, want it to contain %q", fe.Message, msg)
	}
}
