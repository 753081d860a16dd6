package function

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// EventInvokeConfig is how asynchronous invocations of one qualifier of a
// function are retried and where their outcome goes (AWS's
// FunctionEventInvokeConfig). The registry stores it in the function's
// document; package invoke/async reads it from the Snapshot.
//
// Nil pointers mean "not set": AWS's defaults apply (2 retries, 6 hours).
type EventInvokeConfig struct {
	// Qualifier is $LATEST, a version number or an alias name (never "").
	Qualifier string `json:"qualifier"`
	// MaximumRetryAttempts is 0-2 as AWS, more when Limits allow it.
	MaximumRetryAttempts *int `json:"maximumRetryAttempts,omitempty"`
	// MaximumEventAgeInSeconds is 60-21600 as AWS, more when Limits allow it.
	MaximumEventAgeInSeconds *int `json:"maximumEventAgeInSeconds,omitempty"`
	// OnSuccess and OnFailure are destination ARNs ("" = none).
	OnSuccess    string    `json:"onSuccess,omitempty"`
	OnFailure    string    `json:"onFailure,omitempty"`
	LastModified time.Time `json:"lastModified"`
}

// EventInvokeUpdate is the body of Put (Replace = true: fields left nil are
// cleared) or Update (Replace = false: fields left nil are kept) of an
// EventInvokeConfig. A destination set to "" clears it.
type EventInvokeUpdate struct {
	Replace                  bool
	MaximumRetryAttempts     *int
	MaximumEventAgeInSeconds *int
	OnSuccess                *string
	OnFailure                *string
}

// Defaults for asynchronous invocation, as AWS.
const (
	DefaultAsyncRetryAttempts = 2
	DefaultMaxEventAge        = 21600 // seconds (6 hours)
	MinMaxEventAge            = 60
)

// EventInvokeFor returns the config that applies to an invocation of
// qualifier ("" = $LATEST): the one set for exactly that qualifier, or nil.
func (s *Snapshot) EventInvokeFor(qualifier string) *EventInvokeConfig {
	if qualifier == "" {
		qualifier = Latest
	}
	if c, ok := s.EventInvoke[qualifier]; ok {
		return &c
	}
	return nil
}

// cloneEventInvoke copies c with pointers of its own, so a Snapshot or a
// caller never shares them with the document being mutated.
func cloneEventInvoke(c EventInvokeConfig) EventInvokeConfig {
	if c.MaximumRetryAttempts != nil {
		c.MaximumRetryAttempts = ptrTo(*c.MaximumRetryAttempts)
	}
	if c.MaximumEventAgeInSeconds != nil {
		c.MaximumEventAgeInSeconds = ptrTo(*c.MaximumEventAgeInSeconds)
	}
	return c
}

func ptrTo[T any](v T) *T { return &v }

// MaxEventInvokeListItems is AWS's largest MaxItems for
// ListFunctionEventInvokeConfigs.
const MaxEventInvokeListItems = 50

// maxDestinationLen is the model's limit on a DestinationArn.
const maxDestinationLen = 350

// destinationPattern is AWS's constraint on DestinationArn, quoted as is in
// its validation message ("" matches: no destination).
const destinationPattern = `$|kafka://([^.]([a-zA-Z0-9\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)`

var (
	destinationRe = regexp.MustCompile(`^(?:` + destinationPattern + `)$`)
	// Resource parts of the destinations async invocation can deliver to.
	queueNameRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,80}(\.fifo)?$`)
	topicNameRe = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,256}(\.fifo)?$`)
	busNameRe   = regexp.MustCompile(`^event-bus/[a-zA-Z0-9._\-/]{1,256}$`)
)

// errNoSuchFunction is AWS's answer to Put, Update and List when the
// function (or Put's and Update's qualifier) does not exist.
func errNoSuchFunction() error { return fault.New(fault.NotFound, "The function doesn't exist.") }

