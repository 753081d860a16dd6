package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lamina-dev/lamina/internal/store"
	"github.com/lamina-dev/lamina/internal/telemetry"
)

// FuzzLogsRequest throws arbitrary targets and bodies at POST / with a
// real log store holding a few lines, and checks the JSON protocol's
// invariants: no panic, a request id on every answer, every error in the
// {"__type","message"} shape with the protocol's content type, and never a
// 5xx.
func FuzzLogsRequest(f *testing.F) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Config{DataDir: f.TempDir(), Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	logs, err := telemetry.NewLogs(ctx, st, telemetry.LogsOptions{Logger: quiet})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { logs.Close(context.Background()) })
	for i, line := range []string{"START", "ERROR one", "END"} {
		logs.WriteLog(telemetry.LogLine{FunctionName: "f", Version: "$LATEST", Stream: "2026/11/22/[$LATEST]s" + string(rune('a'+i%2)), Line: line})
	}
	if err := logs.Sync(ctx); err != nil {
		f.Fatal(err)
	}
	reg := newFakeRegistry()
	api := New(Options{Functions: reg, Logs: logs, Logger: quiet})

	for _, s := range []struct{ target, body string }{
		{"Logs_20140328.DescribeLogGroups", `{}`},
		{"Logs_20140328.DescribeLogGroups", `{"logGroupNamePrefix":"/aws","limit":1,"nextToken":"bzE"}`},
		{"Logs_20140328.DescribeLogStreams", `{"logGroupName":"/aws/lambda/f","orderBy":"LastEventTime","descending":true}`},
		{"Logs_20140328.DescribeLogStreams", `{"logGroupIdentifier":"arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/f:*"}`},
		{"Logs_20140328.GetLogEvents", `{"logGroupName":"/aws/lambda/f","logStreamName":"2026/11/22/[$LATEST]sa","startFromHead":true}`},
		{"Logs_20140328.GetLogEvents", `{"logGroupName":"/aws/lambda/f","logStreamName":"2026/11/22/[$LATEST]sa","nextToken":"b/00000000000000000000000001000000"}`},
		{"Logs_20140328.FilterLogEvents", `{"logGroupName":"/aws/lambda/f","filterPattern":"ERROR -x ?y %a+%","limit":2}`},
		{"Logs_20140328.FilterLogEvents", `{"logGroupName":"/aws/lambda/f","startTime":0,"endTime":9999999999999,"startFromHead":false}`},
		{"Logs_20140328.FilterLogEvents", `{"logGroupName":"/aws/lambda/f","logStreamNamePrefix":"2026","nextToken":"f/00000000000000000000000001000000"}`},
		{"Logs_20140328.PutLogEvents", `{}`},
		{"AmazonSQS.ListQueues", `{}`},
		{"", `Action=ListQueues`},
	} {
		f.Add(s.target, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, target string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", contentTypeJSON11)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if header(rec, "x-amzn-RequestId") == "" {
			t.Fatalf("no request id: %d %s", rec.Code, rec.Body)
		}
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d %s", target, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK || req.Header.Get("X-Amz-Target") == "" {
			return
		}
		var e map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e["__type"] == "" || e["message"] == nil ||
			rec.Header().Get("Content-Type") != contentTypeJSON11 {
			t.Fatalf("%s %q: error %d %q (content type %q)", target, body, rec.Code, rec.Body, rec.Header().Get("Content-Type"))
		}
	})
}
