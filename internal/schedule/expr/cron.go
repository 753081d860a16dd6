package expr

import (
	"math/bits"
	"strconv"
	"strings"
	"time"
)

const (
	minYear = 1970
	maxYear = 2199
)

// bitset holds the values of one field; bit i is value base+i.
type bitset [4]uint64

func (b *bitset) set(i int) { b[i>>6] |= 1 << (i & 63) }

// next returns the first member >= i, or -1.
func (b *bitset) next(i int) int {
	if i < 0 {
		i = 0
	}
	for w := i >> 6; w < len(b); w++ {
		word := b[w]
		if w == i>>6 {
			word &= ^uint64(0) << (i & 63)
		}
		if word != 0 {
			return w<<6 + bits.TrailingZeros64(word)
		}
	}
	return -1
}

// field describes one of the six cron fields.
type field struct {
	name     string
	min, max int
	base     int      // bit index = value - base
	names    []string // names[i] is value min+i
	maxStep  int      // 0: the field takes no /
	noWrap   bool     // ranges must not run backwards
	numbered string   // how AWS spells the values, for messages
}

var (
	months = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	days   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

	fMinutes = field{name: "minutes", min: 0, max: 59, maxStep: 59, numbered: "0-59"}
	fHours   = field{name: "hours", min: 0, max: 23, maxStep: 23, numbered: "0-23"}
	fDOM     = field{name: "day-of-month", min: 1, max: 31, maxStep: 31, numbered: "1-31"}
	fMonth   = field{name: "month", min: 1, max: 12, names: months, maxStep: 12, numbered: "1-12 or JAN-DEC"}
	// AWS's table gives day-of-week no / wildcard.
	fDOW  = field{name: "day-of-week", min: 1, max: 7, names: days, numbered: "1-7 or SUN-SAT"}
	fYear = field{name: "year", min: minYear, max: maxYear, base: minYear, maxStep: maxYear - minYear, noWrap: true, numbered: "1970-2199"}
)

// dayKind says how the day of a month is chosen.
type dayKind uint8

const (
	domList           dayKind = iota // day-of-month values; day-of-week is ?
	domLast                          // L
	domLastWeekday                   // LW
	domNearestWeekday                // nW
	dowList                          // day-of-week values; day-of-month is ?
	dowLast                          // nL
	dowNth                           // n#k
)

type cronExpr struct {
	src     string
	loc     *time.Location
	minutes bitset
	hours   bitset
	months  bitset
	years   bitset
	kind    dayKind
	days    uint64 // domList: bits 1-31; dowList: bits 1-7 (1 = Sunday)
	n, k    int    // nW: day n; nL and n#k: weekday n (1 = Sunday), occurrence k
}

func (c *cronExpr) String() string { return c.src }
func (c *cronExpr) OneTime() bool  { return false }

func parseCron(expr, inner string, loc *time.Location) (Expression, error) {
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || strings.IndexByte(" ,-*/?#", c) >= 0) {
			return nil, invalid(expr, "Unexpected character %q", c)
		}
	}
	f := fields(inner)
	if len(f) != 6 {
		return nil, invalid(expr, "cron() takes 6 fields (minutes hours day-of-month month day-of-week year), not %d", len(f))
	}
	c := &cronExpr{src: expr, loc: loc}
	bad := func(msg string) error { return invalid(expr, "%s", msg) }
	var msg string
	if c.minutes, msg = parseList(fMinutes, f[0]); msg != "" {
		return nil, bad(msg)
	}
	if c.hours, msg = parseList(fHours, f[1]); msg != "" {
		return nil, bad(msg)
	}
	if c.months, msg = parseList(fMonth, f[3]); msg != "" {
		return nil, bad(msg)
	}
	if c.years, msg = parseList(fYear, f[5]); msg != "" {
		return nil, bad(msg)
	}
	dom, dow := strings.ToUpper(f[2]), strings.ToUpper(f[4])
	switch {
	case dom == "?" && dow == "?":
		return nil, bad("Day-of-month and day-of-week cannot both be ?; give a value in one of them")
	case dom != "?" && dow != "?":
		return nil, bad("Day-of-month and day-of-week cannot both be specified; use ? in one of them")
	case dow == "?":
		msg = c.parseDOM(dom)
	default:
		msg = c.parseDOW(dow)
	}
	if msg != "" {
		return nil, bad(msg)
	}
	return c, nil
}

