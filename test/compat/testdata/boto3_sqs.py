"""Drive Lamina's SQS API with boto3 (the JSON protocol with botocore 1.31.x
and later); exits non-zero on the first mismatch."""
import hashlib
import sys

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
ARN = "arn:aws:sqs:us-east-1:000000000000:"


def expect_error(code_name, fn, **kwargs):
    try:
        fn(**kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code_name, f"{fn.__name__}: error {got}, want {code_name}: {e}"
        assert e.response["Error"]["Message"], f"{fn.__name__}: error without message"
        return e
    raise AssertionError(f"{fn.__name__}: no error, want {code_name}")


url = sqs.create_queue(QueueName="py-orders", Attributes={"VisibilityTimeout": "40"}, tags={"team": "a"})["QueueUrl"]
assert url == f"{endpoint}/000000000000/py-orders", url
dlq = sqs.create_queue(QueueName="py-orders-dlq")["QueueUrl"]
assert sqs.get_queue_url(QueueName="py-orders")["QueueUrl"] == url
assert sqs.list_queues(QueueNamePrefix="py-")["QueueUrls"] == [url, dlq]
page = sqs.list_queues(QueueNamePrefix="py-", MaxResults=1)
assert page["QueueUrls"] == [url] and page["NextToken"], page
assert sqs.list_queues(QueueNamePrefix="py-", MaxResults=1, NextToken=page["NextToken"])["QueueUrls"] == [dlq]

sqs.set_queue_attributes(QueueUrl=url, Attributes={
    "RedrivePolicy": '{"deadLetterTargetArn":"' + ARN + 'py-orders-dlq","maxReceiveCount":"2"}'})
attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
assert attrs["VisibilityTimeout"] == "40" and attrs["QueueArn"] == ARN + "py-orders", attrs
assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [url]

sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a", "env": "dev"}
sqs.untag_queue(QueueUrl=url, TagKeys=["env"])

body = "hello <world> & ünïcode"
sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
    "kind": {"DataType": "String", "StringValue": "order"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\x02"}})
assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest(), sent
batch = sqs.send_message_batch(QueueUrl=url, Entries=[
    {"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two", "DelaySeconds": 0}])
assert [e["Id"] for e in batch["Successful"]] == ["a", "b"] and not batch.get("Failed"), batch
expect_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", sqs.send_message_batch, QueueUrl=url,
             Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])
expect_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", sqs.send_message_batch, QueueUrl=url,
             Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(11)])

msgs = []
while len(msgs) < 3:
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                              MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
    if not got:
        break
    msgs += got
assert len(msgs) == 3, msgs
by_body = {m["Body"]: m for m in msgs}
first = by_body[body]
assert first["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01\x02", first
assert first["MessageAttributes"]["kind"]["StringValue"] == "order", first
assert first["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"], (first, sent)
assert first["Attributes"]["ApproximateReceiveCount"] == "1", first

sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
sqs.delete_message(QueueUrl=url, ReceiptHandle=by_body["one"]["ReceiptHandle"])
deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": by_body["two"]["ReceiptHandle"]}])
assert [e["Id"] for e in deleted["Successful"]] == ["x"], deleted
expect_error("ReceiptHandleIsInvalid", sqs.delete_message, QueueUrl=url, ReceiptHandle="junk")
sqs.purge_queue(QueueUrl=url)

sqs.send_message(QueueUrl=dlq, MessageBody="dead")
handle = sqs.start_message_move_task(SourceArn=ARN + "py-orders-dlq")["TaskHandle"]
assert handle, handle
tasks = sqs.list_message_move_tasks(SourceArn=ARN + "py-orders-dlq", MaxResults=10)["Results"]
assert tasks and tasks[0]["SourceArn"] == ARN + "py-orders-dlq", tasks

sqs.delete_queue(QueueUrl=url)
expect_error("AWS.SimpleQueueService.NonExistentQueue", sqs.get_queue_url, QueueName="py-orders")
try:
    sqs.get_queue_url(QueueName="py-orders")
except sqs.exceptions.QueueDoesNotExist:
    pass
print("boto3 sqs ok")
