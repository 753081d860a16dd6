# Lamina's bootstrap for python3.x functions: a Lambda custom runtime that
# loads the handler named by _HANDLER ("module.function", "pkg/mod.function")
# from LAMBDA_TASK_ROOT and serves invocations from the Runtime API at
# $AWS_LAMBDA_RUNTIME_API. Standard library only; Python 3.8+. Embedded in the
# Lamina binary (internal/runtime/langboot) and started as
# `python3 -u -B <this file>`. Error documents, errorType names and the
# context object follow AWS's awslambdaric.

# All imported before LAMBDA_TASK_ROOT goes on sys.path, so that user modules
# named like these (json.py, logging/) cannot break the runtime itself.
import importlib
import json
import logging
import os
import socket
import sys
import time
import traceback

_PREFIX = "/2018-06-01/runtime"
_THIS_FILE = os.path.abspath(__file__)
_REQUEST_ID = None


class _Fault(Exception):
    """A failure the runtime names with one of AWS's Runtime.* errorTypes."""

    def __init__(self, error_type, msg, trace=None):
        Exception.__init__(self, msg)
        self.error_type = error_type
        self.msg = msg
        self.trace = trace


# ---------------------------------------------------------------- Runtime API


class _RuntimeAPI(object):
    """A minimal HTTP/1.1 client for the Runtime API over one kept-alive
    connection. Not http.client: importing that (with email.parser and ssl)
    costs ~15 ms, a third of the bootstrap's cold start. Handles what a
    net/http server sends: Content-Length or chunked bodies, Connection: close.
    """

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        if not host:
            host, port = address, "80"
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        self.address = address
        self.target = (host, int(port))
        self.sock = None
        self.rfile = None
        self.user_agent = "lamina-python/%d.%d.%d" % sys.version_info[:3]

    def _close(self):
        for c in (self.rfile, self.sock):
            if c is not None:
                try:
                    c.close()
                except OSError:
                    pass
        self.sock = self.rfile = None

    def _read_exact(self, n):
        data = self.rfile.read(n)
        if len(data) != n:
            raise ConnectionError("Runtime API closed the connection mid-response")
        return data

    def _read_response(self):
        line = self.rfile.readline(65537)
        if not line:
            raise ConnectionResetError("Runtime API closed the connection")
        parts = line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ConnectionError("bad status line from Runtime API: %r" % line[:200])
        status = int(parts[1])
        headers = {}
        while True:
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("utf-8", "replace").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = headers.get("connection", "").lower() != "close"
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self._read_exact(size))
                self.rfile.readline(3)
            body = b"".join(chunks)
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            body = self.rfile.read()
            keep = False
        if not keep:
            self._close()
        return status, headers, body

    def _do(self, method, path, body=None, headers=()):
        lines = ["%s %s%s HTTP/1.1" % (method, _PREFIX, path),
                 "Host: " + self.address,
                 "User-Agent: " + self.user_agent]
        if body is not None:
            lines.append("Content-Length: %d" % len(body))
        for name, value in headers:
            lines.append("%s: %s" % (name, value.replace("\r", " ").replace("\n", " ")))
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        if body:
            request += body
        for attempt in (0, 1):
            reused = self.sock is not None
            if not reused:
                self.sock = socket.create_connection(self.target)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.rfile = self.sock.makefile("rb")
            try:
                self.sock.sendall(request)
                return self._read_response()
            except (ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server closed while idle: the
                # request never reached it, so send it again once.
                self._close()
                if attempt or not reused:
                    raise
            except BaseException:
                self._close()
                raise

    def next(self):
        status, headers, body = self._do("GET", "/invocation/next")
        if status != 200:
            raise RuntimeError("Runtime API /next answered %d: %r" % (status, body[:500]))
        return headers, body

    def _post(self, path, body, headers):
        status, _, data = self._do("POST", path, body, headers)
        if status != 202:
            sys.stderr.write("lamina bootstrap: POST %s answered %d: %s\n"
                             % (path, status, data[:500].decode("utf-8", "replace")))
            if status >= 500:
                # The platform side is broken; the sandbox will be replaced.
                sys.exit(1)

    def post_response(self, request_id, body, content_type):
        self._post("/invocation/%s/response" % _quote(request_id), body,
                   [("Content-Type", content_type)])

    def post_error(self, request_id, error):
        self._post("/invocation/%s/error" % _quote(request_id),
                   _to_json(error).encode("utf-8"),
                   [("Content-Type", "application/json"),
                    ("Lambda-Runtime-Function-Error-Type", error["errorType"])])

    def post_init_error(self, error):
        self._post("/init/error", _to_json(error).encode("utf-8"),
                   [("Content-Type", "application/json"),
                    ("Lambda-Runtime-Function-Error-Type", error["errorType"])])


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(s):
    """Percent-encode a request id for a URL path segment."""
    return "".join(chr(b) if b in _UNRESERVED else "%%%02X" % b for b in s.encode("utf-8"))


# ------------------------------------------------------------------- marshal


class _Encoder(json.JSONEncoder):
    def default(self, o):
        # boto3's DynamoDB resource returns Decimal numbers.
        if type(o).__name__ == "Decimal" and type(o).__module__ in ("decimal", "_decimal", "_pydecimal"):
            if o.is_nan():
                return float("nan")
            if o == o.to_integral_value():
                return int(o)
            return float(o)
        return json.JSONEncoder.default(self, o)


# AWS's python3.12 runtime (only) writes non-ASCII characters unescaped.
_ENCODER = _Encoder(ensure_ascii=os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12")


def _to_json(obj):
    return _ENCODER.encode(obj)


def _marshal(result):
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return _to_json(result).encode("utf-8"), "application/json"
    except Exception as e:
        raise _Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e)


def _unmarshal(body, content_type):
    if content_type and not content_type.split(";")[0].strip().lower().endswith("json"):
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise _Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)


