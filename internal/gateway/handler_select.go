package gateway

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"

	"github.com/lamina-dev/lamina/internal/gateway/route"
)

// executeAPIHost is what marks an execute-api host name:
// "{apiId}.execute-api.localhost[:port]" locally, any
// "{apiId}.execute-api.{anything}" behind a proxy or DNS of the user's.
const executeAPIHost = ".execute-api."

// selectAPI picks the API a request is for, in this order:
//  1. the Host "{apiId}.execute-api.…": that API or nothing (a host that
//     names an API answers for it alone, as on AWS where each API has its
//     own host);
//  2. a first path segment that is a known API id ("/{apiId}/{stage}/…",
//     Lamina's path-style stand-in for that host), stripped;
//  3. the Default API, with the path unchanged.
//
// rawPath is the request's escaped path; rest is what follows the API
// prefix, escaped, always starting with "/". A nil doc means 404. An API
// whose execute-api endpoint is disabled is not reachable through forms 1
// and 2 (they stand for that endpoint); as the Default it is, as through a
// custom domain.
func selectAPI(defs Definitions, host, rawPath string) (doc *APIDoc, rest string) {
	if rawPath == "" || rawPath[0] != '/' {
		rawPath = "/" + rawPath
	}
	if id, ok := hostAPIID(host); ok {
		doc = defs.Snapshot(id)
		if doc == nil || doc.API.DisableExecuteAPIEndpoint {
			return nil, ""
		}
		return doc, rawPath
	}
	if seg, after := firstSegment(rawPath); seg != "" {
		if d := defs.Snapshot(seg); d != nil {
			if d.API.DisableExecuteAPIEndpoint {
				return nil, ""
			}
			return d, after
		}
	}
	if d := defs.DefaultAPI(); d != nil {
		return d, rawPath
	}
	return nil, ""
}

// hostAPIID returns the API id of an execute-api host name.
func hostAPIID(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	i := strings.Index(host, executeAPIHost)
	if i <= 0 || strings.Contains(host[:i], ".") {
		return "", false
	}
	return host[:i], true
}

// firstSegment splits "/a/b/c" into "a" and "/b/c" ("/a" into "a" and
// "/"). The segment stays escaped.
func firstSegment(p string) (seg, rest string) {
	p = strings.TrimPrefix(p, "/")
	seg, rest, found := strings.Cut(p, "/")
	if !found {
		return seg, "/"
	}
	return seg, "/" + rest
}

// selectStage picks the stage as HTTP APIs do: a first path segment equal
// to a stage's name selects it and is stripped; otherwise the $default
// stage takes the request, path unchanged; otherwise there is none (404).
// The name "$default" itself is never matched from the path: that stage
// is served at the root.
func selectStage(doc *APIDoc, rest string) (name string, st *Stage, after string, ok bool) {
	if seg, tail := firstSegment(rest); seg != "" {
		if s, err := url.PathUnescape(seg); err == nil && s != "$default" {
			if stage, found := doc.Stages[s]; found {
				return s, &stage, tail, true
			}
		}
	}
	if stage, found := doc.Stages["$default"]; found {
		return "$default", &stage, rest, true
	}
	return "", nil, "", false
}

// compiledAPI is one document's routes compiled for matching; routes[i]
// is the route whose key is the table's key i.
type compiledAPI struct {
	doc    *APIDoc
	table  *route.Table
	routes []Route
}

// routes returns doc's compiled routes, compiling them the first time this
// revision of the document is seen.
func (h *handler) routes(doc *APIDoc) *compiledAPI {
	if v, ok := h.tables.Load(doc.API.ID); ok {
		if c := v.(*compiledAPI); c.doc == doc {
			return c
		}
	}
	c := compileAPI(doc, func(err error) {
		h.log.Warn("gateway: route skipped", "apiId", doc.API.ID, "error", err)
	})
	h.tables.Store(doc.API.ID, c)
	return c
}

// compileAPI compiles doc's routes. A key the route package refuses (the
// control plane should not have stored it) or a duplicate is skipped and
// reported, so one bad route does not take the whole API down.
func compileAPI(doc *APIDoc, skipped func(error)) *compiledAPI {
	ids := make([]string, 0, len(doc.Routes))
	for id := range doc.Routes {
		ids = append(ids, id)
	}
	sort.Strings(ids) // a deterministic order, whatever the map's
	c := &compiledAPI{doc: doc}
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		rt := doc.Routes[id]
		keys = append(keys, rt.Key)
		c.routes = append(c.routes, rt)
	}
	t, err := route.Compile(keys)
	if err != nil {
		// Rare (the control plane refuses such keys): find the culprits
		// by adding routes one at a time, keeping those that compile.
		c.routes, keys = c.routes[:0:0], keys[:0:0]
		for _, id := range ids {
			rt := doc.Routes[id]
			if _, err := route.Compile(append(keys[:len(keys):len(keys)], rt.Key)); err != nil {
				skipped(fmt.Errorf("route %s: %w", id, err))
				continue
			}
			keys = append(keys, rt.Key)
			c.routes = append(c.routes, rt)
		}
		t, _ = route.Compile(keys) // every prefix compiled, so this does
	}
	c.table = t
	return c
}
