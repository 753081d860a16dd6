"""Drive Lamina's Lambda API with boto3; exits non-zero on the first mismatch."""
import sys

import boto3
from botocore.exceptions import ClientError

endpoint, zip_path = sys.argv[1], sys.argv[2]
client = boto3.client("lambda", endpoint_url=endpoint, region_name="eu-west-1")
code = open(zip_path, "rb").read()


def expect_error(code_name, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code_name, f"{fn.__name__}: error {got}, want {code_name}"
        assert e.response["Error"]["Message"], "error without message"
        return e
    raise AssertionError(f"{fn.__name__}: no error, want {code_name}")


created = client.create_function(
    FunctionName="py-fn", Runtime="provided.al2", Role="arn:aws:iam::000000000000:role/x",
    Handler="bootstrap", Code={"ZipFile": code}, Timeout=30, MemorySize=256, Tags={"team": "a"})
assert created["FunctionArn"] == "arn:aws:lambda:eu-west-1:000000000000:function:py-fn", created["FunctionArn"]
assert created["Timeout"] == 30 and created["MemorySize"] == 256, created
assert created["ResponseMetadata"]["HTTPStatusCode"] == 201

expect_error("ResourceConflictException", client.create_function,
             FunctionName="py-fn", Runtime="provided.al2", Role="arn:aws:iam::000000000000:role/x",
             Handler="bootstrap", Code={"ZipFile": code})
expect_error("ResourceNotFoundException", client.get_function, FunctionName="nope")
expect_error("InvalidParameterValueException", client.create_function,
             FunctionName="bad", Runtime="provided.al2", Role="arn:aws:iam::000000000000:role/x",
             Handler="bootstrap", Code={"ZipFile": b"not a zip"})

updated = client.update_function_configuration(FunctionName="py-fn", Description="from boto3")
assert updated["Description"] == "from boto3"
tags = client.list_tags(Resource=created["FunctionArn"])["Tags"]
assert tags == {"team": "a"}, tags
settings = client.get_account_settings()
assert settings["AccountUsage"]["FunctionCount"] == 1, settings
client.put_function_concurrency(FunctionName="py-fn", ReservedConcurrentExecutions=5)
assert client.get_function_concurrency(FunctionName="py-fn")["ReservedConcurrentExecutions"] == 5
client.delete_function(FunctionName="py-fn")
print("boto3 ok")
