package runtime

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// The Runtime API (spec A) of one instance: a thin adapter over the
// instance's lifecycle methods. Each instance has its own listener on
// 127.0.0.1:0 and so its own AWS_LAMBDA_RUNTIME_API.
//
// It speaks HTTP/1.1 itself rather than through net/http: the API is a
// handful of fixed requests from a single local client, and net/http's
// per-request work (a goroutine to watch each connection, header maps,
// deadlines) was the largest part of Lamina's cost per warm invocation.
// What a runtime client may send is supported: keep-alive and
// Connection: close, HTTP/1.0, Content-Length and chunked bodies with
// trailers, Expect: 100-continue, and pipelined requests.

const (
	prefixRuntime   = "/2018-06-01/runtime/"
	prefixExtension = "/2020-01-01/extension/"

	hdrRequestID       = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline        = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID         = "Lambda-Runtime-Trace-Id"
	hdrClientContext   = "Lambda-Runtime-Client-Context"
	hdrCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	hdrErrorType       = "Lambda-Runtime-Function-Error-Type"
	hdrErrorBody       = "Lambda-Runtime-Function-Error-Body"
	hdrResponseMode    = "Lambda-Runtime-Function-Response-Mode"
	hdrExtensionName   = "Lambda-Extension-Name"
	hdrExtensionID     = "Lambda-Extension-Identifier"

	maxHeaderBytes = 2 << 20 // X-Ray error causes travel in a header (up to 1 MB)
	// maxChunkLineBytes bounds one chunk-size line (or the CRLF after a
	// chunk's data) of a chunked body. Chunk framing has no cumulative
	// budget: the body-size limit bounds how many chunks there can be.
	maxChunkLineBytes = 64 << 10
)

type apiServer struct {
	in *instance
	ln net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// newAPIServer listens on a fresh loopback port for in.
func newAPIServer(in *instance) (*apiServer, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &apiServer{in: in, ln: ln, conns: map[net.Conn]struct{}{}}, nil
}

func (a *apiServer) addr() string { return a.ln.Addr().String() }

// serve accepts connections until close.
func (a *apiServer) serve() {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			c.Close()
			return
		}
		a.conns[c] = struct{}{}
		a.mu.Unlock()
		go a.serveConn(c)
	}
}

// close stops the listener and closes every connection.
func (a *apiServer) close() {
	a.mu.Lock()
	a.closed = true
	for c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.ln.Close()
}

func (a *apiServer) serveConn(c net.Conn) {
	defer func() {
		a.mu.Lock()
		delete(a.conns, c)
		a.mu.Unlock()
		c.Close()
	}()
	a.serveStream(bufio.NewReaderSize(c, 4096), bufio.NewWriterSize(c, 4096), nil)
}

// serveStream answers the requests read from br until the connection should
// close. A /next waiting for an event gives up when gone is closed (tests
// pass a closed channel; real connections pass nil).
func (a *apiServer) serveStream(br *bufio.Reader, bw *bufio.Writer, gone <-chan struct{}) {
	var req request
	for {
		if err := req.read(br); err != nil {
			if err != io.EOF {
				writeError(bw, &apiError{400, "BadRequest", err.Error()}, true)
				bw.Flush()
			}
			return
		}
		keep := a.handle(&req, br, bw, gone)
		if bw.Flush() != nil || !keep || req.close {
			return
		}
	}
}

// handle routes one request; it reports whether the connection can serve
// another (the request's body was consumed and nothing went wrong).
func (a *apiServer) handle(req *request, br *bufio.Reader, bw *bufio.Writer, gone <-chan struct{}) bool {
	p := req.path
	switch {
	case strings.HasPrefix(p, prefixRuntime):
		return a.runtime(req, br, bw, gone, p[len(prefixRuntime):])
	case strings.HasPrefix(p, prefixExtension):
		return a.extension(req, br, bw, gone, p[len(prefixExtension):])
	case p == "/2022-07-01/telemetry" || p == "/2020-08-15/logs":
		// Telemetry and Logs API subscriptions: accepted, nothing is sent.
		if !req.discardBody(br, bw) {
			return false
		}
		if req.method != "PUT" {
			return writeError(bw, errMethodNotAllowed, req.close)
		}
		writeResponse(bw, 200, "text/plain", nil, []byte("OK"), req.close)
		return true
	case p == "/ping" || p == "/2018-06-01/ping":
		if !req.discardBody(br, bw) {
			return false
		}
		writeResponse(bw, 200, "text/plain", nil, []byte("pong"), req.close)
		return true
	}
	if !req.discardBody(br, bw) {
		return false
	}
	return writeError(bw, errNotFound, req.close)
}

