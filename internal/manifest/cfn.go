package manifest

// cfnResource turns a plain CloudFormation resource of a supported type into
// a Resource with its typed spec.
func (x *expander) cfnResource(r *RawResource) error {
	props, err := x.evalProps(r.LogicalID, r.Properties)
	if err != nil {
		return err
	}
	id := r.LogicalID
	res := &Resource{LogicalID: id, Type: cfnTypes[r.Type], CFNType: r.Type, Source: id, Properties: props,
		DependsOn: r.DependsOn, Metadata: r.Metadata, Pos: r.Pos}
	switch res.Type {
	case TypeQueue:
		s := &QueueSpec{QueueName: props.Get("QueueName")}
		s.FifoQueue, _ = props.Get("FifoQueue").AsBool()
		for _, f := range []struct {
			key string
			dst **int
		}{{"VisibilityTimeout", &s.VisibilityTimeout}, {"MessageRetentionPeriod", &s.MessageRetentionPeriod},
			{"DelaySeconds", &s.DelaySeconds}, {"MaximumMessageSize", &s.MaximumMessageSize},
			{"ReceiveMessageWaitTimeSeconds", &s.ReceiveMessageWaitTime}} {
			if *f.dst, err = optInt(props.Get(f.key), id, f.key); err != nil {
				return err
			}
		}
		if rp := props.Get("RedrivePolicy"); rp != nil {
			s.DeadLetterTargetArn = rp.Get("deadLetterTargetArn")
			if s.MaxReceiveCount, err = intOr(rp.Get("maxReceiveCount"), 0, id, "RedrivePolicy.maxReceiveCount"); err != nil {
				return err
			}
			if s.DeadLetterTargetArn == nil || s.MaxReceiveCount < 1 {
				return errorf(rp.Pos, id, "RedrivePolicy needs deadLetterTargetArn and maxReceiveCount >= 1")
			}
		}
		res.Spec = s
	case TypeUsagePlan:
		s := &UsagePlanSpec{Name: props.Get("UsagePlanName"), Description: props.Get("Description"),
			Throttle: props.Get("Throttle"), Quota: props.Get("Quota")}
		if st := props.Get("ApiStages"); st != nil {
			if st.Kind != List {
				return errorf(st.Pos, id, "ApiStages must be a list of {ApiId, Stage}")
			}
			for _, it := range st.Items {
				if it.Get("ApiId") == nil || it.Get("Stage") == nil {
					return errorf(it.Pos, id, "each of ApiStages needs ApiId and Stage")
				}
				s.APIStages = append(s.APIStages, APIStageRef{APIID: it.Get("ApiId"), Stage: it.Get("Stage")})
			}
		}
		res.Spec = s
	case TypeAPIKey:
		s := &APIKeySpec{Name: props.Get("Name"), Value: props.Get("Value"), Enabled: true}
		if b, ok := props.Get("Enabled").AsBool(); ok {
			s.Enabled = b
		}
		res.Spec = s
	case TypeUsagePlanKey:
		s := &UsagePlanKeySpec{KeyID: props.Get("KeyId"), UsagePlanID: props.Get("UsagePlanId")}
		if s.KeyID == nil || s.UsagePlanID == nil {
			return errorf(r.Pos, id, "AWS::ApiGateway::UsagePlanKey needs KeyId and UsagePlanId")
		}
		if kt := str(props.Get("KeyType")); kt != "" && kt != "API_KEY" {
			return errorf(r.Pos, id, "KeyType must be API_KEY")
		}
		res.Spec = s
	case TypeTopic:
		s := &TopicSpec{TopicName: props.Get("TopicName")}
		s.FifoTopic, _ = props.Get("FifoTopic").AsBool()
		res.Spec = s
	case TypeSubscription:
		s := &SubscriptionSpec{TopicArn: props.Get("TopicArn"), Protocol: str(props.Get("Protocol")),
			Endpoint: props.Get("Endpoint"), FilterPolicy: props.Get("FilterPolicy"),
			FilterPolicyScope: str(props.Get("FilterPolicyScope")), RedrivePolicy: props.Get("RedrivePolicy")}
		s.RawMessageDelivery, _ = props.Get("RawMessageDelivery").AsBool()
		if s.TopicArn == nil || s.Protocol == "" {
			return errorf(r.Pos, id, "AWS::SNS::Subscription needs TopicArn and Protocol")
		}
		res.Spec = s
	case TypeEventSourceMapping:
		s := &EventSourceMappingSpec{EventSourceArn: props.Get("EventSourceArn"), Function: props.Get("FunctionName"),
			Enabled: true, FilterCriteria: props.Get("FilterCriteria"), StartingPosition: str(props.Get("StartingPosition"))}
		if s.Function == nil {
			return errorf(r.Pos, id, "AWS::Lambda::EventSourceMapping needs FunctionName")
		}
		if s.BatchSize, err = intOr(props.Get("BatchSize"), 10, id, "BatchSize"); err != nil {
			return err
		}
		if s.MaximumBatchingWindowInSeconds, err = optInt(props.Get("MaximumBatchingWindowInSeconds"), id, "MaximumBatchingWindowInSeconds"); err != nil {
			return err
		}
		if b, ok := props.Get("Enabled").AsBool(); ok {
			s.Enabled = b
		}
		if frt := props.Get("FunctionResponseTypes"); frt != nil && frt.Kind == List {
			for _, it := range frt.Items {
				s.FunctionResponseTypes = append(s.FunctionResponseTypes, str(it))
			}
		}
		res.Spec = s
	case TypeSchedule:
		t := props.Get("Target")
		s := &ScheduleSpec{Name: props.Get("Name"), GroupName: props.Get("GroupName"),
			ScheduleExpression:         str(props.Get("ScheduleExpression")),
			ScheduleExpressionTimezone: str(props.Get("ScheduleExpressionTimezone")), State: str(props.Get("State")),
			TargetArn: t.Get("Arn"), Input: t.Get("Input"), RetryPolicy: t.Get("RetryPolicy"),
			DeadLetterArn: t.Get("DeadLetterConfig").Get("Arn"), FlexibleTimeWindow: props.Get("FlexibleTimeWindow")}
		if s.ScheduleExpression == "" || s.TargetArn == nil {
			return errorf(r.Pos, id, "AWS::Scheduler::Schedule needs ScheduleExpression and Target.Arn")
		}
		if s.State == "" {
			s.State = "ENABLED"
		}
		res.Spec = s
	case TypeRule:
		s := &RuleSpec{Name: props.Get("Name"), ScheduleExpression: str(props.Get("ScheduleExpression")),
			EventPattern: props.Get("EventPattern"), EventBusName: props.Get("EventBusName"), State: str(props.Get("State"))}
		if s.State == "" {
			s.State = "ENABLED"
		}
		if ts := props.Get("Targets"); ts != nil && ts.Kind == List {
			for _, t := range ts.Items {
				s.Targets = append(s.Targets, RuleTarget{ID: str(t.Get("Id")), Arn: t.Get("Arn"), Input: t.Get("Input"),
					InputPath: t.Get("InputPath"), RetryPolicy: t.Get("RetryPolicy"),
					DeadLetterArn: t.Get("DeadLetterConfig").Get("Arn")})
			}
		}
		if s.ScheduleExpression == "" && s.EventPattern == nil {
			return errorf(r.Pos, id, "AWS::Events::Rule needs ScheduleExpression or EventPattern")
		}
		res.Spec = s
	case TypePermission:
		res.Spec = &PermissionSpec{FunctionName: props.Get("FunctionName"), Action: str(props.Get("Action")),
			Principal: props.Get("Principal"), SourceArn: props.Get("SourceArn")}
	case TypeFunction:
		res.Spec = x.lambdaFunctionSpec(props)
	case TypeAlias:
		res.Spec = &AliasSpec{Function: refTarget(props.Get("FunctionName")), Name: str(props.Get("Name"))}
	case TypeVersion:
		res.Spec = &VersionSpec{Function: refTarget(props.Get("FunctionName"))}
	case TypeFunctionURL:
		res.Spec = &FunctionURLSpec{Function: refTarget(props.Get("TargetFunctionArn")), Qualifier: str(props.Get("Qualifier")),
			AuthType: str(props.Get("AuthType")), InvokeMode: str(props.Get("InvokeMode")), Cors: props.Get("Cors")}
	case TypeEventInvokeConfig:
		s := &EventInvokeConfigSpec{Function: refTarget(props.Get("FunctionName")), Qualifier: str(props.Get("Qualifier"))}
		s.MaximumEventAgeInSeconds, _ = optInt(props.Get("MaximumEventAgeInSeconds"), id, "")
		s.MaximumRetryAttempts, _ = optInt(props.Get("MaximumRetryAttempts"), id, "")
		if dc := props.Get("DestinationConfig"); dc != nil {
			if d := dc.Get("OnSuccess").Get("Destination"); d != nil {
				s.OnSuccess = &Destination{Destination: d}
			}
			if d := dc.Get("OnFailure").Get("Destination"); d != nil {
				s.OnFailure = &Destination{Destination: d}
			}
		}
		res.Spec = s
	}
	return x.add(res)
}