func (c *cronExpr) parseDOM(s string) string {
	switch {
	case s == "L":
		c.kind = domLast
		return ""
	case s == "LW":
		c.kind = domLastWeekday
		return ""
	case strings.HasSuffix(s, "W") && allDigits(s[:len(s)-1]):
		n, msg := parseValue(fDOM, s[:len(s)-1])
		if msg != "" {
			return msg
		}
		c.kind, c.n = domNearestWeekday, n
		return ""
	case strings.ContainsAny(s, "LW"):
		return "L and W stand alone in day-of-month: L, LW or a single day followed by W, as in 15W"
	case strings.Contains(s, "#"):
		return "# is allowed only in day-of-week"
	}
	set, msg := parseList(fDOM, s)
	c.kind, c.days = domList, set[0]
	return msg
}

func (c *cronExpr) parseDOW(s string) string {
	switch {
	case s == "L":
		// Alone, L is the last day of the week: Saturday.
		c.kind, c.days = dowList, 1<<7
		return ""
	case strings.HasSuffix(s, "L") && !strings.ContainsAny(s, ",-*/#"):
		n, msg := parseValue(fDOW, s[:len(s)-1])
		if msg != "" {
			return msg
		}
		c.kind, c.n = dowLast, n
		return ""
	case strings.Count(s, "#") == 1 && !strings.ContainsAny(s, ",-*/L"):
		day, nth, _ := strings.Cut(s, "#")
		n, msg := parseValue(fDOW, day)
		if msg != "" {
			return msg
		}
		if !allDigits(nth) || len(nth) > 1 || nth[0] < '1' || nth[0] > '5' {
			return "The occurrence after # must be 1-5, as in 3#2 (the second Tuesday)"
		}
		c.kind, c.n, c.k = dowNth, n, int(nth[0]-'0')
		return ""
	case strings.Contains(s, "#"):
		return "# stands alone in day-of-week: one weekday and its occurrence, as in 3#2"
	case strings.Contains(s, "L"):
		return "L stands alone in day-of-week: L, or a single weekday followed by L, as in 6L"
	case strings.Contains(s, "W"):
		return "W is allowed only in day-of-month"
	}
	set, msg := parseList(fDOW, s)
	c.kind, c.days = dowList, set[0]
	return msg
}

// parseList parses a field of comma-separated items: *, v, a-b, each
// optionally followed by /step. It returns a message saying what is wrong,
// or "".
func parseList(f field, s string) (bitset, string) {
	var set bitset
	if s == "" {
		return set, "The " + f.name + " field is empty"
	}
	if strings.Contains(s, "?") {
		return set, "? is allowed only in day-of-month and day-of-week, alone"
	}
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			return set, "Empty item in the " + f.name + " list"
		}
		rng, stepStr, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			if f.maxStep == 0 {
				return set, "The / wildcard is not allowed in " + f.name
			}
			if !allDigits(stepStr) {
				return set, "The increment after / in " + f.name + " must be a number, as in 0/15"
			}
			n, err := strconv.Atoi(stepStr)
			if len(stepStr) > 4 || err != nil || n < 1 || n > f.maxStep {
				return set, "The increment " + stepStr + " in " + f.name + " must be 1-" + strconv.Itoa(f.maxStep)
			}
			step = n
		}
		lo, hi := f.min, f.max
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var msg string
			if lo, msg = parseValue(f, a); msg != "" {
				return set, msg
			}
			switch {
			case isRange:
				if hi, msg = parseValue(f, b); msg != "" {
					return set, msg
				}
			case !hasStep:
				hi = lo
			}
		}
		span := f.max - f.min + 1
		if hi < lo {
			if f.noWrap {
				return set, "The range " + rng + " in " + f.name + " runs backwards"
			}
			hi += span // wraps past the end of the field, as in FRI-MON
		}
		for v := lo; v <= hi; v += step {
			if v > f.max {
				set.set(v - span - f.base)
			} else {
				set.set(v - f.base)
			}
		}
	}
	return set, ""
}

// parseValue parses one number or name of field f.
func parseValue(f field, s string) (int, string) {
	if s == "" {
		return 0, "Missing value in " + f.name
	}
	if allDigits(s) {
		n, err := strconv.Atoi(s)
		if len(s) > 4 || err != nil || n < f.min || n > f.max {
			return 0, "Value " + s + " is out of range for " + f.name + " (" + f.numbered + ")"
		}
		return n, ""
	}
	up := strings.ToUpper(s)
	for i, name := range f.names {
		if up == name {
			return f.min + i, ""
		}
	}
	return 0, "Unknown value " + strconv.Quote(s) + " in " + f.name + " (" + f.numbered + ")"
}

