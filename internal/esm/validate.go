package esm

import (
	"fmt"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
	"github.com/lamina-dev/lamina/internal/pattern"
)

// Limits of FilterCriteria (Lambda's quotas).
const (
	maxFilters       = 5
	maxPatternLength = 4096
)

// eventSourceARNPattern is the model's pattern for EventSourceArn, quoted
// in validation messages.
const eventSourceARNPattern = `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`

// validation is Lambda's wording for a value that breaks the model.
func validation(value any, field, constraint string) error {
	return fault.New(fault.Invalid, "1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, field, constraint)
}

func invalid(format string, args ...any) error {
	return fault.New(fault.Invalid, format, args...)
}

// checkSourceARN accepts an SQS queue ARN; other services' ARNs are
// refused as Lamina maps only queues.
func checkSourceARN(arn string) error {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] == "" {
		return validation(arn, "eventSourceArn", "Member must satisfy regular expression pattern: "+eventSourceARNPattern)
	}
	if parts[2] != "sqs" {
		return fault.New(fault.Unsupported, "Unsupported event source %s: Lamina maps Amazon SQS queues only.", arn)
	}
	return nil
}

// settings are the tunable members of a mapping, validated together.
type settings struct {
	batchSize     int
	window        time.Duration
	responseTypes []string
	concurrency   int
	filters       []Filter
}

// check applies Lambda's rules for an SQS source (fifo: a FIFO queue).
func (c *settings) check(fifo bool) error {
	switch {
	case c.batchSize < 1:
		return validation(c.batchSize, "batchSize", "Member must have value greater than or equal to 1")
	case c.batchSize > MaxBatchSize:
		return validation(c.batchSize, "batchSize", "Member must have value less than or equal to 10000")
	case fifo && c.batchSize > MaxBatchSizeFIFO:
		return invalid("Invalid batch size %d: the batch size of a FIFO queue must be between 1 and 10.", c.batchSize)
	}
	secs := int(c.window / time.Second)
	switch {
	case c.window < 0:
		return validation(secs, "maximumBatchingWindowInSeconds", "Member must have value greater than or equal to 0")
	case c.window > MaxBatchingWindow:
		return validation(secs, "maximumBatchingWindowInSeconds", "Member must have value less than or equal to 300")
	case c.window%time.Second != 0:
		return invalid("MaximumBatchingWindowInSeconds must be a whole number of seconds.")
	case fifo && c.window > 0:
		return invalid("Batching window is not supported for FIFO queues.")
	case c.batchSize > 10 && c.window < time.Second:
		return invalid("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10")
	}
	seen := map[string]bool{}
	var types []string
	for _, t := range c.responseTypes {
		if t != ReportBatchItemFailures {
			return validation("["+strings.Join(c.responseTypes, ", ")+"]", "functionResponseTypes",
				"Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]")
		}
		if !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	c.responseTypes = types
	if c.concurrency != 0 {
		switch {
		case c.concurrency < MinMaximumConcurrency:
			return validation(c.concurrency, "scalingConfig.maximumConcurrency", "Member must have value greater than or equal to 2")
		case c.concurrency > MaxMaximumConcurrency:
			return validation(c.concurrency, "scalingConfig.maximumConcurrency", "Member must have value less than or equal to 1000")
		}
	}
	return checkFilters(c.filters)
}

// checkFilters compiles every pattern (the messages are the pattern
// package's, worded as Lambda's).
func checkFilters(filters []Filter) error {
	if len(filters) > maxFilters {
		return invalid("Invalid filter criteria: %d filters given, an event source mapping can have at most %d.", len(filters), maxFilters)
	}
	for _, f := range filters {
		if len(f.Pattern) > maxPatternLength {
			return validation(fmt.Sprintf("%.40s...", f.Pattern), "filterCriteria.filters.member.pattern", "Member must have length less than or equal to 4096")
		}
		if _, err := pattern.Compile([]byte(f.Pattern), pattern.Options{Dialect: pattern.LambdaFilter}); err != nil {
			return err
		}
	}
	return nil
}
