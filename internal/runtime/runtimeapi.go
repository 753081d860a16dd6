package runtime

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// The Runtime API (spec A) of one instance: a thin HTTP adapter over the
// instance's lifecycle methods. Each instance has its own listener on
// 127.0.0.1:0 and so its own AWS_LAMBDA_RUNTIME_API; connections are
// keep-alive and never time out (/next is a long poll).

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
)

var (
	ctJSON       = []string{"application/json"}
	ctJSONStatus = []string{"application/json"}
)

type apiServer struct {
	in  *instance
	ln  net.Listener
	srv *http.Server
}

var discardLog = log.New(io.Discard, "", 0)

// newAPIServer listens on a fresh loopback port for in.
func newAPIServer(in *instance) (*apiServer, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &apiServer{in: in, ln: ln}
	a.srv = &http.Server{
		Handler:                      a,
		ErrorLog:                     discardLog,
		DisableGeneralOptionsHandler: true,
		MaxHeaderBytes:               1 << 20,
	}
	a.srv.SetKeepAlivesEnabled(true)
	return a, nil
}

func (a *apiServer) addr() string { return a.ln.Addr().String() }

func (a *apiServer) serve() { a.srv.Serve(a.ln) }

func (a *apiServer) close() { a.srv.Close() }

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, prefixRuntime):
		a.runtime(w, r, p[len(prefixRuntime):])
	case strings.HasPrefix(p, prefixExtension):
		a.extension(w, r, p[len(prefixExtension):])
	case p == "/2022-07-01/telemetry" || p == "/2020-08-15/logs":
		// Telemetry and Logs API subscriptions: accepted, nothing is sent.
		if r.Method != http.MethodPut {
			writeError(w, errMethodNotAllowed)
			return
		}
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "OK")
	case p == "/ping" || p == "/2018-06-01/ping":
		io.WriteString(w, "pong")
	default:
		writeError(w, errNotFound)
	}
}

func (a *apiServer) runtime(w http.ResponseWriter, r *http.Request, rest string) {
	switch {
	case rest == "invocation/next":
		if r.Method != http.MethodGet {
			writeError(w, errMethodNotAllowed)
			return
		}
		a.next(w, r)
	case strings.HasPrefix(rest, "invocation/"):
		id, kind, ok := strings.Cut(rest[len("invocation/"):], "/")
		if !ok || (kind != "response" && kind != "error") || id == "" {
			writeError(w, errNotFound)
			return
		}
		if r.Method != http.MethodPost {
			writeError(w, errMethodNotAllowed)
			return
		}
		a.result(w, r, id, kind == "error")
	case rest == "init/error":
		if r.Method != http.MethodPost {
			writeError(w, errMethodNotAllowed)
			return
		}
		doc, tooBig, err := readBody(r.Body, r.ContentLength, a.in.pool.maxResponse)
		if err != nil || tooBig {
			writeError(w, errTruncatedRequest)
			return
		}
		if e := a.in.initError(r.Header.Get(hdrErrorType), doc); e != nil {
			writeError(w, e)
			return
		}
		writeAccepted(w)
	case rest == "restore/next" || rest == "restore/error":
		// SnapStart only; this is never a restored environment.
		writeError(w, errTransition(stIdle, evNext))
	default:
		writeError(w, errNotFound)
	}
}

