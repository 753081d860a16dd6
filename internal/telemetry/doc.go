// Package telemetry owns what functions and the platform report about
// themselves: function logs (captured line by line, kept durably in the
// store, queried and followed at once), and later metrics, traces and alarms.
//
// Logs: the runtime hands every line to a LogSink (logline.go); Logs
// (logs.go) is the durable one. WriteLog only appends to a bounded buffer;
// one writer goroutine stores the lines in batches, one store message per
// log stream and flush, and keeps an index of log streams. Queries, follows
// and listings (logs_query.go) read the store directly. names.go lays out
// subjects, index keys and event IDs; filter.go compiles CloudWatch Logs
// filter patterns. The CloudWatch Logs API over all this is in
// internal/awsapi, and `lamina logs` is its client.
package telemetry