// refTarget returns the logical id a Ref/GetAtt points at, or "".
func refTarget(v *Value) string {
	if v != nil && (v.Kind == Ref || v.Kind == GetAtt) {
		return v.Target
	}
	return ""
}

// lambdaFunctionSpec reads a plain AWS::Lambda::Function.
func (x *expander) lambdaFunctionSpec(p *Value) *FunctionSpec {
	s := &FunctionSpec{FunctionName: p.Get("FunctionName"), Handler: str(p.Get("Handler")), Runtime: str(p.Get("Runtime")),
		Architecture: "x86_64", MemorySize: 128, Timeout: 3, Role: p.Get("Role"), Description: str(p.Get("Description")),
		PackageType: str(p.Get("PackageType"))}
	if n, ok := p.Get("MemorySize").AsInt(); ok {
		s.MemorySize = int(n)
	}
	if n, ok := p.Get("Timeout").AsInt(); ok {
		s.Timeout = int(n)
	}
	if a := p.Get("Architectures"); a != nil && a.Kind == List && len(a.Items) == 1 {
		s.Architecture = str(a.Items[0])
	}
	if code := p.Get("Code"); code != nil {
		if z := code.Get("ZipFile"); z != nil {
			s.InlineCode = str(z)
		} else if img := code.Get("ImageUri"); img != nil {
			s.ImageURI = img
		} else {
			s.CodeS3 = code
		}
	}
	if vars := p.Get("Environment").Get("Variables"); vars != nil && vars.Kind == Map {
		s.Environment = map[string]*Value{}
		for _, f := range vars.Fields {
			s.Environment[f.Key] = f.Value
		}
	}
	if dlc := p.Get("DeadLetterConfig"); dlc != nil {
		s.DeadLetter = &DeadLetter{TargetArn: dlc.Get("TargetArn")}
	}
	return s
}
