package expr

import (
	"errors"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// FuzzParse: Parse never panics, fails only with fault.Invalid, and a parsed
// expression's firings are strictly increasing and after the time asked.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"cron(0 10 * * ? *)", "cron(15 12 * * ? *)", "cron(0 18 ? * MON-FRI *)", "cron(0 8 1 * ? *)",
		"cron(0/15 * * * ? *)", "cron(0/10 * ? * MON-FRI *)", "cron(0/5 8-17 ? * MON-FRI *)",
		"cron(0 9 ? * 2#1 *)", "cron(0 0 L * ? *)", "cron(0 0 ? * 6L *)", "cron(0 0 LW * ? *)",
		"cron(0 0 15W * ? *)", "cron(0 22-2 ? * FRI-MON 2024-2030/2)", "cron(0 0 29 2 ? *)",
		"cron(30 2 * * ? *)", "cron(* * * * ? 2199)", "cron(0 0 31 2 ? *)",
		"rate(5 minutes)", "rate(1 hour)", "rate(7 days)", "rate(1 minutes)", "rate(30 seconds)",
		"at(2022-11-20T13:00:00)", "at(2024-03-10T02:30:00)", "at(2024-11-03T01:30:00)",
		"cron(0 10 * * * *)", "", "cron()", "rate()", "at()",
	} {
		f.Add(s, int64(1700000000), uint8(0))
	}
	zones := []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Apia"}
	locs := make([]*time.Location, len(zones))
	for i, z := range zones {
		locs[i] = mustLoad(f, z)
	}
	f.Fuzz(func(t *testing.T, s string, from int64, zone uint8) {
		opts := ParseOptions{
			Location:     locs[int(zone)%len(locs)],
			Anchor:       time.Unix(1700000000, 0),
			AllowSeconds: zone&0x10 != 0,
			AllowAt:      zone&0x20 != 0,
		}
		e, err := Parse(s, opts)
		if err != nil {
			var fe *fault.Error
			if !errors.As(err, &fe) || fe.Kind != fault.Invalid {
				t.Fatalf("Parse(%q): error %v is not a fault.Invalid", s, err)
			}
			return
		}
		if e.String() != s {
			t.Fatalf("String() = %q, want %q", e.String(), s)
		}
		// Keep the start within what time.Time handles well: ±10000 years.
		const span = 10000 * 366 * 86400
		tt := time.Unix(from%span, 0)
		for range 4 {
			next, ok := e.Next(tt)
			if !ok {
				break
			}
			if !next.After(tt) {
				t.Fatalf("%s: Next(%s) = %s, not after it", s, tt, next)
			}
			tt = next
		}
	})
}
