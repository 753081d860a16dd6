package provision

// registerAPIs registers REST/HTTP APIs, stages, deployments and routes
// (owned by the APIs brief).
func (p *Provisioner) registerAPIs() {}
