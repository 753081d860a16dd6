package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// writeJSON prints v as indented JSON with sorted keys. SDK outputs are
// printed without their ResultMetadata, and fields that are unset (null,
// empty string, empty list or object) are left out, as the AWS CLI does.
func writeJSON(w io.Writer, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	if m, ok := doc.(map[string]any); ok {
		delete(m, "ResultMetadata")
	}
	doc = compact(doc)
	if doc == nil {
		doc = map[string]any{}
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}

// compact removes unset values from a decoded JSON document; it returns
// nil when v itself is unset.
func compact(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if v == "" {
			return nil
		}
	case map[string]any:
		for k, e := range v {
			if c := compact(e); c == nil {
				delete(v, k)
			} else {
				v[k] = c
			}
		}
		if len(v) == 0 {
			return nil
		}
	case []any:
		// Elements keep their place: an empty one stays as it is.
		for i, e := range v {
			if c := compact(e); c != nil {
				v[i] = c
			}
		}
		if len(v) == 0 {
			return nil
		}
	}
	return v
}

// newTable returns a tabwriter for aligned columns; Flush it when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
}

// str dereferences an optional string, showing "-" for an unset value.
func str(p *string) string {
	if p == nil || *p == "" {
		return "-"
	}
	return *p
}

// formatSize renders a byte count for people: 512 B, 3.4 KB, 2.1 MB.
func formatSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
}
