"""The Flashback adapter on every sample and error body, and fuzzed JSON."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import get_adapter, interpret
from tests.conftest import load_fixture
from tests.fuzzing import answer, fuzz, json_values

ADAPTER = get_adapter("flashback")


def test_ok_body_gives_one_metric_per_quota_usage_item() -> None:
    metrics = ADAPTER.parse(load_fixture("provider_flashback_ok.json"))
    assert [m.metric_id for m in metrics] == ["STORAGE_TOTAL_BYTES", "EGRESS_MONTHLY_BYTES"]
    storage, egress = metrics
    assert (storage.name, storage.used, storage.limit, storage.unit, storage.period) == (
        "Total storage available in bytes", 5368709120, 10737418240, "bytes", "all_time",
    )  # fmt: skip
    assert (egress.name, egress.used, egress.limit, egress.unit, egress.period) == (
        "Monthly egress in bytes", 123456789, 2147483648, "bytes", "monthly",
    )  # fmt: skip


def test_percent_is_computed_not_taken_from_the_rounded_provider_value() -> None:
    egress = ADAPTER.parse(load_fixture("provider_flashback_ok.json"))[1]
    assert egress.percent == pytest.approx(123456789 / 2147483648 * 100)


def test_empty_quota_usage_is_a_valid_plan_without_metrics() -> None:
    assert ADAPTER.parse(load_fixture("provider_flashback_ok_empty_usage.json")) == []


def _item(code: str, usage: dict[str, Any], period: str = "DAILY") -> dict[str, Any]:
    return {
        "capability": {"id": "c", "code": code, "description": "Api calls", "type": "TRAFFIC", "periodType": period},
        "usage": usage,
    }


@pytest.mark.parametrize(
    "usage",
    [{"current": 5}, {"current": 5, "max": None}, {"current": 5, "max": -1}],
    ids=["missing", "null", "negative"],
)
def test_missing_null_or_negative_max_is_unlimited(usage: dict[str, Any]) -> None:
    [metric] = ADAPTER.parse({"success": True, "quotaUsage": [_item("API_CALLS", usage)]})
    assert metric.limit is None
    assert metric.unit == "count"
    assert metric.period == "daily"


def test_max_zero_is_kept_for_the_evaluator_to_skip() -> None:
    [metric] = ADAPTER.parse({"success": True, "quotaUsage": [_item("API_CALLS", {"current": 0, "max": 0})]})
    assert metric.limit == 0


def test_unknown_extra_fields_are_tolerated() -> None:
    body = load_fixture("provider_flashback_ok.json")
    body["newField"] = {"x": 1}
    body["quotaUsage"][0]["capability"]["extra"] = True
    assert len(ADAPTER.parse(body)) == 2


def test_missing_description_falls_back_to_a_name_built_from_the_code() -> None:
    item = _item("API_CALLS", {"current": 1, "max": 2})
    del item["capability"]["description"]
    assert ADAPTER.parse({"success": True, "quotaUsage": [item]})[0].name == "Api calls"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"success": True}, id="no_quota_usage"),
        pytest.param({"success": False, "quotaUsage": []}, id="success_false"),
        pytest.param({"success": True, "quotaUsage": [{"capability": {"code": "X"}}]}, id="no_usage"),
        pytest.param({"success": True, "quotaUsage": [_item("X", {"current": "5", "max": 10})]}, id="string_number"),
        pytest.param({"success": True, "quotaUsage": [_item("X", {"current": True, "max": 10})]}, id="bool_number"),
        pytest.param([1, 2], id="a_list"),
        pytest.param(None, id="null"),
    ],
)
def test_off_schema_bodies_are_bad_response(body: Any) -> None:
    with pytest.raises(ProviderError) as caught:
        ADAPTER.parse(body)
    assert caught.value.reason is FailureReason.BAD_RESPONSE


@pytest.mark.parametrize(
    ("status", "fixture", "reason"),
    [
        (401, "provider_flashback_401.json", FailureReason.AUTH),
        (404, "provider_flashback_404_no_subscription.json", FailureReason.NO_SUBSCRIPTION),
        (500, "provider_flashback_500.json", FailureReason.UNAVAILABLE),
        (403, "provider_flashback_401.json", FailureReason.AUTH),
        (402, "provider_flashback_401.json", FailureReason.NO_SUBSCRIPTION),
        (429, "provider_flashback_500.json", FailureReason.RATE_LIMITED),
        (404, "provider_flashback_500.json", FailureReason.BAD_RESPONSE),
        (400, "provider_flashback_500.json", FailureReason.BAD_RESPONSE),
    ],
)
def test_error_statuses_map_to_reasons(status: int, fixture: str, reason: FailureReason) -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(ADAPTER, answer(status, load_fixture(fixture)), secrets=[])
    assert caught.value.reason is reason
    assert caught.value.status == status


def test_error_message_carries_the_provider_words() -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(ADAPTER, answer(500, load_fixture("provider_flashback_500.json")), secrets=[])
    assert caught.value.message == "HTTP 500: Database connection failed"


def test_html_body_on_200_is_bad_response_and_on_502_is_unavailable() -> None:
    html = "<html><body>Gateway</body></html>"
    with pytest.raises(ProviderError) as ok_html:
        interpret(ADAPTER, answer(200, None, html, "text/html"), secrets=[])
    assert ok_html.value.reason is FailureReason.BAD_RESPONSE
    assert "HTML" in ok_html.value.message
    with pytest.raises(ProviderError) as gateway:
        interpret(ADAPTER, answer(502, None, html, "text/html"), secrets=[])
    assert gateway.value.reason is FailureReason.UNAVAILABLE


def test_redirect_is_bad_response() -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(ADAPTER, answer(302, None, ""), secrets=[])
    assert caught.value.reason is FailureReason.BAD_RESPONSE


def test_secret_echoed_by_the_provider_is_redacted() -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(ADAPTER, answer(400, {"message": "bad key sk-live-123"}), secrets=["sk-live-123"])
    assert "sk-live-123" not in str(caught.value)


JSON = json_values()
numbers = st.none() | st.integers(-(10**20), 10**20) | st.floats() | st.text(max_size=5) | st.booleans()
near_valid = st.fixed_dictionaries(
    {
        "success": st.booleans() | JSON,
        "quotaUsage": st.lists(
            st.fixed_dictionaries(
                {
                    "capability": st.fixed_dictionaries(
                        {"code": st.text(max_size=15) | JSON, "periodType": st.sampled_from(["MONTHLY", "ALL_TIME"]) | JSON}
                    ),
                    "usage": st.fixed_dictionaries({"current": numbers, "max": numbers}),
                }
            ),
            max_size=4,
        ) | JSON,
    }
)  # fmt: skip


@fuzz
@given(body=JSON | near_valid)
def test_fuzzed_json_gives_metrics_or_the_typed_provider_error(body: Any) -> None:
    try:
        metrics = ADAPTER.parse(body)
    except ProviderError as error:
        assert error.reason is FailureReason.BAD_RESPONSE
    else:
        assert all(isinstance(metric, QuotaMetric) for metric in metrics)
