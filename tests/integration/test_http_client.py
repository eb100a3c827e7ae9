"""The provider HTTP client against real loopback servers: retries, budget, redirects, size, timeouts."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr
from pytest_httpserver import HTTPServer

from local.stack import free_port
from shared.http import ProviderHttpClient
from shared.models import FailureReason, ProviderError
from shared.providers import check, get_adapter

pytestmark = pytest.mark.integration

KEY = SecretStr("http-test-key-0123")
OK_BODY = {"success": True, "quotaUsage": []}
FLASHBACK = get_adapter("flashback")


def run_check(base_url: str, budget: float = 20.0, client: ProviderHttpClient | None = None) -> list[object]:
    return list(check(FLASHBACK, base_url, KEY, time.monotonic() + budget, client or ProviderHttpClient()))


def test_retry_after_is_honoured_then_the_retry_succeeds(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/user/quota").respond_with_json({}, status=429, headers={"Retry-After": "1"})
    httpserver.expect_ordered_request("/user/quota").respond_with_json(OK_BODY)
    started = time.monotonic()
    assert run_check(httpserver.url_for("")) == []
    assert time.monotonic() - started >= 1.0
    assert len(httpserver.log) == 2


def test_retry_after_beyond_the_budget_gives_up_at_once_as_rate_limited(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/user/quota").respond_with_json({}, status=429, headers={"Retry-After": "120"})
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        run_check(httpserver.url_for(""), budget=10)
    assert caught.value.reason is FailureReason.RATE_LIMITED
    assert time.monotonic() - started < 3
    assert len(httpserver.log) == 1


def test_5xx_is_retried_with_backoff_then_reported_unavailable(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/user/quota").respond_with_json({"message": "down"}, status=503)
    with pytest.raises(ProviderError) as caught:
        run_check(httpserver.url_for(""))
    assert caught.value.reason is FailureReason.UNAVAILABLE
    assert len(httpserver.log) == 3


def test_redirect_is_not_followed_so_the_key_never_reaches_another_host(httpserver: HTTPServer) -> None:
    other = HTTPServer(host="127.0.0.1", port=free_port())
    other.start()
    try:
        other.expect_request("/steal").respond_with_json(OK_BODY)
        httpserver.expect_request("/user/quota").respond_with_data(
            "", status=302, headers={"Location": other.url_for("/steal")}
        )
        with pytest.raises(ProviderError) as caught:
            run_check(httpserver.url_for(""))
        assert caught.value.reason is FailureReason.BAD_RESPONSE
        assert other.log == []
    finally:
        other.stop()


def test_body_over_one_mebibyte_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/user/quota").respond_with_data(
        b"x" * (1024 * 1024 + 1), content_type="application/json"
    )
    with pytest.raises(ProviderError) as caught:
        run_check(httpserver.url_for(""))
    assert caught.value.reason is FailureReason.BAD_RESPONSE
    assert "larger than 1048576 bytes" in caught.value.message


def test_chunked_body_over_the_cap_is_refused_while_streaming(httpserver: HTTPServer) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 65536

    from werkzeug import Response

    httpserver.expect_request("/user/quota").respond_with_response(Response(chunks(), content_type="application/json"))
    with pytest.raises(ProviderError) as caught:
        run_check(httpserver.url_for(""))
    assert caught.value.reason is FailureReason.BAD_RESPONSE


def test_connection_refused_is_unavailable() -> None:
    with pytest.raises(ProviderError) as caught:
        run_check(f"http://127.0.0.1:{free_port()}", client=ProviderHttpClient(retries=0))
    assert caught.value.reason is FailureReason.UNAVAILABLE
    assert caught.value.message == "could not connect to the provider"


def test_no_time_left_skips_the_call(httpserver: HTTPServer) -> None:
    with pytest.raises(ProviderError) as caught:
        run_check(httpserver.url_for(""), budget=0.5)
    assert caught.value.reason is FailureReason.UNAVAILABLE
    assert httpserver.log == []


def test_request_carries_the_auth_header_and_no_refresh(httpserver: HTTPServer) -> None:
    httpserver.expect_request(
        "/base/path/user/quota", headers={"Authorization": "Bearer http-test-key-0123", "Accept": "application/json"}
    ).respond_with_json(OK_BODY)
    assert run_check(httpserver.url_for("/base/path/")) == []
    [(request, _)] = httpserver.log
    assert request.query_string == b""
