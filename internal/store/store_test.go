package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func openEmbedded(t *testing.T, dir string) Store {
	t.Helper()
	st, err := Open(testCtx(t, 30*time.Second), Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatalf("Open embedded: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestEmbedded(t *testing.T) {
	t.Parallel()
	runSuite(t, func(t *testing.T) Store { return openEmbedded(t, t.TempDir()) })
}

// TestExternal runs the suite against a nats-server process built from the
// module cache, reached through Config.URL.
func TestExternal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the suite against a separately started nats-server process")
	}
	t.Parallel()
	bin := buildNATSServer(t)
	url := startNATSServer(t, bin, true)
	runSuite(t, func(t *testing.T) Store {
		st, err := Open(testCtx(t, 30*time.Second), Config{URL: url, Logger: testLogger()})
		if err != nil {
			t.Fatalf("Open %s: %v", url, err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}

func TestExternalWithoutJetStream(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the test against a separately started nats-server process")
	}
	t.Parallel()
	url := startNATSServer(t, buildNATSServer(t), false)
	start := time.Now()
	st, err := Open(testCtx(t, 20*time.Second), Config{URL: url, Logger: testLogger()})
	if err == nil {
		st.Close()
		t.Fatal("Open succeeded against a server without JetStream")
	}
	if !strings.Contains(err.Error(), "JetStream") {
		t.Fatalf("error does not say JetStream is missing: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v to notice JetStream is missing", d)
	}
	t.Log(err)
}

func TestExternalUnreachable(t *testing.T) {
	t.Parallel()
	_, err := Open(testCtx(t, 10*time.Second), Config{URL: "nats://127.0.0.1:" + freePort(t), Logger: testLogger()})
	if err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("Open unreachable: %v", err)
	}
}

var (
	natsBinOnce sync.Once
	natsBin     string
	natsBinErr  error
)

// buildNATSServer builds the nats-server required by go.mod, once per test
// binary, into a directory removed when the process's tests end.
func buildNATSServer(t *testing.T) string {
	t.Helper()
	natsBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lamina-nats-server-")
		if err != nil {
			natsBinErr = err
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		natsBin = filepath.Join(dir, "nats-server")
		cmd := exec.Command(goBin, "build", "-o", natsBin, "github.com/nats-io/nats-server/v2")
		if out, err := cmd.CombinedOutput(); err != nil {
			natsBinErr = fmt.Errorf("go build nats-server: %v\n%s", err, out)
		}
	})
	if natsBinErr != nil {
		t.Fatal(natsBinErr)
	}
	return natsBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if natsBin != "" {
		os.RemoveAll(filepath.Dir(natsBin))
	}
	os.Exit(code)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// startNATSServer runs bin on a free port until the test ends and returns
// its URL. The config file raises max_payload to 8 MB as a production
// server for Lamina would.
func startNATSServer(t *testing.T, bin string, jetStream bool) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte("max_payload: 8MB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	args := []string{"-c", conf, "-a", "127.0.0.1", "-p", port}
	if jetStream {
		args = append(args, "-js", "-sd", filepath.Join(dir, "js"))
	}
	cmd := exec.Command(bin, args...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	url := "nats://127.0.0.1:" + port
	deadline := time.Now().Add(15 * time.Second)
	for {
		nc, err := nats.Connect(url, nats.Timeout(time.Second))
		if err == nil {
			nc.Close()
			return url
		}
		select {
		case <-exited:
			t.Fatalf("nats-server exited: %s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDurability writes through one embedded store, closes it, and finds
// everything again through a new one on the same directory.
func TestDurability(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t, 30*time.Second)
	blob := randBytes(3<<20 + 7)

	st, err := Open(ctx, Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := st.KV(ctx, "functions")
	if err != nil {
		t.Fatal(err)
	}
	var revs []uint64
	for i := range 5 {
		rev, err := kv.Put(ctx, fmt.Sprintf("fn.%d", i), []byte(fmt.Sprintf("config-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rev)
	}
	s, err := st.Stream(ctx, StreamConfig{Name: "async", Subjects: []string{"async.>"}, WorkQueue: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Consumer(ctx, ConsumerConfig{Durable: "workers", AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		if _, err := s.Publish(ctx, "async.fn", []byte(fmt.Sprint("event-", i)), nil); err != nil {
			t.Fatal(err)
		}
	}
	// Event 0 is acked before the restart, event 1 fetched but not acked.
	m := fetchOne(t, c, 5*time.Second)
	ack(t, m)
	if m := fetchOne(t, c, 5*time.Second); string(m.Data()) != "event-1" {
		t.Fatalf("second message %q", m.Data())
	}
	objs, err := st.Objects(ctx, "code")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := objs.Put(ctx, "fn.zip", bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	ls, err := st.Leases(ctx, "singletons")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls.Acquire(ctx, "scheduler", "node-1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nats", "jetstream")); err != nil {
		t.Fatalf("no jetstream directory under the data dir: %v", err)
	}
	name1, _ := os.ReadFile(filepath.Join(dir, "nats", serverNameFile))

	st2 := openEmbedded(t, dir)
	name2, _ := os.ReadFile(filepath.Join(dir, "nats", serverNameFile))
	if len(name1) == 0 || !bytes.Equal(name1, name2) {
		t.Fatalf("server name changed across restarts: %q -> %q", name1, name2)
	}
	kv2, err := st2.KV(ctx, "functions")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := kv2.List(ctx, "fn.")
	if err != nil || len(entries) != 5 {
		t.Fatalf("List after restart = %d entries, %v", len(entries), err)
	}
	for i, e := range entries {
		if string(e.Value) != fmt.Sprintf("config-%d", i) || e.Revision != revs[i] {
			t.Fatalf("entry %d after restart = %+v (rev want %d)", i, e, revs[i])
		}
	}
	// Revisions keep increasing after the restart.
	if rev, err := kv2.Put(ctx, "fn.new", nil); err != nil || rev <= revs[4] {
		t.Fatalf("Put after restart: rev %d, err %v", rev, err)
	}

	s2, err := st2.Stream(ctx, StreamConfig{Name: "async", Subjects: []string{"async.>"}, WorkQueue: true})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := s2.Info(ctx); err != nil || info.Messages != 3 {
		t.Fatalf("stream after restart: %+v, %v; want 3 unacked messages", info, err)
	}
	c2, err := s2.Consumer(ctx, ConsumerConfig{Durable: "workers", AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Events 1..3 are still deliverable: 2 and 3 at once, 1 (in flight
	// before the restart) once its AckWait has passed.
	var got []string
	for len(got) < 3 {
		msgs, err := c2.Fetch(testCtx(t, 5*time.Second), 10)
		if err != nil {
			t.Fatalf("Fetch after restart (have %q): %v", got, err)
		}
		for _, m := range msgs {
			got = append(got, fmt.Sprintf("%s/%d", m.Data(), m.Delivered()))
			ack(t, m)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "event-1/2,event-2/1,event-3/1" {
		t.Fatalf("after restart delivered %q (data/delivered)", got)
	}
	expectNone(t, c2, 300*time.Millisecond)

	objs2, err := st2.Objects(ctx, "code")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := objs2.Get(ctx, "fn.zip")
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(data, blob) {
		t.Fatalf("object after restart: %d bytes, %v", len(data), err)
	}
	ls2, err := st2.Leases(ctx, "singletons")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ls2.Acquire(ctx, "scheduler", "node-2", time.Minute); !errors.Is(err, ErrHeld) {
		t.Fatalf("lease after restart: %v, want ErrHeld", err)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t, 10*time.Second)
	if _, err := Open(ctx, Config{Logger: testLogger()}); err == nil || !strings.Contains(err.Error(), "DataDir") {
		t.Fatalf("Open without DataDir: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("not a dir"), 0o600)
	if _, err := Open(ctx, Config{DataDir: file, Logger: testLogger()}); err == nil || !strings.Contains(err.Error(), file) {
		t.Fatalf("Open on a file: %v", err)
	}
	if os.Geteuid() != 0 { // root ignores permissions
		ro := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(ro, 0o500)
		if _, err := Open(ctx, Config{DataDir: ro, Logger: testLogger()}); err == nil {
			t.Fatal("Open on a read-only dir succeeded")
		}
	}
	// One directory, one store at a time.
	dir := t.TempDir()
	first, err := Open(ctx, Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if second, err := Open(ctx, Config{DataDir: dir, Logger: testLogger()}); err == nil {
		second.Close()
		t.Fatal("two stores opened on one data dir")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open on one data dir: %v", err)
	}
	first.Close()
	again, err := Open(ctx, Config{DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()

	if _, err := Open(ctx, Config{DataDir: t.TempDir(), ClientListen: "nonsense", Logger: testLogger()}); err == nil {
		t.Fatal("Open with a bad ClientListen succeeded")
	}
}

// TestEmbeddedClientListen opens the embedded server's client port and uses
// it from an ordinary NATS client.
func TestEmbeddedClientListen(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	st, err := Open(testCtx(t, 20*time.Second), Config{
		DataDir:      t.TempDir(),
		ClientListen: "127.0.0.1:" + port,
		Logger:       testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := testCtx(t, 10*time.Second)
	kv, err := st.KV(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	// A second store on the same server through the port sees the value.
	other, err := Open(ctx, Config{URL: "nats://127.0.0.1:" + port, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	kv2, err := other.KV(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv2.Get(ctx, "k"); err != nil || string(e.Value) != "v" {
		t.Fatalf("Get through the client port = %+v, %v", e, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestEmbeddedClientListenAuth: an open client port without a token is
// warned about; with ClientToken the server refuses clients without it
// while the store's own connection and clients with it work.
func TestEmbeddedClientListenAuth(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	open, err := Open(testCtx(t, 20*time.Second), Config{
		DataDir: t.TempDir(), ClientListen: "127.0.0.1:" + freePort(t), Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	open.Close()
	if !strings.Contains(logs.String(), "no authentication") {
		t.Fatalf("no warning about the open client port; logged:\n%s", logs.String())
	}

	var logs2 syncBuffer
	port := freePort(t)
	st, err := Open(testCtx(t, 20*time.Second), Config{
		DataDir: t.TempDir(), ClientListen: "127.0.0.1:" + port, ClientToken: "s3cret",
		Logger: slog.New(slog.NewTextHandler(&logs2, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if strings.Contains(logs2.String(), "no authentication") {
		t.Fatalf("warned although a token is set:\n%s", logs2.String())
	}
	ctx := testCtx(t, 10*time.Second)
	kv, err := st.KV(ctx, "guarded")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	url := "nats://127.0.0.1:" + port
	if nc, err := nats.Connect(url, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("a client without the token connected")
	}
	if nc, err := nats.Connect(url, nats.Token("wrong"), nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("a client with a wrong token connected")
	}
	other, err := Open(ctx, Config{URL: "nats://s3cret@127.0.0.1:" + port, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	kv2, err := other.KV(ctx, "guarded")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv2.Get(ctx, "k"); err != nil || string(e.Value) != "v" {
		t.Fatalf("Get with the token = %+v, %v", e, err)
	}
}

func TestKeyFilter(t *testing.T) {
	for prefix, want := range map[string]string{
		"":       ">",
		"a":      ">",
		"a.":     "a.>",
		"a.b":    "a.>",
		"a.b.":   "a.b.>",
		"a.b.cd": "a.b.>",
		".a":     ">",
		"a..b":   ">",
		"a.*.b":  ">",
	} {
		if got := keyFilter(prefix); got != want {
			t.Errorf("keyFilter(%q) = %q, want %q", prefix, got, want)
		}
	}
}

// TestNATSLogger checks that the server's levels land on slog's.
func TestNATSLogger(t *testing.T) {
	var buf bytes.Buffer
	l := newNATSLogger(slogTo(&buf))
	l.Noticef("n %d", 1)
	l.Warnf("w %d", 2)
	l.Errorf("e %d", 3)
	l.Debugf("d %d", 4)
	l.Tracef("t %d", 5)
	if l.fatal() != "" {
		t.Fatal("fatal recorded before Fatalf")
	}
	l.Fatalf("f %d", 6)
	out := buf.String()
	for _, want := range []string{"level=INFO msg=\"n 1\"", "level=WARN msg=\"w 2\"", "level=ERROR msg=\"e 3\"",
		"level=DEBUG msg=\"d 4\"", "level=DEBUG msg=\"t 5\"", "level=ERROR msg=\"f 6\" fatal=true"} {
		if !strings.Contains(out, want) {
			t.Errorf("log output lacks %s:\n%s", want, out)
		}
	}
	if l.fatal() != "f 6" {
		t.Fatalf("fatal = %q", l.fatal())
	}
}

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
}
