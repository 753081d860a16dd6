package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/spf13/cobra"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
	"github.com/lamina-dev/lamina/internal/server"
)

type upFlags struct {
	templateFlags
	DataDir       string
	GatewayListen string
	NoWatch       bool
	NoLogs        bool
	Poll          time.Duration
}

func newUpCommand(g *globals) *cobra.Command {
	f := &upFlags{}
	cmd := &cobra.Command{
		Use:   "up [-t template.yaml]",
		Short: "Run a SAM application locally: start Lamina, deploy, follow logs, redeploy on change",
		Long: `Bring a whole application up with one command:

  1. if no Lamina answers at --endpoint, start one in this process (data in
     --data-dir, HTTP APIs on --gateway-listen);
  2. deploy the template as a stack (as lamina deploy -t: build, plan,
     apply, outputs), printing where everything is;
  3. follow the logs of the stack's functions, each line prefixed with the
     function's logical id;
  4. watch the template's directory and redeploy what changed when a file
     is saved (a Go function is rebuilt and only its code is updated).

Ctrl-C stops watching and, if this command started Lamina, stops it cleanly.
A failed redeploy is reported and the previous version keeps running.`,
		Example: `  # The example application: HTTP API, queue, worker, schedule
  lamina up -t examples/orders/template.yaml

  # Another stack name and parameters, no file watching
  lamina up -t app/template.yaml --stack dev --parameter-overrides Env=dev --no-watch`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUp(cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.Template, "template", "t", "template.yaml", "the SAM/CloudFormation template to run")
	fl.StringVar(&f.Stack, "stack", "", "stack name (default: the template directory's name)")
	fl.StringArrayVar(&f.Overrides, "parameter-overrides", nil, "template parameter KEY=VALUE (repeatable)")
	fl.BoolVar(&f.AllowUnsupported, "allow-unsupported", false, "skip resources of types Lamina does not deploy (with warnings) instead of failing")
	fl.StringVar(&f.DataDir, "data-dir", ".lamina", "data directory of the Lamina this command starts when none is running")
	fl.StringVar(&f.GatewayListen, "gateway-listen", "127.0.0.1:3000", "HTTP API address of the Lamina this command starts")
	fl.BoolVar(&f.NoWatch, "no-watch", false, "deploy once and follow logs, without redeploying on change")
	fl.BoolVar(&f.NoLogs, "no-logs", false, "do not follow the functions' logs")
	fl.DurationVar(&f.Poll, "poll-interval", 100*time.Millisecond, "how often files and logs are checked for changes")
	_ = fl.MarkHidden("poll-interval")
	return cmd
}

func runUp(cmd *cobra.Command, g *globals, f *upFlags) error {
	if f.Poll <= 0 {
		return fmt.Errorf("invalid --poll-interval %v", f.Poll)
	}
	if _, err := os.Stat(f.Template); err != nil {
		return fmt.Errorf("template: %w", err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()

	srv, err := ensureServer(ctx, g, f, errw)
	if err != nil {
		return err
	}
	if srv != nil {
		defer func() {
			fmt.Fprintln(errw, "stopping Lamina...")
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				fmt.Fprintln(errw, "shutdown:", err)
			}
		}()
	}

	d, err := newStackDeployer(ctx, g, &f.templateFlags, out, errw)
	if err != nil {
		return err
	}
	res, err := d.run(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // Ctrl-C during the first deploy
		}
		if f.NoWatch {
			return err
		}
		fmt.Fprintln(errw, "error:", err)
		fmt.Fprintln(errw, "watching for changes to try again (Ctrl-C to stop)")
	} else {
		printUpSummary(out, g, res.State)
	}

	tails := &logTails{g: g, w: out, poll: max(f.Poll, 500*time.Millisecond)}
	defer tails.stop()
	if !f.NoLogs && res != nil {
		tails.follow(ctx, res.State)
	}
	if f.NoWatch {
		<-ctx.Done()
		return nil
	}
	w := newTreeWatcher(templateDir(f.Template))
	for {
		changed, err := w.wait(ctx, f.Poll)
		if err != nil {
			return nil // Ctrl-C
		}
		start := time.Now()
		fmt.Fprintf(errw, "\n%s changed: redeploying\n", changed)
		res, err := d.run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			fmt.Fprintln(errw, "error:", err)
			fmt.Fprintln(errw, "the previous version keeps running; fix it and save again")
			continue
		}
		fmt.Fprintf(errw, "redeployed in %s\n", time.Since(start).Round(time.Millisecond))
		if res.Plan.HasChanges() {
			printUpSummary(out, g, res.State)
		}
		if !f.NoLogs {
			tails.follow(ctx, res.State)
		}
	}
}

