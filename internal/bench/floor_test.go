package bench

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// The floor's Runtime API answers what aws-lambda-go sends: /next with the
// event, /response and /error with 202 whatever the body's framing, and
// counts only responses.
func TestServeFloor(t *testing.T) {
	client, server := net.Pipe()
	var responses atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		serveFloor(server, &responses)
	}()
	br := bufio.NewReader(client)
	exchange := func(raw string) *http.Response {
		t.Helper()
		go client.Write([]byte(raw))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no answer to %q: %v", raw, err)
		}
		var body strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&body)
		resp.Body.Close()
		resp.Header.Set("X-Body", body.String())
		return resp
	}
	next := exchange("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
	if next.StatusCode != 200 || next.Header.Get("Lambda-Runtime-Aws-Request-Id") == "" || next.Header.Get("X-Body") != echoBody {
		t.Fatalf("/next answered %d %v", next.StatusCode, next.Header)
	}
	for _, raw := range []string{
		"POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{\"a\"}",
		"POST /2018-06-01/runtime/invocation/id/response HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2;ext=1\r\n\"}\r\n0\r\nTrailer: v\r\n\r\n",
		"POST /2018-06-01/runtime/invocation/id/error HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
	} {
		if r := exchange(raw); r.StatusCode != 202 {
			t.Fatalf("%q answered %d", raw, r.StatusCode)
		}
	}
	if n := responses.Load(); n != 2 {
		t.Errorf("%d responses counted, want 2 (an /error is not one)", n)
	}
	// A broken chunk size ends the connection.
	go client.Write([]byte("POST /x/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
	<-done
	client.Close()
}
