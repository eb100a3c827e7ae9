"""TemplateDocs adapter: sample and edge bodies to metrics, error answers to reasons, and a parse() fuzz."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.models import FailureReason, QuotaMetric
from shared.providers import interpret
from shared.providers.templatedocs import TemplateDocsAdapter
from tests.conftest import FIXTURES, load_fixture
from tests.fuzzing import answer, check_parse_contract, fuzz, json_values, perturbed
from tests.provider_contract import interpret_error, parse_error

ADAPTER = TemplateDocsAdapter()
SAMPLE_FILES = sorted(path.name for path in FIXTURES.glob("provider_templatedocs_*.json"))


def parse(name: str) -> list[QuotaMetric]:
    return ADAPTER.parse(load_fixture(name))


# The registry, request and handler facts every provider shares are checked in test_provider_flashback.py.


# --- the provider's sample bodies ------------------------------------------------------------------


def test_every_templatedocs_sample_is_covered_below() -> None:
    assert SAMPLE_FILES == [
        "provider_templatedocs_401.json",
        "provider_templatedocs_429.json",
        "provider_templatedocs_ok.json",
    ]


def test_sample_gives_monthly_docs_and_standing_templates_metrics() -> None:
    # docs: 1500 allocated (1000 subscription + 500 credits), 1112 left; templates: 50 allocated, 38 left.
    assert parse("provider_templatedocs_ok.json") == [
        QuotaMetric(
            metric_id="docs", name="Document generations", used=388, limit=1500, unit="count", period="monthly"
        ),
        QuotaMetric(metric_id="templates", name="Templates", used=12, limit=50, unit="count", period=None),
    ]


def test_sample_metrics_have_no_reset_time_or_details() -> None:
    for metric in parse("provider_templatedocs_ok.json"):
        assert metric.resets_at is None
        assert metric.details == {}


def test_sample_401_body_is_auth_with_the_provider_message() -> None:
    error = interpret_error(ADAPTER, answer(401, load_fixture("provider_templatedocs_401.json")))
    assert error.reason is FailureReason.AUTH
    assert error.message == "HTTP 401: Invalid or missing API key"


def test_sample_429_body_is_rate_limited() -> None:
    error = interpret_error(ADAPTER, answer(429, load_fixture("provider_templatedocs_429.json")))
    assert error.reason is FailureReason.RATE_LIMITED
    assert error.message == "HTTP 429: Rate limit exceeded"


# --- edge bodies -----------------------------------------------------------------------------------


def test_metric_with_allocated_total_zero_is_skipped() -> None:
    assert parse("edge_templatedocs_templates_not_offered.json") == [
        QuotaMetric(metric_id="docs", name="Document generations", used=100, limit=100, unit="count", period="monthly"),
    ]


def test_plan_offering_nothing_gives_no_metrics() -> None:
    assert parse("edge_templatedocs_nothing_offered.json") == []


def test_used_is_allocated_total_minus_remaining_total() -> None:
    # Only the totals are needed; the subscription and credit parts and unknown keys may be absent or extra.
    metrics = {metric.metric_id: metric for metric in parse("edge_templatedocs_totals_only.json")}
    assert (metrics["docs"].used, metrics["docs"].limit) == (0, 250)
    assert (metrics["templates"].used, metrics["templates"].limit) == (9.5, 10)
    assert set(metrics) == {"docs", "templates"}


INVALID_BODIES: dict[str, dict[str, Any]] = load_fixture("edge_templatedocs_invalid_bodies.json")


@pytest.mark.parametrize("case", sorted(INVALID_BODIES))
def test_body_off_the_documented_schema_is_bad_response_naming_the_field(case: str) -> None:
    error = parse_error(ADAPTER, INVALID_BODIES[case]["body"])
    assert error.reason is FailureReason.BAD_RESPONSE
    assert INVALID_BODIES[case]["names"] in error.message


# --- error answers through interpret() -------------------------------------------------------------

ERROR_BODIES: dict[str, Any] = load_fixture("edge_templatedocs_error_bodies.json")


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (401, FailureReason.AUTH),
        (402, FailureReason.NO_SUBSCRIPTION),
        (403, FailureReason.AUTH),
        (404, FailureReason.BAD_RESPONSE),
        (429, FailureReason.RATE_LIMITED),
        (500, FailureReason.UNAVAILABLE),
        (502, FailureReason.UNAVAILABLE),
        (503, FailureReason.UNAVAILABLE),
    ],
)
def test_error_status_maps_to_reason_with_the_provider_message(status: int, reason: FailureReason) -> None:
    body = ERROR_BODIES[str(status)]
    error = interpret_error(ADAPTER, answer(status, body))
    assert error.reason is reason  # interpret_error has checked error.status
    assert error.message == f"HTTP {status}: {body['error']['message']}"


def test_402_quota_exceeded_is_no_subscription_carrying_the_provider_message() -> None:
    error = interpret_error(ADAPTER, answer(402, ERROR_BODIES["402"]))
    assert error.reason is FailureReason.NO_SUBSCRIPTION
    assert "Quota exceeded: upgrade your plan or buy credits" in error.message


def test_sample_body_through_interpret_gives_metrics() -> None:
    metrics = interpret(ADAPTER, answer(200, load_fixture("provider_templatedocs_ok.json")), secrets=[])
    assert [metric.metric_id for metric in metrics] == ["docs", "templates"]


# --- fuzz: parse() returns metrics or raises ProviderError, nothing else ---------------------------

KNOWN_KEYS = ["allocated", "remaining", "subscriptions", "credits", "total", "docs", "templates", "error"]
KEYS = st.sampled_from(KNOWN_KEYS) | st.text(max_size=10)

JSON = json_values(max_leaves=30, keys=KEYS)
VALID_BODIES = [
    load_fixture(name)
    for name in [
        "provider_templatedocs_ok.json",
        "edge_templatedocs_templates_not_offered.json",
        "edge_templatedocs_totals_only.json",
    ]
]
# Values that sit near the documented ones: zero, a wrong sign, huge, fractional, a number as text.
NEAR_SCALARS = st.sampled_from([None, True, 0, -1, 0.5, 1e308, -1e-9, "", "10", 2**64])
NEAR_VALID = perturbed(
    st.sampled_from(VALID_BODIES),
    keys=KEYS,
    near_scalars=NEAR_SCALARS,
    near_percent=5,
    numbers=st.integers(0, 5000) | st.floats(0, 5000),
)


def assert_metrics_or_bad_response(body: Any) -> None:
    for metric in check_parse_contract(ADAPTER, body):
        assert metric.limit is not None
        assert metric.limit > 0  # a metric the plan does not offer is skipped
        assert 0 <= metric.used <= metric.limit


@fuzz
@given(NEAR_VALID)
def test_near_valid_body_gives_metrics_or_bad_response(body: Any) -> None:
    assert_metrics_or_bad_response(body)
