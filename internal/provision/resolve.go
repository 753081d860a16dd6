package provision

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/smithy-go"

	"github.com/lamina-dev/lamina/internal/deploy"
	"github.com/lamina-dev/lamina/internal/manifest"
)

// str resolves an optional string value ("" when absent).
func str(v *manifest.Value, r manifest.Resolver) (string, error) {
	if v.IsNull() {
		return "", nil
	}
	return manifest.ResolveString(v, r)
}

// strMap resolves a map of string values.
func strMap(m map[string]*manifest.Value, r manifest.Resolver) (map[string]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, err := str(v, r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}

// plain resolves v to plain Go values (maps, lists, strings, numbers).
func plain(v *manifest.Value, r manifest.Resolver) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	out, err := manifest.Resolve(v, r)
	if err != nil {
		return nil, err
	}
	if refs := out.References(); len(refs) > 0 {
		return nil, fmt.Errorf("%s is not deployed", strings.Join(refs, ", "))
	}
	return out.Interface(), nil
}

// jsonText resolves v to JSON text; a string value is taken as JSON already.
func jsonText(v *manifest.Value, r manifest.Resolver) (string, error) {
	x, err := plain(v, r)
	if err != nil || x == nil {
		return "", err
	}
	if s, ok := x.(string); ok {
		return s, nil
	}
	raw, err := json.Marshal(x)
	return string(raw), err
}

// prop returns the resource's top-level property (nil when absent).
func prop(req *deploy.Request, name string) *manifest.Value {
	if req.Resource.Properties == nil {
		return nil
	}
	return req.Resource.Properties.Get(name)
}

// ref resolves the physical id of a resource of the stack.
func ref(r manifest.Resolver, logicalID string) (string, error) {
	v, ok := r.Ref(logicalID)
	if !ok {
		return "", fmt.Errorf("%s is not deployed", logicalID)
	}
	return v, nil
}

// att resolves an attribute of a resource of the stack.
func att(r manifest.Resolver, logicalID, name string) (string, error) {
	v, ok := r.GetAtt(logicalID, name)
	if !ok {
		return "", fmt.Errorf("%s.%s is not known", logicalID, name)
	}
	return v, nil
}

// toInt reads a number given as a number or a string.
func toInt(x any) (int, bool) {
	switch v := x.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

// errorCode is the AWS error code of err ("" if none).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// notFound reports whether err says the resource does not exist.
func notFound(err error) bool {
	switch errorCode(err) {
	case "ResourceNotFoundException", "NotFoundException", "NotFound", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist":
		return true
	}
	return false
}

// ignoreNotFound turns "already gone" into success for deletes.
func ignoreNotFound(err error) error {
	if err != nil && notFound(err) {
		return nil
	}
	return err
}
