package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// AWS::Include: a {"Fn::Transform": {"Name": "AWS::Include", "Parameters":
// {"Location": "api.yaml"}}} node is replaced by the YAML or JSON snippet in
// that file before anything else is evaluated, as CloudFormation does, so
// the snippet's own intrinsics (an OpenAPI document's !Sub of function ARNs)
// resolve like the template's. SAM CLI users keep OpenAPI documents beside
// the template this way; a local Location is read relative to the
// template's directory, an s3:// one is refused (Lamina deploys from files).

// maxIncludeDepth bounds snippets that include snippets.
const maxIncludeDepth = 8

// resolveIncludes replaces every AWS::Include in t with its file.
func resolveIncludes(t *Template) error {
	return includeIn(t.Root, t.Dir, t.File, 0)
}

func includeIn(v *Value, dir, file string, depth int) error {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case List:
		for _, it := range v.Items {
			if err := includeIn(it, dir, file, depth); err != nil {
				return err
			}
		}
	case Map:
		if name, arg, ok := v.Intrinsic(); ok && name == "Fn::Transform" {
			if n, _ := arg.Get("Name").AsString(); n == "AWS::Include" {
				return include(v, arg, dir, file, depth)
			}
		}
		for _, f := range v.Fields {
			if err := includeIn(f.Value, dir, file, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// include replaces v (the Fn::Transform node) with the snippet it names.
func include(v, arg *Value, dir, file string, depth int) error {
	loc, ok := arg.Get("Parameters").Get("Location").AsString()
	if !ok || loc == "" {
		return errorf(v.Pos, "", "%s: AWS::Include needs Parameters.Location, the snippet's path", file)
	}
	if strings.Contains(loc, "://") {
		return errorf(v.Pos, "", "%s: AWS::Include of %s: Lamina reads snippets from local files (a path relative to the template)", file, loc)
	}
	if depth >= maxIncludeDepth {
		return errorf(v.Pos, "", "%s: AWS::Include of %s: more than %d nested includes", file, loc, maxIncludeDepth)
	}
	path := loc
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, loc)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return errorf(v.Pos, "", "%s: AWS::Include: %v", file, err)
	}
	snippet, err := parseValue(data)
	if err != nil {
		msg := err.Error()
		var e *Error
		if errors.As(err, &e) {
			msg = e.Msg
		}
		return errorf(v.Pos, "", "AWS::Include of %s: %s", loc, msg)
	}
	if err := includeIn(snippet, filepath.Dir(path), filepath.Base(path), depth+1); err != nil {
		return err
	}
	*v = *snippet
	return nil
}
