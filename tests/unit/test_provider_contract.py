"""The contract every provider adapter keeps, run once and parametrised over every adapter in the registry:
HTTP status to failure reason, HTML and redirects, a secret echoed back, and fuzzed JSON.

Each provider's own file keeps only what is its own: its bodies, its error shapes, its near-valid fuzz.
A new provider gets all of this by being registered.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from shared.models import FailureReason
from shared.providers import PROVIDER_IDS, get_adapter
from tests.fuzzing import answer, check_parse_contract, fuzz, json_values
from tests.provider_contract import interpret_error

SECRET = "sk-live-9f8e7d6c5b4a"
# A body with nothing provider-specific in it: the status alone decides.
NEUTRAL = {"message": "something went wrong"}
STATUS_REASONS = [
    (400, FailureReason.BAD_RESPONSE),
    (401, FailureReason.AUTH),
    (402, FailureReason.NO_SUBSCRIPTION),
    (403, FailureReason.AUTH),
    (404, FailureReason.BAD_RESPONSE),
    (422, FailureReason.BAD_RESPONSE),
    (429, FailureReason.RATE_LIMITED),
    (500, FailureReason.UNAVAILABLE),
    (502, FailureReason.UNAVAILABLE),
    (503, FailureReason.UNAVAILABLE),
    (504, FailureReason.UNAVAILABLE),
]


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@pytest.mark.parametrize(("status", "reason"), STATUS_REASONS)
def test_status_decides_the_reason(provider: str, status: int, reason: FailureReason) -> None:
    error = interpret_error(get_adapter(provider), answer(status, NEUTRAL))
    assert error.reason is reason  # interpret_error has checked error.status


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@pytest.mark.parametrize("status", [401, 403, 429, 500, 503])
def test_an_empty_error_body_still_gets_its_reason(provider: str, status: int) -> None:
    expected = dict(STATUS_REASONS)[status]
    assert interpret_error(get_adapter(provider), answer(status, None, "", "")).reason is expected


@pytest.mark.parametrize("provider", PROVIDER_IDS)
def test_html_on_200_is_bad_response_naming_html(provider: str) -> None:
    html = "<!doctype html><html><body>Sign in</body></html>"
    error = interpret_error(get_adapter(provider), answer(200, None, html, "text/html; charset=utf-8"))
    assert error.reason is FailureReason.BAD_RESPONSE
    assert "HTML" in error.message


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_html_from_a_proxy_on_5xx_is_unavailable(provider: str, status: int) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1></body></html>"
    assert interpret_error(get_adapter(provider), answer(status, None, html, "text/html")).reason is (
        FailureReason.UNAVAILABLE
    )


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_bad_response(provider: str, status: int) -> None:
    assert interpret_error(get_adapter(provider), answer(status, None, "")).reason is FailureReason.BAD_RESPONSE


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@pytest.mark.parametrize(
    "body",
    [
        {"message": f"bad key {SECRET}"},
        {"detail": f"Could not validate {SECRET}"},
        {"error": {"message": f"Invalid key {SECRET}", "status": 400}},
        {"success": False, "error_code": "BAD", "message": SECRET},
    ],
)
def test_a_secret_echoed_by_the_provider_is_redacted(provider: str, body: dict[str, Any]) -> None:
    error = interpret_error(get_adapter(provider), answer(400, body), secrets=[SECRET])
    assert SECRET not in str(error)
    assert SECRET not in error.message


JSON = json_values()


@pytest.mark.parametrize("provider", PROVIDER_IDS)
@fuzz
@given(body=JSON)
def test_any_json_gives_metrics_or_the_typed_provider_error(provider: str, body: Any) -> None:
    # A body may say there is no subscription (ChatDOC's null package); anything else off-schema is bad_response.
    check_parse_contract(get_adapter(provider), body, (FailureReason.BAD_RESPONSE, FailureReason.NO_SUBSCRIPTION))
