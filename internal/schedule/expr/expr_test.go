package expr

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

// firings returns up to n successive firings after from, in RFC3339 with the
// expression's offset, and "none" when the series ends.
func firings(t testing.TB, e Expression, from time.Time, n int) []string {
	t.Helper()
	var out []string
	for range n {
		next, ok := e.Next(from)
		if !ok {
			return append(out, "none")
		}
		if !next.After(from) {
			t.Fatalf("%s: Next(%s) = %s, not after it", e, from.Format(time.RFC3339Nano), next.Format(time.RFC3339Nano))
		}
		out = append(out, next.Format(time.RFC3339))
		from = next
	}
	return out
}

type nextCase struct {
	name string
	expr string
	opts ParseOptions
	from string // RFC3339
	want []string
}

func runNextCases(t *testing.T, cases []nextCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr, tc.opts)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.expr, err)
			}
			if e.String() != tc.expr {
				t.Errorf("String() = %q, want %q", e.String(), tc.expr)
			}
			got := firings(t, e, mustTime(t, tc.from), len(tc.want))
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("%s from %s:\n got %v\nwant %v", tc.expr, tc.from, got, tc.want)
			}
		})
	}
}

// The examples of AWS's EventBridge and Scheduler documentation (UTC).
func TestAWSExamples(t *testing.T) {
	runNextCases(t, []nextCase{
		{"10am daily", "cron(0 10 * * ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-01T10:00:00Z", "2024-01-02T10:00:00Z", "2024-01-03T10:00:00Z"}},
		{"12:15 daily", "cron(15 12 * * ? *)", ParseOptions{}, "2024-01-01T12:15:00Z",
			[]string{"2024-01-02T12:15:00Z", "2024-01-03T12:15:00Z"}},
		{"6pm weekdays", "cron(0 18 ? * MON-FRI *)", ParseOptions{}, "2024-01-05T12:00:00Z", // a Friday
			[]string{"2024-01-05T18:00:00Z", "2024-01-08T18:00:00Z", "2024-01-09T18:00:00Z"}},
		{"8am on the 1st", "cron(0 8 1 * ? *)", ParseOptions{}, "2024-01-01T08:00:00Z",
			[]string{"2024-02-01T08:00:00Z", "2024-03-01T08:00:00Z", "2024-04-01T08:00:00Z"}},
		{"every 15 minutes", "cron(0/15 * * * ? *)", ParseOptions{}, "2024-01-01T00:07:30Z",
			[]string{"2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z", "2024-01-01T00:45:00Z", "2024-01-01T01:00:00Z"}},
		{"every 10 minutes on weekdays", "cron(0/10 * ? * MON-FRI *)", ParseOptions{}, "2024-01-05T23:45:00Z",
			[]string{"2024-01-05T23:50:00Z", "2024-01-08T00:00:00Z", "2024-01-08T00:10:00Z"}},
		{"every 5 minutes in office hours", "cron(0/5 8-17 ? * MON-FRI *)", ParseOptions{}, "2024-01-05T17:52:00Z",
			[]string{"2024-01-05T17:55:00Z", "2024-01-08T08:00:00Z", "2024-01-08T08:05:00Z"}},
		{"first Monday", "cron(0 9 ? * 2#1 *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-01T09:00:00Z", "2024-02-05T09:00:00Z", "2024-03-04T09:00:00Z"}},
		{"last day of the month", "cron(0 0 L * ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z"}},
		{"last Friday", "cron(0 0 ? * 6L *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-26T00:00:00Z", "2024-02-23T00:00:00Z", "2024-03-29T00:00:00Z"}},
		{"last weekday", "cron(0 0 LW * ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-29T00:00:00Z", "2024-04-30T00:00:00Z"}},
		{"rate 5 minutes", "rate(5 minutes)", ParseOptions{}, "2024-01-01T00:07:30Z",
			[]string{"2024-01-01T00:10:00Z", "2024-01-01T00:15:00Z", "2024-01-01T00:20:00Z"}},
		{"rate 1 hour", "rate(1 hour)", ParseOptions{Anchor: time.Date(2024, 1, 1, 0, 30, 0, 0, time.UTC)}, "2024-01-01T00:29:59Z",
			[]string{"2024-01-01T00:30:00Z", "2024-01-01T01:30:00Z", "2024-01-01T02:30:00Z"}},
		{"rate 7 days", "rate(7 days)", ParseOptions{Anchor: time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-03T12:00:00Z", "2024-01-10T12:00:00Z", "2024-01-17T12:00:00Z"}},
		{"at", "at(2022-11-20T13:00:00)", ParseOptions{AllowAt: true}, "2022-01-01T00:00:00Z",
			[]string{"2022-11-20T13:00:00Z", "none"}},
	})
}

