package awsapi

// DeadLetterService is what Lamina's dead-letter API needs (to be defined).
type DeadLetterService interface{}

// routeDeadLetters registers /_lamina/v1/dead-letters.
func (a *API) routeDeadLetters() {}
