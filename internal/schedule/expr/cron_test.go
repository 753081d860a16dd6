package expr

import (
	"math/bits"
	"math/rand/v2"
	"testing"
	"time"
)

// matchesDay decides a day the slow, obvious way, independently of dayMask.
func (c *cronExpr) matchesDay(y, mo, d int) bool {
	ld := daysIn(y, mo)
	wd := weekday(y, mo, d)
	isWeekday := func(day int) bool { w := weekday(y, mo, day); return w != 0 && w != 6 }
	switch c.kind {
	case domList:
		return c.days&(1<<d) != 0
	case domLast:
		return d == ld
	case domLastWeekday:
		if !isWeekday(d) {
			return false
		}
		for e := d + 1; e <= ld; e++ {
			if isWeekday(e) {
				return false
			}
		}
		return true
	case domNearestWeekday:
		if c.n > ld || !isWeekday(d) {
			return false
		}
		// d must be the weekday of this month closest to day n.
		for e := 1; e <= ld; e++ {
			if isWeekday(e) && abs(e-c.n) < abs(d-c.n) {
				return false
			}
		}
		return true
	case dowList:
		return c.days&(1<<(wd+1)) != 0
	case dowLast:
		return wd == c.n-1 && d+7 > ld
	default:
		return wd == c.n-1 && (d-1)/7 == c.k-1
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (c *cronExpr) matches(ct time.Time) bool {
	y, m, d := ct.Date()
	h, mi, s := ct.Clock()
	return s == 0 && y >= minYear && y <= maxYear && c.years.next(y-minYear) == y-minYear &&
		c.months.next(int(m)) == int(m) && c.matchesDay(y, int(m), d) &&
		c.hours.next(h) == h && c.minutes.next(mi) == mi
}

// bruteNext scans the wall clock of c.loc minute by minute from t, firing at
// a matching minute unless the same wall-clock minute was already shown
// earlier (clocks fell back). Offsets are whole minutes, so UTC minute
// boundaries are wall-clock minute boundaries.
func bruteNext(c *cronExpr, t time.Time, limit time.Time) (time.Time, bool) {
	for m := t.Truncate(time.Minute).Add(time.Minute); !m.After(limit); m = m.Add(time.Minute) {
		ct := m.In(c.loc)
		if !c.matches(ct) {
			continue
		}
		seen := false
		for back := 15 * time.Minute; back <= 26*time.Hour && !seen; back += 15 * time.Minute {
			p := m.Add(-back).In(c.loc)
			seen = p.Year() == ct.Year() && p.YearDay() == ct.YearDay() && p.Hour() == ct.Hour() && p.Minute() == ct.Minute()
		}
		if !seen {
			return m, true
		}
	}
	return time.Time{}, false
}

// bruteNextDays is bruteNext for UTC, by day, to cover years quickly.
func bruteNextDays(c *cronExpr, t time.Time) (time.Time, bool) {
	start := t.UTC().Truncate(time.Minute).Add(time.Minute)
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	if day.Year() < minYear {
		day = time.Date(minYear, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	for ; day.Year() <= maxYear; day = day.AddDate(0, 0, 1) {
		y, m, d := day.Date()
		if c.years.next(y-minYear) != y-minYear || c.months.next(int(m)) != int(m) || !c.matchesDay(y, int(m), d) {
			continue
		}
		for h := 0; h < 24; h++ {
			for mi := 0; mi < 60; mi++ {
				at := day.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute)
				if !at.Before(start) && c.hours.next(h) == h && c.minutes.next(mi) == mi {
					return at, true
				}
			}
		}
	}
	return time.Time{}, false
}

var (
	minuteParts = []string{"0", "*", "*/7", "5-10", "0/30", "59", "1,2,3", "50-10/15", "13"}
	hourParts   = []string{"0", "*", "8-17", "22-2", "*/5", "23", "3,15"}
	domParts    = []string{"*", "1", "15W", "1W", "31W", "L", "LW", "31", "29", "30", "1-7", "10/10", "28-3"}
	monthParts  = []string{"*", "2", "JAN,JUL", "NOV-FEB", "*/3", "4,6,9,11", "12"}
	dowParts    = []string{"*", "MON-FRI", "FRI-MON", "6L", "1L", "2#1", "5#5", "7#4", "L", "1,7", "SUN", "4"}
	yearParts   = []string{"*", "2024-2030", "2025/2", "2024,2028,2032", "2100-2104", "2199"}
)

func randomCron(r *rand.Rand) string {
	pick := func(p []string) string { return p[r.IntN(len(p))] }
	dom, dow := pick(domParts), "?"
	if r.IntN(2) == 0 {
		dom, dow = "?", pick(dowParts)
	}
	return "cron(" + pick(minuteParts) + " " + pick(hourParts) + " " + dom + " " + pick(monthParts) + " " + dow + " " + pick(yearParts) + ")"
}

func TestNextMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	starts := []time.Time{
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 28, 23, 59, 30, 0, time.UTC),
		time.Date(2099, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 0, 0, time.UTC),
	}
	for range 400 {
		src := randomCron(r)
		e, err := Parse(src, ParseOptions{})
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		c := e.(*cronExpr)
		from := starts[r.IntN(len(starts))]
		for step := 0; step < 4; step++ {
			got, gotOK := e.Next(from)
			want, wantOK := bruteNextDays(c, from)
			if gotOK != wantOK || !got.Equal(want) {
				t.Fatalf("%s Next(%s) = %s, %v; brute force %s, %v", src, from.Format(time.RFC3339), got.Format(time.RFC3339), gotOK, want.Format(time.RFC3339), wantOK)
			}
			if !gotOK {
				break
			}
			from = got
		}
	}
}

// Around clock changes, Next agrees with a minute-by-minute scan of the wall
// clock, including zones that move by half an hour and a day skipped whole.
func TestNextMatchesBruteForceAcrossClockChanges(t *testing.T) {
	windows := []struct {
		zone string
		from string
	}{
		{"America/New_York", "2024-03-09T12:00:00Z"},
		{"America/New_York", "2024-11-02T12:00:00Z"},
		{"Europe/Berlin", "2024-03-30T12:00:00Z"},
		{"Europe/Berlin", "2024-10-26T12:00:00Z"},
		{"Australia/Lord_Howe", "2024-04-06T00:00:00Z"}, // back 30 minutes
		{"Australia/Lord_Howe", "2024-10-05T00:00:00Z"}, // forward 30 minutes
		{"Pacific/Apia", "2011-12-28T00:00:00Z"},        // 30 December 2011 never happened
	}
	exprs := []string{
		"cron(* * * * ? *)",
		"cron(*/15 * * * ? *)",
		"cron(30 1 * * ? *)",
		"cron(0 2 * * ? *)",
		"cron(0/7 0-4 * * ? *)",
		"cron(45 1-3 ? * SUN *)",
		"cron(0 12 30 12 ? *)",
		"cron(15,45 * ? * 1L *)",
	}
	for _, w := range windows {
		loc := mustLoad(t, w.zone)
		start := mustTime(t, w.from)
		limit := start.Add(72 * time.Hour)
		for _, src := range exprs {
			e, err := Parse(src, ParseOptions{Location: loc})
			if err != nil {
				t.Fatal(err)
			}
			c := e.(*cronExpr)
			from := start
			for {
				want, wantOK := bruteNext(c, from, limit)
				if !wantOK {
					break
				}
				got, ok := e.Next(from)
				if !ok || !got.Equal(want) {
					t.Fatalf("%s in %s: Next(%s) = %s, %v; brute force %s", src, w.zone, from.In(loc).Format(time.RFC3339), got.In(loc).Format(time.RFC3339), ok, want.In(loc).Format(time.RFC3339))
				}
				from = got
			}
		}
	}
}

func TestParseSets(t *testing.T) {
	cases := []struct {
		f    field
		in   string
		want []int
	}{
		{fMinutes, "0/15", []int{0, 15, 30, 45}},
		{fMinutes, "1/10", []int{1, 11, 21, 31, 41, 51}},
		{fMinutes, "*/20", []int{0, 20, 40}},
		{fMinutes, "5-30/10", []int{5, 15, 25}},
		{fMinutes, "55-5", []int{0, 1, 2, 3, 4, 5, 55, 56, 57, 58, 59}},
		{fMinutes, "50-10/15", []int{5, 50}},
		{fHours, "22-2", []int{0, 1, 2, 22, 23}},
		{fDOM, "*/10", []int{1, 11, 21, 31}},
		{fDOM, "30-2", []int{1, 2, 30, 31}},
		{fMonth, "JAN,mar,Dec", []int{1, 3, 12}},
		{fMonth, "NOV-FEB", []int{1, 2, 11, 12}},
		{fMonth, "6/4", []int{6, 10}},
		{fDOW, "FRI-MON", []int{1, 2, 6, 7}},
		{fDOW, "MON-FRI", []int{2, 3, 4, 5, 6}},
		{fDOW, "SAT-SUN", []int{1, 7}},
		{fDOW, "2,4-5", []int{2, 4, 5}},
		{fYear, "2190/4", []int{2190, 2194, 2198}},
		{fYear, "1970", []int{1970}},
	}
	for _, tc := range cases {
		t.Run(tc.f.name+" "+tc.in, func(t *testing.T) {
			set, msg := parseList(tc.f, tc.in)
			if msg != "" {
				t.Fatal(msg)
			}
			var got []int
			for i := set.next(0); i >= 0; i = set.next(i + 1) {
				got = append(got, i+tc.f.base)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestBitsetNext(t *testing.T) {
	var b bitset
	for _, i := range []int{0, 63, 64, 200, 255} {
		b.set(i)
	}
	cases := []struct{ from, want int }{{-1, 0}, {0, 0}, {1, 63}, {64, 64}, {65, 200}, {201, 255}, {256, -1}}
	for _, tc := range cases {
		if got := b.next(tc.from); got != tc.want {
			t.Errorf("next(%d) = %d, want %d", tc.from, got, tc.want)
		}
	}
	if bits.OnesCount64(b[0]) != 2 {
		t.Errorf("word 0 = %b", b[0])
	}
}

// Sparse expressions stay cheap: the search jumps by field.
func TestSparseNextIsQuick(t *testing.T) {
	for _, src := range []string{
		"cron(0 0 31 2 ? *)",         // never: scans every year to 2199
		"cron(0 0 ? 2 5#5 *)",        // a fifth Thursday of February
		"cron(59 23 29 2 ? 2196)",    // the last leap day in range
		"cron(0 0 30 2 ? 1970-2199)", // never
	} {
		e, err := Parse(src, ParseOptions{Location: mustLoad(t, "America/New_York")})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for range 20 {
			e.Next(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC))
		}
		if d := time.Since(start) / 20; d > 20*time.Millisecond {
			t.Errorf("%s: Next takes %s", src, d)
		}
	}
}

func BenchmarkNextComplexCron(b *testing.B) {
	e, err := Parse("cron(5/7 8-17,22-2 ? JAN-MAR,OCT-DEC 6L 2024-2199/3)", ParseOptions{Location: mustLoad(b, "Europe/Berlin")})
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		next, ok := e.Next(t)
		if !ok {
			t = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		t = next
	}
}

func BenchmarkNextSparseCron(b *testing.B) {
	e, err := Parse("cron(0 0 29 2 ? *)", ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		e.Next(t)
	}
}

func BenchmarkNextRate(b *testing.B) {
	e, err := Parse("rate(5 minutes)", ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	t := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		e.Next(t)
	}
}
