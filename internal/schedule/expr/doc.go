// Package expr parses and evaluates schedule expressions as EventBridge
// Scheduler and EventBridge rules define them: rate(), cron() with AWS's six
// fields (Sunday is 1; ?, L, W, # and years) and at(), in a time zone.
// It is pure: no I/O, no clock.
//
// # Syntax
//
// The keywords and units are lower case, as AWS writes them; month and day
// names, L and W are case-insensitive. Fields are separated by one or more
// spaces; other white space, spaces just inside the parentheses and anything
// after the closing parenthesis are rejected. An expression is at most 256
// characters (AWS's limit for ScheduleExpression).
//
//	rate(value unit)  value a positive integer; unit minute|minutes|hour|hours|day|days,
//	                  singular only when value is 1 and plural only when it is more
//	                  (AWS rejects rate(1 hours) and rate(5 hour)); with AllowSeconds
//	                  also second|seconds.
//	cron(Minutes Hours Day-of-month Month Day-of-week Year)
//	                  0-59, 0-23, 1-31, 1-12|JAN-DEC, 1-7|SUN-SAT (SUN=1), 1970-2199.
//	                  , - * / in all fields except Day-of-week, which takes , - * ? L #
//	                  but no / (AWS's table). Exactly one of Day-of-month and
//	                  Day-of-week is ? (so * in both is rejected). Day-of-month also
//	                  takes L (last day), LW (last weekday) and nW (weekday nearest
//	                  day n, never crossing into another month; no firing in months
//	                  without day n). Day-of-week also takes L alone (Saturday, the
//	                  last day of the week, as in Quartz), nL (last weekday n of the
//	                  month) and n#k (k-th weekday n, k 1-5); L, W and # stand alone
//	                  in their field. A range whose end is below its start wraps
//	                  (FRI-MON, 22-2), except in Year.
//	at(yyyy-mm-ddThh:mm:ss)
//	                  one time, in Location; only with AllowAt.
//
// # Evaluation
//
// rate() counts absolute time from Anchor (a day is 24 hours, whatever the
// clocks do): the firings are Anchor, Anchor+period, Anchor+2*period, …
// Next(t) for t before Anchor is Anchor itself. EventBridge Scheduler starts
// a rate schedule at once (at creation, or at StartDate when set), so the
// engine takes Anchor as the first firing; an EventBridge rule first fires
// one period after its creation, so the engine asks Next(created).
//
// cron() is evaluated on the wall clock of Location, at second 0 of each
// matching minute. Daylight saving time follows EventBridge Scheduler's
// documented rule: a local time that does not exist (clocks spring forward)
// is skipped, and a local time that occurs twice (clocks fall back) fires once,
// at its first occurrence. Hence cron(0/15 * * * ? *) in America/New_York
// fires at 01:45 EDT and next at 02:00 EST on the day clocks fall back.
//
// at() in a local time that does not exist fires as if the clocks had not yet
// moved (02:30 on a day that skips from 02:00 to 03:00 fires at 03:30, as
// Java's ZonedDateTime resolves it); in a local time that occurs twice it
// fires at the first occurrence.
//
// Parsed expressions are immutable and safe for concurrent use.
package expr

import "time"

// Expression is a parsed schedule expression.
type Expression interface {
	// Next returns the first firing time strictly after t, and false when
	// there is none (an at() in the past, a cron whose years have ended).
	Next(t time.Time) (time.Time, bool)
	// OneTime reports whether the expression fires once (at()).
	OneTime() bool
	// String returns the expression as written.
	String() string
}

// ParseOptions refine Parse.
type ParseOptions struct {
	// Location evaluates cron() and at() (nil = UTC). rate() ignores it.
	Location *time.Location
	// Anchor is the origin of rate() schedules: they fire at Anchor + k*period,
	// k >= 0 (AWS starts counting at creation, or at StartDate when set). The
	// zero Anchor means the Unix epoch, so firings fall on multiples of the
	// period.
	Anchor time.Time
	// AllowSeconds accepts rate(N second|seconds), a Lamina extension that
	// AWS does not accept.
	AllowSeconds bool
	// AllowAt accepts at() (Scheduler only; rules do not).
	AllowAt bool
}
