package expr

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// maxLen is AWS's length limit for ScheduleExpression (Scheduler and rules).
const maxLen = 256

// maxUnix bounds computed firing times far beyond any real schedule, so that
// arithmetic on them cannot overflow time.Time.
const maxUnix = 1 << 62

// Parse parses a rate(), cron() or at() expression. See the package
// documentation for the syntax accepted and how firings are computed.
// Errors are *fault.Error of Kind Invalid whose message starts as AWS's does
// ("Invalid Schedule Expression cron(0 10 * * * *).") and then says what is
// wrong.
func Parse(expr string, opts ParseOptions) (Expression, error) {
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	switch {
	case expr == "":
		return nil, invalid(expr, "The expression is empty; expected rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)")
	case len(expr) > maxLen:
		return nil, invalid(expr, "The expression is longer than %d characters", maxLen)
	}
	kind, inner, err := split(expr)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "rate":
		return parseRate(expr, inner, opts)
	case "cron":
		return parseCron(expr, inner, loc)
	default: // "at"
		if !opts.AllowAt {
			return nil, invalid(expr, "at() is accepted only by EventBridge Scheduler schedules, not by rules")
		}
		return parseAt(expr, inner, loc)
	}
}

// split checks the kind(…) envelope and returns the kind and what is between
// the parentheses.
func split(expr string) (kind, inner string, err error) {
	open := strings.IndexByte(expr, '(')
	if open < 0 {
		return "", "", invalid(expr, "Expected rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)")
	}
	kind = expr[:open]
	switch kind {
	case "rate", "cron", "at":
	default:
		return "", "", invalid(expr, "Expected rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)")
	}
	if !strings.HasSuffix(expr, ")") {
		return "", "", invalid(expr, "The expression must end with ) and nothing after it")
	}
	inner = expr[open+1 : len(expr)-1]
	if i := strings.IndexAny(inner, "()"); i >= 0 {
		return "", "", invalid(expr, "Unexpected %q inside %s()", inner[i], kind)
	}
	if inner == "" {
		return "", "", invalid(expr, "Nothing between the parentheses of %s()", kind)
	}
	if inner[0] == ' ' || inner[len(inner)-1] == ' ' {
		return "", "", invalid(expr, "Spaces just inside the parentheses are not allowed")
	}
	return kind, inner, nil
}

// invalid builds the error AWS would give, followed by what is wrong.
func invalid(expr, format string, args ...any) *fault.Error {
	return fault.New(fault.Invalid, "Invalid Schedule Expression %s. %s.", display(expr), fmt.Sprintf(format, args...))
}

// display keeps echoed input short and printable: the input is arbitrary.
func display(expr string) string {
	if expr == "" {
		return `""`
	}
	printable := true
	for i := 0; i < len(expr); i++ {
		if expr[i] < 0x20 || expr[i] >= 0x7f {
			printable = false
			break
		}
	}
	if len(expr) > maxLen {
		expr = expr[:maxLen] + "..."
	}
	if !printable {
		return strconv.QuoteToASCII(expr)
	}
	return expr
}

// fields splits on runs of spaces; split has ruled out leading and trailing ones.
func fields(inner string) []string {
	return strings.FieldsFunc(inner, func(r rune) bool { return r == ' ' })
}

type rateExpr struct {
	src    string
	period int64 // seconds
	anchor time.Time
	loc    *time.Location
}

var rateUnits = map[string]struct {
	seconds int64
	plural  bool
	base    string
}{
	"second":  {1, false, "second"},
	"seconds": {1, true, "second"},
	"minute":  {60, false, "minute"},
	"minutes": {60, true, "minute"},
	"hour":    {3600, false, "hour"},
	"hours":   {3600, true, "hour"},
	"day":     {86400, false, "day"},
	"days":    {86400, true, "day"},
}

