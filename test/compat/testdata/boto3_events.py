"""Drive Lamina's async invocation, event-invoke config, EventBridge Scheduler
and EventBridge rules APIs with boto3; exits non-zero on the first mismatch."""
import datetime
import json
import sys

import boto3
from botocore.exceptions import ClientError

endpoint, zip_path = sys.argv[1], sys.argv[2]
REGION = "us-east-1"
ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/x"
lam = boto3.client("lambda", endpoint_url=endpoint, region_name=REGION)
sched = boto3.client("scheduler", endpoint_url=endpoint, region_name=REGION)
events = boto3.client("events", endpoint_url=endpoint, region_name=REGION)
code = open(zip_path, "rb").read()


def expect_error(code_name, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code_name, f"{fn.__name__}: error {got}, want {code_name}: {e}"
        assert e.response["Error"]["Message"], f"{fn.__name__}: error without message"
        return e
    raise AssertionError(f"{fn.__name__}: no error, want {code_name}")


def near_now(ts, what):
    """ts is a parsed timestamp within a minute of now."""
    assert isinstance(ts, datetime.datetime), f"{what}: {ts!r} is not a timestamp"
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - ts).total_seconds()) < 60, f"{what}: {ts} is not now ({now})"


# ---- Lambda: asynchronous invocation and its config

for name in ("py-async", "py-dest"):
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE,
                        Handler="bootstrap", Code={"ZipFile": code})
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
fn_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:py-async"
dest_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:py-dest"

resp = lam.invoke(FunctionName="py-async", InvocationType="Event", Payload=b'{"k": "v"}')
assert resp["StatusCode"] == 202, resp
assert resp["ResponseMetadata"]["HTTPStatusCode"] == 202, resp
assert "FunctionError" not in resp, resp
assert resp["Payload"].read() == b"", "Event invoke answered a payload"
expect_error("ResourceNotFoundException", lam.invoke, FunctionName="py-missing",
             InvocationType="Event", Payload=b"{}")

put = lam.put_function_event_invoke_config(FunctionName="py-async", MaximumRetryAttempts=0,
                                           MaximumEventAgeInSeconds=60)
assert put["FunctionArn"] == fn_arn + ":$LATEST", put["FunctionArn"]
assert put["MaximumRetryAttempts"] == 0 and put["MaximumEventAgeInSeconds"] == 60, put
near_now(put["LastModified"], "PutFunctionEventInvokeConfig LastModified")
got = lam.get_function_event_invoke_config(FunctionName="py-async")
assert got["MaximumRetryAttempts"] == 0 and got["MaximumEventAgeInSeconds"] == 60, got
near_now(got["LastModified"], "GetFunctionEventInvokeConfig LastModified")

upd = lam.update_function_event_invoke_config(
    FunctionName="py-async",
    DestinationConfig={"OnSuccess": {"Destination": dest_arn}, "OnFailure": {"Destination": dest_arn}})
assert upd["DestinationConfig"]["OnSuccess"]["Destination"] == dest_arn, upd
assert upd["DestinationConfig"]["OnFailure"]["Destination"] == dest_arn, upd
assert upd["MaximumRetryAttempts"] == 0, upd
listed = lam.list_function_event_invoke_configs(FunctionName="py-async")["FunctionEventInvokeConfigs"]
assert len(listed) == 1 and listed[0]["FunctionArn"] == fn_arn + ":$LATEST", listed
near_now(listed[0]["LastModified"], "ListFunctionEventInvokeConfigs LastModified")

expect_error("InvalidParameterValueException", lam.put_function_event_invoke_config,
             FunctionName="py-async", MaximumRetryAttempts=5)
expect_error("InvalidParameterValueException", lam.put_function_event_invoke_config,
             FunctionName="py-async", MaximumEventAgeInSeconds=30000)
expect_error("ResourceNotFoundException", lam.put_function_event_invoke_config,
             FunctionName="py-missing", MaximumRetryAttempts=1)

lam.delete_function_event_invoke_config(FunctionName="py-async")
expect_error("ResourceNotFoundException", lam.get_function_event_invoke_config, FunctionName="py-async")

# ---- EventBridge Scheduler