// weekday returns 0 for Sunday … 6 for Saturday.
func weekday(y, mo, d int) int {
	return int(time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Weekday())
}

// dayMask returns the days (bits 1-31) of month mo of year y that match.
func (c *cronExpr) dayMask(y, mo int) uint64 {
	ld := daysIn(y, mo)
	switch c.kind {
	case domList:
		return c.days & (1<<(ld+1) - 1)
	case domLast:
		return 1 << ld
	case domLastWeekday:
		d := ld
		switch weekday(y, mo, ld) {
		case 6:
			d--
		case 0:
			d -= 2
		}
		return 1 << d
	case domNearestWeekday:
		d := c.n
		if d > ld {
			return 0 // like a plain day 31: months without it do not fire
		}
		switch weekday(y, mo, d) {
		case 6: // Saturday: Friday, or Monday when Friday is in the month before
			if d == 1 {
				d = 3
			} else {
				d--
			}
		case 0: // Sunday: Monday, or Friday when Monday is in the month after
			if d == ld {
				d -= 2
			} else {
				d++
			}
		}
		return 1 << d
	case dowList:
		var m uint64
		w := weekday(y, mo, 1)
		for d := 1; d <= ld; d++ {
			if c.days&(1<<(w+1)) != 0 {
				m |= 1 << d
			}
			if w++; w == 7 {
				w = 0
			}
		}
		return m
	case dowLast:
		want := c.n - 1
		return 1 << (ld - (weekday(y, mo, ld)-want+7)%7)
	default: // dowNth
		want := c.n - 1
		d := 1 + (want-weekday(y, mo, 1)+7)%7 + 7*(c.k-1)
		if d > ld {
			return 0
		}
		return 1 << d
	}
}

// Next searches wall-clock times field by field, from the year down to the
// minute, jumping to the next allowed value of each field instead of stepping
// minute by minute; each candidate is then placed on the time line of the
// location, skipping wall-clock times that do not exist and keeping only the
// first instant of those that occur twice.
func (c *cronExpr) Next(t time.Time) (time.Time, bool) {
	lt := t.In(c.loc)
	y, m, d := lt.Date()
	mo := int(m)
	h, mi, _ := lt.Clock()
	mi++ // strictly after t: firings are at second 0
	if y < minYear {
		y, mo, d, h, mi = minYear, 1, 1, 0, 0
	}
	// Each pass moves at least one field forward; the bound only guards
	// against a mistake turning into an endless loop.
	for range 1 << 20 {
		if mi > 59 {
			h, mi = h+1, 0
		}
		if h > 23 {
			d, h, mi = d+1, 0, 0
		}
		if mo > 12 {
			y, mo, d, h, mi = y+1, 1, 1, 0, 0
		}
		if y > maxYear {
			return time.Time{}, false
		}
		ny := c.years.next(y-minYear) + minYear
		if ny < minYear {
			return time.Time{}, false
		}
		if ny != y {
			y, mo, d, h, mi = ny, 1, 1, 0, 0
		}
		nm := c.months.next(mo)
		if nm < 0 {
			y, mo, d, h, mi = y+1, 1, 1, 0, 0
			continue
		}
		if nm != mo {
			mo, d, h, mi = nm, 1, 0, 0
		}
		nd := -1
		if d <= 31 {
			if days := c.dayMask(y, mo) >> d; days != 0 {
				nd = d + bits.TrailingZeros64(days)
			}
		}
		if nd < 0 {
			mo, d, h, mi = mo+1, 1, 0, 0
			continue
		}
		if nd != d {
			d, h, mi = nd, 0, 0
		}
		nh := c.hours.next(h)
		if nh < 0 {
			d, h, mi = d+1, 0, 0
			continue
		}
		if nh != h {
			h, mi = nh, 0
		}
		nmi := c.minutes.next(mi)
		if nmi < 0 {
			h, mi = h+1, 0
			continue
		}
		mi = nmi
		if at, _, ok := resolve(c.loc, y, mo, d, h, mi, 0); ok && at.After(t) {
			return at, true
		}
		mi++
	}
	return time.Time{}, false
}
