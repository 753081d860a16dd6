// Package laminatest boots a whole Lamina platform in-process for tests:
// embedded JetStream in a temporary data directory, the edge and gateway
// listeners on free loopback ports. Point any AWS SDK at Platform.Endpoint.
//
//	func TestMyFunction(t *testing.T) {
//		p := laminatest.Start(t)
//		client := lambda.NewFromConfig(p.AWSConfig())
//		...
//	}
//
// The platform is shut down when the test ends.
package laminatest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/lamina-dev/lamina/internal/server"
)

// Platform is a running in-process Lamina.
type Platform struct {
	// Endpoint is the edge URL (AWS-compatible APIs), e.g. http://127.0.0.1:41234.
	Endpoint string
	// GatewayURL is the HTTP API gateway's URL.
	GatewayURL string
	// DataDir is the temporary data directory.
	DataDir string
	// Region is the region the AWSConfig uses.
	Region string

	srv *server.Server
}

// Option adjusts the platform before it starts.
type Option func(*server.Config)

// WithDataDir uses dir instead of a fresh temporary directory, for example to
// restart a platform on the data of an earlier one.
func WithDataDir(dir string) Option { return func(c *server.Config) { c.DataDir = dir } }

// WithNATSURL uses an external NATS JetStream server instead of the embedded one.
func WithNATSURL(url string) Option { return func(c *server.Config) { c.NATSURL = url } }

// WithConfig lets a test change any server setting.
func WithConfig(f func(*server.Config)) Option { return Option(f) }

// Start boots a platform and registers its shutdown with t.Cleanup. Logs go
// to the test log when LAMINA_TEST_LOG=1, else they are discarded.
func Start(t testing.TB, opts ...Option) *Platform {
	t.Helper()
	cfg := server.Config{
		DataDir:       t.TempDir(),
		Listen:        "127.0.0.1:0",
		GatewayListen: "127.0.0.1:0",
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if os.Getenv("LAMINA_TEST_LOG") == "1" {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatalf("laminatest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("laminatest: start: %v", err)
	}
	p := &Platform{
		Endpoint:   srv.EdgeURL(),
		GatewayURL: srv.GatewayURL(),
		DataDir:    cfg.DataDir,
		Region:     "us-east-1",
		srv:        srv,
	}
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// Stop shuts the platform down now; Start's cleanup calls it too, and a
// second call does nothing.
func (p *Platform) Stop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.srv.Shutdown(ctx); err != nil {
		t.Errorf("laminatest: shutdown: %v", err)
	}
}

// AWSConfig returns an aws.Config with static test credentials, the
// platform's region and its endpoint as BaseEndpoint, so any service client
// made from it talks to this platform.
func (p *Platform) AWSConfig() aws.Config {
	return aws.Config{
		Region:       p.Region,
		BaseEndpoint: aws.String(p.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("laminatest", "laminatest", ""),
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(b))
	return len(b), nil
}