// ensureServer returns nil when a Lamina answers at the endpoint, else
// starts one in this process on the endpoint's address.
func ensureServer(ctx context.Context, g *globals, f *upFlags, errw io.Writer) (*server.Server, error) {
	endpoint, err := normalizeEndpoint(g.Endpoint)
	if err != nil {
		return nil, err
	}
	g.Endpoint = endpoint
	if healthy(ctx, endpoint) {
		fmt.Fprintf(errw, "using the Lamina at %s\n", endpoint)
		return nil, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("no Lamina answers at %s, and lamina up only starts one on this machine (a loopback endpoint)", endpoint)
	}
	logger := slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(server.Config{DataDir: f.DataDir, Listen: u.Host, GatewayListen: f.GatewayListen, Logger: logger})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(errw, "starting Lamina at %s (data in %s)...\n", endpoint, f.DataDir)
	if err := srv.Start(ctx); err != nil {
		return nil, fmt.Errorf("start Lamina: %w", err)
	}
	return srv, nil
}

func healthy(ctx context.Context, endpoint string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/_lamina/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// printUpSummary says where everything is.
func printUpSummary(w io.Writer, g *globals, s *deploy.StackState) {
	fmt.Fprintf(w, "\nStack %s is up. AWS APIs: %s\n", s.Stack, g.Endpoint)
	ids := make([]string, 0, len(s.Resources))
	for id := range s.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rs := s.Resources[id]
		switch rs.Type {
		case manifest.TypeFunction:
			fmt.Fprintf(w, "  function  %-28s %s\n", id, rs.PhysicalID)
		case manifest.TypeHTTPAPI, manifest.TypeRestAPI:
			fmt.Fprintf(w, "  api       %-28s %s\n", id, deploy.LocalAPIBase(rs.Attrs["ApiEndpoint"], rs.PhysicalID))
		case manifest.TypeQueue:
			fmt.Fprintf(w, "  queue     %-28s %s\n", id, rs.PhysicalID)
		case manifest.TypeTopic:
			fmt.Fprintf(w, "  topic     %-28s %s\n", id, rs.PhysicalID)
		case manifest.TypeFunctionURL:
			fmt.Fprintf(w, "  url       %-28s %s\n", id, rs.Attrs["FunctionUrl"])
		case manifest.TypeSchedule, manifest.TypeRule:
			fmt.Fprintf(w, "  schedule  %-28s %s\n", id, rs.PhysicalID)
		}
	}
	if len(s.Outputs) > 0 {
		fmt.Fprintln(w)
		_ = writeOutputs(w, s)
	}
	fmt.Fprintln(w, "\nFollowing logs; Ctrl-C to stop.")
}

// logTails follows the logs of a stack's functions, one poller each.
type logTails struct {
	g     *globals
	w     io.Writer
	poll  time.Duration
	mu    sync.Mutex
	tails map[string]context.CancelFunc // by function name
	wg    sync.WaitGroup
}

