package awsapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/deadletter"
	"github.com/lamina-dev/lamina/internal/store"
)

// dlService is the real dead-letter store with a redrive that records what
// it was asked and removes the records, as the async service's does.
type dlService struct {
	*deadletter.Store
	mu        sync.Mutex
	redrives  []deadletter.Filter
	redriveTo []string // the IDs redriven
}

func (d *dlService) Redrive(ctx context.Context, f deadletter.Filter) (int, error) {
	recs, err := d.List(ctx, f)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.redrives = append(d.redrives, f)
	for _, r := range recs {
		if err := d.Delete(ctx, r.ID); err != nil {
			return 0, err
		}
		d.redriveTo = append(d.redriveTo, r.ID)
	}
	return len(recs), nil
}

// newDeadLetterEnv is an edge over a real dead-letter store holding, oldest
// first, three records of "f" and two of "g".
func newDeadLetterEnv(t *testing.T) (*env, *dlService, map[string][]string) {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fc := clock.NewFake(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	sweepCtx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	s, err := deadletter.Open(sweepCtx, st, deadletter.Options{Clock: fc, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string][]string{}
	for i, fn := range []string{"f", "g", "f", "g", "f"} {
		fc.Advance(time.Second)
		r := &deadletter.Record{Source: deadletter.SourceAsync, FunctionName: fn, RequestID: "req",
			Payload: json.RawMessage(`{"n":` + string(rune('0'+i)) + `,"empty":""}`), Condition: deadletter.RetriesExhausted,
			ErrorType: "Error", ErrorMessage: "boom", Attempts: 3}
		if err := s.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids[fn] = append(ids[fn], r.ID)
		ids[""] = append(ids[""], r.ID)
	}
	svc := &dlService{Store: s}
	return newEnv(t, func(o *Options) { o.DeadLetters = svc }), svc, ids
}

type dlListOut struct {
	DeadLetters []deadletter.Record `json:"deadLetters"`
	Truncated   bool                `json:"truncated"`
}

func TestDeadLettersList(t *testing.T) {
	e, _, ids := newDeadLetterEnv(t)
	for _, tc := range []struct {
		query     string
		want      []string
		truncated bool
	}{
		{"", ids[""], false},
		{"?function=f", ids["f"], false},
		{"?function=g&limit=1", ids["g"][:1], true},
		{"?limit=5", ids[""], false},
		{"?limit=4", ids[""][:4], true},
		{"?function=nobody", []string{}, false},
	} {
		t.Run(tc.query, func(t *testing.T) {
			rec := e.do("GET", "/_lamina/v1/dead-letters"+tc.query, "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), `"deadLetters":[`) {
				t.Fatalf("no deadLetters array in %s", rec.Body)
			}
			var out dlListOut
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			got := make([]string, len(out.DeadLetters))
			for i, r := range out.DeadLetters {
				got[i] = r.ID
			}
			if !slices.Equal(got, tc.want) || out.Truncated != tc.truncated {
				t.Fatalf("got %v truncated=%v, want %v truncated=%v", got, out.Truncated, tc.want, tc.truncated)
			}
		})
	}
	// The payload is returned as JSON, as stored.
	m := decode(t, e.do("GET", "/_lamina/v1/dead-letters?limit=1", ""))
	if p := jpath(m, "deadLetters", 0, "payload"); p == nil || jpath(p, "empty") != "" || jpath(p, "n") != 0.0 {
		t.Fatalf("payload of the first record = %v", p)
	}
	if jpath(m, "deadLetters", 0, "condition") != "RetriesExhausted" || jpath(m, "deadLetters", 0, "attempts") != 3.0 {
		t.Fatalf("record fields: %v", jpath(m, "deadLetters", 0))
	}
}

func TestDeadLettersGet(t *testing.T) {
	e, _, ids := newDeadLetterEnv(t)
	rec := e.do("GET", "/_lamina/v1/dead-letters/"+ids["g"][1], "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var r deadletter.Record
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.ID != ids["g"][1] || r.FunctionName != "g" || string(r.Payload) != `{"n":3,"empty":""}` {
		t.Fatalf("record = %+v", r)
	}
}

func TestDeadLettersErrors(t *testing.T) {
	e, svc, _ := newDeadLetterEnv(t)
	off := newEnv(t) // no dead-letter service
	for _, tc := range []struct {
		name         string
		e            *env
		method, path string
		body         string
		status       int
		errType      string
		message      string
	}{
		{"unknown id", e, "GET", "/_lamina/v1/dead-letters/01ARZ3NDEKTSV4RRFFQ69G5FAV", "", 404, "ResourceNotFoundException", "dead letter 01ARZ3NDEKTSV4RRFFQ69G5FAV not found"},
		{"GET of the redrive path is a lookup", e, "GET", "/_lamina/v1/dead-letters/redrive", "", 404, "ResourceNotFoundException", "not found"},
		{"invalid id", e, "GET", "/_lamina/v1/dead-letters/a.b", "", 400, "InvalidParameterValueException", "invalid dead-letter ID"},
		{"limit 0", e, "GET", "/_lamina/v1/dead-letters?limit=0", "", 400, "InvalidParameterValueException", "limit must be a number from 1 to 1000"},
		{"limit too big", e, "GET", "/_lamina/v1/dead-letters?limit=1001", "", 400, "InvalidParameterValueException", "limit"},
		{"limit not a number", e, "GET", "/_lamina/v1/dead-letters?limit=ten", "", 400, "InvalidParameterValueException", "limit"},
		{"bare redrive", e, "POST", "/_lamina/v1/dead-letters/redrive", `{}`, 400, "InvalidParameterValueException", `set "all": true`},
		{"empty redrive body", e, "POST", "/_lamina/v1/dead-letters/redrive", ``, 400, "InvalidParameterValueException", `"function" or "ids"`},
		{"bare purge", e, "POST", "/_lamina/v1/dead-letters/purge", `{"ids":[]}`, 400, "InvalidParameterValueException", "purge"},
		{"all and a function", e, "POST", "/_lamina/v1/dead-letters/purge", `{"all":true,"function":"f"}`, 400, "InvalidParameterValueException", "cannot be combined"},
		{"empty id", e, "POST", "/_lamina/v1/dead-letters/purge", `{"ids":[""]}`, 400, "InvalidParameterValueException", "empty ID"},
		{"invalid id in body", e, "POST", "/_lamina/v1/dead-letters/purge", `{"ids":["a*"]}`, 400, "InvalidParameterValueException", "invalid dead-letter ID"},
		{"malformed body", e, "POST", "/_lamina/v1/dead-letters/redrive", `{"function":`, 400, "InvalidRequestContentException", "JSON"},
		{"ids not a list", e, "POST", "/_lamina/v1/dead-letters/redrive", `{"ids":"x"}`, 400, "InvalidRequestContentException", "'ids'"},
		{"body too large", e, "POST", "/_lamina/v1/dead-letters/purge", `{"ids":["` + strings.Repeat("a", 1<<20) + `"]}`, 413, "RequestTooLargeException", "PurgeDeadLetters"},
		{"list without the store", off, "GET", "/_lamina/v1/dead-letters", "", 400, "InvalidParameterValueException", "not enabled"},
		{"get without the store", off, "GET", "/_lamina/v1/dead-letters/x", "", 400, "InvalidParameterValueException", "not enabled"},
		{"redrive without the store", off, "POST", "/_lamina/v1/dead-letters/redrive", `{"all":true}`, 400, "InvalidParameterValueException", "not enabled"},
		{"purge without the store", off, "POST", "/_lamina/v1/dead-letters/purge", `{"all":true}`, 400, "InvalidParameterValueException", "not enabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.e.do(tc.method, tc.path, tc.body)
			m := decode(t, rec)
			msg, _ := m["message"].(string)
			if msg == "" {
				msg, _ = m["Message"].(string)
			}
			if rec.Code != tc.status || header(rec, "X-Amzn-ErrorType") != tc.errType || !strings.Contains(msg, tc.message) {
				t.Fatalf("%d %s %q, want %d %s containing %q", rec.Code, header(rec, "X-Amzn-ErrorType"), msg, tc.status, tc.errType, tc.message)
			}
		})
	}
	// Nothing was redriven or purged by a refused request.
	if len(svc.redrives) != 0 {
		t.Fatalf("refused requests reached Redrive: %v", svc.redrives)
	}
	if n, _ := svc.Count(t.Context(), ""); n != 5 {
		t.Fatalf("refused requests removed records: %d left of 5", n)
	}
}

func TestDeadLettersRedriveAndPurge(t *testing.T) {
	e, svc, ids := newDeadLetterEnv(t)
	ctx := t.Context()
	count := func(fn string) int {
		n, err := svc.Count(ctx, fn)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		name, path, body, member string
		want                     int
		leftF, leftG             int
	}{
		{"redrive ids", "redrive", `{"ids":["` + ids["f"][0] + `","` + ids["g"][0] + `","01ARZ3NDEKTSV4RRFFQ69G5FAV"]}`, "redriven", 2, 2, 1},
		{"purge an id of another function", "purge", `{"function":"f","ids":["` + ids["g"][1] + `"]}`, "purged", 0, 2, 1},
		{"redrive a function", "redrive", `{"function":"f"}`, "redriven", 2, 0, 1},
		{"purge all", "purge", `{"all":true}`, "purged", 1, 0, 0},
		{"purge all again", "purge", `{"all":true}`, "purged", 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do("POST", "/_lamina/v1/dead-letters/"+tc.path, tc.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			m := decode(t, rec)
			if len(m) != 1 || m[tc.member] != float64(tc.want) {
				t.Fatalf("response %v, want {%q: %d}", m, tc.member, tc.want)
			}
			if f, g := count("f"), count("g"); f != tc.leftF || g != tc.leftG {
				t.Fatalf("left f %d g %d, want %d %d", f, g, tc.leftF, tc.leftG)
			}
		})
	}
	want := []deadletter.Filter{{IDs: []string{ids["f"][0], ids["g"][0], "01ARZ3NDEKTSV4RRFFQ69G5FAV"}}, {FunctionName: "f"}}
	if len(svc.redrives) != 2 || !slices.Equal(svc.redrives[0].IDs, want[0].IDs) || svc.redrives[1].FunctionName != "f" || svc.redrives[1].IDs != nil {
		t.Fatalf("Redrive filters = %+v, want %+v", svc.redrives, want)
	}
	if !slices.Equal(svc.redriveTo, []string{ids["f"][0], ids["g"][0], ids["f"][1], ids["f"][2]}) {
		t.Fatalf("redriven %v", svc.redriveTo)
	}
}

// A service failure is an internal error: logged, not shown.
func TestDeadLettersInternalError(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DeadLetters = failingDL{} })
	rec := e.do("GET", "/_lamina/v1/dead-letters", "")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "disk on fire") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

type failingDL struct{}

var errDiskOnFire = errors.New("disk on fire")

func (failingDL) List(context.Context, deadletter.Filter) ([]deadletter.Record, error) {
	return nil, errDiskOnFire
}
func (failingDL) Get(context.Context, string) (*deadletter.Record, error) { return nil, errDiskOnFire }
func (failingDL) Purge(context.Context, deadletter.Filter) (int, error)   { return 0, errDiskOnFire }
func (failingDL) Redrive(context.Context, deadletter.Filter) (int, error) { return 0, errDiskOnFire }
