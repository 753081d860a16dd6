package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
)

// Config is what a Provisioner needs: an SDK configuration (region and
// credentials) and Lamina's endpoint.
type Config struct {
	AWS      aws.Config
	Endpoint string // e.g. http://127.0.0.1:4566
	// AccountID is used to build ARNs the APIs do not return (roles).
	AccountID string
	Logger    *slog.Logger
}

// Provisioner is deploy.Provisioner over Lamina's AWS APIs. It is safe for
// concurrent use by one deploy at a time per stack.
type Provisioner struct {
	cfg       Config
	lambda    *lambda.Client
	sqs       *sqs.Client
	sns       *sns.Client
	scheduler *scheduler.Client
	events    *eventbridge.Client
	apigwv2   *apigatewayv2.Client
	apigw     *apigateway.Client
	log       *slog.Logger
	handlers  map[manifest.ResourceType]handler
}

var _ deploy.Provisioner = (*Provisioner)(nil)

// handler creates, updates and deletes one resource type.
type handler interface {
	create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error)
	update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error)
	delete(ctx context.Context, req *deploy.DeleteRequest) error
}

// New returns a Provisioner for cfg.
func New(cfg Config) *Provisioner {
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ep := aws.String(cfg.Endpoint)
	p := &Provisioner{
		cfg:       cfg,
		lambda:    lambda.NewFromConfig(cfg.AWS, func(o *lambda.Options) { o.BaseEndpoint = ep }),
		sqs:       sqs.NewFromConfig(cfg.AWS, func(o *sqs.Options) { o.BaseEndpoint = ep }),
		sns:       sns.NewFromConfig(cfg.AWS, func(o *sns.Options) { o.BaseEndpoint = ep }),
		scheduler: scheduler.NewFromConfig(cfg.AWS, func(o *scheduler.Options) { o.BaseEndpoint = ep }),
		events:    eventbridge.NewFromConfig(cfg.AWS, func(o *eventbridge.Options) { o.BaseEndpoint = ep }),
		apigwv2:   apigatewayv2.NewFromConfig(cfg.AWS, func(o *apigatewayv2.Options) { o.BaseEndpoint = ep }),
		apigw:     apigateway.NewFromConfig(cfg.AWS, func(o *apigateway.Options) { o.BaseEndpoint = ep }),
		log:       cfg.Logger,
		handlers:  map[manifest.ResourceType]handler{},
	}
	p.registerFunctions()
	p.registerMessaging()
	p.registerAPIs()
	p.registerUsagePlans()
	return p
}

func (p *Provisioner) register(t manifest.ResourceType, h handler) { p.handlers[t] = h }

func (p *Provisioner) handler(t manifest.ResourceType) (handler, error) {
	h, ok := p.handlers[t]
	if !ok {
		return nil, fmt.Errorf("lamina cannot deploy resources of type %s", t)
	}
	return h, nil
}

// Create implements deploy.Provisioner.
func (p *Provisioner) Create(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	h, err := p.handler(req.Resource.Type)
	if err != nil {
		return nil, err
	}
	out, err := h.create(ctx, req)
	return out, clean(err)
}

// Update implements deploy.Provisioner.
func (p *Provisioner) Update(ctx context.Context, req *deploy.Request) (*deploy.Outcome, error) {
	h, err := p.handler(req.Resource.Type)
	if err != nil {
		return nil, err
	}
	out, err := h.update(ctx, req)
	return out, clean(err)
}

// Delete implements deploy.Provisioner.
func (p *Provisioner) Delete(ctx context.Context, req *deploy.DeleteRequest) error {
	h, err := p.handler(req.State.Type)
	if err != nil {
		return err
	}
	return clean(h.delete(ctx, req))
}

// apiError shortens an SDK error to the service's code and message
// ("ValidationException: Invalid Schedule Expression ..."), keeping the
// original for errors.Is/As.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// clean replaces the SDK's long description of a service error (operation,
// status code, request id) with its code and message.
func clean(err error) error {
	var ae smithy.APIError
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) {
		return err
	}
	short := ae.ErrorCode() + ": " + ae.ErrorMessage()
	return &apiError{msg: strings.Replace(err.Error(), oe.Error(), short, 1), err: err}
}