// errNoEventInvoke is AWS's answer when the qualifier has no config (Get and
// Delete give it also for a missing function or qualifier).
func (s *Service) errNoEventInvoke(name, qualifier string) error {
	return fault.New(fault.NotFound, "The function %s doesn't have an EventInvokeConfig", s.arn(name, qualifier))
}

func latestIfEmpty(q string) string {
	if q == "" {
		return Latest
	}
	return q
}

// hasQualifier reports whether q ($LATEST, a version number or an alias)
// names something in d.
func hasQualifier(d *fnDoc, q string) bool {
	if _, ok := d.Aliases[q]; ok {
		return true
	}
	return (q == Latest || isVersionNumber(q)) && hasVersion(d, q)
}

// checkEventInvokeUpdate applies the model's constraints (with Limits in
// place of AWS's fixed maxima) and the destinations' static rules.
func (s *Service) checkEventInvokeUpdate(u EventInvokeUpdate) error {
	lim := s.opts.Limits
	if p := u.MaximumRetryAttempts; p != nil {
		if *p < 0 {
			return validation(*p, "maximumRetryAttempts", "Member must have value greater than or equal to 0")
		}
		if *p > lim.MaxAsyncRetryAttempts {
			return validation(*p, "maximumRetryAttempts", fmt.Sprintf("Member must have value less than or equal to %d", lim.MaxAsyncRetryAttempts))
		}
	}
	if p := u.MaximumEventAgeInSeconds; p != nil {
		if *p < MinMaxEventAge {
			return validation(*p, "maximumEventAgeInSeconds", fmt.Sprintf("Member must have value greater than or equal to %d", MinMaxEventAge))
		}
		if *p > lim.MaxEventAge {
			return validation(*p, "maximumEventAgeInSeconds", fmt.Sprintf("Member must have value less than or equal to %d", lim.MaxEventAge))
		}
	}
	for _, d := range []struct {
		field string
		arn   *string
	}{{"destinationConfig.onSuccess.destination", u.OnSuccess}, {"destinationConfig.onFailure.destination", u.OnFailure}} {
		if d.arn == nil {
			continue
		}
		if len(*d.arn) > maxDestinationLen {
			return validation(*d.arn, d.field, fmt.Sprintf("Member must have length less than or equal to %d", maxDestinationLen))
		}
		if !destinationRe.MatchString(*d.arn) {
			return validation(*d.arn, d.field, "Member must satisfy regular expression pattern: "+destinationPattern)
		}
	}
	if u.MaximumRetryAttempts == nil && u.MaximumEventAgeInSeconds == nil && u.OnSuccess == nil && u.OnFailure == nil {
		return fault.New(fault.Invalid, "You must specify at least one of error handling or destination setting.")
	}
	if !supportedDestination(u.OnSuccess) || !supportedDestination(u.OnFailure) {
		return fault.New(fault.Invalid, "The provided destination config %s is invalid.", destinationConfigString(u.OnSuccess, u.OnFailure))
	}
	return nil
}