func (a *apiServer) runtime(req *request, br *bufio.Reader, bw *bufio.Writer, gone <-chan struct{}, rest string) bool {
	switch {
	case rest == "invocation/next":
		if !req.discardBody(br, bw) {
			return false
		}
		if req.method != "GET" {
			return writeError(bw, errMethodNotAllowed, req.close)
		}
		return a.next(req, bw, gone)
	case strings.HasPrefix(rest, "invocation/"):
		id, kind, ok := strings.Cut(rest[len("invocation/"):], "/")
		if !ok || (kind != "response" && kind != "error") || id == "" || req.method != "POST" {
			if !req.discardBody(br, bw) {
				return false
			}
			if ok && req.method != "POST" && (kind == "response" || kind == "error") {
				return writeError(bw, errMethodNotAllowed, req.close)
			}
			return writeError(bw, errNotFound, req.close)
		}
		return a.result(req, br, bw, id, kind == "error")
	case rest == "init/error":
		if req.method != "POST" {
			if !req.discardBody(br, bw) {
				return false
			}
			return writeError(bw, errMethodNotAllowed, req.close)
		}
		doc, tooBig, err := req.readBody(br, bw, a.in.pool.maxResponse)
		if err != nil || tooBig {
			writeError(bw, errTruncatedRequest, true)
			return false
		}
		if e := a.in.initError(req.errorType, doc); e != nil {
			return writeError(bw, e, req.close)
		}
		writeAccepted(bw, req.close)
		return true
	case rest == "restore/next" || rest == "restore/error":
		// SnapStart only; this is never a restored environment.
		if !req.discardBody(br, bw) {
			return false
		}
		return writeError(bw, errTransition(stIdle, evNext), req.close)
	}
	if !req.discardBody(br, bw) {
		return false
	}
	return writeError(bw, errNotFound, req.close)
}

// next hands the runtime its next event with every header of spec A.3.
func (a *apiServer) next(req *request, bw *bufio.Writer, gone <-chan struct{}) bool {
	c, e := a.in.next(gone)
	if e != nil {
		return writeError(bw, e, req.close)
	}
	if c == nil {
		return false // dismissed (the runtime polls again elsewhere) or gone
	}
	inv := c.inv
	arn := inv.InvokedFunctionARN
	if arn == "" {
		arn = a.in.grp.arn
	}
	trace := inv.TraceID
	if trace == "" {
		trace = newTraceID()
	}
	b := bw.AvailableBuffer()
	b = append(b, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"+hdrRequestID+": "...)
	b = append(b, c.id...)
	b = append(b, "\r\n"+hdrDeadline+": "...)
	b = strconv.AppendInt(b, c.deadlineMillis(), 10)
	b = appendHeader(b, hdrFunctionARN, arn)
	b = appendHeader(b, hdrTraceID, trace)
	if inv.ClientContext != "" {
		b = appendHeader(b, hdrClientContext, inv.ClientContext)
	}
	if inv.CognitoIdentity != "" {
		b = appendHeader(b, hdrCognitoIdentity, inv.CognitoIdentity)
	}
	if req.close {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(inv.Payload)), 10)
	b = append(b, "\r\n\r\n"...)
	bw.Write(b)
	bw.Write(inv.Payload)
	return true
}

// appendHeader appends "\r\nName: value", dropping characters that would
// break the header (CR, LF, NUL).
func appendHeader(b []byte, name, value string) []byte {
	b = append(b, "\r\n"...)
	b = append(b, name...)
	b = append(b, ": "...)
	if strings.ContainsAny(value, "\r\n\x00") {
		value = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return ' '
			}
			return r
		}, value)
	}
	return append(b, value...)
}

