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
// including file's directory, an s3:// one is refused (Lamina deploys from
// files). What was included is kept in Template.Included, so that the same
// template can be loaded again later from those texts (Options.ReadInclude)
// although the files have changed since.

// maxIncludeDepth bounds snippets that include snippets.
const maxIncludeDepth = 8

// includer resolves the includes of one template.
type includer struct {
	t    *Template
	read func(path string) ([]byte, error)
}

// resolveIncludes replaces every AWS::Include in t with its snippet, read
// with read (nil: from the file system).
func resolveIncludes(t *Template, read func(path string) ([]byte, error)) error {
	if read == nil {
		read = os.ReadFile
	}
	return (&includer{t: t, read: read}).in(t.Root, t.Dir, t.File, 0)
}

func (x *includer) in(v *Value, dir, file string, depth int) error {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case List:
		for _, it := range v.Items {
			if err := x.in(it, dir, file, depth); err != nil {
				return err
			}
		}
	case Map:
		if name, arg, ok := v.Intrinsic(); ok && name == "Fn::Transform" {
			if n, _ := arg.Get("Name").AsString(); n == "AWS::Include" {
				return x.include(v, arg, dir, file, depth)
			}
		}
		for _, f := range v.Fields {
			if err := x.in(f.Value, dir, file, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// include replaces v (the Fn::Transform node) with the snippet it names.
func (x *includer) include(v, arg *Value, dir, file string, depth int) error {
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
	data, err := x.read(path)
	if err != nil {
		return errorf(v.Pos, "", "%s: AWS::Include: %v", file, err)
	}
	if x.t.Included == nil {
		x.t.Included = map[string][]byte{}
	}
	x.t.Included[IncludeKey(x.t.Dir, path)] = data
	snippet, err := parseValue(data)
	if err != nil {
		msg := err.Error()
		var e *Error
		if errors.As(err, &e) {
			msg = e.Msg
		}
		return errorf(v.Pos, "", "AWS::Include of %s: %s", loc, msg)
	}
	if err := x.in(snippet, filepath.Dir(path), filepath.Base(path), depth+1); err != nil {
		return err
	}
	*v = *snippet
	return nil
}

// IncludeKey names an included file in Template.Included: its path relative
// to the template's directory (absolute when it is outside), so that the
// name does not depend on the directory the template was loaded from.
func IncludeKey(templateDir, path string) string {
	if rel, err := filepath.Rel(templateDir, path); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}
