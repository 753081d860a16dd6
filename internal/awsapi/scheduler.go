package awsapi

// SchedulerService is what the Scheduler and rules APIs need (to be defined).
type SchedulerService interface{}

// routeScheduler registers the EventBridge Scheduler REST-JSON API.
func (a *API) routeScheduler() {}
