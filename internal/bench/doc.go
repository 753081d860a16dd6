// Package bench measures Lamina against baselines measured in the same run,
// and prints the figures as ratios: `lamina bench invoke` runs it. It boots
// a real platform in-process, deploys a real aws-lambda-go function and
// drives it over the Invoke API, beside the same handler logic served by one
// plain net/http hop.
package bench
