package runtime

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/lamina-dev/lamina/internal/telemetry"
)

// Log capture. Each instance's stdout and stderr are pipes read by one
// goroutine each (parked in the netpoller between writes). Lines are tagged
// with the request id of the invocation in progress, so when an invocation
// ends its pipes are first drained with non-blocking reads: whatever the
// function wrote before posting its result is in the pipe by then and
// belongs to that invocation. The reader goroutine and the drain serialize
// on instance.lmu, which also guards the current request id and tail.

const (
	maxLogLine = 256 << 10 // longer lines are split
	logTailMax = 4 << 10   // Result.LogTail
	readChunk  = 16 << 10
)

// logStream is one of an instance's output pipes.
type logStream struct {
	in      *instance
	fd      int      // the read end, non-blocking (also owned by file)
	file    *os.File // for the netpoller
	partial []byte   // an unterminated line
	buf     []byte
	eof     bool
	done    chan struct{} // closed when the reader goroutine returns
}

// newLogPipe makes a pipe whose read end is non-blocking (polled) and whose
// write end, for the child, is blocking.
func newLogPipe(in *instance) (*logStream, *os.File, error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, err
	}
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, nil, err
	}
	s := &logStream{in: in, fd: fds[0], done: make(chan struct{})}
	s.file = os.NewFile(uintptr(fds[0]), "instance-log")
	return s, os.NewFile(uintptr(fds[1]), "instance-log-w"), nil
}

// run reads until EOF, parked in the netpoller while the pipe is empty.
func (s *logStream) run() {
	defer close(s.done)
	rc, err := s.file.SyscallConn()
	if err != nil {
		return
	}
	rc.Read(func(uintptr) bool {
		s.in.lmu.Lock()
		s.readAvailableLocked()
		eof := s.eof
		s.in.lmu.Unlock()
		return eof
	})
	s.in.lmu.Lock()
	s.flushPartialLocked()
	s.eof = true
	s.in.lmu.Unlock()
}

// readAvailableLocked reads what the pipe holds now, without blocking.
func (s *logStream) readAvailableLocked() {
	for !s.eof {
		if s.buf == nil {
			s.buf = make([]byte, readChunk)
		}
		n, err := syscall.Read(s.fd, s.buf)
		if n > 0 {
			s.consumeLocked(s.buf[:n])
			continue
		}
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return
		}
		s.eof = true // n == 0 (EOF) or a hard error
	}
}

func (s *logStream) consumeLocked(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.partial = append(s.partial, b...)
			for len(s.partial) >= maxLogLine {
				s.in.emitLocked(string(s.partial[:maxLogLine]))
				s.partial = append(s.partial[:0], s.partial[maxLogLine:]...)
			}
			return
		}
		line := b[:i]
		b = b[i+1:]
		if len(s.partial) > 0 {
			s.partial = append(s.partial, line...)
			line = s.partial
		}
		for len(line) > maxLogLine {
			s.in.emitLocked(string(line[:maxLogLine]))
			line = line[maxLogLine:]
		}
		s.in.emitLocked(string(bytes.TrimSuffix(line, []byte{'\r'})))
		s.partial = s.partial[:0]
	}
}

func (s *logStream) flushPartialLocked() {
	if len(s.partial) > 0 {
		s.in.emitLocked(string(s.partial))
		s.partial = s.partial[:0]
	}
}

// emitLocked sends one line the function wrote to the sink and the
// current invocation's tail.
func (in *instance) emitLocked(line string) { in.emitForLocked(in.reqID, line) }

// emitForLocked sends a line of invocation id.
func (in *instance) emitForLocked(id, line string) {
	if in.sink != nil {
		in.sink.WriteLog(telemetry.LogLine{
			Time:         in.pool.clock.Now(),
			FunctionName: in.spec.FunctionName,
			Version:      in.version,
			Stream:       in.stream,
			RequestID:    id,
			Line:         line,
		})
	}
	if in.tail != nil && id == in.reqID {
		t := append(*in.tail, line...)
		t = append(t, '\n')
		if len(t) > 2*logTailMax {
			t = append(t[:0], t[len(t)-logTailMax:]...)
		}
		*in.tail = t
	}
}

// beginLogs starts attributing lines to c and writes START.
func (in *instance) beginLogs(c *call) {
	in.lmu.Lock()
	in.drainLocked() // lines written before this event belong to no invocation
	in.reqID = c.id
	if c.inv.WantLogTail {
		c.tail = make([]byte, 0, 1024)
		in.tail = &c.tail
	}
	if in.sink != nil || in.tail != nil {
		in.emitLocked("START RequestId: " + c.id + " Version: " + in.version)
	}
	in.lmu.Unlock()
}

// endLogs drains the pipes, writes the closing lines and stops attributing
// lines to c. extra lines (timeout, crash) come before END. (The next
// invocation may have begun already when the runtime used a second
// connection for its /next: its lines are left alone.)
func (in *instance) endLogs(c *call, res *Result, status string, extra ...string) {
	in.lmu.Lock()
	in.drainLocked()
	mine := in.reqID == c.id
	if mine {
		for _, s := range in.streams {
			if s != nil {
				s.flushPartialLocked()
			}
		}
	}
	if in.sink != nil || (mine && in.tail != nil) {
		for _, l := range extra {
			in.emitForLocked(c.id, l)
		}
		in.emitForLocked(c.id, "END RequestId: "+c.id)
		in.emitForLocked(c.id, string(reportLine(c.id, res, in.memMB, status)))
	}
	if mine {
		if in.tail != nil {
			t := *in.tail
			if len(t) > logTailMax {
				t = t[len(t)-logTailMax:]
			}
			res.LogTail = t
		}
		in.tail = nil
		in.reqID = ""
	}
	in.lmu.Unlock()
}

// drainLocked reads whatever the pipes hold.
func (in *instance) drainLocked() {
	for _, s := range in.streams {
		if s != nil && !s.eof {
			s.readAvailableLocked()
		}
	}
}

// waitLogs waits (bounded: a stray grandchild may hold a pipe open) for the
// readers to see EOF after the process exited.
func (in *instance) waitLogs(max time.Duration) {
	t := time.NewTimer(max)
	defer t.Stop()
	for _, s := range in.streams {
		if s == nil {
			continue
		}
		select {
		case <-s.done:
		case <-t.C:
			return
		}
	}
}

// reportLine formats REPORT as Lambda does.
func reportLine(id string, res *Result, memMB int, status string) []byte {
	b := make([]byte, 0, 192)
	b = append(b, "REPORT RequestId: "...)
	b = append(b, id...)
	b = append(b, "\tDuration: "...)
	b = appendMillis(b, res.Duration)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, int64(math.Ceil(float64(res.Duration)/float64(time.Millisecond))), 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(memMB), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, int64(res.MaxMemoryUsedMB), 10)
	b = append(b, " MB"...)
	if res.InitDuration > 0 {
		b = append(b, "\tInit Duration: "...)
		b = appendMillis(b, res.InitDuration)
		b = append(b, " ms"...)
	}
	switch status {
	case "":
	case "timeout":
		b = append(b, "\tStatus: timeout"...)
	default:
		b = append(b, "\tStatus: error\tError Type: "...)
		b = append(b, status...)
	}
	return b
}

func appendMillis(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 2, 64)
}
