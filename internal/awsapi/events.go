package awsapi

// routeEvents registers the EventBridge (AWSEvents, JSON 1.1) rules API.
func (a *API) routeEvents() {}