func TestCronFeatures(t *testing.T) {
	runNextCases(t, []nextCase{
		{"nearest weekday to a Saturday 1st is Monday 3rd", "cron(0 0 1W * ? 2024)", ParseOptions{}, "2024-05-15T00:00:00Z",
			[]string{"2024-06-03T00:00:00Z", "2024-07-01T00:00:00Z"}},
		{"nearest weekday to a Saturday is Friday", "cron(0 0 15W 6 ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-06-14T00:00:00Z"}},
		{"nearest weekday to a Sunday is Monday", "cron(0 0 15W 9 ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-09-16T00:00:00Z"}},
		{"nearest weekday to a Sunday last day is Friday", "cron(0 0 30W 6 ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-06-28T00:00:00Z"}},
		{"31W skips short months", "cron(0 0 31W * ? *)", ParseOptions{}, "2024-04-01T00:00:00Z",
			[]string{"2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z", "2024-08-30T00:00:00Z"}},
		{"L alone in day-of-week is Saturday", "cron(0 12 ? * L *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-06T12:00:00Z", "2024-01-13T12:00:00Z"}},
		{"named last weekday", "cron(0 0 ? * FRIL *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-26T00:00:00Z"}},
		{"fifth Thursday only in months that have one", "cron(0 0 ? * 5#5 2024)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-02-29T00:00:00Z", "2024-05-30T00:00:00Z", "2024-08-29T00:00:00Z", "2024-10-31T00:00:00Z", "none"}},
		{"names are case-insensitive", "cron(0 0 ? jan sun#2 2024)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-14T00:00:00Z", "none"}},
		{"wrapping weekday range", "cron(0 0 ? * FRI-MON *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z", "2024-01-08T00:00:00Z", "2024-01-12T00:00:00Z"}},
		{"wrapping hour range", "cron(0 22-1 * * ? *)", ParseOptions{}, "2024-01-01T12:00:00Z",
			[]string{"2024-01-01T22:00:00Z", "2024-01-01T23:00:00Z", "2024-01-02T00:00:00Z", "2024-01-02T01:00:00Z", "2024-01-02T22:00:00Z"}},
		{"range with step", "cron(5-30/10 3 * * ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-01T03:05:00Z", "2024-01-01T03:15:00Z", "2024-01-01T03:25:00Z", "2024-01-02T03:05:00Z"}},
		{"star with step", "cron(*/20 * * * ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-01T00:20:00Z", "2024-01-01T00:40:00Z", "2024-01-01T01:00:00Z"}},
		{"day-of-month step", "cron(0 0 10/10 * ? *)", ParseOptions{}, "2024-02-01T00:00:00Z",
			[]string{"2024-02-10T00:00:00Z", "2024-02-20T00:00:00Z", "2024-03-10T00:00:00Z"}},
		{"month list", "cron(0 0 1 JAN,jul ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"}},
		{"year step", "cron(0 0 1 1 ? 2025/5)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2025-01-01T00:00:00Z", "2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z"}},
		{"several spaces between fields", "cron(0  10   * * ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-01T10:00:00Z"}},
		{"seconds of the start are dropped", "cron(* * * * ? *)", ParseOptions{}, "2024-01-01T00:00:59.999Z",
			[]string{"2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"}},
		{"before 1970 starts in 1970", "cron(0 0 1 1 ? *)", ParseOptions{}, "1900-06-01T00:00:00Z",
			[]string{"1970-01-01T00:00:00Z", "1971-01-01T00:00:00Z"}},
		{"in a time zone", "cron(0 9 ? * MON *)", ParseOptions{Location: mustLoad(t, "Asia/Tokyo")}, "2023-12-31T00:00:00Z",
			[]string{"2024-01-01T09:00:00+09:00", "2024-01-08T09:00:00+09:00"}},
		{"a firing time itself is not next", "cron(0 9 ? * MON *)", ParseOptions{Location: mustLoad(t, "Asia/Tokyo")}, "2024-01-01T00:00:00Z",
			[]string{"2024-01-08T09:00:00+09:00"}},
	})
}

