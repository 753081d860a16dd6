package awsapi

// routeSQS registers the SQS API (JSON 1.0 target AmazonSQS and the query
// protocol) when Options.Queues is set.
func (a *API) routeSQS() {}