func parseRate(expr, inner string, opts ParseOptions) (Expression, error) {
	f := fields(inner)
	if len(f) != 2 {
		return nil, invalid(expr, "rate() takes a value and a unit separated by a space, as in rate(5 minutes)")
	}
	value, unitName := f[0], f[1]
	if !allDigits(value) {
		return nil, invalid(expr, "The rate value %q is not a positive integer", value)
	}
	unit, ok := rateUnits[unitName]
	if ok && unit.seconds == 1 && !opts.AllowSeconds {
		ok = false
	}
	if !ok {
		units := "minute(s), hour(s) or day(s)"
		if opts.AllowSeconds {
			units = "second(s), minute(s), hour(s) or day(s)"
		}
		return nil, invalid(expr, "Unknown rate unit %q; use %s", unitName, units)
	}
	trimmed := strings.TrimLeft(value, "0")
	// Every accepted period fits a time.Duration; longer values are refused
	// before they can overflow.
	limit := int64(math.MaxInt64/int64(time.Second)) / unit.seconds
	n, err := strconv.ParseInt(trimmed, 10, 64)
	if trimmed != "" && (err != nil || n > limit) {
		return nil, invalid(expr, "The rate value %s is too large; at most %d %ss", value, limit, unit.base)
	}
	switch {
	case n <= 0:
		return nil, invalid(expr, "The rate value must be a positive integer")
	case n == 1 && unit.plural:
		return nil, invalid(expr, "Use the singular unit %s when the value is 1", unit.base)
	case n > 1 && !unit.plural:
		return nil, invalid(expr, "Use the plural unit %ss when the value is greater than 1", unit.base)
	}
	anchor := opts.Anchor
	if anchor.IsZero() {
		anchor = time.Unix(0, 0)
	}
	loc := opts.Location
	if loc == nil {
		loc = time.UTC
	}
	return &rateExpr{src: expr, period: n * unit.seconds, anchor: anchor, loc: loc}, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (r *rateExpr) String() string { return r.src }
func (r *rateExpr) OneTime() bool  { return false }

// Next is O(1): it computes the number of whole periods since the anchor
// from whole seconds, which neither overflows nor loops for far-off times.
func (r *rateExpr) Next(t time.Time) (time.Time, bool) {
	if t.Before(r.anchor) {
		return r.anchor.In(r.loc), true
	}
	as, an := r.anchor.Unix(), r.anchor.Nanosecond()
	ts, tn := t.Unix(), t.Nanosecond()
	if as < 0 && ts > math.MaxInt64+as {
		return time.Time{}, false
	}
	elapsed := ts - as // whole seconds, floored below
	if tn < an {
		elapsed--
	}
	k := elapsed/r.period + 1
	if as > maxUnix || k > (maxUnix-as)/r.period {
		return time.Time{}, false
	}
	return time.Unix(as+k*r.period, int64(an)).In(r.loc), true
}

type atExpr struct {
	src string
	at  time.Time
}

func (a *atExpr) String() string { return a.src }
func (a *atExpr) OneTime() bool  { return true }

func (a *atExpr) Next(t time.Time) (time.Time, bool) {
	if a.at.After(t) {
		return a.at, true
	}
	return time.Time{}, false
}

func parseAt(expr, inner string, loc *time.Location) (Expression, error) {
	const layout = "yyyy-mm-ddThh:mm:ss"
	bad := func() error {
		return invalid(expr, "at() takes a local date and time as yyyy-mm-ddThh:mm:ss, as in at(2022-11-20T13:00:00)")
	}
	if len(inner) != len(layout) {
		return nil, bad()
	}
	for i := 0; i < len(layout); i++ {
		switch c := inner[i]; layout[i] {
		case '-', 'T', ':':
			if c != layout[i] {
				return nil, bad()
			}
		default:
			if c < '0' || c > '9' {
				return nil, bad()
			}
		}
	}
	num := func(i, n int) int {
		v, _ := strconv.Atoi(inner[i : i+n])
		return v
	}
	y, mo, d, h, mi, s := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	switch {
	case mo < 1 || mo > 12:
		return nil, invalid(expr, "Month %02d is out of range (01-12)", mo)
	case d < 1 || d > daysIn(y, mo):
		return nil, invalid(expr, "Day %02d is out of range for %04d-%02d (01-%02d)", d, y, mo, daysIn(y, mo))
	case h > 23:
		return nil, invalid(expr, "Hour %02d is out of range (00-23)", h)
	case mi > 59:
		return nil, invalid(expr, "Minute %02d is out of range (00-59)", mi)
	case s > 59:
		return nil, invalid(expr, "Second %02d is out of range (00-59)", s)
	}
	first, shifted, ok := resolve(loc, y, mo, d, h, mi, s)
	if !ok {
		first = shifted
	}
	return &atExpr{src: expr, at: first}, nil
}

// daysIn returns the number of days of month mo (1-12) of year y, proleptic Gregorian.
func daysIn(y, mo int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// resolve maps a wall-clock time of loc to the first instant showing it. When
// the wall-clock time does not exist (clocks jumped over it), ok is false and
// shifted is the instant it would have been with the offset in force before
// the jump, that is the wall-clock time moved forward by the gap.
//
// It walks the zone's periods around the civil time (ZoneBounds), so it does
// not depend on how time.Date picks among ambiguous or missing times.
func resolve(loc *time.Location, y, mo, d, h, mi, s int) (first, shifted time.Time, ok bool) {
	u := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC).Unix()
	// Offsets stay within ±26h, so every instant showing this civil time lies
	// in the window, and periods are visited in chronological order.
	const window = 26 * 3600
	p := time.Unix(u-window, 0).In(loc)
	var before int64
	haveBefore := false
	for range 64 { // zones change offset a few times a year at most
		_, off := p.Zone()
		start, end := p.ZoneBounds()
		cand := u - int64(off)
		afterStart := start.IsZero() || cand >= start.Unix()
		beforeEnd := end.IsZero() || cand < end.Unix()
		if afterStart && beforeEnd {
			return time.Unix(cand, 0).In(loc), time.Time{}, true
		}
		if !beforeEnd {
			before, haveBefore = cand, true
		}
		if end.IsZero() || end.Unix() > u+window {
			break
		}
		p = end.In(loc)
	}
	if !haveBefore {
		// Unreachable for real zones; fall back on time.Date's choice.
		return time.Time{}, time.Date(y, time.Month(mo), d, h, mi, s, 0, loc), false
	}
	return time.Time{}, time.Unix(before, 0).In(loc), false
}
