package gateway

// Definitions is what the data plane needs of the API definitions: an
// in-memory, watch-backed view (no store I/O per request). *Service (the
// control plane, service.go) satisfies it.
type Definitions interface {
	// Snapshot returns the current document of API id, or nil. The
	// document is immutable: callers must not modify it.
	Snapshot(id string) *APIDoc
	// DefaultAPI returns the API marked Default, or nil.
	DefaultAPI() *APIDoc
}
