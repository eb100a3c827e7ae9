"""Provider HTTP: one requests Session per account, bounded in time and size, never following redirects.

Retries (429 and 5xx, connection errors and read timeouts) use urllib3's ``Retry``, which honours
``Retry-After``; a subclass keeps every wait inside the run's time budget.

A read timeout bounds each read, not the answer: a provider that sends one byte every few seconds never
trips it. So a watchdog timer shuts the request's connections down at the deadline, body included.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from shared.models import FailureReason, ProviderError

CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 1024 * 1024
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# An attempt is not worth starting with less time than this left.
MIN_ATTEMPT_SECONDS = 1.0
# One request, retries and body included, never takes longer than this, so that one slow provider cannot
# hold a worker for the whole run.
MAX_REQUEST_SECONDS = 30.0
NOT_CHECKED = "not checked: the run ran out of time"
TIMED_OUT = "provider timed out"
USER_AGENT = "quota-sentinel/1 (+https://github.com/quota-sentinel)"


class _RetryBudgetExhausted(Exception):
    """Waiting for the next attempt would overrun the time budget."""

    def __init__(self, status: int | None, wait: float) -> None:
        super().__init__(f"retry budget exhausted (next wait {wait:.1f}s)")
        self.status = status


class DeadlineRetry(Retry):
    """urllib3 Retry whose waits (backoff or Retry-After) must fit before ``deadline`` (a monotonic time)."""

    def __init__(self, *args: Any, deadline: float = math.inf, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def new(self, **kwargs: Any) -> DeadlineRetry:
        retry = super().new(**kwargs)
        assert isinstance(retry, DeadlineRetry)
        retry.deadline = self.deadline
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        retry_after = self.get_retry_after(response) if response is not None else None
        wait = retry_after if retry_after is not None else self.get_backoff_time()
        if time.monotonic() + wait + MIN_ATTEMPT_SECONDS > self.deadline:
            raise _RetryBudgetExhausted(response.status if response is not None else None, wait)
        if wait > 0:
            time.sleep(wait)


class Watchdog:
    """Shuts down every connection of one request when its deadline passes, waking any blocked read."""

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True

    def watch(self, connection: Any) -> None:
        with self._lock:
            self._connections.append(connection)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            connections = list(self._connections)
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed
                    sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()


class _WatchedAdapter(HTTPAdapter):
    """An HTTPAdapter whose pools hand every new connection to the watchdog."""

    def __init__(self, watchdog: Watchdog, **kwargs: Any) -> None:
        self._watchdog = watchdog  # before super().__init__, which builds the pool manager
        super().__init__(**kwargs)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        watchdog = self._watchdog
        watched: dict[str, type[HTTPConnectionPool]] = {}
        for scheme, pool_class in self.poolmanager.pool_classes_by_scheme.items():

            class WatchedPool(pool_class):  # type: ignore[valid-type,misc]
                def _new_conn(self) -> Any:
                    connection = super()._new_conn()
                    watchdog.watch(connection)
                    return connection

            watched[scheme] = WatchedPool
        self.poolmanager.pool_classes_by_scheme = watched


@dataclass(frozen=True)
class HttpResult:
    status: int
    body: Any  # parsed JSON, or None when the body is empty or not JSON
    text: str
    content_type: str


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class ProviderHttpClient:
    """Performs one GET for one account. Create one per account: Sessions are not thread-safe."""

    def __init__(
        self,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        max_bytes: int = MAX_RESPONSE_BYTES,
        retries: int = 2,
        backoff_factor: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff_factor = backoff_factor
        self.clock = clock

    def _session(self, deadline: float, watchdog: Watchdog) -> requests.Session:
        retry = DeadlineRetry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,
            redirect=0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=self.backoff_factor,
            backoff_max=8,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
            deadline=deadline,
        )
        session = requests.Session()
        session.trust_env = False  # no netrc credentials or proxies from the environment
        adapter = _WatchedAdapter(watchdog, max_retries=retry, pool_connections=1, pool_maxsize=1)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    def get(
        self, url: str, headers: Mapping[str, str], params: Mapping[str, str], deadline: float, secrets: list[str]
    ) -> HttpResult:
        """GET ``url``. Raises ProviderError(unavailable) for timeouts and connection errors and
        ProviderError(bad_response) for an oversized body. ``secrets`` are redacted from any message."""
        remaining = deadline - self.clock()
        if remaining < MIN_ATTEMPT_SECONDS:
            raise ProviderError(FailureReason.UNAVAILABLE, NOT_CHECKED)
        deadline = min(deadline, self.clock() + MAX_REQUEST_SECONDS)
        remaining = deadline - self.clock()
        timeout = (min(self.connect_timeout, remaining), min(self.read_timeout, remaining))
        request_headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
        with Watchdog(remaining) as watchdog, self._session(deadline, watchdog) as session:
            try:
                response = session.get(
                    url, headers=request_headers, params=params, timeout=timeout, allow_redirects=False, stream=True
                )
            except _RetryBudgetExhausted as error:
                if error.status is None:
                    message = TIMED_OUT if watchdog.fired else "provider unreachable within the time budget"
                    raise ProviderError(FailureReason.UNAVAILABLE, message) from None
                return HttpResult(status=error.status, body=None, text="", content_type="")
            except requests.Timeout:
                raise ProviderError(FailureReason.UNAVAILABLE, TIMED_OUT) from None
            except requests.ConnectionError as error:
                # With retries, urllib3 wraps a read timeout in MaxRetryError, which requests reports as this.
                cause = getattr(error.args[0], "reason", None) if error.args else None
                # NewConnectionError subclasses ConnectTimeoutError in urllib3, but a refusal is no timeout.
                timed_out = isinstance(cause, TimeoutError | ReadTimeoutError | ConnectTimeoutError)
                if watchdog.fired or (timed_out and not isinstance(cause, NewConnectionError)):
                    raise ProviderError(FailureReason.UNAVAILABLE, TIMED_OUT) from None
                raise ProviderError(FailureReason.UNAVAILABLE, "could not connect to the provider") from None
            except requests.RequestException as error:
                if watchdog.fired:
                    raise ProviderError(FailureReason.UNAVAILABLE, TIMED_OUT) from None
                raise ProviderError(FailureReason.UNAVAILABLE, f"request failed ({type(error).__name__})") from None
            with response:
                raw = self._read_capped(response, watchdog)
        content_type = response.headers.get("Content-Type", "")
        text = raw.decode(response.encoding or "utf-8", errors="replace")
        return HttpResult(status=response.status_code, body=_parse_json(text), text=text, content_type=content_type)

    def _read_capped(self, response: requests.Response, watchdog: Watchdog) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise ProviderError(
                FailureReason.BAD_RESPONSE, f"response larger than {self.max_bytes} bytes", response.status_code
            )
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=64 * 1024):
                size += len(chunk)
                if size > self.max_bytes:
                    raise ProviderError(
                        FailureReason.BAD_RESPONSE, f"response larger than {self.max_bytes} bytes", response.status_code
                    )
                chunks.append(chunk)
        except requests.RequestException as error:
            if watchdog.fired:
                raise ProviderError(FailureReason.UNAVAILABLE, TIMED_OUT, response.status_code) from None
            raise ProviderError(FailureReason.UNAVAILABLE, f"response interrupted ({type(error).__name__})") from None
        if watchdog.fired:  # the body ended because the watchdog closed the connection, not because it was whole
            raise ProviderError(FailureReason.UNAVAILABLE, TIMED_OUT, response.status_code)
        return b"".join(chunks)


def _parse_json(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
