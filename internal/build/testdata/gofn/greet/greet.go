// Package greet is a sibling package of the sample function: editing it
// must invalidate the function's cached build.
package greet

// Hello greets name.
func Hello(name string) string { return "hello, " + name }
