"""A provider that trickles its answer ends as a timeout within the budget, body included.

Every read below returns within the read timeout (a byte every 2 s against 10 s), so only a total deadline
that closes the connection can end these requests: a check between chunks is not enough.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from shared.http import ProviderHttpClient
from shared.models import FailureReason, ProviderError
from shared.providers import check, get_adapter
from tests.integration.test_http_client import KEY

pytestmark = pytest.mark.integration

Behaviour = Callable[[socket.socket, threading.Event], None]

BUDGET_SECONDS = 5.0
DRIP_SECONDS = 2.0
# Enough drips that a client without a total deadline would keep reading for 40 s.
DRIPS = 20

CONTENT_LENGTH_HEAD = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {DRIPS}\r\n\r\n".encode()
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"


def _content_length(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(CONTENT_LENGTH_HEAD)
    for _ in range(DRIPS):
        if stop.wait(DRIP_SECONDS):
            return
        conn.sendall(b" ")


def _chunked(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(CHUNKED_HEAD)
    for _ in range(DRIPS):
        if stop.wait(DRIP_SECONDS):
            return
        conn.sendall(b"1\r\n \r\n")
    conn.sendall(b"0\r\n\r\n")


def _slow_headers(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    for _ in range(DRIPS):
        if stop.wait(DRIP_SECONDS):
            return
        conn.sendall(b"a")
    conn.sendall(b"\r\nContent-Length: 2\r\n\r\n{}")


@pytest.fixture
def trickling_server() -> Iterator[Callable[[Behaviour], str]]:
    """A loopback server that answers every connection with the given trickle; returns its base URL."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    threads: list[threading.Thread] = []

    def start(behaviour: Behaviour) -> str:
        def serve() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    conn.recv(65536)  # the request
                    with contextlib.suppress(OSError):  # the client closed the connection: the deadline's work
                        behaviour(conn, stop)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    stop.set()
    listener.close()
    for thread in threads:
        thread.join(timeout=5)


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param(_content_length, id="body_with_content_length"),
        pytest.param(_chunked, id="chunked_body"),
        pytest.param(_slow_headers, id="trickling_headers"),
    ],
)
def test_a_trickling_answer_is_a_timeout_within_the_budget(
    trickling_server: Callable[[Behaviour], str], behaviour: Behaviour
) -> None:
    base_url = trickling_server(behaviour)
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        check(get_adapter("flashback"), base_url, KEY, started + BUDGET_SECONDS, ProviderHttpClient())
    elapsed = time.monotonic() - started
    print(f"{behaviour.__name__}: ended after {elapsed:.2f} s with a {BUDGET_SECONDS:.0f} s budget")
    assert caught.value.reason is FailureReason.UNAVAILABLE
    assert caught.value.message == "provider timed out"
    assert BUDGET_SECONDS - 0.5 <= elapsed <= BUDGET_SECONDS + 1.0
