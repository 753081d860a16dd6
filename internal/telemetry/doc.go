// Package telemetry owns what functions and the platform report about
// themselves: function logs (captured line by line, kept durably in the
// store, queried and followed at once), and later metrics, traces and alarms.
package telemetry
