"""ONLYOFFICE DocSpace adapter: sample bodies, error statuses, edge cases and a fuzz of parse()."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.models import FailureReason, QuotaMetric
from shared.providers.onlyoffice import NAMES, OnlyofficeAdapter
from tests.conftest import load_fixture
from tests.fuzzing import answer, assert_reaches_metrics, check_parse_contract, fuzz, json_values, mutated
from tests.provider_contract import interpret_error, parse_error, rows

ADAPTER = OnlyofficeAdapter()
GIB = 1024**3

# Every real quota-endpoint body in the samples.
REAL_BODIES = [
    "provider_onlyoffice_ok.json",
    "provider_onlyoffice_ok_captured_free_2025.json",
    "provider_onlyoffice_free_near_limits.json",
    "provider_onlyoffice_user_role_trial.json",
]


def parse(name: str) -> list[QuotaMetric]:
    return ADAPTER.parse(load_fixture(name))


def titles(name: str) -> set[str]:
    return {feature.get("title") or "" for feature in load_fixture(name)["response"]["features"]} - {""}


# --- request facts ---------------------------------------------------------------------------
# The registry, request and handler facts every provider shares are checked in test_provider_flashback.py;
# these two are ONLYOFFICE's own reasons behind them.


def test_portal_url_has_no_default_so_each_account_must_name_its_portal() -> None:
    assert OnlyofficeAdapter.default_base_url is None


def test_request_never_asks_for_a_billing_refresh() -> None:
    assert ADAPTER.query_params() == {}


# --- sample bodies ---------------------------------------------------------------------------


def test_business_plan_admin_caller_gets_every_size_and_count_quota() -> None:
    metrics = parse("provider_onlyoffice_ok.json")
    assert rows(metrics) == [
        ("manager", "Admins", 3, 5, "count", None),
        ("total_size", "Storage", 118742315008, 500 * GIB, "bytes", None),
        ("users", "Users", 42, None, "count", None),
        ("room", "Rooms", 17, None, "count", None),
        ("free_backup", "Free backups this month", 0, 2, "count", "monthly"),
        ("aiagent", "AI agents", 2, None, "count", None),
    ]
    assert all(m.details == {} and m.resets_at is None for m in metrics)


def test_captured_zh_cn_free_portal_uses_fixed_names_not_localised_text() -> None:
    metrics = parse("provider_onlyoffice_ok_captured_free_2025.json")
    assert rows(metrics) == [
        ("manager", "Admins", 3, 3, "count", None),
        ("total_size", "Storage", 3497009, 2 * GIB, "bytes", None),
        ("users", "Users", 0, None, "count", None),
        ("room", "Rooms", 1, 12, "count", None),
    ]
    assert all(m.details == {} for m in metrics)


def test_free_plan_near_its_limits_reports_rooms_at_the_limit() -> None:
    metrics = parse("provider_onlyoffice_free_near_limits.json")
    assert rows(metrics) == [
        ("manager", "Admins", 1, 3, "count", None),
        ("total_size", "Storage", 2145000000, 2 * GIB, "bytes", None),
        ("users", "Users", 4, None, "count", None),
        ("room", "Rooms", 12, 12, "count", None),
    ]


def test_user_role_caller_sees_only_storage() -> None:
    metrics = parse("provider_onlyoffice_user_role_trial.json")
    assert rows(metrics) == [("total_size", "Storage", 5 * GIB, 100 * GIB, "bytes", None)]
    assert metrics[0].details == {"plan_due_date": "2026-07-15T00:00:00", "plan_trial": True}


@pytest.mark.parametrize("fixture", REAL_BODIES)
def test_marketing_title_is_never_a_metric_name(fixture: str) -> None:
    names = {m.name for m in parse(fixture)}
    assert names
    assert not names & titles(fixture)


@pytest.mark.parametrize("fixture", REAL_BODIES)
def test_per_file_maximum_and_flags_are_never_metrics(fixture: str) -> None:
    flags = {f["id"] for f in load_fixture(fixture)["response"]["features"] if f["type"] == "flag"}
    ids = {m.metric_id for m in parse(fixture)}
    assert "file_size" not in ids
    assert not ids & flags


def test_spec_example_with_placeholder_values_is_refused() -> None:
    error = parse_error(ADAPTER, load_fixture("onlyoffice_spec_example_QuotaWrapper.json"))
    assert error.reason is FailureReason.BAD_RESPONSE


def test_spec_example_is_refused_for_its_feature_shape_even_with_a_real_envelope() -> None:
    # Its statusCode 0 alone refuses it; the placeholder feature (value and used.value objects,
    # type "some text") must be refused on its own too.
    body = copy.deepcopy(load_fixture("onlyoffice_spec_example_QuotaWrapper.json"))
    body["statusCode"] = 200
    error = parse_error(ADAPTER, body)
    assert error.reason is FailureReason.BAD_RESPONSE
    assert "response.features.0" in error.message


@pytest.mark.parametrize(
    "fixture",
    [
        "provider_onlyoffice_portal_quota_ok.json",
        "provider_onlyoffice_usedspace_ok.json",
        "onlyoffice_spec_example_TenantQuotaWrapper.json",
        "onlyoffice_spec_example_DoubleWrapper.json",
    ],
)
def test_body_from_another_endpoint_is_bad_response(fixture: str) -> None:
    assert parse_error(ADAPTER, load_fixture(fixture)).reason is FailureReason.BAD_RESPONSE


# --- edge cases ------------------------------------------------------------------------------


def test_limit_minus_one_is_unlimited() -> None:
    metrics = parse("edge_onlyoffice_unlimited_storage.json")
    assert rows(metrics) == [
        ("total_size", "Storage", 7340032, None, "bytes", None),
        ("manager", "Admins", 9, None, "count", None),
    ]


def test_file_size_is_skipped_even_when_it_reports_use() -> None:
    metrics = parse("edge_onlyoffice_file_size_skipped.json")
    assert rows(metrics) == [("room", "Rooms", 3, 12, "count", None)]


def test_plan_of_only_flag_features_is_valid_with_no_metrics() -> None:
    assert parse("edge_onlyoffice_flags_only.json") == []


def test_unknown_feature_is_named_by_price_title_then_by_its_id_never_by_title() -> None:
    metrics = parse("edge_onlyoffice_unknown_features.json")
    assert rows(metrics) == [
        ("video_minutes", "Video call minutes", 120, 600, "count", None),
        ("form_fill_sessions", "Form fill sessions", 7, 50, "count", None),
        ("archive_size", "Archive size", 1024, 1048576, "bytes", None),
    ]


def test_feature_without_a_used_value_is_skipped() -> None:
    metrics = parse("edge_onlyoffice_used_value_missing.json")
    assert rows(metrics) == [("total_size", "Storage", GIB, 100 * GIB, "bytes", None)]


def test_due_date_goes_into_details_of_every_metric() -> None:
    metrics = parse("edge_onlyoffice_due_date.json")
    assert [m.metric_id for m in metrics] == ["manager", "total_size", "free_backup"]
    assert all(m.details == {"plan_due_date": "2027-01-31T23:59:59+03:00"} for m in metrics)


def test_free_backups_are_a_monthly_quota() -> None:
    metrics = {m.metric_id: m for m in parse("edge_onlyoffice_due_date.json")}
    assert rows([metrics["free_backup"]]) == [("free_backup", "Free backups this month", 1, 2, "count", "monthly")]


@pytest.mark.parametrize(
    ("fixture", "field"),
    [
        ("edge_onlyoffice_response_missing.json", "response"),
        ("edge_onlyoffice_string_limit.json", "response.features.0.value"),
        ("edge_onlyoffice_string_used.json", "response.features.0.used.value"),
        ("edge_onlyoffice_negative_limit.json", "response.features.0.value"),
        ("edge_onlyoffice_count_value_boolean.json", "response.features.0.value"),
        ("edge_onlyoffice_duplicate_feature.json", "response.features"),
        ("edge_onlyoffice_bad_due_date.json", "response.dueDate"),
    ],
)
def test_off_schema_body_is_bad_response_naming_the_field(fixture: str, field: str) -> None:
    error = parse_error(ADAPTER, load_fixture(fixture))
    assert error.reason is FailureReason.BAD_RESPONSE
    assert field in error.message


def test_error_envelope_inside_http_200_is_bad_response_with_the_providers_words() -> None:
    error = interpret_error(ADAPTER, answer(200, load_fixture("edge_onlyoffice_error_in_200.json")))
    assert error.reason is FailureReason.BAD_RESPONSE
    assert error.status == 200
    assert "statusCode 500" in error.message
    assert "Object reference not set" in error.message


@pytest.mark.parametrize("body", [None, [], "ok", 3, {}, {"response": None}, {"response": {"features": None}}])
def test_body_that_is_not_the_quota_wrapper_is_bad_response(body: Any) -> None:
    assert parse_error(ADAPTER, body).reason is FailureReason.BAD_RESPONSE


# --- error statuses --------------------------------------------------------------------------


def test_guest_caller_403_is_auth_with_the_providers_message() -> None:
    error = interpret_error(ADAPTER, answer(403, load_fixture("provider_onlyoffice_403_guest.json")))
    assert error.reason is FailureReason.AUTH
    assert error.message == "HTTP 403: Access denied"


# --- fuzz ------------------------------------------------------------------------------------

JSON = json_values(max_leaves=12)
AMOUNT = st.integers(min_value=0, max_value=2**53) | st.just(-1) | st.floats(min_value=0, max_value=1e15)
TEXT = st.text(max_size=20)
FEATURE_IDS = st.sampled_from([*NAMES, "file_size", "sso", "video_minutes"]) | st.text(min_size=1, max_size=12)


def consistent(feature: dict[str, Any]) -> dict[str, Any]:
    """A flag's value is a boolean, a size or count's a number (the drawn boolean is dropped)."""
    flag_value = feature.pop("flag_value")
    if feature["type"] == "flag":
        feature["value"] = flag_value
    return feature


FEATURE = st.fixed_dictionaries(
    {
        "id": FEATURE_IDS,
        "type": st.sampled_from(["count", "size", "flag"]),
        "value": AMOUNT,
        "flag_value": st.booleans(),
        "used": st.fixed_dictionaries({"value": AMOUNT}, optional={"title": TEXT}),
    },
    optional={"title": TEXT, "priceTitle": TEXT},
).map(consistent)
# Real dates, and date-shaped strings that may name no real moment (month 13, offset +99:00).
DUE_DATE = st.datetimes().map(lambda moment: moment.isoformat()) | st.from_regex(
    r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,7})?([+-]\d{2}:\d{2}|Z)?)?", fullmatch=True
)
QUOTA = st.fixed_dictionaries(
    {
        "id": st.integers(),
        "price": st.fixed_dictionaries({"value": AMOUNT}, optional={"currencySymbol": TEXT}),
        "nonProfit": st.booleans(),
        "free": st.booleans(),
        "trial": st.booleans(),
        # Ids are unique in a real body; keeping the last of each is cheaper than a unique draw.
        "features": st.lists(FEATURE, min_size=1, max_size=6).map(
            lambda features: list({feature["id"]: feature for feature in features}.values())
        ),
    },
    optional={"title": TEXT, "dueDate": DUE_DATE},
)
VALID = st.fixed_dictionaries(
    {"response": QUOTA, "status": st.just(0), "statusCode": st.just(200)}, optional={"count": st.integers()}
)
NEAR_VALID = mutated(VALID, junk=JSON)


def check_parse(body: Any) -> None:
    """parse() returns sound metrics or raises a bad_response ProviderError, nothing else."""
    metrics = check_parse_contract(ADAPTER, body)
    ids = [metric.metric_id for metric in metrics]
    assert len(set(ids)) == len(ids)
    assert "file_size" not in ids
    assert all(metric.name and (metric.limit is None or metric.limit >= 0) for metric in metrics)
    assert all(metric.unit in ("bytes", "count") for metric in metrics)


@fuzz
@given(NEAR_VALID)
def test_near_valid_bodies_give_metrics_or_provider_error(body: Any) -> None:
    check_parse(body)


def test_near_valid_strategy_reaches_bodies_with_metrics() -> None:
    assert_reaches_metrics(ADAPTER, NEAR_VALID)


def test_feature_of_an_unknown_type_is_skipped_not_refused() -> None:
    # DocSpace may add feature types; a scalar value of a new type is tolerated and not read as a quota.
    assert ADAPTER.parse(load_fixture("edge_onlyoffice_unknown_type.json")) == []