// result serves POST .../{id}/response and .../{id}/error, including the
// streaming response mode (chunked body, errors in trailers), which is
// buffered for the caller.
func (a *apiServer) result(req *request, br *bufio.Reader, bw *bufio.Writer, id string, isError bool) bool {
	if req.responseMode != "" && !strings.EqualFold(req.responseMode, "streaming") {
		if !req.discardBody(br, bw) {
			return false
		}
		return writeError(bw, errInvalidMode, req.close)
	}
	c, e := a.in.beginResult(id)
	if e != nil {
		if !req.discardBody(br, bw) {
			return false
		}
		return writeError(bw, e, req.close)
	}
	limit := a.in.pool.maxResponse
	body, tooBig, err := req.readBody(br, bw, limit)
	if err != nil {
		a.in.abortResult(c)
		writeError(bw, errTruncatedRequest, true)
		return false
	}
	res := &Result{}
	switch {
	case tooBig:
		res.Payload = errorDoc(typeResponseTooLarge, tooLargeMessage(limit))
		res.FunctionError, res.ErrorType = "Unhandled", typeResponseTooLarge
	case isError:
		typ := req.errorType
		if typ == "" {
			typ = errorTypeOf(body)
		}
		if len(body) == 0 {
			body = errorDoc(typ, "")
		}
		res.Payload, res.FunctionError, res.ErrorType = body, "Unhandled", typ
		res.ContentType = req.contentType
	case req.trailerErrorType != "":
		// A failure in the middle of a (streamed) response.
		typ := req.trailerErrorType
		doc, derr := base64.StdEncoding.DecodeString(req.trailerErrorBody)
		if derr != nil || len(doc) == 0 {
			doc = errorDoc(typ, "")
		}
		res.Payload, res.FunctionError, res.ErrorType = doc, "Unhandled", typ
	default:
		res.Payload = body
		res.ContentType = req.contentType
	}
	if !a.in.resultDone(c, res) {
		return writeError(bw, errInstanceGone, req.close)
	}
	// The runtime's answer first: it calls /next as soon as it has it, and
	// that round trip is on the way of the caller's next invocation.
	keep := true
	if tooBig {
		keep = writeError(bw, errTooLarge(limit), true)
	} else {
		writeAccepted(bw, req.close)
	}
	bw.Flush()
	a.in.deliverResult(c, res)
	return keep
}

// extension stubs the Extensions API so that in-process extensions (such
// as aws-lambda-go's EnableSIGTERM) start; no extension receives events.
func (a *apiServer) extension(req *request, br *bufio.Reader, bw *bufio.Writer, gone <-chan struct{}, rest string) bool {
	if !req.discardBody(br, bw) {
		return false
	}
	switch rest {
	case "register":
		if req.method != "POST" {
			return writeError(bw, errMethodNotAllowed, req.close)
		}
		a.in.registerExtension()
		spec := a.in.spec
		doc, _ := json.Marshal(map[string]string{"functionName": spec.FunctionName, "functionVersion": a.in.version, "handler": spec.Handler})
		writeResponse(bw, 200, "application/json", []string{hdrExtensionID, newUUID()}, doc, req.close)
		return true
	case "event/next":
		if req.method != "GET" {
			return writeError(bw, errMethodNotAllowed, req.close)
		}
		// Parked until the instance stops; the connection then closes
		// without an answer (aws-lambda-go's EnableSIGTERM expects that).
		bw.Flush()
		select {
		case <-a.in.dead:
		case <-gone:
		}
		return false
	case "init/error", "exit/error":
		if req.method != "POST" {
			return writeError(bw, errMethodNotAllowed, req.close)
		}
		writeAccepted(bw, req.close)
		return true
	}
	return writeError(bw, errNotFound, req.close)
}

var statusText = map[int]string{
	100: "Continue", 200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 413: "Request Entity Too Large", 500: "Internal Server Error",
}

// writeResponse writes a whole response; extra is name, value pairs.
func writeResponse(bw *bufio.Writer, status int, contentType string, extra []string, body []byte, close bool) {
	b := bw.AvailableBuffer()
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, statusText[status]...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentType...)
	for i := 0; i+1 < len(extra); i += 2 {
		b = appendHeader(b, extra[i], extra[i+1])
	}
	if close {
		b = append(b, "\r\nConnection: close"...)
	}
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	bw.Write(b)
}

var statusOK = []byte(`{"status":"OK"}`)

func writeAccepted(bw *bufio.Writer, close bool) {
	writeResponse(bw, 202, "application/json", nil, statusOK, close)
}

