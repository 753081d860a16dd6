// Package provision implements deploy.Provisioner over Lamina's AWS APIs:
// each template resource is created, updated and deleted with the same
// aws-sdk-go-v2 calls a user's tools would make (Lambda, SQS, SNS,
// Scheduler, EventBridge, API Gateway v2 and API Gateway's API keys), so
// deploying works against any Lamina endpoint, local or remote, and every
// deploy also exercises the public APIs.
//
// Each resource family lives in its own file (functions, messaging, apis)
// and registers a handler per manifest.ResourceType. Handlers resolve the
// resource's references with the request's Resolver, name what they create
// after the stack and logical id unless the template names it, and return
// the physical id (what Ref gives) and the GetAtt attributes.
//
// The package also holds StackClient, the deploy.StateStore over Lamina's
// /_lamina/v1/stacks endpoint.
package provision