sched_arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/"
end = datetime.datetime(2031, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
created = sched.create_schedule(
    Name="py-cron", ScheduleExpression="cron(0 9 ? * MON-FRI *)",
    ScheduleExpressionTimezone="Europe/Berlin", EndDate=end, Description="weekdays",
    FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
    Target={"Arn": fn_arn, "RoleArn": ROLE, "Input": json.dumps({"from": "cron"}),
            "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}})
assert created["ScheduleArn"] == sched_arn + "py-cron", created
got = sched.get_schedule(Name="py-cron")
assert got["ScheduleExpression"] == "cron(0 9 ? * MON-FRI *)", got
assert got["ScheduleExpressionTimezone"] == "Europe/Berlin", got
assert got["State"] == "ENABLED" and got["GroupName"] == "default", got
assert got["Description"] == "weekdays", got
assert got["EndDate"] == end, f"EndDate {got['EndDate']!r}, want {end!r}"
assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}, got
assert got["Target"]["Arn"] == fn_arn and json.loads(got["Target"]["Input"]) == {"from": "cron"}, got
assert got["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 3600}, got
near_now(got["CreationDate"], "GetSchedule CreationDate")
near_now(got["LastModificationDate"], "GetSchedule LastModificationDate")

# A one-time schedule a day from now, deleted once it has run.
at = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("at(%Y-%m-%dT%H:%M:%S)")
once = sched.create_schedule(
    Name="py-once", ScheduleExpression=at, ActionAfterCompletion="DELETE",
    FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": fn_arn, "RoleArn": ROLE})
assert once["ScheduleArn"] == sched_arn + "py-once", once
got = sched.get_schedule(Name="py-once")
assert got["ScheduleExpression"] == at and got["ActionAfterCompletion"] == "DELETE", got

expect_error("ValidationException", sched.create_schedule,
             Name="py-bad", ScheduleExpression="cron(0 0 * * * *)",
             FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": fn_arn, "RoleArn": ROLE})
expect_error("ValidationException", sched.create_schedule,
             Name="py-bad", ScheduleExpression="cron(0 9 ? * MON-FRI *)", ScheduleExpressionTimezone="Mars/Olympus",
             FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": fn_arn, "RoleArn": ROLE})
expect_error("ConflictException", sched.create_schedule,
             Name="py-once", ScheduleExpression="rate(1 hour)",
             FlexibleTimeWindow={"Mode": "OFF"}, Target={"Arn": fn_arn, "RoleArn": ROLE})

schedules = sched.list_schedules()["Schedules"]
assert sorted(s["Name"] for s in schedules) == ["py-cron", "py-once"], schedules
for s in schedules:
    near_now(s["CreationDate"], "ListSchedules CreationDate")
    assert s["Target"]["Arn"] == fn_arn and s["GroupName"] == "default", s
pages = list(sched.get_paginator("list_schedules").paginate(PaginationConfig={"PageSize": 1}))
paged = [s["Name"] for p in pages for s in p["Schedules"]]
assert sorted(paged) == ["py-cron", "py-once"], pages
assert [s["Name"] for s in sched.list_schedules(NamePrefix="py-c")["Schedules"]] == ["py-cron"]

sched.create_schedule_group(Name="py-group", Tags=[{"Key": "team", "Value": "a"}])
group = sched.get_schedule_group(Name="py-group")
assert group["State"] == "ACTIVE" and group["Name"] == "py-group", group
near_now(group["CreationDate"], "GetScheduleGroup CreationDate")
tags = sched.list_tags_for_resource(ResourceArn=group["Arn"])["Tags"]
assert tags == [{"Key": "team", "Value": "a"}], tags
groups = sorted(g["Name"] for g in sched.list_schedule_groups()["ScheduleGroups"])
assert groups == ["default", "py-group"], groups
sched.delete_schedule_group(Name="py-group")

for name in ("py-cron", "py-once"):
    assert sched.delete_schedule(Name=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    expect_error("ResourceNotFoundException", sched.get_schedule, Name=name)
assert sched.list_schedules()["Schedules"] == []

# ---- EventBridge rules

rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/py-rule"
put = events.put_rule(Name="py-rule", ScheduleExpression="cron(0 12 * * ? *)", Description="noon")
assert put["RuleArn"] == rule_arn, put
res = events.put_targets(Rule="py-rule", Targets=[{"Id": "t1", "Arn": fn_arn, "Input": '{"from": "rule"}'}])
assert res["FailedEntryCount"] == 0 and res["FailedEntries"] == [], res
targets = events.list_targets_by_rule(Rule="py-rule")["Targets"]
assert len(targets) == 1 and targets[0]["Id"] == "t1" and targets[0]["Arn"] == fn_arn, targets
assert json.loads(targets[0]["Input"]) == {"from": "rule"}, targets
rule = events.describe_rule(Name="py-rule")
assert rule["State"] == "ENABLED" and rule["ScheduleExpression"] == "cron(0 12 * * ? *)", rule
assert rule["Description"] == "noon" and rule["Arn"] == rule_arn and rule["EventBusName"] == "default", rule
assert [r["Name"] for r in events.list_rules(NamePrefix="py-")["Rules"]] == ["py-rule"]
assert events.list_rule_names_by_target(TargetArn=fn_arn)["RuleNames"] == ["py-rule"]

expect_error("ValidationException", events.put_rule, Name="py-bad", ScheduleExpression="rate(0 minutes)")
expect_error("ResourceNotFoundException", events.describe_rule, Name="py-missing")
expect_error("ValidationException", events.delete_rule, Name="py-rule")
res = events.remove_targets(Rule="py-rule", Ids=["t1"])
assert res["FailedEntryCount"] == 0, res
assert events.list_targets_by_rule(Rule="py-rule")["Targets"] == []
events.delete_rule(Name="py-rule")
expect_error("ResourceNotFoundException", events.describe_rule, Name="py-rule")
assert events.list_rules()["Rules"] == []

print("boto3 events ok")