// writeError writes e; it returns !close for the caller's convenience.
func writeError(bw *bufio.Writer, e *apiError, close bool) bool {
	writeResponse(bw, e.Status, "application/json", nil, e.body(), close)
	return !close
}

// request is one parsed request: only what the Runtime API looks at.
type request struct {
	method, path string
	// body framing
	contentLength int64 // -1: none given
	chunked       bool
	close         bool
	expect        bool // Expect: 100-continue, not yet answered
	// headers of interest
	contentType  string
	errorType    string
	responseMode string
	// trailers of interest (chunked bodies)
	trailerErrorType, trailerErrorBody string

	consumed bool   // the body was read (or there is none)
	line     []byte // scratch for long lines
}

var (
	errBadRequest    = errors.New("malformed request")
	errHeaderTooLong = errors.New("request header too large")
	errBadChunk      = errors.New("malformed chunked body")
)

// read parses the request line and headers. io.EOF means the client closed
// the connection between requests.
func (r *request) read(br *bufio.Reader) error {
	line := r.line[:0]
	*r = request{contentLength: -1, line: line}
	var total int
	first := true
	for {
		l, err := readLine(br, &r.line, &total, maxHeaderBytes)
		if err != nil {
			if first && err == io.EOF && len(l) == 0 {
				return io.EOF
			}
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if first {
			if len(l) == 0 {
				continue // tolerate blank lines before a request (RFC 9112 2.2)
			}
			first = false
			if err := r.parseRequestLine(l); err != nil {
				return err
			}
			continue
		}
		if len(l) == 0 {
			break
		}
		if err := r.parseHeader(l); err != nil {
			return err
		}
	}
	if r.chunked {
		r.contentLength = -1
	}
	r.consumed = !r.chunked && r.contentLength <= 0
	return nil
}

// readLine returns the next line without its CRLF; *scratch holds lines
// longer than the buffer. *total counts the bytes read against maxLen.
func readLine(br *bufio.Reader, scratch *[]byte, total *int, maxLen int) ([]byte, error) {
	l, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append((*scratch)[:0], l...)
		for err == bufio.ErrBufferFull {
			if len(buf) > maxLen {
				return nil, errHeaderTooLong
			}
			l, err = br.ReadSlice('\n')
			buf = append(buf, l...)
		}
		*scratch = buf
		l = buf
	}
	*total += len(l)
	if *total > maxLen {
		return nil, errHeaderTooLong
	}
	if err != nil {
		return l, err
	}
	l = l[:len(l)-1]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, nil
}

func (r *request) parseRequestLine(l []byte) error {
	method, rest, ok1 := bytes.Cut(l, []byte{' '})
	target, proto, ok2 := bytes.Cut(rest, []byte{' '})
	if !ok1 || !ok2 || len(method) == 0 || len(target) == 0 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) {
		return errBadRequest
	}
	r.method = internMethod(method)
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		target = target[:i]
	}
	if bytes.HasPrefix(target, []byte("http://")) { // absolute form
		if i := bytes.IndexByte(target[len("http://"):], '/'); i >= 0 {
			target = target[len("http://")+i:]
		} else {
			target = []byte("/")
		}
	}
	r.path = string(target)
	r.close = string(proto) == "HTTP/1.0" // unless keep-alive, below
	return nil
}

func internMethod(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	}
	return string(m)
}

func (r *request) parseHeader(l []byte) error {
	name, value, ok := bytes.Cut(l, []byte{':'})
	if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
		return errBadRequest
	}
	value = bytes.TrimSpace(value)
	switch {
	case equalFold(name, "Content-Length"):
		n, err := strconv.ParseInt(string(value), 10, 64)
		if err != nil || n < 0 || (r.contentLength >= 0 && n != r.contentLength) {
			return errBadRequest
		}
		r.contentLength = n
	case equalFold(name, "Transfer-Encoding"):
		if !bytes.EqualFold(lastToken(value), []byte("chunked")) {
			return errBadRequest // nothing else is framed
		}
		r.chunked = true
	case equalFold(name, "Connection"):
		for _, t := range bytes.Split(value, []byte{','}) {
			t = bytes.TrimSpace(t)
			if bytes.EqualFold(t, []byte("close")) {
				r.close = true
			} else if bytes.EqualFold(t, []byte("keep-alive")) {
				r.close = false
			}
		}
	case equalFold(name, "Expect"):
		r.expect = bytes.EqualFold(value, []byte("100-continue"))
	case equalFold(name, "Content-Type"):
		r.contentType = string(value)
	case equalFold(name, hdrErrorType):
		r.errorType = string(value)
	case equalFold(name, hdrResponseMode):
		r.responseMode = string(value)
	}
	return nil
}

