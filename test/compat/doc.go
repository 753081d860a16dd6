// Package compat holds tests that drive Lamina with AWS's own tools, the AWS
// CLI and boto3, exactly as the README tells a newcomer to. They prove that
// clients other than aws-sdk-go-v2 accept Lamina's wire format.
package compat
