// Package expr parses and evaluates schedule expressions as EventBridge
// Scheduler and EventBridge rules define them: rate(), cron() with AWS's six
// fields (Sunday is 1; ?, L, W, # and years) and at(), in a time zone.
// It is pure: no I/O, no clock.
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
	// Anchor is the origin of rate() schedules: they fire at Anchor + k*period
	// (AWS starts counting at creation, or at StartDate when set).
	Anchor time.Time
	// AllowSeconds accepts rate(N second|seconds), a Lamina extension (the
	// Scheduler API and rules accept it; AWS does not).
	AllowSeconds bool
	// AllowAt accepts at() (Scheduler only; rules do not).
	AllowAt bool
}

// Parse (expr.go) parses an expression:
//
//	func Parse(expr string, opts ParseOptions) (Expression, error)
//
// Errors are *fault.Error of Kind Invalid with a message saying what is wrong
// ("Invalid Schedule Expression cron(...): day-of-month and day-of-week cannot both be specified").
