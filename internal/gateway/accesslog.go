package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// accessRecord is one request's access log line. Attribute names are API
// Gateway's $context variables (requestId, identity.sourceIp as "ip",
// requestTime, httpMethod, routeKey, status, protocol, responseLength,
// responseLatency, integrationLatency, integrationStatus,
// integrationErrorMessage, authorizer.error), so log queries written for
// AWS's access logs read these unchanged.
type accessRecord struct {
	requestID   string
	apiID       string
	stage       string
	ip          string
	start       time.Time
	method      string
	path        string
	routeKey    string
	protocol    string
	integration time.Duration // -1: the integration was not called
	// integrationStatus is the function's statusCode, or 200/500 for how
	// the invocation went when it gave none.
	integrationStatus int
	integrationError  string
	authorizerError   string
}

// logWriter records what was written, for the access log.
type logWriter struct {
	http.ResponseWriter
	status int
	length int64
}

func (w *logWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.length += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logAccess writes rec's line at Info.
func (h *handler) logAccess(ctx context.Context, rec *accessRecord, w *logWriter, end time.Time) {
	if !h.log.Enabled(ctx, slog.LevelInfo) {
		return
	}
	attrs := make([]slog.Attr, 0, 18)
	attrs = append(attrs,
		slog.String("requestId", rec.requestID),
		slog.String("apiId", rec.apiID),
		slog.String("stage", rec.stage),
		slog.String("ip", rec.ip),
		slog.String("requestTime", rec.start.UTC().Format("02/Jan/2006:15:04:05 -0700")),
		slog.String("httpMethod", rec.method),
		slog.String("path", rec.path),
		slog.String("routeKey", rec.routeKey),
		slog.Int("status", w.status),
		slog.String("protocol", rec.protocol),
		slog.Int64("responseLength", w.length),
		slog.Int64("responseLatency", end.Sub(rec.start).Milliseconds()),
	)
	if rec.integration >= 0 {
		attrs = append(attrs,
			slog.Int64("integrationLatency", rec.integration.Milliseconds()),
			slog.Int("integrationStatus", rec.integrationStatus),
		)
	}
	if rec.integrationError != "" {
		attrs = append(attrs, slog.String("integrationErrorMessage", rec.integrationError))
	}
	if rec.authorizerError != "" {
		attrs = append(attrs, slog.String("authorizerError", rec.authorizerError))
	}
	h.log.LogAttrs(ctx, slog.LevelInfo, "gateway request", attrs...)
}
