// Package function owns the registry of functions: their configuration,
// deployment packages (validated as untrusted input and kept in the store's
// object store), immutable published versions, aliases with routing weights,
// tags and reserved concurrency. It knows nothing of wire formats: edges turn
// its Go types into AWS's shapes.
package function
