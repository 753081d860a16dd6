package limit

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestWindowStart(t *testing.T) {
	tests := []struct {
		period, now, want string
	}{
		{PeriodDay, "2024-03-15T23:59:59Z", "2024-03-15T00:00:00Z"},
		{PeriodDay, "2024-03-16T00:00:00Z", "2024-03-16T00:00:00Z"},
		// Local time is converted: 01:00+02:00 is 23:00 UTC the day before.
		{PeriodDay, "2024-03-16T01:00:00+02:00", "2024-03-15T00:00:00Z"},
		// 2024-03-17 is a Sunday.
		{PeriodWeek, "2024-03-16T23:59:59Z", "2024-03-10T00:00:00Z"},
		{PeriodWeek, "2024-03-17T00:00:00Z", "2024-03-17T00:00:00Z"},
		{PeriodWeek, "2024-03-20T10:00:00Z", "2024-03-17T00:00:00Z"},
		{PeriodMonth, "2024-02-29T23:59:59Z", "2024-02-01T00:00:00Z"},
		{PeriodMonth, "2024-03-01T00:00:00Z", "2024-03-01T00:00:00Z"},
		{PeriodMonth, "2024-12-31T12:00:00Z", "2024-12-01T00:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.period+" "+tc.now, func(t *testing.T) {
			got, err := WindowStart(tc.period, utc(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(utc(tc.want)) {
				t.Fatalf("WindowStart = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := WindowStart("YEAR", t0); err == nil {
		t.Fatal("YEAR: want an error")
	}
}

// use is one call of Quotas.Use at a time.
type use struct {
	at     string
	ok     bool
	reason string
}

func TestQuotasPeriods(t *testing.T) {
	tests := []struct {
		name string
		plan KeyPlan
		uses []use
	}{
		{
			name: "day resets at 00:00 UTC",
			plan: KeyPlan{KeyID: "k", Enabled: true, QuotaLimit: 2, QuotaPeriod: PeriodDay},
			uses: []use{
				{"2024-03-15T10:00:00Z", true, ""},
				{"2024-03-15T11:00:00Z", true, ""},
				{"2024-03-15T23:59:59Z", false, ReasonQuotaExceeded},
				{"2024-03-16T00:00:00Z", true, ""},
				{"2024-03-16T00:00:01Z", true, ""},
				{"2024-03-16T00:00:02Z", false, ReasonQuotaExceeded},
			},
		},
		{
			name: "week resets on Sunday 00:00 UTC",
			plan: KeyPlan{KeyID: "k", Enabled: true, QuotaLimit: 1, QuotaPeriod: PeriodWeek},
			uses: []use{
				{"2024-03-11T09:00:00Z", true, ""},                   // Monday
				{"2024-03-16T23:59:59Z", false, ReasonQuotaExceeded}, // Saturday, same week
				{"2024-03-17T00:00:00Z", true, ""},                   // Sunday: new week
				{"2024-03-18T00:00:00Z", false, ReasonQuotaExceeded}, // Monday: not a new week
			},
		},
		{
			name: "month resets on the 1st",
			plan: KeyPlan{KeyID: "k", Enabled: true, QuotaLimit: 1, QuotaPeriod: PeriodMonth},
			uses: []use{
				{"2024-01-31T12:00:00Z", true, ""},
				{"2024-02-01T00:00:00Z", true, ""},
				{"2024-02-29T23:59:59Z", false, ReasonQuotaExceeded},
				{"2024-03-01T00:00:00Z", true, ""},
			},
		},
		{
			name: "offset counts in the initial period only",
			plan: KeyPlan{KeyID: "k", Enabled: true, QuotaLimit: 3, QuotaPeriod: PeriodDay, QuotaOffset: 2},
			uses: []use{
				{"2024-03-15T10:00:00Z", true, ""},
				{"2024-03-15T10:00:01Z", false, ReasonQuotaExceeded},
				{"2024-03-16T10:00:00Z", true, ""},
				{"2024-03-16T10:00:01Z", true, ""},
				{"2024-03-16T10:00:02Z", true, ""},
				{"2024-03-16T10:00:03Z", false, ReasonQuotaExceeded},
			},
		},
		{
			name: "disabled key is forbidden",
			plan: KeyPlan{KeyID: "k", Enabled: false, QuotaLimit: 10, QuotaPeriod: PeriodDay},
			uses: []use{{"2024-03-15T10:00:00Z", false, ReasonForbidden}},
		},
		{
			name: "no quota period: unlimited",
			plan: KeyPlan{KeyID: "k", Enabled: true},
			uses: []use{{"2024-03-15T10:00:00Z", true, ""}, {"2024-03-15T10:00:00Z", true, ""}},
		},
		{
			name: "zero limit refuses",
			plan: KeyPlan{KeyID: "k", Enabled: true, QuotaPeriod: PeriodDay},
			uses: []use{{"2024-03-15T10:00:00Z", false, ReasonQuotaExceeded}},
		},
		{
			name: "unknown period fails closed",
			plan: KeyPlan{KeyID: "k", Enabled: true, QuotaLimit: 5, QuotaPeriod: "YEAR"},
			uses: []use{{"2024-03-15T10:00:00Z", false, ReasonInternal}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQuotas(nil)
			for i, u := range tc.uses {
				ok, reason := q.Use(tc.plan, utc(u.at))
				if ok != u.ok || reason != u.reason {
					t.Fatalf("use %d at %s: (%v, %q), want (%v, %q)", i, u.at, ok, reason, u.ok, u.reason)
				}
			}
		})
	}
}

func TestQuotasKeysIndependent(t *testing.T) {
	q := NewQuotas(NewMemoryQuotaStore())
	a := KeyPlan{KeyID: "a", Enabled: true, QuotaLimit: 1, QuotaPeriod: PeriodDay}
	b := KeyPlan{KeyID: "b", Enabled: true, QuotaLimit: 1, QuotaPeriod: PeriodDay}
	if ok, _ := q.Use(a, t0); !ok {
		t.Fatal("a refused")
	}
	if ok, _ := q.Use(b, t0); !ok {
		t.Fatal("b refused after a used its quota")
	}
}

type failingStore struct{}

func (failingStore) Take(context.Context, string, time.Time, int, int) (int, bool, error) {
	return 0, false, errors.New("store down")
}

func TestQuotasStoreFailureFailsClosed(t *testing.T) {
	q := NewQuotas(failingStore{})
	ok, reason := q.Use(KeyPlan{KeyID: "k", Enabled: true, QuotaLimit: 5, QuotaPeriod: PeriodDay}, t0)
	if ok || reason != ReasonInternal {
		t.Fatalf("(%v, %q), want (false, %q)", ok, reason, ReasonInternal)
	}
}

func TestStatus(t *testing.T) {
	tests := map[string]int{
		ReasonThrottled:     http.StatusTooManyRequests,
		ReasonQuotaExceeded: http.StatusTooManyRequests,
		ReasonForbidden:     http.StatusForbidden,
		ReasonInternal:      http.StatusInternalServerError,
		"":                  http.StatusOK,
	}
	for reason, want := range tests {
		if got := Status(reason); got != want {
			t.Errorf("Status(%q) = %d, want %d", reason, got, want)
		}
	}
}

func TestKeyPlanValidate(t *testing.T) {
	tests := []struct {
		name    string
		plan    KeyPlan
		wantErr bool
	}{
		{"ok", KeyPlan{KeyID: "k", Rate: 1, Burst: 2, QuotaLimit: 5, QuotaPeriod: PeriodWeek}, false},
		{"no quota", KeyPlan{KeyID: "k"}, false},
		{"bad period", KeyPlan{KeyID: "k", QuotaPeriod: "HOUR"}, true},
		{"negative rate", KeyPlan{KeyID: "k", Rate: -1}, true},
		{"negative offset", KeyPlan{KeyID: "k", QuotaPeriod: PeriodDay, QuotaOffset: -1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.plan.Validate(); (err != nil) != tc.wantErr {
				t.Fatalf("Validate = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}