// next hands the runtime its next event with every header of spec A.3.
func (a *apiServer) next(w http.ResponseWriter, r *http.Request) {
	c, e := a.in.next(r.Context())
	if e != nil {
		writeError(w, e)
		return
	}
	if c == nil {
		return // the runtime went away while waiting
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
	// One allocation for all the header values.
	v := make([]string, 6)
	v[0], v[1], v[2], v[3] = c.id, strconv.FormatInt(c.deadlineMillis(), 10), arn, trace
	v[4] = strconv.Itoa(len(inv.Payload))
	h := w.Header()
	h[hdrRequestID] = v[0:1:1]
	h[hdrDeadline] = v[1:2:2]
	h[hdrFunctionARN] = v[2:3:3]
	h[hdrTraceID] = v[3:4:4]
	h["Content-Length"] = v[4:5:5]
	h["Content-Type"] = ctJSON
	if inv.ClientContext != "" {
		v[5] = inv.ClientContext
		h[hdrClientContext] = v[5:6:6]
	}
	if inv.CognitoIdentity != "" {
		h[hdrCognitoIdentity] = []string{inv.CognitoIdentity}
	}
	w.WriteHeader(http.StatusOK)
	w.Write(inv.Payload)
}

// result serves POST .../{id}/response and .../{id}/error, including the
// streaming response mode (chunked body, errors in trailers), which is
// buffered for the caller.
func (a *apiServer) result(w http.ResponseWriter, r *http.Request, id string, isError bool) {
	if mode := r.Header.Get(hdrResponseMode); mode != "" && !strings.EqualFold(mode, "streaming") {
		writeError(w, errInvalidMode)
		return
	}
	c, e := a.in.beginResult(id)
	if e != nil {
		writeError(w, e)
		return
	}
	limit := a.in.pool.maxResponse
	body, tooBig, err := readBody(r.Body, r.ContentLength, limit)
	if err != nil {
		a.in.abortResult(c)
		writeError(w, errTruncatedRequest)
		return
	}
	res := &Result{}
	switch {
	case tooBig:
		res.Payload = errorDoc(typeResponseTooLarge, tooLargeMessage(limit))
		res.FunctionError, res.ErrorType = "Unhandled", typeResponseTooLarge
	case isError:
		typ := r.Header.Get(hdrErrorType)
		if typ == "" {
			typ = errorTypeOf(body)
		}
		if len(body) == 0 {
			body = errorDoc(typ, "")
		}
		res.Payload, res.FunctionError, res.ErrorType = body, "Unhandled", typ
		res.ContentType = r.Header.Get("Content-Type")
	case r.Trailer.Get(hdrErrorType) != "":
		// A failure in the middle of a (streamed) response.
		typ := r.Trailer.Get(hdrErrorType)
		doc, derr := base64.StdEncoding.DecodeString(r.Trailer.Get(hdrErrorBody))
		if derr != nil || len(doc) == 0 {
			doc = errorDoc(typ, "")
		}
		res.Payload, res.FunctionError, res.ErrorType = doc, "Unhandled", typ
	default:
		res.Payload = body
		res.ContentType = r.Header.Get("Content-Type")
	}
	a.in.endResult(c, res)
	if tooBig {
		writeError(w, errTooLarge(limit))
		return
	}
	writeAccepted(w)
}

// extension stubs the Extensions API so that in-process extensions (such
// as aws-lambda-go's EnableSIGTERM) start; no extension receives events.
func (a *apiServer) extension(w http.ResponseWriter, r *http.Request, rest string) {
	switch rest {
	case "register":
		if r.Method != http.MethodPost {
			writeError(w, errMethodNotAllowed)
			return
		}
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		a.in.registerExtension()
		h := w.Header()
		h[hdrExtensionID] = []string{newUUID()}
		h["Content-Type"] = ctJSON
		spec := a.in.spec
		fmt.Fprintf(w, extensionRegisterDoc, spec.FunctionName, a.in.version, spec.Handler)
	case "event/next":
		if r.Method != http.MethodGet {
			writeError(w, errMethodNotAllowed)
			return
		}
		// Parked until the instance stops (then its connection closes).
		select {
		case <-a.in.dead:
		case <-r.Context().Done():
		}
		writeError(w, errInstanceGone)
	case "init/error", "exit/error":
		if r.Method != http.MethodPost {
			writeError(w, errMethodNotAllowed)
			return
		}
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		writeAccepted(w)
	default:
		writeError(w, errNotFound)
	}
}

func writeAccepted(w http.ResponseWriter) {
	h := w.Header()
	h["Content-Type"] = ctJSONStatus
	w.WriteHeader(http.StatusAccepted)
	w.Write(statusOK)
}

func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h["Content-Type"] = ctJSON
	w.WriteHeader(e.Status)
	w.Write(e.body())
}

// bodyBufs recycles the buffers of chunked bodies (aws-lambda-go always
// posts chunked); the result itself is copied out at its exact size.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readBody reads a request body of at most limit bytes. tooBig reports a
// larger one (whose rest is discarded, so that the runtime reads our 413);
// err a truncated one.
func readBody(body io.Reader, contentLength, limit int64) (b []byte, tooBig bool, err error) {
	if contentLength > limit {
		io.CopyN(io.Discard, body, 64<<20)
		return nil, true, nil
	}
	if contentLength >= 0 {
		b = make([]byte, contentLength)
		if _, err := io.ReadFull(body, b); err != nil {
			return nil, false, err
		}
		return b, false, nil
	}
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			bodyBufs.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(io.LimitReader(body, limit+1)); err != nil {
		return nil, false, err
	}
	if int64(buf.Len()) > limit {
		io.CopyN(io.Discard, body, 64<<20)
		return nil, true, nil
	}
	b = make([]byte, buf.Len())
	copy(b, buf.Bytes())
	return b, false, nil
}
