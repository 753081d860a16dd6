package provision

// registerMessaging registers queues, topics, subscriptions, event source
// mappings, schedules and rules (owned by the messaging brief).
func (p *Provisioner) registerMessaging() {}