// supportedDestination reports whether arn (nil or "" = none) names a kind
// of target that asynchronous invocation delivers to: a Lambda function, an
// SQS queue, an SNS topic or an EventBridge event bus. (AWS also takes S3
// buckets for failures; Lamina has nowhere to put them, so it refuses them
// rather than lose records.)
func supportedDestination(arn *string) bool {
	if arn == nil || *arn == "" {
		return true
	}
	parts := strings.SplitN(*arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[3] == "" || parts[4] == "" {
		return false
	}
	switch resource := parts[5]; parts[2] {
	case "lambda":
		ref, err := ParseRef(*arn)
		return err == nil && ref.Region != ""
	case "sqs":
		return queueNameRe.MatchString(resource)
	case "sns":
		return topicNameRe.MatchString(resource)
	case "events":
		return busNameRe.MatchString(resource)
	}
	return false
}

// destinationService is the service part of a destination ARN ("" when
// arn is not an ARN).
func destinationService(arn string) string {
	parts := strings.SplitN(arn, ":", 4)
	if len(parts) < 4 || parts[0] != "arn" {
		return ""
	}
	return parts[2]
}

// destinationConfigString renders a destination config as AWS quotes it in
// its "is invalid" message.
func destinationConfigString(onSuccess, onFailure *string) string {
	part := func(kind string, p *string) string {
		if p == nil || *p == "" {
			return "null"
		}
		return kind + "(destination=" + *p + ")"
	}
	return fmt.Sprintf("DestinationConfig(onSuccess=%s, onFailure=%s)", part("OnSuccess", onSuccess), part("OnFailure", onFailure))
}

// checkDestinationFunction checks a Lambda destination of name's config:
// another function (at an existing qualifier) of this registry.
func (s *Service) checkDestinationFunction(ctx context.Context, name, arn string) error {
	ref, err := ParseRef(arn)
	if err != nil {
		return err
	}
	if ref.Name == name {
		return fault.New(fault.Invalid, "You can't specify the function as a destination for itself.")
	}
	invalid := fault.New(fault.Invalid, "The destination ARN %s is invalid.", arn)
	if ref.Account != s.opts.AccountID {
		return invalid
	}
	d, _, err := s.load(ctx, ref.Name)
	if fault.Is(err, fault.NotFound) {
		return invalid
	}
	if err != nil {
		return err
	}
	if ref.Qualifier != "" && !hasQualifier(d, ref.Qualifier) {
		return invalid
	}
	return nil
}

// PutEventInvokeConfig creates or changes the config of name at qualifier
// ("" = $LATEST). The qualifier must exist. Values are validated against
// Limits (MaxAsyncRetryAttempts, MaxEventAge) with AWS's messages;
// destinations must be ARNs of a supported kind (lambda, sqs, sns, events).
// Update (u.Replace = false) of a missing config is fault.NotFound, as AWS.
func (s *Service) PutEventInvokeConfig(ctx context.Context, name, qualifier string, u EventInvokeUpdate) (EventInvokeConfig, error) {
	if err := checkName(name); err != nil {
		return EventInvokeConfig{}, err
	}
	if err := checkQualifier(qualifier); err != nil {
		return EventInvokeConfig{}, err
	}
	if err := s.checkEventInvokeUpdate(u); err != nil {
		return EventInvokeConfig{}, err
	}
	q := latestIfEmpty(qualifier)
	var result EventInvokeConfig
	loaded := false
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		loaded = true
		if !hasQualifier(d, q) {
			return errNoSuchFunction()
		}
		c, ok := d.EventInvoke[q]
		switch {
		case u.Replace:
			c = EventInvokeConfig{}
		case !ok:
			return s.errNoEventInvoke(name, q)
		}
		c.Qualifier = q
		if u.Replace || u.MaximumRetryAttempts != nil {
			c.MaximumRetryAttempts = u.MaximumRetryAttempts
		}
		if u.Replace || u.MaximumEventAgeInSeconds != nil {
			c.MaximumEventAgeInSeconds = u.MaximumEventAgeInSeconds
		}
		for _, dst := range []struct {
			in  *string
			out *string
		}{{u.OnSuccess, &c.OnSuccess}, {u.OnFailure, &c.OnFailure}} {
			if dst.in == nil {
				continue
			}
			if destinationService(*dst.in) == "lambda" {
				if err := s.checkDestinationFunction(ctx, name, *dst.in); err != nil {
					return err
				}
			}
			*dst.out = *dst.in
		}
		c.LastModified = s.now()
		c = cloneEventInvoke(c)
		if d.EventInvoke == nil {
			d.EventInvoke = map[string]EventInvokeConfig{}
		}
		d.EventInvoke[q] = c
		result = c
		return nil
	})
	if err != nil {
		if !loaded && fault.Is(err, fault.NotFound) {
			return EventInvokeConfig{}, errNoSuchFunction()
		}
		return EventInvokeConfig{}, err
	}
	return cloneEventInvoke(result), nil
}

