# Handlers for langboot's tests. Line numbers matter: the tests assert the
# stack traces of fail() and deep_fail().
import logging
import os
import sys
import time
from decimal import Decimal

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def handler(event, context):
    return {"ok": True, "echo": event.get("name"), "n": 1, "unicode": "\u00e9"}


def nothing(event, context):
    return None


def fail(event, context):
    raise ValueError("boom")


def _inner():
    raise KeyError("missing")


def deep_fail(event, context):
    _inner()


def unserialisable(event, context):
    return {"s": {1, 2}}


def numbers(event, context):
    return [Decimal("1.5"), Decimal("2"), event]


def raw(event, context):
    return b"raw bytes"


def ctx(event, context):
    logger.info("hello from %s", context.aws_request_id)
    print("printed line")
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": None if cc is None else {
            "custom": cc.custom,
            "env": cc.env,
            "installation_id": cc.client.installation_id,
        },
        "trace_id": os.environ.get("_X_AMZN_TRACE_ID"),
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 60000,
        "cwd_is_task_root": os.getcwd() == os.environ["LAMBDA_TASK_ROOT"],
        "task_root_first": sys.path[0] == os.environ["LAMBDA_TASK_ROOT"] and not any(p.rstrip("/").endswith("/langboot") for p in sys.path),
    }


def remaining(event, context):
    before = context.get_remaining_time_in_millis()
    time.sleep(0.2)
    after = context.get_remaining_time_in_millis()
    return {"before": before, "after": after}


def size(event, context):
    return {"len": len(event["data"]), "last": event["data"][-3:]}
