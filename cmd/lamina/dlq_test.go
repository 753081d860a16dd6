package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/awsapi"
	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/fault"
)

// fakeDLQ is an in-memory awsapi.DeadLetterService that records the
// filters it is given.
type fakeDLQ struct {
	mu      sync.Mutex
	recs    []deadletter.Record // oldest first
	filters []string            // "Op function ids limit"
}

func (f *fakeDLQ) note(op string, fl deadletter.Filter) {
	f.filters = append(f.filters, op+" "+fl.FunctionName+" "+strings.Join(fl.IDs, ",")+" "+itoa(fl.Limit))
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (f *fakeDLQ) selected(fl deadletter.Filter) []deadletter.Record {
	var out []deadletter.Record
	for _, r := range f.recs {
		if (fl.FunctionName == "" || r.FunctionName == fl.FunctionName) && (len(fl.IDs) == 0 || slices.Contains(fl.IDs, r.ID)) {
			out = append(out, r)
		}
	}
	if fl.Limit > 0 && len(out) > fl.Limit {
		out = out[:fl.Limit]
	}
	return out
}

func (f *fakeDLQ) List(_ context.Context, fl deadletter.Filter) ([]deadletter.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note("List", fl)
	return f.selected(fl), nil
}

func (f *fakeDLQ) Get(_ context.Context, id string) (*deadletter.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.recs {
		if r.ID == id {
			return &r, nil
		}
	}
	return nil, fault.New(fault.NotFound, "dead letter %s not found", id)
}

func (f *fakeDLQ) remove(op string, fl deadletter.Filter) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note(op, fl)
	sel := f.selected(fl)
	f.recs = slices.DeleteFunc(f.recs, func(r deadletter.Record) bool {
		return slices.ContainsFunc(sel, func(s deadletter.Record) bool { return s.ID == r.ID })
	})
	return len(sel)
}

func (f *fakeDLQ) Purge(_ context.Context, fl deadletter.Filter) (int, error) {
	return f.remove("Purge", fl), nil
}

func (f *fakeDLQ) Redrive(_ context.Context, fl deadletter.Filter) (int, error) {
	return f.remove("Redrive", fl), nil
}

func (f *fakeDLQ) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.filters)
}

var dlqT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newFakeDLQ() *fakeDLQ {
	mk := func(id, fn, qual, cond, etype, emsg, payload string, attempts, minute int) deadletter.Record {
		return deadletter.Record{ID: id, Source: deadletter.SourceAsync, FunctionName: fn, Qualifier: qual, RequestID: "req-" + id,
			Payload: json.RawMessage(payload), Condition: cond, ErrorType: etype, ErrorMessage: emsg, Attempts: attempts,
			EnqueuedAt: dlqT0, FailedAt: dlqT0.Add(time.Duration(minute) * time.Minute)}
	}
	return &fakeDLQ{recs: []deadletter.Record{
		mk("01AAA", "orders", "", deadletter.RetriesExhausted, "Error", "boom\nat line 3", `{"order":1,"note":""}`, 3, 1),
		mk("01BBB", "mail", "live", deadletter.EventAgeExceeded, "", "", `{}`, 0, 2),
		mk("01CCC", "orders", "", deadletter.RetriesExhausted, "Runtime.ExitError",
			strings.Repeat("very long failure ", 10), `{"order":2}`, 3, 3),
	}}
}

