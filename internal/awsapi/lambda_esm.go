package awsapi

// routeEventSourceMappings registers the Lambda event source mapping
// operations when Options.EventSourceMappings is set.
func (a *API) routeEventSourceMappings() {}
