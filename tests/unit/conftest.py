"""The unit tier opens no socket: any attempt fails the test, naming what tried."""

from __future__ import annotations

import socket
from typing import Any

import pytest


class SocketOpened(AssertionError):
    """A unit test tried to open a socket; it belongs in tests/integration."""


@pytest.fixture(autouse=True)
def _no_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise SocketOpened("a unit test opened a socket; use tests/integration for real servers")

    # A new socket object is refused outright; so are the helpers that would make one (DNS included).
    # boto3 looks for a region on the instance metadata service when none is set; a unit test has none.
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(socket.socket, "__init__", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "socketpair", refuse)