func startDLQEdge(t *testing.T, svc awsapi.DeadLetterService) string {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(awsapi.New(awsapi.Options{DeadLetters: svc, Logger: quiet}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestDLQList(t *testing.T) {
	fake := newFakeDLQ()
	endpoint := startDLQEdge(t, fake)
	for _, tc := range []struct {
		name     string
		args     []string
		rows     []string // the lines of stdout after the header, each as its fields
		stderr   string
		lastCall string
	}{
		{"all", nil, []string{
			"01AAA orders RetriesExhausted 3 2026-03-01T12:01:00Z Error: boom at line 3",
			"01BBB mail:live EventAgeExceeded 0 2026-03-01T12:02:00Z -",
			"01CCC orders RetriesExhausted 3 2026-03-01T12:03:00Z Runtime.ExitError: very long failure very long failure very…",
		}, "", "List   101"},
		{"by function", []string{"--function", "orders"}, []string{"01AAA", "01CCC"}, "", "List orders  101"},
		{"with a limit", []string{"--limit", "1"}, []string{"01AAA"}, "more dead letters than the 1 shown", "List   2"},
		{"none", []string{"--function", "nobody"}, nil, "no dead letters for nobody", "List nobody  101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, append([]string{"--endpoint", endpoint, "dlq", "list"}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			if len(tc.rows) == 0 {
				if out != "" {
					t.Fatalf("stdout %q, want none", out)
				}
			} else {
				if strings.Join(strings.Fields(lines[0]), " ") != "ID FUNCTION CONDITION ATTEMPTS FAILED AT ERROR" || len(lines) != len(tc.rows)+1 {
					t.Fatalf("table:\n%s", out)
				}
				for i, want := range tc.rows {
					if got := strings.Join(strings.Fields(lines[i+1]), " "); !strings.HasPrefix(got, want) {
						t.Fatalf("row %d = %q, want it to start with %q\n%s", i, got, want, out)
					}
				}
			}
			if !strings.Contains(errOut, tc.stderr) || (tc.stderr == "" && errOut != "") {
				t.Fatalf("stderr %q, want %q", errOut, tc.stderr)
			}
			if calls := fake.calls(); calls[len(calls)-1] != tc.lastCall {
				t.Fatalf("service called with %q, want %q", calls[len(calls)-1], tc.lastCall)
			}
		})
	}

	// JSON: the records whole, payloads as stored (empty members kept).
	out, _, err := runCLI(t, "--endpoint", endpoint, "--output", "json", "dlq", "list", "--function", "orders")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		DeadLetters []deadletter.Record `json:"deadLetters"`
		Truncated   *bool               `json:"truncated"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--output json is not JSON: %v\n%s", err, out)
	}
	if len(res.DeadLetters) != 2 || res.Truncated == nil || *res.Truncated || !strings.Contains(out, `"note": ""`) ||
		res.DeadLetters[1].ErrorMessage != strings.Repeat("very long failure ", 10) {
		t.Fatalf("--output json:\n%s", out)
	}

	for _, bad := range []string{"0", "1001", "-3"} {
		if _, _, err := runCLI(t, "--endpoint", endpoint, "dlq", "list", "--limit", bad); err == nil || !strings.Contains(err.Error(), "invalid --limit") {
			t.Fatalf("--limit %s: err = %v", bad, err)
		}
	}
}

func TestDLQShow(t *testing.T) {
	endpoint := startDLQEdge(t, newFakeDLQ())
	for _, output := range []string{"table", "json"} {
		out, _, err := runCLI(t, "--endpoint", endpoint, "--output", output, "dlq", "show", "01AAA")
		if err != nil {
			t.Fatal(err)
		}
		var r deadletter.Record
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("show is not JSON: %v\n%s", err, out)
		}
		if r.ID != "01AAA" || r.FunctionName != "orders" || r.Attempts != 3 || !r.FailedAt.Equal(dlqT0.Add(time.Minute)) ||
			!strings.Contains(out, "\n  \"payload\": {\n    \"order\": 1,\n    \"note\": \"\"\n  },") {
			t.Fatalf("show (--output %s):\n%s", output, out)
		}
	}
	_, _, err := runCLI(t, "--endpoint", endpoint, "dlq", "show", "01ZZZ")
	if err == nil || err.Error() != "GetDeadLetter: ResourceNotFoundException: dead letter 01ZZZ not found" || errorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("show of a missing record: %v", err)
	}
	if _, _, err := runCLI(t, "--endpoint", endpoint, "dlq", "show"); err == nil || !strings.Contains(err.Error(), "needs a dead-letter ID") {
		t.Fatalf("show without an ID: %v", err)
	}
}

func TestDLQRedriveAndPurge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    string // stdout, or the error's start
		wantErr bool
		call    string // the service call made ("" = none)
		left    []string
	}{
		{"bare redrive is refused", []string{"redrive"}, "name the dead letters to redrive: IDs, --function F, or --all", true, "", nil},
		{"bare purge is refused", []string{"purge"}, "name the dead letters to purge", true, "", nil},
		{"all with a function is refused", []string{"redrive", "--all", "--function", "orders"}, "--all redrives every dead letter", true, "", nil},
		{"all with IDs is refused", []string{"purge", "--all", "01AAA"}, "--all purges every dead letter", true, "", nil},
		{"redrive by function", []string{"redrive", "--function", "orders"}, "2 dead letters redriven\n", false, "Redrive orders  0", []string{"01BBB"}},
		{"redrive IDs", []string{"redrive", "01AAA", "01BBB"}, "2 dead letters redriven\n", false, "Redrive  01AAA,01BBB 0", []string{"01CCC"}},
		{"redrive IDs of a function", []string{"redrive", "--function", "mail", "01AAA", "01BBB"}, "1 dead letter redriven\n", false, "Redrive mail 01AAA,01BBB 0", []string{"01AAA", "01CCC"}},
		{"purge one", []string{"purge", "01CCC"}, "1 dead letter purged\n", false, "Purge  01CCC 0", []string{"01AAA", "01BBB"}},
		{"purge all", []string{"purge", "--all"}, "3 dead letters purged\n", false, "Purge   0", nil},
		{"purge all as JSON", []string{"--output", "json", "purge", "--all"}, "{\n  \"purged\": 3\n}\n", false, "Purge   0", nil},
		{"redrive none", []string{"redrive", "--function", "nobody"}, "0 dead letters redriven\n", false, "Redrive nobody  0", []string{"01AAA", "01BBB", "01CCC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeDLQ()
			endpoint := startDLQEdge(t, fake)
			args := []string{"--endpoint", endpoint}
			if tc.args[0] == "--output" {
				args = append(args, tc.args[:2]...)
				tc.args = tc.args[2:]
			}
			out, _, err := runCLI(t, append(append(args, "dlq"), tc.args...)...)
			if tc.wantErr {
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
			} else if err != nil || out != tc.want {
				t.Fatalf("out %q err %v, want %q", out, err, tc.want)
			}
			calls := fake.calls()
			if tc.call == "" {
				if len(calls) != 0 {
					t.Fatalf("a refused command reached the service: %v", calls)
				}
				return
			}
			if len(calls) != 1 || calls[0] != tc.call {
				t.Fatalf("service calls %q, want %q", calls, tc.call)
			}
			var left []string
			for _, r := range fake.recs {
				left = append(left, r.ID)
			}
			if !slices.Equal(left, tc.left) {
				t.Fatalf("left %v, want %v", left, tc.left)
			}
		})
	}
}

func TestDLQServerErrors(t *testing.T) {
	off := startDLQEdge(t, nil) // a server without the dead-letter store
	for _, args := range [][]string{{"list"}, {"show", "01AAA"}, {"redrive", "--all"}, {"purge", "--function", "f"}} {
		_, _, err := runCLI(t, append([]string{"--endpoint", off, "dlq"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "InvalidParameterValueException: The dead-letter store is not enabled on this server.") {
			t.Fatalf("dlq %v without the store: %v", args, err)
		}
	}

	// Nothing listening.
	srv := httptest.NewServer(nil)
	gone := srv.URL
	srv.Close()
	_, _, err := runCLI(t, "--endpoint", gone, "dlq", "list")
	if err == nil || !strings.Contains(err.Error(), "cannot reach Lamina at "+gone) {
		t.Fatalf("unreachable endpoint: %v", err)
	}

	// Help says how to use it.
	out, _, err := runCLI(t, "dlq", "--help")
	if err != nil || !strings.Contains(out, "lamina dlq redrive --function orders") || !strings.Contains(out, "purge") {
		t.Fatalf("dlq --help:\n%s", out)
	}
}
