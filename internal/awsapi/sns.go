package awsapi

// routeSNS registers the SNS query API when Options.Topics is set.
func (a *API) routeSNS() {}
