package runtime

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bareInstance is an instance without a process: its Runtime API is driven
// by the test as a runtime would.
func bareInstance(tb testing.TB, p *Pool) (*Pool, *instance) {
	tb.Helper()
	if p == nil {
		p, _ = newTestPool(tb, Options{MaxResponseSize: 1 << 10})
	}
	spec := specFor("bare", nil, nil)
	spec.Timeout = time.Hour
	p.mu.Lock()
	in := p.newInstanceLocked(p.groupLocked(spec), false)
	p.mu.Unlock()
	in.started = time.Now()
	p.initializing.Add(1)
	tb.Cleanup(func() { in.die("test over") })
	return p, in
}

// recorded is the answer to one request (Code 0: the connection closed
// without one, as a dismissed /next does).
type recorded struct {
	Code int
	hdr  http.Header
	Body *bytes.Buffer
}

func (r *recorded) Header() http.Header { return r.hdr }

// do sends one request to the instance's Runtime API as bytes on a
// connection. A /next that finds nothing to hand out returns at once.
func do(in *instance, method, path string, body []byte, hdr map[string]string) *recorded {
	var raw bytes.Buffer
	raw.WriteString(method + " " + path + " HTTP/1.1\r\nHost: x\r\n")
	for k, v := range hdr {
		clean := strings.NewReplacer("\r", " ", "\n", " ").Replace
		if strings.EqualFold(k, "Content-Length") || strings.EqualFold(k, "Transfer-Encoding") {
			continue
		}
		raw.WriteString(clean(k) + ": " + clean(v) + "\r\n")
	}
	raw.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	raw.Write(body)
	return serveRaw(in, raw.Bytes())
}

// serveRaw feeds raw bytes to the instance's Runtime API and returns the
// last answer.
func serveRaw(in *instance, raw []byte) *recorded {
	var out bytes.Buffer
	gone := make(chan struct{})
	close(gone)
	bw := bufio.NewWriter(&out)
	(&apiServer{in: in}).serveStream(bufio.NewReader(bytes.NewReader(raw)), bw, gone)
	bw.Flush()
	rec := &recorded{hdr: http.Header{}, Body: &bytes.Buffer{}}
	br := bufio.NewReader(&out)
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return rec
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 200 {
			rec.Code, rec.hdr, rec.Body = resp.StatusCode, resp.Header, bytes.NewBuffer(b)
		}
	}
}

func newCall(payload string) *call {
	return &call{inv: &Invocation{Payload: []byte(payload)}, id: newUUID(), done: make(chan struct{}, 1)}
}

const (
	pathNext      = "/2018-06-01/runtime/invocation/next"
	pathInitError = "/2018-06-01/runtime/init/error"
)

func pathResult(id, kind string) string { return "/2018-06-01/runtime/invocation/" + id + "/" + kind }

