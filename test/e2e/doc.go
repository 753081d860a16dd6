// Package e2e runs functions end to end: a real platform from laminatest,
// real runtimes (aws-lambda-go binaries, Python and Node handlers through
// Lamina's embedded bootstraps) and the aws-sdk-go-v2 Lambda client.
package e2e
