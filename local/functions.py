"""Run a provider or notifier handler in this process, as Lambda runs ``app.handler``: a context with a real
deadline, the function's environment, and its logs sent to a file instead of the terminal.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, TextIO

from local import REPO_ROOT
from local.provision import DEFAULT_TIMEOUT_SECONDS
from local.stack import patched_environ
from local.template import ACCOUNT_ID, REGION

# What a provider function's environment may hold from the contract; the caller sets these itself.
CONTRACT_SOURCES = (
    "STATE_TABLE_NAME",
    "ALERT_TOPIC_ARN",
    "ACCOUNTS",
    "ACCOUNTS_PARAMETER",
    "CUSTOM_PROVIDERS",
    "CUSTOM_PROVIDERS_PARAMETER",
)


@dataclass
class LocalContext:
    """What Lambda's context carries, with a real deadline from the function's timeout."""

    function_name: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def scheduler_event() -> dict[str, str]:
    """The EventBridge Scheduler input of a provider function: its scheduled time and execution id."""
    now = datetime.now(UTC)
    return {"scheduled_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "execution_id": f"local-{uuid.uuid4()}"}


@contextlib.contextmanager
def captured_output(log: TextIO) -> Iterator[None]:
    """Send the handlers' structured logs and EMF metrics to ``log``: the terminal shows the alerts."""
    from shared.observability import logger

    handler = logger.registered_handler
    previous = handler.setStream(log) if isinstance(handler, logging.StreamHandler) else None
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            yield
    finally:
        if isinstance(handler, logging.StreamHandler) and previous is not None:
            handler.setStream(previous)
        log.flush()


class FunctionLoadError(RuntimeError):
    """``functions/<name>/app.py`` could not be loaded."""


class FunctionRunner:
    """Loads ``functions/<name>/app.py`` by path, as Lambda does with ``app.handler``, and invokes it."""

    def __init__(self, log: TextIO) -> None:
        self.log = log
        self._modules: dict[str, ModuleType] = {}

    def module(self, function: str) -> ModuleType:
        if function not in self._modules:
            path = REPO_ROOT / "functions" / function / "app.py"
            spec = importlib.util.spec_from_file_location(f"quota_sentinel_function_{function}", path)
            if spec is None or spec.loader is None:
                raise FunctionLoadError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._modules[function] = module
        return self._modules[function]

    def invoke(
        self, function: str, logical_id: str, event: Mapping[str, Any], environment: Mapping[str, str], timeout: float
    ) -> Any:
        handler: Callable[[Mapping[str, Any], LocalContext], Any] = self.module(function).handler
        context = LocalContext(function_name=logical_id, timeout_seconds=timeout)
        variables = {**environment, "AWS_LAMBDA_FUNCTION_NAME": logical_id}
        with patched_environ(variables, remove=CONTRACT_SOURCES), captured_output(self.log):
            return handler(event, context)