// follow starts a tail for each function of s not followed yet and stops
// the tails of functions s no longer has.
func (t *logTails) follow(ctx context.Context, s *deploy.StackState) {
	client, err := t.g.logsClient(ctx)
	if err != nil {
		fmt.Fprintln(t.w, "logs:", err)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tails == nil {
		t.tails = map[string]context.CancelFunc{}
	}
	want := map[string]string{} // function name → logical id
	for id, rs := range s.Resources {
		if rs.Type == manifest.TypeFunction && rs.PhysicalID != "" {
			want[rs.PhysicalID] = id
		}
	}
	for name, cancel := range t.tails {
		if _, ok := want[name]; !ok {
			cancel()
			delete(t.tails, name)
		}
	}
	for name, id := range want {
		if _, ok := t.tails[name]; ok {
			continue
		}
		tctx, cancel := context.WithCancel(ctx)
		t.tails[name] = cancel
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.tail(tctx, client, name, id)
		}()
	}
}

func (t *logTails) stop() {
	t.mu.Lock()
	for _, cancel := range t.tails {
		cancel()
	}
	t.mu.Unlock()
	t.wg.Wait()
}

// tail prints the function's new log lines, prefixed with its logical id.
func (t *logTails) tail(ctx context.Context, client *cloudwatchlogs.Client, name, id string) {
	start := time.Now().Add(-time.Second).UnixMilli()
	seen := map[string]int64{}
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/" + name)}
	for {
		in.StartTime, in.NextToken = aws.Int64(start), nil
		newest := start
		for {
			out, err := client.FilterLogEvents(ctx, in)
			if err != nil {
				break // no logs yet, or stopping: try again on the next poll
			}
			for _, ev := range out.Events {
				eid := aws.ToString(ev.EventId)
				if _, ok := seen[eid]; ok {
					continue
				}
				ts := aws.ToInt64(ev.Timestamp)
				seen[eid] = ts
				newest = max(newest, ts)
				t.mu.Lock()
				fmt.Fprintf(t.w, "[%s] %s\n", id, strings.TrimRight(aws.ToString(ev.Message), "\n"))
				t.mu.Unlock()
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		start = max(start, newest-followOverlap.Milliseconds())
		for eid, ts := range seen {
			if ts < start {
				delete(seen, eid)
			}
		}
		timer := time.NewTimer(t.poll)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// treeWatcher notices changed files under a directory by polling their
// sizes and modification times: no platform-specific notification API, and
// a save that replaces a file (as editors do) is seen like any other.
type treeWatcher struct {
	root string
	last map[string]fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func newTreeWatcher(root string) *treeWatcher {
	w := &treeWatcher{root: root}
	w.last = w.scan()
	return w
}

// skipDir is what the watcher never looks into: VCS and tool state, the
// data directory, dependencies.
func skipDir(name string) bool {
	return name != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "__pycache__")
}

func (w *treeWatcher) scan() map[string]fileStamp {
	out := map[string]fileStamp{}
	_ = filepath.WalkDir(w.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if path != w.root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(d.Name(), "~") {
			return nil // editor swap and backup files
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		out[path] = fileStamp{info.Size(), info.ModTime()}
		return nil
	})
	return out
}

// wait returns the first changed path once the tree changes and the
// writes have settled (a scan 50 ms later sees nothing new), so that a save
// is deployed at once but a burst of writes (a git checkout) is one deploy.
func (w *treeWatcher) wait(ctx context.Context, poll time.Duration) (string, error) {
	const settle = 50 * time.Millisecond
	var changed string
	for {
		delay := poll
		if changed != "" {
			delay = settle
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return "", ctx.Err()
		case <-timer.C:
		}
		cur := w.scan()
		diff := firstDiff(w.last, cur)
		w.last = cur
		switch {
		case diff != "" && changed == "":
			changed = diff
		case diff == "" && changed != "":
			rel, err := filepath.Rel(w.root, changed)
			if err != nil {
				rel = changed
			}
			return rel, nil
		}
	}
}

func firstDiff(a, b map[string]fileStamp) string {
	var out []string
	for p, s := range b {
		if a[p] != s {
			out = append(out, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return ""
	}
	sort.Strings(out)
	return out[0]
}
