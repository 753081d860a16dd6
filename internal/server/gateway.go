package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/lamina-dev/lamina/internal/clock"
	"github.com/lamina-dev/lamina/internal/gateway"
	"github.com/lamina-dev/lamina/internal/gateway/auth"
	"github.com/lamina-dev/lamina/internal/gateway/limit"
	"github.com/lamina-dev/lamina/internal/gateway/payload"
	"github.com/lamina-dev/lamina/internal/invoke"
)

// gatewayPort is the port part of the gateway listener's address, for the
// URLs that the control planes report (apiEndpoint, FunctionUrl).
func (s *Server) gatewayPort() string {
	_, port, err := net.SplitHostPort(s.gatewayLn.Addr().String())
	if err != nil {
		return "3000"
	}
	return port
}

// startGateway opens the HTTP API definitions and builds the gateway
// listener's handler: function URLs by host or path prefix, everything
// else through the API data plane.
func (s *Server) startGateway(ctx context.Context) (http.Handler, error) {
	port := s.gatewayPort()
	var err error
	s.gatewayDefs, err = gateway.New(ctx, gateway.Options{
		Store:                 s.store,
		Logger:                s.log.With("component", "gateway"),
		IntegrationTimeoutMax: s.cfg.GatewayIntegrationTimeout,
		EndpointURL: func(apiID string) string {
			return fmt.Sprintf("http://%s.execute-api.localhost:%s", apiID, port)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("gateway definitions: %w", err)
	}
	inv := gatewayInvoker{s.invoker}
	logger := s.log.With("component", "gateway")
	// API keys' view follows the store until background work stops on shutdown, before the store closes.
	if s.gatewayKeys, err = gateway.NewKeys(s.background, gateway.KeyOptions{Store: s.store, Defs: s.gatewayDefs, Logger: logger, Throttler: limit.NewThrottler(clock.Real{}), QuotaWindow: limit.WindowStart}); err != nil {
		return nil, fmt.Errorf("gateway API keys: %w", err)
	}
	apis := gateway.NewHandler(gateway.HandlerOptions{
		Defs:               s.gatewayDefs,
		Invoker:            inv,
		IntegrationTimeout: s.cfg.GatewayIntegrationTimeout,
		Logger:             logger,
		Throttler:          limit.NewThrottler(clock.Real{}),
		Validator:          limit.NewValidator(),
		APIKeys:            s.gatewayKeys,
		NewAuthorizer: func(apiID string, def gateway.Authorizer) (gateway.RequestAuthorizer, error) {
			switch def.Type {
			case gateway.AuthorizerJWT:
				return authAdapter{auth.NewJWT(def, auth.JWTOptions{})}, nil
			case gateway.AuthorizerRequest, gateway.AuthorizerToken:
				return authAdapter{auth.NewLambda(def, inv, auth.LambdaOptions{})}, nil
			}
			return nil, fmt.Errorf("authorizer %s of API %s: unknown type %q", def.ID, apiID, def.Type)
		},
	})
	urls := gateway.NewFunctionURLHandler(gateway.FunctionURLOptions{
		Lookup:  s.functions.LookupFunctionURL,
		Invoker: inv,
		Logger:  logger,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := gateway.IsFunctionURLHost(r.Host); ok || strings.HasPrefix(r.URL.Path, gateway.FunctionURLPathPrefix) {
			urls.ServeHTTP(w, r)
			return
		}
		apis.ServeHTTP(w, r)
	}), nil
}

// gatewayInvoker runs integrations and authorizers through the invoke
// service, as synchronous calls.
type gatewayInvoker struct{ s *invoke.Service }

func (g gatewayInvoker) Invoke(ctx context.Context, function, qualifier string, event []byte) ([]byte, bool, error) {
	// The events are the gateway's own JSON: no need to validate them again.
	resp, err := g.s.Invoke(ctx, invoke.Request{FunctionName: function, Qualifier: qualifier, Payload: event, PayloadIsJSON: true})
	if err != nil {
		return nil, false, err
	}
	return resp.Payload, resp.FunctionError != "", nil
}

// authAdapter lets the data plane use package auth's authorizers (auth
// imports gateway, so the data plane cannot import auth).
type authAdapter struct{ a auth.Authorizer }

func (x authAdapter) Authorize(ctx context.Context, r *http.Request, in *payload.Request, scopes []string) (gateway.AuthResult, error) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	res, err := x.a.Authorize(ctx, &auth.Request{
		Method: r.Method, Path: in.Path, RawPath: in.RawPath, RawQuery: r.URL.RawQuery, Header: r.Header,
		PathParameters: in.PathParameters, StageVariables: in.StageVariables, APIID: in.APIID, Stage: in.Stage,
		RouteKey: in.RouteKey, ResourcePath: in.ResourcePath, DomainName: host, RequestID: in.RequestID,
		AccountID: in.AccountID, Region: in.Region, SourceIP: in.SourceIP, Time: in.Time,
	}, scopes)
	return gateway.AuthResult(res), err
}
