package awsapi

import (
	"net/http"
)

// tagTarget resolves the {Resource} label of the tag operations: a full,
// unqualified function ARN (the only taggable resource Lamina has so far).
func (a *API) tagTarget(r *http.Request, c *call) (string, error) {
	arn := r.PathValue("Resource")
	ref, err := a.resolve(c, arn, "")
	if err != nil {
		return "", err
	}
	if ref.Region == "" || ref.Account == "" {
		return "", invalidParameter("1 validation error detected: Value '%s' at 'resource' failed to satisfy constraint: Member must be a full function ARN (arn:aws:lambda:<region>:<account>:function:<name>)", arn)
	}
	if ref.Qualifier != "" {
		return "", invalidParameter("Tags are kept on functions, not on versions or aliases: use the unqualified function ARN instead of %s", arn)
	}
	return ref.Name, nil
}

func (a *API) tagResource(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.tagTarget(r, c)
	if err != nil {
		return err
	}
	var in tagResourceIn
	if err := decodeJSON(r, c, &in); err != nil {
		return err
	}
	if len(in.Tags) == 0 {
		return invalidParameter("1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	if err := a.opts.Functions.Tag(r.Context(), name, in.Tags); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

func (a *API) untagResource(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.tagTarget(r, c)
	if err != nil {
		return err
	}
	keys := r.URL.Query()["tagKeys"]
	if len(keys) == 0 {
		return invalidParameter("1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null")
	}
	if err := a.opts.Functions.Untag(r.Context(), name, keys); err != nil {
		return err
	}
	return writeEmpty(w, http.StatusNoContent)
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request, c *call) error {
	name, err := a.tagTarget(r, c)
	if err != nil {
		return err
	}
	tags, err := a.opts.Functions.Tags(r.Context(), name)
	if err != nil {
		return err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	return writeJSON(w, http.StatusOK, listTagsOut{Tags: tags})
}
