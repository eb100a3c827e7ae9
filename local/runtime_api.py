"""A minimal AWS Lambda Runtime API on loopback, for the Runtime Interface Client (``awslambdaric``).

Lambda's runtime client asks this server for the next event, runs the handler and posts back the
result or the error. That is the whole contract between a Python function and Lambda, so serving it
locally exercises the handler string, the artifact and the layer layout the way Lambda does, with no
container. Standard library only.

    GET  /2018-06-01/runtime/invocation/next            -> the next event (blocks until there is one)
    POST /2018-06-01/runtime/invocation/{id}/response   <- the handler's result
    POST /2018-06-01/runtime/invocation/{id}/error      <- the handler's exception
    POST /2018-06-01/runtime/init/error                 <- the handler could not be loaded
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from local.http_server import LoopbackServer

PREFIX = "/2018-06-01/runtime"
_INVOCATION = re.compile(rf"^{PREFIX}/invocation/(?P<request_id>[^/]+)/(?P<kind>response|error)$")
INIT_ERROR = "init_error"


@dataclass(frozen=True)
class Outcome:
    """What the runtime client reported for one invocation."""

    kind: str  # "response", "error" or "init_error"
    body: bytes
    error_type: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class _Invocation:
    request_id: str
    event: bytes
    deadline_ms: int


class RuntimeApi(LoopbackServer):
    """Serves invocations to one runtime client process and collects their outcomes."""

    def __init__(self, function_arn: str, timeout_seconds: float) -> None:
        self.function_arn = function_arn
        self.timeout_seconds = timeout_seconds
        self._pending: queue.Queue[_Invocation] = queue.Queue()
        self._outcomes: dict[str, Outcome] = {}
        self._init_error: Outcome | None = None
        self._changed = threading.Condition()
        self._closing = threading.Event()
        super().__init__(self._handler_class())

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        return self.url.removeprefix("http://")

    def stop(self) -> None:
        self._closing.set()
        super().stop()

    close = stop

    def submit(self, event: bytes) -> str:
        """Queue one event; returns its request id."""
        request_id = str(uuid.uuid4())
        deadline_ms = int((time.time() + self.timeout_seconds) * 1000)
        self._pending.put(_Invocation(request_id, event, deadline_ms))
        return request_id

    def wait(self, request_id: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> Outcome | None:
        """The outcome of ``request_id``, or the init error. None when the time runs out or the client dies."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if request_id in self._outcomes:
                    return self._outcomes[request_id]
                if self._init_error is not None:
                    return self._init_error
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not alive():
                    return None
                self._changed.wait(min(remaining, 0.2))

    def _record(self, request_id: str | None, outcome: Outcome) -> None:
        with self._changed:
            if request_id is None:
                self._init_error = outcome
            else:
                self._outcomes[request_id] = outcome
            self._changed.notify_all()

    def _next(self) -> _Invocation | None:
        while not self._closing.is_set():
            try:
                return self._pending.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the function's own output is what matters."""

            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self._reply(404)
                    return
                invocation = api._next()
                if invocation is None:
                    self._reply(503, b'{"errorMessage": "runtime API is shutting down"}')
                    return
                self._reply(
                    200,
                    invocation.event,
                    {
                        "Content-Type": "application/json",
                        "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                        "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                        "Lambda-Runtime-Invoked-Function-Arn": api.function_arn,
                        "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                    },
                )

            def do_POST(self) -> None:
                body = self._body()
                error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
                if self.path == f"{PREFIX}/init/error":
                    api._record(None, Outcome(INIT_ERROR, body, error_type))
                elif match := _INVOCATION.match(self.path):
                    api._record(match["request_id"], Outcome(match["kind"], body, error_type))
                else:
                    self._reply(404)
                    return
                self._reply(202, b'{"status": "OK"}', {"Content-Type": "application/json"})

        return Handler
