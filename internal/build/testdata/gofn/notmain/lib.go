// Package notmain is a library: a provided* function pointing here is not
// a Go main package.
package notmain

// Answer is a value.
const Answer = 42