func TestLeapYears(t *testing.T) {
	runNextCases(t, []nextCase{
		{"29 February", "cron(0 0 29 2 ? *)", ParseOptions{}, "2024-03-01T00:00:00Z",
			[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"2100 is not a leap year", "cron(0 0 29 2 ? 2096-2199)", ParseOptions{}, "2096-03-01T00:00:00Z",
			[]string{"2104-02-29T00:00:00Z"}},
		{"last day of February", "cron(0 0 L 2 ? *)", ParseOptions{}, "2023-01-01T00:00:00Z",
			[]string{"2023-02-28T00:00:00Z", "2024-02-29T00:00:00Z", "2025-02-28T00:00:00Z"}},
		{"never", "cron(0 0 30 2 ? *)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"none"}},
	})
}

func TestYearBounds(t *testing.T) {
	runNextCases(t, []nextCase{
		{"one year", "cron(0 12 25 12 ? 2025)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"2025-12-25T12:00:00Z", "none"}},
		{"past years", "cron(0 12 * * ? 2020-2022)", ParseOptions{}, "2024-01-01T00:00:00Z",
			[]string{"none"}},
		{"last minute of 2199", "cron(59 23 31 12 ? *)", ParseOptions{}, "2199-12-31T23:58:00Z",
			[]string{"2199-12-31T23:59:00Z", "none"}},
		{"after 2199", "cron(* * * * ? *)", ParseOptions{}, "2200-01-01T00:00:00Z",
			[]string{"none"}},
		{"year 2199 in a zone behind UTC", "cron(0 0 1 1 ? 2199)", ParseOptions{Location: mustLoad(t, "America/New_York")}, "2198-06-01T00:00:00Z",
			[]string{"2199-01-01T00:00:00-05:00", "none"}},
	})
}

// EventBridge Scheduler skips local times that do not exist and fires once
// at local times that occur twice.
func TestDaylightSaving(t *testing.T) {
	ny := ParseOptions{Location: mustLoad(t, "America/New_York")}
	berlin := ParseOptions{Location: mustLoad(t, "Europe/Berlin")}
	runNextCases(t, []nextCase{
		// New York: 2024-03-10 02:00 EST -> 03:00 EDT; 2024-11-03 02:00 EDT -> 01:00 EST.
		{"NY daily in the spring gap is skipped", "cron(30 2 * * ? *)", ny, "2024-03-09T00:00:00-05:00",
			[]string{"2024-03-09T02:30:00-05:00", "2024-03-11T02:30:00-04:00"}},
		{"NY hourly across the spring gap", "cron(0 * * * ? *)", ny, "2024-03-10T00:30:00-05:00",
			[]string{"2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T04:00:00-04:00"}},
		{"NY daily in the repeated hour fires once", "cron(30 1 * * ? *)", ny, "2024-11-02T00:00:00-04:00",
			[]string{"2024-11-02T01:30:00-04:00", "2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"}},
		{"NY quarter-hourly across the repeated hour", "cron(0/15 * * * ? *)", ny, "2024-11-03T01:40:00-04:00",
			[]string{"2024-11-03T01:45:00-04:00", "2024-11-03T02:00:00-05:00", "2024-11-03T02:15:00-05:00"}},
		{"NY from inside the second pass of the repeated hour", "cron(0/30 * * * ? *)", ny, "2024-11-03T01:10:00-05:00",
			[]string{"2024-11-03T02:00:00-05:00", "2024-11-03T02:30:00-05:00"}},
		{"NY 2am on the fall-back day exists once", "cron(0 2 * * ? *)", ny, "2024-11-02T12:00:00-04:00",
			[]string{"2024-11-03T02:00:00-05:00", "2024-11-04T02:00:00-05:00"}},
		// Berlin: 2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET.
		{"Berlin daily in the spring gap is skipped", "cron(30 2 * * ? *)", berlin, "2024-03-30T00:00:00+01:00",
			[]string{"2024-03-30T02:30:00+01:00", "2024-04-01T02:30:00+02:00"}},
		{"Berlin every 20 minutes across the spring gap", "cron(*/20 * * * ? *)", berlin, "2024-03-31T01:30:00+01:00",
			[]string{"2024-03-31T01:40:00+01:00", "2024-03-31T03:00:00+02:00", "2024-03-31T03:20:00+02:00"}},
		{"Berlin daily in the repeated hour fires once", "cron(30 2 * * ? *)", berlin, "2024-10-26T12:00:00+02:00",
			[]string{"2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"}},
		{"Berlin last Sunday of October at 2:30", "cron(30 2 ? 10 1L *)", berlin, "2024-01-01T00:00:00+01:00",
			[]string{"2024-10-27T02:30:00+02:00", "2025-10-26T02:30:00+02:00"}},
		{"Berlin last Sunday of March at 2:30 never exists", "cron(30 2 ? 3 1L 2024-2026)", berlin, "2024-01-01T00:00:00+01:00",
			[]string{"none"}},
		// rate() counts absolute time: a day is 24 hours across the change.
		{"rate days across the spring change", "rate(1 day)", ParseOptions{Location: ny.Location, Anchor: mustTime(t, "2024-03-09T12:00:00-05:00")}, "2024-03-09T12:00:00-05:00",
			[]string{"2024-03-10T13:00:00-04:00", "2024-03-11T13:00:00-04:00"}},
		{"at in the spring gap moves forward by the gap", "at(2024-03-10T02:30:00)", ParseOptions{Location: ny.Location, AllowAt: true}, "2024-01-01T00:00:00Z",
			[]string{"2024-03-10T03:30:00-04:00", "none"}},
		{"at in the repeated hour is the first one", "at(2024-11-03T01:30:00)", ParseOptions{Location: ny.Location, AllowAt: true}, "2024-01-01T00:00:00Z",
			[]string{"2024-11-03T01:30:00-04:00", "none"}},
		{"Berlin at in the spring gap", "at(2024-03-31T02:15:00)", ParseOptions{Location: berlin.Location, AllowAt: true}, "2024-01-01T00:00:00Z",
			[]string{"2024-03-31T03:15:00+02:00"}},
	})
}

func TestRate(t *testing.T) {
	anchor := time.Date(2024, 1, 1, 0, 0, 0, 500_000_000, time.UTC)
	e, err := Parse("rate(10 minutes)", ParseOptions{Anchor: anchor})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		t    time.Time
		want time.Time
	}{
		{"long before the anchor", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), anchor},
		{"just before the anchor", anchor.Add(-time.Nanosecond), anchor},
		{"at the anchor", anchor, anchor.Add(10 * time.Minute)},
		{"just before a firing", anchor.Add(20*time.Minute - time.Nanosecond), anchor.Add(20 * time.Minute)},
		{"at a firing", anchor.Add(20 * time.Minute), anchor.Add(30 * time.Minute)},
		{"nanoseconds below the anchor's", time.Date(2024, 1, 1, 0, 10, 0, 0, time.UTC), anchor.Add(10 * time.Minute)},
		{"centuries later", time.Date(2999, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2999, 6, 1, 0, 0, 0, 500_000_000, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := e.Next(tc.t)
			if !ok || !got.Equal(tc.want) {
				t.Errorf("Next(%s) = %s, %v; want %s", tc.t, got, ok, tc.want)
			}
		})
	}
	if e.OneTime() {
		t.Error("rate() is not one-time")
	}

	// The zero anchor is the Unix epoch: firings on multiples of the period.
	e, err = Parse("rate(3 hours)", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := e.Next(time.Date(2024, 1, 1, 1, 0, 0, 0, time.UTC))
	if want := time.Date(2024, 1, 1, 3, 0, 0, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("epoch-anchored Next = %s, %v; want %s", got, ok, want)
	}

	// Far beyond any representable schedule, Next reports none instead of overflowing.
	e, err = Parse("rate(1 day)", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := e.Next(time.Unix(1<<62, 0)); ok {
		t.Errorf("Next near the end of time = %s, want none", got)
	}

	// Seconds are an opt-in extension.
	e, err = Parse("rate(30 seconds)", ParseOptions{AllowSeconds: true})
	if err != nil {
		t.Fatal(err)
	}
	got, ok = e.Next(time.Date(2024, 1, 1, 0, 0, 10, 0, time.UTC))
	if want := time.Date(2024, 1, 1, 0, 0, 30, 0, time.UTC); !ok || !got.Equal(want) {
		t.Errorf("rate(30 seconds) Next = %s, %v; want %s", got, ok, want)
	}
	if _, err := Parse("rate(1 second)", ParseOptions{AllowSeconds: true}); err != nil {
		t.Errorf("rate(1 second): %v", err)
	}
}

func TestAt(t *testing.T) {
	e, err := Parse("at(2030-06-01T08:30:15)", ParseOptions{AllowAt: true, Location: mustLoad(t, "Europe/Berlin")})
	if err != nil {
		t.Fatal(err)
	}
	if !e.OneTime() {
		t.Error("at() is one-time")
	}
	want := mustTime(t, "2030-06-01T06:30:15Z")
	if got, ok := e.Next(want.Add(-time.Second)); !ok || !got.Equal(want) {
		t.Errorf("Next before = %s, %v; want %s", got, ok, want)
	}
	if got, ok := e.Next(want); ok {
		t.Errorf("Next at the time itself = %s, want none", got)
	}
	if _, err := Parse("at(2024-02-29T00:00:00)", ParseOptions{AllowAt: true}); err != nil {
		t.Errorf("leap day: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	at := ParseOptions{AllowAt: true}
	cases := []struct {
		expr string
		opts ParseOptions
		want string // part of the message after AWS's sentence
	}{
		{"", ParseOptions{}, "The expression is empty"},
		{strings.Repeat("x", 300), ParseOptions{}, "longer than 256 characters"},
		{"cron(0 10 * * ? *" + strings.Repeat(" ", 250) + ")", ParseOptions{}, "longer than 256"},
		{"daily", ParseOptions{}, "Expected rate(value unit), cron(fields) or at("},
		{"CRON(0 10 * * ? *)", ParseOptions{}, "Expected rate(value unit)"},
		{"cron (0 10 * * ? *)", ParseOptions{}, "Expected rate(value unit)"},
		{"cron(0 10 * * ? *) ", ParseOptions{}, "must end with )"},
		{"cron(0 10 * * ? *)x", ParseOptions{}, "must end with )"},
		{"cron(0 10 * * ? *))", ParseOptions{}, `Unexpected ')' inside cron()`},
		{"cron()", ParseOptions{}, "Nothing between the parentheses"},
		{"cron( 0 10 * * ? *)", ParseOptions{}, "Spaces just inside the parentheses"},
		{"cron(0 10 * * ? * )", ParseOptions{}, "Spaces just inside the parentheses"},
		{"cron(0\t10 * * ? *)", ParseOptions{}, `Unexpected character '\t'`},
		{"cron(0 10 * * ?)", ParseOptions{}, "takes 6 fields (minutes hours day-of-month month day-of-week year), not 5"},
		{"cron(0 0 10 * * ? *)", ParseOptions{}, "not 7"},
		{"cron(0 10 * * * *)", ParseOptions{}, "Day-of-month and day-of-week cannot both be specified; use ? in one of them"},
		{"cron(0 10 1 * MON *)", ParseOptions{}, "cannot both be specified"},
		{"cron(0 10 ? * ? *)", ParseOptions{}, "cannot both be ?"},
		{"cron(60 10 * * ? *)", ParseOptions{}, "Value 60 is out of range for minutes (0-59)"},
		{"cron(0 24 * * ? *)", ParseOptions{}, "Value 24 is out of range for hours (0-23)"},
		{"cron(0 0 0 * ? *)", ParseOptions{}, "Value 0 is out of range for day-of-month (1-31)"},
		{"cron(0 0 32 * ? *)", ParseOptions{}, "Value 32 is out of range for day-of-month"},
		{"cron(0 0 * 13 ? *)", ParseOptions{}, "Value 13 is out of range for month (1-12 or JAN-DEC)"},
		{"cron(0 0 ? * 0 *)", ParseOptions{}, "Value 0 is out of range for day-of-week (1-7 or SUN-SAT)"},
		{"cron(0 0 ? * 8 *)", ParseOptions{}, "Value 8 is out of range for day-of-week"},
		{"cron(0 0 * * ? 1969)", ParseOptions{}, "Value 1969 is out of range for year (1970-2199)"},
		{"cron(0 0 * * ? 2200)", ParseOptions{}, "Value 2200 is out of range for year"},
		{"cron(0 0 * * ? 99999999999999999999)", ParseOptions{}, "Value 99999999999999999999 is out of range for year"},
		{"cron(00000000000005 0 * * ? *)", ParseOptions{}, "out of range for minutes"},
		{"cron(0/0 * * * ? *)", ParseOptions{}, "The increment 0 in minutes must be 1-59"},
		{"cron(0/60 * * * ? *)", ParseOptions{}, "The increment 60 in minutes must be 1-59"},
		{"cron(*/99999999999999999999 * * * ? *)", ParseOptions{}, "must be 1-59"},
		{"cron(0/ * * * ? *)", ParseOptions{}, "must be a number"},
		{"cron(0/5/5 * * * ? *)", ParseOptions{}, "must be a number"},
		{"cron(/5 * * * ? *)", ParseOptions{}, "Missing value in minutes"},
		{"cron(0- * * * ? *)", ParseOptions{}, "Missing value in minutes"},
		{"cron(1-2-3 * * * ? *)", ParseOptions{}, `Unknown value "2-3" in minutes`},
		{"cron(0,,5 * * * ? *)", ParseOptions{}, "Empty item in the minutes list"},
		{"cron(0, * * * ? *)", ParseOptions{}, "Empty item in the minutes list"},
		{"cron(? 0 * * ? *)", ParseOptions{}, "? is allowed only in day-of-month and day-of-week"},
		{"cron(0 0 1,? * ? *)", ParseOptions{}, "? is allowed only"},
		{"cron(0 0 * FOO ? *)", ParseOptions{}, `Unknown value "FOO" in month`},
		{"cron(0 0 ? * MONDAY *)", ParseOptions{}, `Unknown value "MONDAY" in day-of-week`},
		{"cron(0 0 JAN * ? *)", ParseOptions{}, `Unknown value "JAN" in day-of-month`},
		{"cron(0 0 * * ? 2030-2020)", ParseOptions{}, "The range 2030-2020 in year runs backwards"},
		{"cron(0 0 ? * 1/2 *)", ParseOptions{}, "The / wildcard is not allowed in day-of-week"},
		{"cron(0 0 ? * 3#1,6#3 *)", ParseOptions{}, "# stands alone in day-of-week"},
		{"cron(0 0 ? * 3#6 *)", ParseOptions{}, "The occurrence after # must be 1-5"},
		{"cron(0 0 ? * 3#0 *)", ParseOptions{}, "The occurrence after # must be 1-5"},
		{"cron(0 0 ? * 3# *)", ParseOptions{}, "The occurrence after # must be 1-5"},
		{"cron(0 0 ? * 9#1 *)", ParseOptions{}, "Value 9 is out of range for day-of-week"},
		{"cron(0 0 ? * 5L,6L *)", ParseOptions{}, "L stands alone in day-of-week"},
		{"cron(0 0 ? * 8L *)", ParseOptions{}, "Value 8 is out of range for day-of-week"},
		{"cron(0 0 ? * 1W *)", ParseOptions{}, "W is allowed only in day-of-month"},
		{"cron(0 0 L,1 * ? *)", ParseOptions{}, "L and W stand alone in day-of-month"},
		{"cron(0 0 L-3 * ? *)", ParseOptions{}, "L and W stand alone in day-of-month"},
		{"cron(0 0 1-5W * ? *)", ParseOptions{}, "L and W stand alone"},
		{"cron(0 0 32W * ? *)", ParseOptions{}, "Value 32 is out of range for day-of-month"},
		{"cron(0 0 1#1 * ? *)", ParseOptions{}, "# is allowed only in day-of-week"},
		{"cron(L 0 * * ? *)", ParseOptions{}, `Unknown value "L" in minutes`},
		{"rate(1 minutes)", ParseOptions{}, "Use the singular unit minute when the value is 1"},
		{"rate(1 hours)", ParseOptions{}, "Use the singular unit hour"},
		{"rate(5 hour)", ParseOptions{}, "Use the plural unit hours when the value is greater than 1"},
		{"rate(5 day)", ParseOptions{}, "Use the plural unit days"},
		{"rate(0 minutes)", ParseOptions{}, "must be a positive integer"},
		{"rate(-1 minutes)", ParseOptions{}, `The rate value "-1" is not a positive integer`},
		{"rate(1.5 hours)", ParseOptions{}, "not a positive integer"},
		{"rate(5 weeks)", ParseOptions{}, `Unknown rate unit "weeks"; use minute(s), hour(s) or day(s)`},
		{"rate(5 Minutes)", ParseOptions{}, "Unknown rate unit"},
		{"rate(5 seconds)", ParseOptions{}, "Unknown rate unit"},
		{"rate(5 secs)", ParseOptions{AllowSeconds: true}, "use second(s), minute(s)"},
		{"rate(5)", ParseOptions{}, "rate() takes a value and a unit"},
		{"rate(5 minutes please)", ParseOptions{}, "rate() takes a value and a unit"},
		{"rate(5\tminutes)", ParseOptions{}, "rate() takes a value and a unit"},
		{"rate(99999999999999999999 minutes)", ParseOptions{}, "is too large"},
		{"rate(200000 days)", ParseOptions{}, "The rate value 200000 is too large; at most 106751 days"},
		{"at(2022-11-20T13:00:00)", ParseOptions{}, "at() is accepted only by EventBridge Scheduler schedules"},
		{"at(2022-11-20 13:00:00)", at, "yyyy-mm-ddThh:mm:ss"},
		{"at(2022-11-20T13:00:00Z)", at, "yyyy-mm-ddThh:mm:ss"},
		{"at(2022-11-20T13:00)", at, "yyyy-mm-ddThh:mm:ss"},
		{"at(2022-11-20T13:00:00.5)", at, "yyyy-mm-ddThh:mm:ss"},
		{"at(+022-11-20T13:00:00)", at, "yyyy-mm-ddThh:mm:ss"},
		{"at(2022-13-20T13:00:00)", at, "Month 13 is out of range"},
		{"at(2022-00-20T13:00:00)", at, "Month 00 is out of range"},
		{"at(2023-02-29T13:00:00)", at, "Day 29 is out of range for 2023-02 (01-28)"},
		{"at(2022-11-00T13:00:00)", at, "Day 00 is out of range"},
		{"at(2022-11-20T24:00:00)", at, "Hour 24 is out of range"},
		{"at(2022-11-20T13:60:00)", at, "Minute 60 is out of range"},
		{"at(2022-11-20T13:00:60)", at, "Second 60 is out of range"},
		{"at(\x00)", at, "yyyy-mm-ddThh:mm:ss"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			e, err := Parse(tc.expr, tc.opts)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", tc.expr, e)
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Invalid {
				t.Fatalf("error %v is not a fault.Invalid", err)
			}
			prefix := "Invalid Schedule Expression " + display(tc.expr) + ". "
			if !strings.HasPrefix(fe.Message, prefix) {
				t.Errorf("message %q does not start with %q", fe.Message, prefix)
			}
			if !strings.Contains(fe.Message, tc.want) {
				t.Errorf("message %q does not mention %q", fe.Message, tc.want)
			}
		})
	}
}

func TestDisplay(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"cron(0 10 * * ? *)", "cron(0 10 * * ? *)"},
		{"at(\x00)", `"at(\x00)"`},
		{"rate(5 minütes)", `"rate(5 min\u00fctes)"`},
		{strings.Repeat("a", 300), strings.Repeat("a", 256) + "..."},
	}
	for _, tc := range cases {
		if got := display(tc.in); got != tc.want {
			t.Errorf("display(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
