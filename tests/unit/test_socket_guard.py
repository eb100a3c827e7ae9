"""The guard of tests/unit/conftest.py holds: nothing in the unit tier can open a socket."""

from __future__ import annotations

import socket
import urllib.request

import pytest
import requests

REFUSED = "a unit test opened a socket"


def test_a_new_socket_is_refused() -> None:
    with pytest.raises(AssertionError, match=REFUSED):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def test_a_requests_call_is_refused_before_any_connection() -> None:
    with pytest.raises(Exception, match=REFUSED):
        requests.get("http://127.0.0.1:9/", timeout=1)


def test_urllib_and_dns_are_refused() -> None:
    with pytest.raises(Exception, match=REFUSED):
        urllib.request.urlopen("http://127.0.0.1:9/", timeout=1)
    with pytest.raises(AssertionError, match=REFUSED):
        socket.getaddrinfo("example.com", 443)
