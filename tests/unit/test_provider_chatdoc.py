"""ChatDOC adapter: sample bodies, error statuses, edge cases and a fuzz of parse()."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.models import FailureReason
from shared.providers.chatdoc import NAMES, ChatdocAdapter
from tests.conftest import load_fixture
from tests.fuzzing import answer, assert_reaches_metrics, check_parse_contract, fuzz, json_values, mutated
from tests.provider_contract import interpret_error, parse_error, rows

ADAPTER = ChatdocAdapter()

# The registry, request and handler facts every provider shares are checked in test_provider_flashback.py.


# --- sample bodies ---------------------------------------------------------------------------


def test_full_package_gives_one_metric_per_item_with_fixed_names() -> None:
    metrics = ADAPTER.parse(load_fixture("provider_chatdoc_ok.json"))
    assert rows(metrics) == [
        ("basic_page", "Basic pages", 1044, 3000, "count", None),
        ("elite_page", "Elite pages", 1045, 3000, "count", None),
        ("lite_page", "Lite pages", 1046, 3000, "count", None),
        ("question", "Questions", 11, 3000, "count", None),
        ("documents_tokens", "Document tokens", 11, 3000, "count", None),
        ("ocr_page", "OCR pages", 11, 3000, "count", None),
        ("gpt4_question", "GPT-4 questions", 11, 3000, "count", None),
        ("gpt4o_question", "GPT-4o questions", 11, 3000, "count", None),
    ]
    assert all(m.details == {} and m.resets_at is None for m in metrics)


def test_package_null_means_no_subscription() -> None:
    error = parse_error(ADAPTER, load_fixture("provider_chatdoc_package_null.json"))
    assert error.reason is FailureReason.NO_SUBSCRIPTION
    assert "no unexpired package" in error.message


def test_package_null_in_http_200_is_no_subscription_not_bad_response() -> None:
    error = interpret_error(ADAPTER, answer(200, load_fixture("provider_chatdoc_package_null.json")))
    assert error.reason is FailureReason.NO_SUBSCRIPTION
    assert error.status == 200


def test_partial_nulls_give_only_the_non_null_items() -> None:
    metrics = ADAPTER.parse(load_fixture("provider_chatdoc_partial_nulls.json"))
    assert rows(metrics) == [
        ("elite_page", "Elite pages", 500, 500, "count", None),
        ("question", "Questions", 37, 1000, "count", None),
        ("gpt4o_question", "GPT-4o questions", 0, 100, "count", None),
    ]


# --- edge cases ------------------------------------------------------------------------------


def test_unknown_item_keys_get_a_name_built_from_the_key() -> None:
    metrics = ADAPTER.parse(load_fixture("edge_chatdoc_unknown_keys.json"))
    assert rows(metrics) == [
        ("basic_page", "Basic pages", 5, 100, "count", None),
        ("page", "Page", 150, 200, "count", None),
        ("foo_bar", "Foo bar", 0, 10, "count", None),
    ]


def test_package_with_every_item_null_is_a_valid_plan_with_no_metrics() -> None:
    assert ADAPTER.parse(load_fixture("edge_chatdoc_all_items_null.json")) == []


def test_body_without_status_is_read_like_the_readme_example() -> None:
    metrics = ADAPTER.parse(load_fixture("edge_chatdoc_no_status.json"))
    assert rows(metrics) == [("question", "Questions", 11, 3000, "count", None)]


def test_status_other_than_ok_is_bad_response() -> None:
    error = parse_error(ADAPTER, load_fixture("edge_chatdoc_status_error.json"))
    assert error.reason is FailureReason.BAD_RESPONSE
    assert "status" in error.message


@pytest.mark.parametrize(
    ("fixture", "field"),
    [
        ("edge_chatdoc_package_missing.json", "data.package"),
        ("edge_chatdoc_string_count.json", "data.package.question.used_count"),
        ("edge_chatdoc_item_missing_used_count.json", "data.package.question.used_count"),
        ("edge_chatdoc_negative_max_count.json", "limit"),
    ],
)
def test_off_schema_body_is_bad_response_naming_the_field(fixture: str, field: str) -> None:
    error = parse_error(ADAPTER, load_fixture(fixture))
    assert error.reason is FailureReason.BAD_RESPONSE
    assert field in error.message


@pytest.mark.parametrize("body", [None, [], "ok", 3, {}, {"status": "ok"}, {"status": "ok", "data": []}])
def test_body_that_is_not_the_quota_object_is_bad_response(body: Any) -> None:
    assert parse_error(ADAPTER, body).reason is FailureReason.BAD_RESPONSE


def test_boolean_count_is_bad_response() -> None:
    body = {"status": "ok", "data": {"package": {"question": {"max_count": True, "used_count": 1}}}}
    assert parse_error(ADAPTER, body).reason is FailureReason.BAD_RESPONSE


# --- error statuses --------------------------------------------------------------------------


def test_error_message_carries_the_providers_detail() -> None:
    error = interpret_error(ADAPTER, answer(401, load_fixture("edge_chatdoc_error_detail.json")))
    assert error.message == "HTTP 401: Could not validate credentials"


# --- fuzz ------------------------------------------------------------------------------------

JSON = json_values(max_leaves=12)
COUNT = st.integers(min_value=0, max_value=10**7) | st.floats(min_value=0, max_value=1e12)
ITEM = st.none() | st.fixed_dictionaries({"max_count": COUNT, "used_count": COUNT})
KEYS = st.sampled_from([*NAMES, "page"]) | st.text(max_size=12)
VALID = st.fixed_dictionaries(
    {
        "status": st.just("ok"),
        "data": st.fixed_dictionaries({"package": st.dictionaries(KEYS, ITEM, min_size=1, max_size=10)}),
    }
)
NEAR_VALID = mutated(VALID, junk=JSON)


def check_parse(body: Any) -> None:
    """parse() returns sound metrics or raises ProviderError (bad_response / no_subscription), nothing else."""
    metrics = check_parse_contract(ADAPTER, body, (FailureReason.BAD_RESPONSE, FailureReason.NO_SUBSCRIPTION))
    assert len({metric.metric_id for metric in metrics}) == len(metrics)
    assert all(metric.name and metric.limit is not None and metric.limit >= 0 for metric in metrics)


@fuzz
@given(NEAR_VALID)
def test_near_valid_bodies_give_metrics_or_provider_error(body: Any) -> None:
    check_parse(body)


def test_near_valid_strategy_reaches_bodies_with_metrics() -> None:
    assert_reaches_metrics(ADAPTER, NEAR_VALID)