// GetEventInvokeConfig returns the config of name at qualifier, or
// fault.NotFound ("The function <arn> doesn't have an EventInvokeConfig").
// As AWS, a missing function or qualifier gets that same answer.
func (s *Service) GetEventInvokeConfig(ctx context.Context, name, qualifier string) (EventInvokeConfig, error) {
	if err := checkName(name); err != nil {
		return EventInvokeConfig{}, err
	}
	if err := checkQualifier(qualifier); err != nil {
		return EventInvokeConfig{}, err
	}
	q := latestIfEmpty(qualifier)
	d, _, err := s.load(ctx, name)
	if fault.Is(err, fault.NotFound) {
		return EventInvokeConfig{}, s.errNoEventInvoke(name, q)
	}
	if err != nil {
		return EventInvokeConfig{}, err
	}
	c, ok := d.EventInvoke[q]
	if !ok {
		return EventInvokeConfig{}, s.errNoEventInvoke(name, q)
	}
	return cloneEventInvoke(c), nil
}

// eventInvokeOrder sorts qualifiers as listings show them: $LATEST, the
// versions by number, then the aliases by name.
func eventInvokeOrder(a, b string) int {
	ka, kb := isVersionNumber(a) || a == Latest, isVersionNumber(b) || b == Latest
	switch {
	case ka && kb:
		return cmp.Compare(versionRank(a), versionRank(b))
	case ka:
		return -1
	case kb:
		return 1
	}
	return strings.Compare(a, b)
}

// eventInvokeMarker is the listing position just after qualifier q.
func eventInvokeMarker(q string) listMarker {
	if q == Latest || isVersionNumber(q) {
		return listMarker{V: q}
	}
	return listMarker{A: q}
}

// ListEventInvokeConfigs pages through name's configs (MaxItems 1-50).
func (s *Service) ListEventInvokeConfigs(ctx context.Context, name string, page Page) ([]EventInvokeConfig, string, error) {
	if page.MaxItems > MaxEventInvokeListItems {
		return nil, "", validation(page.MaxItems, "maxItems", fmt.Sprintf("Member must have value less than or equal to %d", MaxEventInvokeListItems))
	}
	if page.MaxItems == 0 {
		page.MaxItems = MaxEventInvokeListItems
	}
	d, limit, after, err := s.loadPage(ctx, name, page)
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return nil, "", errNoSuchFunction()
		}
		return nil, "", err
	}
	var start string // the last qualifier of the previous page
	switch {
	case after.A != "":
		start = after.A
	case after.V != "":
		start = after.V
	}
	out := []EventInvokeConfig{}
	next := ""
	for _, q := range slices.SortedFunc(maps.Keys(d.EventInvoke), eventInvokeOrder) {
		if start != "" && eventInvokeOrder(q, start) <= 0 {
			continue
		}
		if len(out) == limit {
			next = encodeMarker(eventInvokeMarker(out[len(out)-1].Qualifier))
			break
		}
		out = append(out, cloneEventInvoke(d.EventInvoke[q]))
	}
	return out, next, nil
}

// DeleteEventInvokeConfig removes the config (fault.NotFound when absent).
func (s *Service) DeleteEventInvokeConfig(ctx context.Context, name, qualifier string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkQualifier(qualifier); err != nil {
		return err
	}
	q := latestIfEmpty(qualifier)
	loaded := false
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		loaded = true
		if _, ok := d.EventInvoke[q]; !ok {
			return s.errNoEventInvoke(name, q)
		}
		delete(d.EventInvoke, q)
		return nil
	})
	if !loaded && fault.Is(err, fault.NotFound) {
		return s.errNoEventInvoke(name, q)
	}
	return err
}