// TestRuntimeAPIStates walks the state machine through the API and checks
// each answer, including the 403s and 400s for illegal calls.
func TestRuntimeAPIStates(t *testing.T) {
	t.Parallel()
	_, in := bareInstance(t, nil)
	status := func(w *recorded, want int, what string) {
		t.Helper()
		if w.Code != want {
			t.Fatalf("%s: status %d, want %d (%s)", what, w.Code, want, w.Body)
		}
	}
	status(do(in, "POST", pathResult("nope", "response"), nil, nil), 400, "response before init")
	status(do(in, "GET", "/2018-06-01/runtime/unknown", nil, nil), 404, "unknown path")
	status(do(in, "POST", pathNext, nil, nil), 405, "POST /next")

	// The first /next ends init; nothing is pending, so it returns.
	status(do(in, "GET", pathNext, nil, nil), 0, "first /next (no event: the runtime went away)")
	select {
	case <-in.ready:
	default:
		t.Fatal("init did not end at the first /next")
	}
	status(do(in, "POST", pathInitError, []byte(`{}`), nil), 403, "init/error after init")

	c := newCall(`{"a":1}`)
	c.inv.ClientContext = `{"custom":{"k":"v"}}`
	c.inv.TraceID = "Root=1-abc"
	if !in.assign(c, false) {
		t.Fatal("assign to an idle instance failed")
	}
	w := do(in, "GET", pathNext, nil, nil)
	status(w, 200, "/next with an event")
	h := w.Header()
	if h.Get(hdrRequestID) != c.id || h.Get(hdrTraceID) != "Root=1-abc" || h.Get(hdrClientContext) != `{"custom":{"k":"v"}}` ||
		h.Get("Content-Type") != "application/json" || w.Body.String() != `{"a":1}` || h.Get(hdrFunctionARN) != in.grp.arn {
		t.Errorf("event headers %v body %s", h, w.Body)
	}
	if _, ok := h[hdrCognitoIdentity]; ok {
		t.Error("Cognito identity header without one")
	}
	if ms, err := strconv.ParseInt(h.Get(hdrDeadline), 10, 64); err != nil || ms < time.Now().UnixMilli() {
		t.Errorf("deadline %q", h.Get(hdrDeadline))
	}
	status(do(in, "GET", pathNext, nil, nil), 403, "/next while invoking")
	status(do(in, "POST", pathResult("other", "response"), []byte("x"), nil), 400, "response for another id")
	status(do(in, "POST", pathResult(c.id, "response"), []byte("x"), map[string]string{hdrResponseMode: "buffered"}), 400, "bad response mode")
	w = do(in, "POST", pathResult(c.id, "response"), []byte(`"ok"`), map[string]string{"Content-Type": "application/json"})
	status(w, 202, "response")
	if w.Body.String() != `{"status":"OK"}` {
		t.Errorf("202 body %s", w.Body)
	}
	<-c.done
	if string(c.res.Payload) != `"ok"` || c.res.FunctionError != "" || c.res.ContentType != "application/json" {
		t.Errorf("result %+v", c.res)
	}
	status(do(in, "POST", pathResult(c.id, "response"), []byte("x"), nil), 403, "second response")
	status(do(in, "POST", pathResult(c.id, "error"), []byte("x"), nil), 403, "error after response")

	// An error, with its type in the header.
	c = newCall(`{}`)
	in.assign(c, false)
	status(do(in, "GET", pathNext, nil, nil), 200, "/next")
	doc := `{"errorMessage":"bad","errorType":"MyError","stackTrace":["a"]}`
	status(do(in, "POST", pathResult(c.id, "error"), []byte(doc), map[string]string{hdrErrorType: "MyError"}), 202, "error")
	<-c.done
	if string(c.res.Payload) != doc || c.res.ErrorType != "MyError" || c.res.FunctionError != "Unhandled" {
		t.Errorf("error result %+v", c.res)
	}

	// An oversize response: 413 to the runtime, an error to the caller.
	c = newCall(`{}`)
	in.assign(c, false)
	status(do(in, "GET", pathNext, nil, nil), 200, "/next")
	w = do(in, "POST", pathResult(c.id, "response"), bytes.Repeat([]byte("x"), 2000), nil)
	status(w, 413, "oversize response")
	if !strings.Contains(w.Body.String(), "RequestEntityTooLarge") {
		t.Errorf("413 body %s", w.Body)
	}
	<-c.done
	if c.res.ErrorType != typeResponseTooLarge {
		t.Errorf("oversize result %+v", c.res)
	}
	if err := in.checkInvariants(); err != "" {
		t.Fatal(err)
	}

	// Extensions and telemetry are stubbed.
	w = do(in, "POST", "/2020-01-01/extension/register", []byte(`{"events":[]}`), map[string]string{hdrExtensionName: "GoLangEnableSIGTERM"})
	status(w, 200, "extension register")
	if w.Header().Get(hdrExtensionID) == "" || !strings.Contains(w.Body.String(), `"functionName":"bare"`) {
		t.Errorf("register: %v %s", w.Header(), w.Body)
	}
	status(do(in, "PUT", "/2022-07-01/telemetry", []byte(`{}`), nil), 200, "telemetry subscription")
	status(do(in, "PUT", "/2020-08-15/logs", []byte(`{}`), nil), 200, "logs subscription")
	status(do(in, "POST", "/2020-01-01/extension/exit/error", []byte(`{}`), nil), 202, "extension exit error")
}

