package bench

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/lamina-dev/lamina/internal/server"
)

// echoPlatform is Lamina started in-process on free ports, with the
// aws-lambda-go echo function deployed as bench-echo.
type echoPlatform struct {
	srv    *server.Server
	client *lambda.Client
	// bootstrapPath and baselinePath are the built echo function and the
	// same handler as a plain net/http server.
	bootstrapPath, baselinePath string
	// zipped is the echo function's deployment package.
	zipped []byte
}

// startEchoPlatform builds the programs into dir, starts Lamina with its
// data in dir and deploys the echo function. Close it with shutdown.
func startEchoPlatform(ctx context.Context, dir string, say func(string, ...any), sharedCPUs bool) (*echoPlatform, error) {
	say("building the aws-lambda-go function and the net/http baseline…")
	bootstrapPath, baselinePath, err := buildPrograms(ctx, dir)
	if err != nil {
		return nil, err
	}
	say("starting Lamina in-process (embedded JetStream in %s)…", dir)
	srv, err := server.New(server.Config{
		DataDir:       dir + "/data",
		Listen:        "127.0.0.1:0",
		GatewayListen: "127.0.0.1:0",
		SharedCPUs:    sharedCPUs,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	p := &echoPlatform{srv: srv, bootstrapPath: bootstrapPath, baselinePath: baselinePath}
	p.client = lambda.New(lambda.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.EdgeURL()),
		Credentials:  credentials.NewStaticCredentialsProvider("bench", "bench", ""),
	})
	if p.zipped, err = zipBootstrap(bootstrapPath, nil); err != nil {
		p.shutdown(ctx)
		return nil, err
	}
	if err := createFunction(ctx, p.client, "bench-echo", p.zipped); err != nil {
		p.shutdown(ctx)
		return nil, err
	}
	return p, nil
}

func (p *echoPlatform) shutdown(ctx context.Context) { _ = p.srv.Shutdown(context.WithoutCancel(ctx)) }

// startBarePlatform starts Lamina in-process on free ports with its data
// in dir, without deploying anything.
func startBarePlatform(ctx context.Context, dir string, say func(string, ...any)) (*server.Server, error) {
	say("starting Lamina in-process (embedded JetStream in %s)…", dir)
	srv, err := server.New(server.Config{
		DataDir:       dir + "/data",
		Listen:        "127.0.0.1:0",
		GatewayListen: "127.0.0.1:0",
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	return srv, nil
}
