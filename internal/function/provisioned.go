package function

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/lamina-dev/lamina/internal/fault"
)

// ProvisionedConfig is a provisioned-concurrency setting: Requested
// instances of the version that Qualifier (a version number or an alias)
// names are kept started ahead of traffic. The registry stores the setting;
// package invoke applies it.
type ProvisionedConfig struct {
	Qualifier    string    `json:"qualifier"`
	Requested    int       `json:"requested"`
	LastModified time.Time `json:"lastModified"`
}

// ErrNoProvisionedConfig is in the chain of the fault.NotFound that
// GetProvisioned returns when the qualifier exists but has no setting (AWS's
// ProvisionedConcurrencyConfigNotFoundException).
var ErrNoProvisionedConfig = errors.New("function: no provisioned concurrency config")

func errNoProvisioned() error {
	return &fault.Error{Kind: fault.NotFound, Message: "No Provisioned Concurrency Config found for this function", Err: ErrNoProvisionedConfig}
}

// checkProvisionedQualifier validates the qualifier of a provisioned-concurrency
// operation other than Put (which words the $LATEST case differently).
func checkProvisionedQualifier(q string) error {
	if q == "" {
		return validation("null", "qualifier", "Member must not be null")
	}
	if err := checkQualifier(q); err != nil {
		return err
	}
	if q == Latest {
		return fault.New(fault.Invalid, "The function resource provided must be an alias or a published version.")
	}
	return nil
}

// provisionedTarget checks that q names an existing alias or version of d.
func (s *Service) provisionedTarget(d *fnDoc, name, q string) (alias *Alias, err error) {
	if a, ok := d.Aliases[q]; ok {
		return &a, nil
	}
	if isVersionNumber(q) {
		if !hasVersion(d, q) {
			return nil, s.notFound(name, q)
		}
		return nil, nil
	}
	return nil, s.aliasNotFound(name, q)
}

// PutProvisioned keeps n instances of the version that qualifier names
// started ahead of traffic. As AWS: the qualifier must be a published version
// or an alias of one; an alias and the version it points to cannot both
// have a setting; with reserved concurrency, all settings together must fit
// in it.
func (s *Service) PutProvisioned(ctx context.Context, name, qualifier string, n int) (ProvisionedConfig, error) {
	if err := checkName(name); err != nil {
		return ProvisionedConfig{}, err
	}
	if qualifier == Latest {
		return ProvisionedConfig{}, fault.New(fault.Invalid, "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
	}
	if err := checkProvisionedQualifier(qualifier); err != nil {
		return ProvisionedConfig{}, err
	}
	if n < 1 {
		return ProvisionedConfig{}, validation(n, "provisionedConcurrentExecutions", "Member must have value greater than or equal to 1")
	}
	lim := s.opts.Limits
	if n > lim.AccountConcurrency-lim.MinUnreserved() {
		return ProvisionedConfig{}, fault.New(fault.Invalid, "Requested Provisioned Concurrency should not be greater than the account's unreserved concurrency (%d).", lim.AccountConcurrency-lim.MinUnreserved())
	}
	var result ProvisionedConfig
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		alias, err := s.provisionedTarget(d, name, qualifier)
		if err != nil {
			return err
		}
		if alias != nil {
			if alias.FunctionVersion == Latest {
				return fault.New(fault.Invalid, "Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
			}
			if _, ok := d.Provisioned[alias.FunctionVersion]; ok {
				return fault.New(fault.Conflict, "Alias can't be used for Provisioned Concurrency configuration on an already Provisioned version")
			}
		} else {
			for an, a := range d.Aliases {
				if _, ok := d.Provisioned[an]; ok && a.FunctionVersion == qualifier {
					return fault.New(fault.Conflict, "Version is pointed by a Provisioned Concurrency alias")
				}
			}
		}
		if d.Reserved != nil {
			sum := n
			for q, c := range d.Provisioned {
				if q != qualifier {
					sum += c.Requested
				}
			}
			if sum > *d.Reserved {
				return fault.New(fault.Invalid, "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function")
			}
		}
		result = ProvisionedConfig{Qualifier: qualifier, Requested: n, LastModified: s.now()}
		if d.Provisioned == nil {
			d.Provisioned = map[string]ProvisionedConfig{}
		}
		d.Provisioned[qualifier] = result
		return nil
	})
	if err != nil {
		return ProvisionedConfig{}, err
	}
	return result, nil
}

// GetProvisioned returns the setting of qualifier. A qualifier without one
// is a fault.NotFound wrapping ErrNoProvisionedConfig.
func (s *Service) GetProvisioned(ctx context.Context, name, qualifier string) (ProvisionedConfig, error) {
	if err := checkName(name); err != nil {
		return ProvisionedConfig{}, err
	}
	if err := checkProvisionedQualifier(qualifier); err != nil {
		return ProvisionedConfig{}, err
	}
	d, _, err := s.load(ctx, name)
	if err != nil {
		return ProvisionedConfig{}, err
	}
	if _, err := s.provisionedTarget(d, name, qualifier); err != nil {
		return ProvisionedConfig{}, err
	}
	c, ok := d.Provisioned[qualifier]
	if !ok {
		return ProvisionedConfig{}, errNoProvisioned()
	}
	return c, nil
}

// ListProvisioned returns the function's settings sorted by qualifier.
func (s *Service) ListProvisioned(ctx context.Context, name string, page Page) ([]ProvisionedConfig, string, error) {
	d, limit, after, err := s.loadPage(ctx, name, page)
	if err != nil {
		return nil, "", err
	}
	out := []ProvisionedConfig{}
	next := ""
	for _, q := range slices.Sorted(maps.Keys(d.Provisioned)) {
		if page.Marker != "" && q <= after.A {
			continue
		}
		if len(out) == limit {
			next = encodeMarker(listMarker{A: out[len(out)-1].Qualifier})
			break
		}
		out = append(out, d.Provisioned[q])
	}
	return out, next, nil
}

// DeleteProvisioned removes the setting of qualifier; a qualifier without
// one is not an error (as AWS), a missing version or alias is.
func (s *Service) DeleteProvisioned(ctx context.Context, name, qualifier string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkProvisionedQualifier(qualifier); err != nil {
		return err
	}
	_, _, err := s.mutate(ctx, name, func(d *fnDoc, t *tx) error {
		if _, err := s.provisionedTarget(d, name, qualifier); err != nil {
			return err
		}
		if _, ok := d.Provisioned[qualifier]; !ok {
			return errNoWrite
		}
		delete(d.Provisioned, qualifier)
		return nil
	})
	return err
}