// TestInitErrorState: /init/error before the first /next, then the pending
// event gets the document.
func TestInitErrorState(t *testing.T) {
	t.Parallel()
	_, in := bareInstance(t, nil)
	c := newCall(`{}`)
	if !in.assign(c, true) {
		t.Fatal("cold assign failed")
	}
	doc := `{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}`
	if w := do(in, "POST", pathInitError, []byte(doc), map[string]string{hdrErrorType: "Runtime.ImportModuleError"}); w.Code != 202 {
		t.Fatalf("init/error: %d %s", w.Code, w.Body)
	}
	if w := do(in, "GET", pathNext, nil, nil); w.Code != 500 {
		t.Errorf("/next after init/error: %d", w.Code)
	}
	in.die("exit status 1")
	<-c.done
	if string(c.res.Payload) != doc || c.res.ErrorType != "Runtime.ImportModuleError" || c.res.InitDuration <= 0 {
		t.Errorf("result %+v %s", c.res, c.res.Payload)
	}
}

// TestStreamingResponse posts a streamed (chunked) response over HTTP, then
// one that fails half-way with the error in trailers, as aws-lambda-go does.
func TestStreamingResponse(t *testing.T) {
	t.Parallel()
	p, in := bareInstance(t, nil)
	p.maxResponse = DefaultMaxResponseSize
	api, err := newAPIServer(in)
	if err != nil {
		t.Fatal(err)
	}
	in.api = api
	go api.serve()
	base := "http://" + api.addr()
	client := &http.Client{}
	do(in, "GET", pathNext, nil, nil) // end of init

	roundTrip := func(c *call, body io.Reader, trailer http.Header) *Result {
		t.Helper()
		if !in.assign(c, false) {
			t.Fatal("assign failed")
		}
		resp, err := client.Get(base + pathNext)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get(hdrRequestID) != c.id {
			t.Fatalf("/next: %d %v", resp.StatusCode, resp.Header)
		}
		req, _ := http.NewRequest("POST", base+pathResult(c.id, "response"), body)
		req.Header.Set(hdrResponseMode, "streaming")
		req.Header.Set("Content-Type", "application/vnd.awslambda.http-integration-response")
		req.Trailer = trailer
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 202 {
			t.Fatalf("streamed response: %d", resp.StatusCode)
		}
		<-c.done
		return c.res
	}

	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"statusCode":200}`))
		pw.Write(make([]byte, 8))
		time.Sleep(10 * time.Millisecond)
		pw.Write([]byte("chunk two"))
		pw.Close()
	}()
	res := roundTrip(newCall(`{}`), pr, nil)
	if res.FunctionError != "" || string(res.Payload) != "{\"statusCode\":200}\x00\x00\x00\x00\x00\x00\x00\x00chunk two" ||
		res.ContentType != "application/vnd.awslambda.http-integration-response" {
		t.Errorf("streamed result %+v %q", res, res.Payload)
	}

	doc := `{"errorMessage":"stream broke","errorType":"StreamError"}`
	trailer := http.Header{hdrErrorType: nil, hdrErrorBody: nil}
	pr, pw = io.Pipe()
	go func() {
		pw.Write([]byte("partial"))
		trailer.Set(hdrErrorType, "StreamError")
		trailer.Set(hdrErrorBody, base64.StdEncoding.EncodeToString([]byte(doc)))
		pw.Close()
	}()
	res = roundTrip(newCall(`{}`), pr, trailer)
	if res.FunctionError != "Unhandled" || res.ErrorType != "StreamError" || string(res.Payload) != doc {
		t.Errorf("mid-stream error: %+v %s", res, res.Payload)
	}
}

// FuzzRuntimeAPI sends random sequences of calls (methods, paths, ids,
// headers, bodies) interleaved with assignments, timeouts and kills: the
// handlers never panic, a call is answered at most once, and the lifecycle
// invariants hold after every step.
func FuzzRuntimeAPI(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 1, 3, 4, 5, 6, 7})
	f.Add([]byte{4, 1, 0, 1, 2, 2, 3, 1})
	f.Add([]byte{0, 0, 1, 1, 6, 2, 9, 8, 1})
	f.Add([]byte("\x01\x00\x01\x02\x05/2018-06-01/runtime/invocation/x/response\x00"))
	methods := []string{"GET", "POST", "PUT", "DELETE", "HEAD"}
	paths := []string{pathNext, pathInitError, "/2018-06-01/runtime/invocation//response", "/2018-06-01/runtime/restore/next",
		"/2020-01-01/extension/register", "/2020-01-01/extension/init/error", "/2022-07-01/telemetry", "/ping", "/", "/2018-06-01/runtime/invocation/next/x"}
	headers := []string{hdrErrorType, hdrResponseMode, "Content-Type", "Content-Length", "Transfer-Encoding", hdrErrorBody}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, in := bareInstance(t, nil)
		var calls []*call
		answered := map[*call]int{}
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		chunk := func() []byte {
			n := int(next()) % 16
			n = min(n, len(data))
			b := data[:n]
			data = data[n:]
			return b
		}
		for steps := 0; len(data) > 0 && steps < 64; steps++ {
			switch next() % 10 {
			case 0:
				c := newCall(string(chunk()))
				if in.assign(c, next()%2 == 0) {
					calls = append(calls, c)
				}
			case 1:
				do(in, "GET", pathNext, nil, nil)
			case 2, 3:
				id := "unknown"
				if len(calls) > 0 && next()%4 != 0 {
					id = calls[int(next())%len(calls)].id
				}
				kind := "response"
				if next()%2 == 0 {
					kind = "error"
				}
				hdr := map[string]string{}
				if next()%2 == 0 {
					hdr[headers[int(next())%len(headers)]] = string(chunk())
				}
				body := chunk()
				if next()%8 == 0 {
					body = bytes.Repeat([]byte("x"), int(p.maxResponse)+1)
				}
				do(in, "POST", pathResult(id, kind), body, hdr)
			case 4:
				do(in, "POST", pathInitError, chunk(), map[string]string{hdrErrorType: string(chunk())})
			case 5:
				path := strings.Map(func(r rune) rune {
					if r < '!' || r > '~' || r == '#' || r == '?' || r == '%' {
						return 'x'
					}
					return r
				}, paths[int(next())%len(paths)]+string(chunk()))
				do(in, methods[int(next())%len(methods)], path, chunk(), map[string]string{headers[int(next())%len(headers)]: "v"})
			case 6:
				in.mu.Lock()
				if c := in.cur; c != nil {
					c.deadline = time.Now().Add(-time.Millisecond)
				}
				in.mu.Unlock()
				in.onTimeout()
			case 7:
				if len(calls) > 0 {
					in.withdraw(calls[int(next())%len(calls)])
				}
			case 8:
				in.kill("fuzz", false)
			case 9:
				in.onInitTimeout()
			}
			if msg := in.checkInvariants(); msg != "" {
				t.Fatalf("step %d: %s", steps, msg)
			}
			for _, c := range calls {
				select {
				case <-c.done:
					answered[c]++
					if c.retry {
						c.finished.Store(false) // as Invoke does before retrying
					}
				default:
				}
				if answered[c] > 1 && !c.retry {
					t.Fatalf("call %s answered twice", c.id)
				}
			}
		}
		in.die("fuzz over")
		for _, c := range calls {
			select {
			case <-c.done:
				answered[c]++
			default:
			}
		}
		// After death every call that reached the instance has an answer:
		// a result or a retry (withdrawn ones excepted).
		for _, c := range calls {
			if answered[c] == 0 && in.pending == c {
				t.Errorf("call %s left pending on a dead instance", c.id)
			}
		}
	})
}

// TestLogLines: lines are split at newlines and at maxLogLine, a partial
// line is kept until its end, and attribution follows the invocation.
func TestLogLines(t *testing.T) {
	t.Parallel()
	p, in := bareInstance(t, nil)
	sink := p.sink.(*logSink)
	s := &logStream{in: in}
	in.lmu.Lock()
	in.reqID = "req-1"
	s.consumeLocked([]byte("one\ntw"))
	s.consumeLocked([]byte("o\r\nthree"))
	in.reqID = ""
	s.consumeLocked([]byte(" continued\n"))
	long := bytes.Repeat([]byte("x"), maxLogLine+10)
	s.consumeLocked(append(long, '\n'))
	in.lmu.Unlock()
	got := sink.all()
	if len(got) != 5 {
		t.Fatalf("%d lines", len(got))
	}
	want := []struct{ id, line string }{{"req-1", "one"}, {"req-1", "two"}, {"", "three continued"}}
	for i, w := range want {
		if got[i].RequestID != w.id || got[i].Line != w.line {
			t.Errorf("line %d: %q %q, want %q %q", i, got[i].RequestID, got[i].Line, w.id, w.line)
		}
	}
	if len(got[3].Line) != maxLogLine || got[4].Line != strings.Repeat("x", 10) {
		t.Errorf("long line split into %d + %d bytes", len(got[3].Line), len(got[4].Line))
	}
}

// FuzzRuntimeAPIParse feeds arbitrary bytes to the Runtime API's HTTP
// reader: it never panics, never hangs, and leaves the instance consistent.
func FuzzRuntimeAPIParse(f *testing.F) {
	f.Add([]byte("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type\r\n\r\n5\r\nhello\r\n0\r\nLambda-Runtime-Function-Error-Type: X\r\n\r\n"))
	f.Add([]byte("POST /2018-06-01/runtime/init/error HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n{}GET /ping HTTP/1.1\r\n\r\n"))
	f.Add([]byte("PUT /2022-07-01/telemetry HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}\n"))
	pool, _ := newTestPool(f, Options{MaxResponseSize: 1 << 10})
	f.Fuzz(func(t *testing.T, raw []byte) {
		_, in := bareInstance(t, pool)
		c := newCall(`{}`)
		c.id = "abc"
		in.assign(c, true)
		serveRaw(in, raw)
		if msg := in.checkInvariants(); msg != "" {
			t.Fatal(msg)
		}
	})
}

// chunkedResponse posts a raw chunked body to /response for a fresh
// invocation and returns the answer and the result.
func chunkedResponse(t *testing.T, in *instance, chunks []byte) (*recorded, *Result) {
	t.Helper()
	c := newCall(`{}`)
	if !in.assign(c, false) {
		t.Fatal("assign failed")
	}
	if w := do(in, "GET", pathNext, nil, nil); w.Code != 200 {
		t.Fatalf("/next: %d", w.Code)
	}
	raw := []byte("POST " + pathResult(c.id, "response") + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	w := serveRaw(in, append(raw, chunks...))
	if w.Code != 202 && w.Code != 413 {
		return w, nil // refused: the invocation stays open
	}
	select {
	case <-c.done:
		return w, c.res
	case <-time.After(5 * time.Second):
		return w, nil
	}
}

// TestChunkSizeOverflow: chunk sizes whose sum overflows int64 are refused
// as too large, not buffered without limit.
func TestChunkSizeOverflow(t *testing.T) {
	t.Parallel()
	_, in := bareInstance(t, nil) // MaxResponseSize 1 KiB
	do(in, "GET", pathNext, nil, nil)
	body := append([]byte("1\r\nx\r\n7fffffffffffffff\r\n"), bytes.Repeat([]byte("y"), 4000)...)
	w, res := chunkedResponse(t, in, body)
	if w.Code != 413 || res == nil || res.ErrorType != typeResponseTooLarge {
		t.Fatalf("overflowing chunk sizes: %d %+v", w.Code, res)
	}
}

// TestManySmallChunks: a response streamed as very many small chunks is not
// refused for the size of its framing; a huge chunk-size line still is.
func TestManySmallChunks(t *testing.T) {
	t.Parallel()
	p, in := bareInstance(t, nil)
	p.maxResponse = 4 << 20
	do(in, "GET", pathNext, nil, nil)
	const n = 600_000 // 3 MB of framing, more than maxHeaderBytes
	var body bytes.Buffer
	for range n {
		body.WriteString("4\r\nabcd\r\n")
	}
	body.WriteString("0\r\n\r\n")
	w, res := chunkedResponse(t, in, body.Bytes())
	if w.Code != 202 || res == nil || res.FunctionError != "" || len(res.Payload) != 4*n {
		t.Fatalf("many small chunks: status %d, result %v", w.Code, res != nil)
	}

	long := append(bytes.Repeat([]byte("0"), maxChunkLineBytes+10), "1\r\nx\r\n0\r\n\r\n"...)
	if w, _ := chunkedResponse(t, in, long); w.Code != 400 {
		t.Fatalf("overlong chunk-size line: %d", w.Code)
	}
}