# -------------------------------------------------------------------- errors


def _make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    """The traceback without the bootstrap's own leading frames."""
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if os.path.abspath(frame.filename) != _THIS_FILE:
            return frames[i:]
    return frames


def _error_from_exception(exc, request_id=None):
    frames = _user_frames(exc.__traceback__)
    return _make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def _log_error(error):
    """Print an error document to stderr the way AWS's runtime logs it."""
    line = "[ERROR]"
    if error.get("errorType"):
        line += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            line += ":"
        line += " " + error["errorMessage"]
    lines = [line]
    trace = error.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            lines.extend(element.splitlines() or [""])
    sys.stderr.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------- context


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id=%s,cognito_identity_pool_id=%s])" % (
            self.cognito_identity_id, self.cognito_identity_pool_id)


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __repr__(self):
        return "Client([%s])" % ",".join("%s=%s" % (s, getattr(self, s)) for s in self.__slots__)


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return "ClientContext([custom=%s,env=%s,client=%s])" % (self.custom, self.env, self.client)


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field) if isinstance(d, dict) else None)
    return obj


def _parse_header_json(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise _Fault("Runtime.LambdaContextUnmarshalError", "Unable to parse %s JSON: %s" % (name, e))


class LambdaContext(object):
    """The context object handed to the handler, with AWS's attributes."""

    def __init__(self, request_id, client_context, cognito_identity, deadline_ms,
                 invoked_function_arn, tenant_id=None):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, as on AWS.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        self.identity = _obj_from_dict(CognitoIdentity, {})
        if isinstance(cognito_identity, dict):
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,"
                "function_name=%s,memory_limit_in_mb=%s,function_version=%s,"
                "invoked_function_arn=%s,client_context=%s,identity=%s,tenant_id=%s])" % (
                    self.aws_request_id, self.log_group_name, self.log_stream_name,
                    self.function_name, self.memory_limit_in_mb, self.function_version,
                    self.invoked_function_arn, self.client_context, self.identity, self.tenant_id))


# ------------------------------------------------------------------- logging


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _REQUEST_ID or ""
        return True


class _StdoutHandler(logging.Handler):
    """Writes to whatever sys.stdout is at the time, as AWS's handler does."""

    def emit(self, record):
        try:
            sys.stdout.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _setup_logging():
    # AWS configures the root logger, so logger.info() works without
    # basicConfig (and basicConfig is a no-op).
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        root.setLevel(level)
    elif level == "WARN":
        root.setLevel("WARNING")
    elif level == "FATAL":
        root.setLevel("CRITICAL")
    elif level == "TRACE":
        root.setLevel("DEBUG")


# ------------------------------------------------------------------- handler


def _load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    if not modname or not fname:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '%s'" % handler)
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise _Fault("Runtime.BuiltInModuleConflict",
                         "Cannot use built-in module %s as a handler module" % modname)
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise _Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise _Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))


def _handle(api, handler, headers, body):
    global _REQUEST_ID
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    _REQUEST_ID = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    error = None
    try:
        client_context = headers.get("lambda-runtime-client-context")
        cognito = headers.get("lambda-runtime-cognito-identity")
        try:
            deadline_ms = int(headers.get("lambda-runtime-deadline-ms") or "0")
        except ValueError:
            deadline_ms = 0
        context = LambdaContext(
            request_id,
            _parse_header_json(client_context, "Client Context") if client_context else None,
            _parse_header_json(cognito, "Cognito Identity") if cognito else None,
            deadline_ms,
            headers.get("lambda-runtime-invoked-function-arn"),
            headers.get("lambda-runtime-aws-tenant-id"),
        )
        event = _unmarshal(body, headers.get("content-type"))
        result, content_type = _marshal(handler(event, context))
    except _Fault as f:
        error = _make_error(f.msg, f.error_type, f.trace, request_id)
    except Exception as e:
        error = _error_from_exception(e, request_id)

    if error is not None:
        _log_error(error)
        api.post_error(request_id, error)
    else:
        api.post_response(request_id, result, content_type)


def main():
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        sys.stderr.write("lamina bootstrap: AWS_LAMBDA_RUNTIME_API is not set\n")
        sys.exit(1)
    api = _RuntimeAPI(address)

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    # The function's code comes first on sys.path, in place of this file's
    # directory (absent under -P / PYTHONSAFEPATH).
    here = os.path.realpath(os.path.dirname(_THIS_FILE))
    if sys.path and sys.path[0] and os.path.realpath(sys.path[0]) == here:
        del sys.path[0]
    sys.path.insert(0, task_root)

    try:
        _setup_logging()
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _Fault as f:
        error = _make_error(f.msg, f.error_type, f.trace)
    except Exception as e:
        error = _error_from_exception(e)
    else:
        error = None
    if error is not None:
        _log_error(error)
        api.post_init_error(error)
        sys.exit(1)

    while True:
        headers, body = api.next()
        _handle(api, handler, headers, body)


if __name__ == "__main__":
    main()
