package provision

// registerFunctions registers the function family (owned by the functions brief).
func (p *Provisioner) registerFunctions() {}