func lastToken(v []byte) []byte {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.TrimSpace(v)
}

func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// continueIfAsked answers Expect: 100-continue before the body is read.
func (r *request) continueIfAsked(bw *bufio.Writer) {
	if r.expect {
		r.expect = false
		bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		bw.Flush()
	}
}

// bodyBufs recycles the buffers of chunked bodies (aws-lambda-go always
// posts chunked); the result itself is copied out at its exact size.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// discardAfterLimit is how much of an oversize body is read and dropped so
// that the runtime gets to read the 413; the connection closes after it.
const discardAfterLimit = 64 << 20

// readBody reads the body, of at most limit bytes. tooBig reports a larger
// one (its rest is discarded, and the connection must close); err a
// malformed or truncated one.
func (r *request) readBody(br *bufio.Reader, bw *bufio.Writer, limit int64) (b []byte, tooBig bool, err error) {
	if r.consumed {
		return []byte{}, false, nil
	}
	r.consumed = true
	if !r.chunked {
		if r.contentLength > limit {
			if r.expect { // never sent: the connection closes after the 413
				return nil, true, nil
			}
			io.CopyN(io.Discard, br, min(r.contentLength, discardAfterLimit))
			return nil, true, nil
		}
		r.continueIfAsked(bw)
		b = make([]byte, r.contentLength)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, false, io.ErrUnexpectedEOF
		}
		return b, false, nil
	}
	r.continueIfAsked(bw)
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodyBufs.Put(buf)
		}
	}()
	var total int64
	for {
		var n int // each framing line has its own budget
		l, err := readLine(br, &r.line, &n, maxChunkLineBytes)
		if err != nil {
			return nil, false, errBadChunk
		}
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i] // chunk extensions
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(l)), 16, 64)
		if err != nil || size < 0 {
			return nil, false, errBadChunk
		}
		if size == 0 {
			break
		}
		// total <= limit+discardAfterLimit here, so neither side overflows
		// (total += size could: 1 then 7fffffffffffffff wraps negative).
		if size > limit+discardAfterLimit-total {
			return nil, true, nil // more than is worth discarding
		}
		total += size
		if total > limit {
			tooBig = true
		}
		if tooBig {
			if _, err := io.CopyN(io.Discard, br, size); err != nil {
				return nil, false, errBadChunk
			}
		} else if _, err := io.CopyN(buf, br, size); err != nil {
			return nil, false, errBadChunk
		}
		n = 0
		if l, err := readLine(br, &r.line, &n, maxChunkLineBytes); err != nil || len(l) != 0 {
			return nil, false, errBadChunk
		}
	}
	// Trailers, up to the blank line: a header budget of their own (an
	// error body travels in one).
	var trailerBytes int
	for {
		l, err := readLine(br, &r.line, &trailerBytes, maxHeaderBytes)
		if err != nil {
			return nil, false, errBadChunk
		}
		if len(l) == 0 {
			break
		}
		name, value, ok := bytes.Cut(l, []byte{':'})
		if !ok {
			return nil, false, errBadChunk
		}
		value = bytes.TrimSpace(value)
		switch {
		case equalFold(name, hdrErrorType):
			r.trailerErrorType = string(value)
		case equalFold(name, hdrErrorBody):
			r.trailerErrorBody = string(value)
		}
	}
	if tooBig {
		return nil, true, nil
	}
	return bytes.Clone(buf.Bytes()), false, nil
}

// discardBody reads and drops a body nobody needs; false means the
// connection cannot go on (a broken body, or a large one).
func (r *request) discardBody(br *bufio.Reader, bw *bufio.Writer) bool {
	if r.consumed {
		return true
	}
	if r.expect && !r.chunked {
		// The client waits for a 100 before sending: never ask for it.
		r.close = true
		r.consumed = true
		return true
	}
	_, tooBig, err := r.readBody(br, bw, 1<<20)
	if err != nil || tooBig {
		r.close = true
		return err == nil
	}
	return true
}
