package telemetry

import "time"

// LogLine is one line a function wrote to stdout/stderr, or that the
// platform wrote on its behalf (START, END, REPORT, timeouts, crashes).
type LogLine struct {
	// Time is when the line was written (zero: Logs stamps it on arrival).
	Time         time.Time `json:"time"`
	FunctionName string    `json:"function"`
	Version      string    `json:"version"`
	// Stream is the instance's log stream name (AWS_LAMBDA_LOG_STREAM_NAME),
	// e.g. "2026/11/22/[$LATEST]0123456789abcdef0123456789abcdef".
	Stream string `json:"stream"`
	// RequestID is the invocation the line belongs to ("" between invocations).
	RequestID string `json:"requestId,omitempty"`
	// Line is the text without its trailing newline.
	Line string `json:"line"`
}

// LogSink receives log lines. WriteLog must not block the caller for I/O:
// implementations buffer and write in the background.
type LogSink interface {
	WriteLog(LogLine)
}
