"""Bigdata adapter: sample and edge bodies to metrics, error answers to reasons, and a parse() fuzz."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.models import FailureReason, QuotaMetric
from shared.providers import interpret
from shared.providers.bigdata import BigdataAdapter
from tests.conftest import FIXTURES, load_fixture
from tests.fuzzing import answer, check_parse_contract, fuzz, json_values, perturbed
from tests.provider_contract import interpret_error, parse_error

ADAPTER = BigdataAdapter()
SAMPLE_FILES = sorted(path.name for path in FIXTURES.glob("provider_bigdata_*.json"))
QUOTA_SAMPLE_IDS = ["api_query_units", "private_content:pdf_pages", "private_content:other_pages"]
JUNE_END = datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC)
SAMPLE_TOP_CONSUMERS = [
    {
        "id": "search:smart:content-premium-news:tokens",
        "name": "Search smart - premium news tokens",
        "usage": 1732000,
        "cost_cents": 16627.2,
    },
    {
        "id": "search:smart:content-web:tokens",
        "name": "Search smart - web tokens",
        "usage": 654000,
        "cost_cents": 523.2,
    },
    {"id": "search:comentions::tokens", "name": "Co-mentions tokens", "usage": 120000, "cost_cents": 48.0},
]


def parse(name: str) -> list[QuotaMetric]:
    return ADAPTER.parse(load_fixture(name))


def by_id(metrics: list[QuotaMetric]) -> dict[str, QuotaMetric]:
    return {metric.metric_id: metric for metric in metrics}


# The registry, request and handler facts every provider shares are checked in test_provider_flashback.py.


# --- the provider's sample bodies ------------------------------------------------------------------


def test_every_bigdata_sample_is_covered_below() -> None:
    assert SAMPLE_FILES == [
        "provider_bigdata_credits_ok.json",
        "provider_bigdata_credits_unlimited.json",
        "provider_bigdata_quota_ok.json",
        "provider_bigdata_quota_ok_unwrapped.json",
    ]


@pytest.mark.parametrize("name", ["provider_bigdata_quota_ok.json", "provider_bigdata_quota_ok_unwrapped.json"])
def test_quota_sample_gives_one_units_metric_per_quota_unit(name: str) -> None:
    metrics = parse(name)
    assert [metric.metric_id for metric in metrics] == QUOTA_SAMPLE_IDS
    assert metrics[0] == QuotaMetric(
        metric_id="api_query_units", name="API Query Units", used=2025, limit=50000, unit="units", period=None
    )
    assert metrics[1] == QuotaMetric(
        metric_id="private_content:pdf_pages", name="PDF pages", used=312, limit=5000, unit="units", period=None
    )


def test_wrapped_and_bare_quota_bodies_give_the_same_metrics() -> None:
    assert parse("provider_bigdata_quota_ok.json") == parse("provider_bigdata_quota_ok_unwrapped.json")


def test_unlimited_units_limit_is_unlimited_metric() -> None:
    other_pages = by_id(parse("provider_bigdata_quota_ok.json"))["private_content:other_pages"]
    assert other_pages.name == "Other format pages"
    assert other_pages.used == 0
    assert other_pages.limit is None
    assert other_pages.unit == "units"


def test_credits_sample_gives_one_credits_metric_in_us_cents() -> None:
    [metric] = parse("provider_bigdata_credits_ok.json")
    assert metric.metric_id == "credits"
    assert metric.name == "Credits"
    assert metric.used == 18752
    assert metric.limit == 500000
    assert metric.unit == "usd_cents"
    assert metric.period is None


def test_credits_reset_at_the_end_of_the_billing_period() -> None:
    [metric] = parse("provider_bigdata_credits_ok.json")
    assert metric.resets_at == JUNE_END
    assert metric.resets_at.utcoffset() is not None


def test_credits_top_consumers_are_the_three_costliest_units() -> None:
    # PDF pages (40 × 1.0 = 40) is the fourth and is left out.
    [metric] = parse("provider_bigdata_credits_ok.json")
    assert metric.details == {"top_consumers": SAMPLE_TOP_CONSUMERS}


def test_unlimited_credits_limit_is_unlimited_metric() -> None:
    [metric] = parse("provider_bigdata_credits_unlimited.json")
    assert metric.metric_id == "credits"
    assert metric.used == 18752
    assert metric.limit is None
    assert metric.resets_at == JUNE_END
    assert metric.details == {"top_consumers": SAMPLE_TOP_CONSUMERS}


# --- edge bodies -----------------------------------------------------------------------------------


def test_legacy_text_and_pages_units_are_skipped() -> None:
    metrics = parse("edge_bigdata_quota_legacy_ids.json")
    assert [metric.metric_id for metric in metrics] == ["api_query_units", "custom:unit"]


def test_fractional_usage_and_unknown_fields_are_read() -> None:
    api = by_id(parse("edge_bigdata_quota_legacy_ids.json"))["api_query_units"]
    assert (api.name, api.used, api.limit) == ("API Query Units", 12.5, 100)


def test_blank_display_name_falls_back_to_unit_id() -> None:
    custom = by_id(parse("edge_bigdata_quota_legacy_ids.json"))["custom:unit"]
    assert custom.name == "custom:unit"
    assert custom.limit is None


def test_empty_quota_units_is_a_plan_without_metrics() -> None:
    assert parse("edge_bigdata_quota_empty_units.json") == []


def test_unlimited_remaining_keeps_the_numeric_credits_limit() -> None:
    [metric] = parse("edge_bigdata_credits_several_periods.json")
    assert (metric.used, metric.limit) == (150000, 200000)


def test_credits_reset_at_the_latest_billing_period_end_in_utc() -> None:
    # The latest period is listed second and ends at midnight +02:00.
    [metric] = parse("edge_bigdata_credits_several_periods.json")
    assert metric.resets_at == datetime(2026, 7, 31, 22, 0, tzinfo=UTC)


def test_top_consumers_come_from_the_latest_period_by_cost_without_unpriced_or_idle_units() -> None:
    # beta 10000 × 0.5 = 5000, epsilon 3000 × 1 = 3000, alpha 100 × 2.5 = 250 ties with delta 500 × 0.5
    # and comes first as the provider listed it first; "unpriced" has no price, "idle" costs nothing.
    [metric] = parse("edge_bigdata_credits_several_periods.json")
    assert metric.details == {
        "top_consumers": [
            {"id": "beta", "name": "Beta", "usage": 10000, "cost_cents": 5000},
            {"id": "epsilon", "name": "Epsilon", "usage": 3000, "cost_cents": 3000},
            {"id": "alpha", "name": "Alpha", "usage": 100, "cost_cents": 250},
        ]
    }


def test_credits_without_billing_have_no_reset_time_and_no_details() -> None:
    [metric] = parse("edge_bigdata_credits_no_billing.json")
    assert (metric.used, metric.limit) == (1000, 1000)
    assert metric.resets_at is None
    assert metric.details == {}


def test_date_only_period_end_resets_at_the_next_midnight_utc() -> None:
    [metric] = parse("edge_bigdata_credits_date_only_end.json")
    assert metric.resets_at == datetime(2026, 7, 1, tzinfo=UTC)
    assert metric.details == {}  # its only unit has no price


INVALID_BODIES: dict[str, dict[str, Any]] = load_fixture("edge_bigdata_invalid_bodies.json")


@pytest.mark.parametrize("case", sorted(INVALID_BODIES))
def test_body_off_the_documented_schema_is_bad_response_naming_the_field(case: str) -> None:
    error = parse_error(ADAPTER, INVALID_BODIES[case]["body"])
    assert error.reason is FailureReason.BAD_RESPONSE
    assert INVALID_BODIES[case]["names"] in error.message


def test_unknown_subscription_type_message_does_not_echo_the_value() -> None:
    assert "enterprise" not in parse_error(ADAPTER, INVALID_BODIES["unknown_subscription_type"]["body"]).message


# --- error answers through interpret() -------------------------------------------------------------

ERROR_BODIES: dict[str, Any] = load_fixture("edge_bigdata_error_bodies.json")


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, FailureReason.BAD_RESPONSE),
        (401, FailureReason.AUTH),
        (402, FailureReason.NO_SUBSCRIPTION),
        (403, FailureReason.AUTH),
        (404, FailureReason.BAD_RESPONSE),
        (429, FailureReason.RATE_LIMITED),
        (500, FailureReason.UNAVAILABLE),
        (503, FailureReason.UNAVAILABLE),
    ],
)
def test_error_status_maps_to_reason_with_the_provider_message(status: int, reason: FailureReason) -> None:
    body = ERROR_BODIES[str(status)]
    error = interpret_error(ADAPTER, answer(status, body))
    assert error.reason is reason  # interpret_error has checked error.status
    assert error.message == f"HTTP {status}: {body['message']}"


def test_sample_body_through_interpret_gives_metrics() -> None:
    metrics = interpret(ADAPTER, answer(200, load_fixture("provider_bigdata_quota_ok.json")), secrets=[])
    assert [metric.metric_id for metric in metrics] == QUOTA_SAMPLE_IDS


# --- fuzz: parse() returns metrics or raises ProviderError, nothing else ---------------------------

KNOWN_KEYS = [
    "results",
    "errors",
    "metadata",
    "org_id",
    "subscription_type",
    "quota_units",
    "id",
    "display_name",
    "units_usage",
    "units_limit",
    "credits",
    "limit",
    "usage",
    "remaining",
    "billing",
    "period",
    "start",
    "end",
    "credit_usage",
    "units",
    "units_price",
]
KEYS = st.sampled_from(KNOWN_KEYS) | st.text(max_size=10)

JSON = json_values(max_leaves=30, keys=KEYS)
VALID_BODIES = [
    load_fixture(name)
    for name in [
        *SAMPLE_FILES,
        "edge_bigdata_quota_legacy_ids.json",
        "edge_bigdata_credits_several_periods.json",
        "edge_bigdata_credits_date_only_end.json",
    ]
]
# Values that sit near the documented ones: the right type with a wrong sign, a wrong type, a tag, a date.
NEAR_SCALARS = st.sampled_from(
    [None, True, 0, -1, 0.5, 1e308, -1e-9, "", "unlimited", "quota", "credits", "2026-06-30", "2026-06-30T23:59:59Z"]
)
NEAR_VALID = perturbed(
    st.sampled_from(VALID_BODIES),
    keys=KEYS,
    near_scalars=NEAR_SCALARS,
    numbers=st.integers(0, 10**7) | st.floats(0, 10**7),
)


def assert_metrics_or_bad_response(body: Any) -> None:
    for metric in check_parse_contract(ADAPTER, body):
        assert metric.resets_at is None or metric.resets_at.utcoffset() is not None
        # The alert document must be able to carry it as strict JSON, details included.
        json.dumps(metric.model_dump(mode="json"), allow_nan=False)


@fuzz
@given(NEAR_VALID)
def test_near_valid_body_gives_metrics_or_bad_response(body: Any) -> None:
    assert_metrics_or_bad_response(body)
