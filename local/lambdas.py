"""Lambda emulation: a pool of 'containers' per function, each a process of its own that loads the function's
handler and serves one request at a time (as in Lambda: no two events ever share module state), and API Gateway
payload 2.0 events."""

from __future__ import annotations

import base64
import importlib.util
import itertools
import json
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import parse_qsl

from local.template import ROOT, FunctionSpec, Route

_module_counter = itertools.count()


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(spec: FunctionSpec) -> Callable[[dict[str, Any], Any], Any]:
    """A fresh copy of the function's module (its own cold start), as a new container would have."""
    path = spec.code_dir / f"{spec.module.replace('.', '/')}.py"
    name = f"_local_{spec.logical_id}_{next(_module_counter)}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return getattr(module, spec.handler)


class ContainerFailed(RuntimeError):
    """The function raised (the message is its traceback, printed by the stack as Lambda's log would) or its
    container died."""


class ProcessContainer:
    """One execution environment: `python -m local.container` with the stack's environment, loading the handler on
    its first event. A container whose process died is not reused."""

    def __init__(self, spec: FunctionSpec, verbose: bool) -> None:
        ours, theirs = socket.socketpair()
        function = {"logical_id": spec.logical_id, "code_dir": str(spec.code_dir), "module": spec.module,
                    "handler": spec.handler, "timeout_seconds": spec.timeout_seconds}
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local.container", "--fd", str(theirs.fileno()),
                 "--function", json.dumps(function), *(["--verbose"] if verbose else [])],
                cwd=ROOT, pass_fds=(theirs.fileno(),),
            )
        self._connection = Connection(ours.detach())
        self.alive = True

    def invoke(self, event: dict[str, Any]) -> Any:
        try:
            self._connection.send(event)
            status, value = self._connection.recv()
        except (EOFError, OSError) as exc:
            self.alive = False
            raise ContainerFailed(f"the container died (exit code {self.process.poll()})") from exc
        if status == "error":
            raise ContainerFailed(value)
        return value

    def stop(self) -> None:
        self.alive = False
        self._connection.close()  # the container's next read ends its loop
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


class FunctionPool:
    """Up to `size` warm containers of one function, started on demand; each handles one invocation at a time."""

    def __init__(self, spec: FunctionSpec, size: int, verbose: bool = False) -> None:
        self.spec = spec
        self.verbose = verbose
        self._idle: queue.LifoQueue[ProcessContainer] = queue.LifoQueue()
        self._started: list[ProcessContainer] = []
        self._lock = threading.Lock()
        self._slots = queue.Queue(size)
        for _ in range(size):
            self._slots.put(None)

    def invoke(self, event: dict[str, Any]) -> Any:
        self._slots.get()
        try:
            try:
                container = self._idle.get_nowait()
            except queue.Empty:
                container = ProcessContainer(self.spec, self.verbose)
                with self._lock:
                    self._started.append(container)
            try:
                return container.invoke(event)
            finally:
                if container.alive:
                    self._idle.put(container)
        finally:
            self._slots.put(None)

    def close(self) -> None:
        with self._lock:
            started, self._started = self._started, []
        for container in started:
            container.stop()


def http_api_event(
    route: Route, method: str, raw_path: str, raw_query: str, headers: dict[str, str], body: bytes,
    path_parameters: dict[str, str], source_ip: str,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as API Gateway would send it."""
    now = datetime.now(UTC)
    lowered = {k.lower(): v for k, v in headers.items()}
    cookies = [c.strip() for c in lowered.pop("cookie", "").replace(",", ";").split(";") if c.strip()]
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    text_body: str | None = None
    is_base64 = False
    if body:
        text_body, is_base64 = encode_body(body, lowered.get("content-type", ""))
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": lowered,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lowered.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": lowered.get("user-agent", "")},
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if text_body is not None:
        event["body"] = text_body
    return event


_TEXT_TYPES = ("application/json", "application/javascript", "application/xml", "application/x-www-form-urlencoded")


def encode_body(body: bytes, content_type: str) -> tuple[str, bool]:
    """(body, isBase64Encoded): text media types (and bodies without a Content-Type) travel as text when they
    are UTF-8; anything else is base64-encoded, which a handler must be ready for in AWS too."""
    mime = content_type.split(";", 1)[0].strip().lower()
    textual = not mime or mime.startswith("text/") or mime in _TEXT_TYPES or mime.endswith(("+json", "+xml"))
    if textual:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode(), True


def authorizer_event(request: dict[str, Any], identity: list[str]) -> dict[str, Any]:
    """The REQUEST event (payload 2.0) API Gateway sends a Lambda authorizer for an HTTP API request."""
    context = request["requestContext"]
    event = {key: value for key, value in request.items() if key not in {"body", "isBase64Encoded"}}
    event.update({
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:us-east-1:123456789012:{context['apiId']}/{context['stage']}/"
                    f"{context['http']['method']}{request['rawPath']}",
        "identitySource": identity,
    })
    return event


def http_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body from a handler's result, read as API Gateway reads payload 2.0."""
    if not isinstance(result, dict) or "statusCode" not in result:
        import json

        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for key, values in (result.get("multiValueHeaders") or {}).items():
        headers[key.lower()] = ",".join(values)
    return int(result["statusCode"]), headers, raw
