"""The adapter built from a custom entry: request, every expression shape, numbers, times, errors, limits."""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from shared.custom import CustomAdapter, adapter_for, name_from_id, to_datetime, to_number, validate_entry
from shared.custom.expressions import truthy
from shared.http import HttpResult, ProviderHttpClient
from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import check, interpret
from tests.fuzzing import answer
from tests.provider_contract import interpret_error, parse_error, rows
from tests.unit.test_custom_spec import ENTRY

# The contract's sample entry, without its manage_url and with the default (bearer) auth left implicit.
BASE: dict[str, Any] = {key: value for key, value in copy.deepcopy(ENTRY).items() if key != "manage_url"}
del BASE["request"]["auth"]
BODY: dict[str, Any] = {
    "data": {
        "quotas": [
            {
                "key": "api_calls",
                "label": "API calls",
                "consumed": 900,
                "allowed": 1000,
                "window": {"ends": 1767225600},
            },
            {"key": "seats", "label": "Seats", "consumed": "3", "allowed": -1},
            {
                "key": "storage_gb",
                "label": "  ",
                "consumed": 1.5,
                "allowed": 10,
                "window": {"ends": "2026-12-01T00:00:00Z"},
            },
        ]
    }
}


def adapter(**changes: Any) -> CustomAdapter:
    """The BASE entry's adapter, with top-level fields replaced and ``metric`` merged into metrics[0]."""
    entry = copy.deepcopy(BASE)
    metric = changes.pop("metric", None)
    if metric is not None:
        entry["metrics"][0] = {
            key: value for key, value in {**entry["metrics"][0], **metric}.items() if value is not ...
        }
    entry.update(changes)
    return adapter_for(validate_entry(entry, "TEST"))


def one(custom: CustomAdapter, body: Any) -> QuotaMetric:
    [metric] = custom.parse(body)
    return metric


# --- the contract's example end to end -------------------------------------------------------------


def test_example_entry_reads_every_field() -> None:
    metrics = adapter().parse(BODY)
    assert rows(metrics) == [
        ("api_calls", "API calls", 900, 1000, "count", "monthly"),
        ("seats", "Seats", 3, None, "count", "monthly"),
        ("storage_gb", "Storage gb", 1.5, 10, "count", "monthly"),
    ]
    assert metrics[0].resets_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert metrics[1].resets_at is None
    assert metrics[2].resets_at == datetime(2026, 12, 1, tzinfo=UTC)


def test_adapter_carries_the_request_facts() -> None:
    custom = adapter()
    assert custom.provider_id == "acme"
    assert custom.default_base_url == "https://api.acme.example"
    assert custom.endpoint_path == "/v2/usage"
    assert custom.query_params() == {"view": "quota"}
    assert custom.request_headers(SecretStr("k3y")) == {"Authorization": "Bearer k3y"}


def test_two_entries_get_adapters_that_do_not_share_facts() -> None:
    first = adapter()
    second = adapter(id="other", request={"path": "/other", "default_base_url": "https://other.example"})
    assert (first.provider_id, first.endpoint_path) == ("acme", "/v2/usage")
    assert (second.provider_id, second.endpoint_path) == ("other", "/other")


def test_header_auth_sends_the_key_as_that_headers_value() -> None:
    custom = adapter(request={**BASE["request"], "auth": {"type": "header", "name": "X-API-KEY"}})
    assert custom.request_headers(SecretStr("k3y")) == {"X-API-KEY": "k3y"}


def test_basic_auth_sends_the_username_and_the_key_as_password() -> None:
    custom = adapter(request={**BASE["request"], "auth": {"type": "basic", "username": "api"}})
    headers = custom.request_headers(SecretStr("k3y"))
    assert headers == {"Authorization": "Basic " + base64.b64encode(b"api:k3y").decode()}


class RecordingClient(ProviderHttpClient):
    """The built-ins' client class with its network call replaced: records the request, returns a canned answer."""

    def __init__(self, result: HttpResult) -> None:
        super().__init__()
        self.result = result
        self.calls: list[tuple[str, dict[str, str], dict[str, str], float, list[str]]] = []

    def get(
        self, url: str, headers: Mapping[str, str], params: Mapping[str, str], deadline: float, secrets: list[str]
    ) -> HttpResult:
        self.calls.append((url, dict(headers), dict(params), deadline, secrets))
        return self.result


def test_check_goes_through_the_shared_client_with_url_headers_query_and_deadline() -> None:
    client = RecordingClient(answer(200, BODY))
    metrics = check(adapter(), "https://eu.acme.example/base/", SecretStr("k3y"), 123.0, client)
    assert [metric.metric_id for metric in metrics] == ["api_calls", "seats", "storage_gb"]
    assert client.calls == [
        ("https://eu.acme.example/base/v2/usage", {"Authorization": "Bearer k3y"}, {"view": "quota"}, 123.0, ["k3y"])
    ]


# --- each, and every expression shape --------------------------------------------------------------


def test_without_each_the_whole_body_is_the_context_of_one_metric() -> None:
    custom = adapter(
        metric={"each": ..., "id": "'credits'", "name": ..., "used": "usage.spent", "limit": "plan.credits"}
    )
    assert rows(custom.parse({"usage": {"spent": 5}, "plan": {"credits": 50}})) == [
        ("credits", "Credits", 5, 50, "count", "monthly")
    ]


def test_items_pairs_an_objects_keys_with_their_values() -> None:
    custom = adapter(
        metric={
            "each": "items(data.package)[?value != null]",
            "id": "key",
            "name": ...,
            "used": "value.used_count",
            "limit": "value.max_count",
            "resets_at": ...,
            "unlimited_when": ...,
        }
    )
    body = {"data": {"package": {"gpt4_question": {"used_count": 1, "max_count": 2}, "page": None}}}
    assert rows(custom.parse(body)) == [("gpt4_question", "Gpt4 question", 1, 2, "count", "monthly")]


def test_each_may_filter_flatten_and_pipe() -> None:
    custom = adapter(metric={"each": "groups[].quotas[?enabled][] | [?allowed > `0`]"})
    body = {
        "groups": [
            {"quotas": [{"key": "a", "consumed": 1, "allowed": 2, "enabled": True}, {"key": "b", "enabled": False}]},
            {"quotas": [{"key": "c", "consumed": 0, "allowed": 0, "enabled": True}]},
            {"quotas": [{"key": "d", "consumed": 3, "allowed": 4, "enabled": True}]},
        ]
    }
    assert [metric.metric_id for metric in custom.parse(body)] == ["a", "d"]


def test_expressions_may_use_functions_and_multiselect() -> None:
    custom = adapter(
        metric={
            "each": ...,
            "id": "join('_', [kind, 'total'])",
            "name": "to_string(title)",
            "used": "sum(parts[].used)",
            "limit": "max(parts[].limit)",
            "resets_at": ...,
            "unlimited_when": ...,
        }
    )
    body = {"kind": "mail", "title": "Mail", "parts": [{"used": 1, "limit": 10}, {"used": 2.5, "limit": 20}]}
    assert rows(custom.parse(body)) == [("mail_total", "Mail", 3.5, 20, "count", "monthly")]


def test_several_metric_entries_add_up_in_order() -> None:
    entry_metric = BASE["metrics"][0]
    second = {"each": ..., "id": "'total'", "used": "sum(data.quotas[?allowed != `-1`].consumed)", "limit": "`5000`"}
    custom = adapter(metrics=[entry_metric, {k: v for k, v in second.items() if v is not ...}])
    assert [metric.metric_id for metric in custom.parse(BODY)] == ["api_calls", "seats", "storage_gb", "total"]
    assert custom.parse(BODY)[-1].used == 901.5


@pytest.mark.parametrize("each_result", [None, {"a": 1}, "quotas", 3, True])
def test_each_that_gives_no_list_is_bad_response(each_result: Any) -> None:
    error = parse_error(adapter(metric={"each": "x"}), {"x": each_result})
    assert error.reason is FailureReason.BAD_RESPONSE
    assert error.message == "metrics[0].each gave no list"


def test_each_giving_an_empty_list_is_a_plan_without_metrics() -> None:
    assert adapter().parse({"data": {"quotas": []}}) == []


def test_an_expression_that_fails_on_the_body_is_bad_response_naming_it() -> None:
    error = parse_error(adapter(metric={"each": "items(data)"}), {"data": [1, 2]})
    assert error.reason is FailureReason.BAD_RESPONSE
    assert error.message.startswith("metrics[0].each failed on this body")


def test_comparing_text_with_a_number_is_bad_response_not_a_crash() -> None:
    # jmespath raises TypeError for "x" > 1; the engine reports the body, not a bug.
    error = parse_error(
        adapter(metric={"unlimited_when": "allowed > `1`"}), {"data": {"quotas": [{"key": "a", "allowed": "x"}]}}
    )
    assert error.message.startswith("metrics[0] (metric 'a').unlimited_when failed on this body")


# --- ids and names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("metric_id", [None, 7, "", ["a"], True])
def test_id_that_is_not_a_non_empty_string_is_bad_response(metric_id: Any) -> None:
    body = {"data": {"quotas": [{"key": metric_id, "consumed": 1, "allowed": 2}]}}
    assert parse_error(adapter(), body).message == "metrics[0].id gave no string"


def test_overlong_id_is_bad_response() -> None:
    body = {"data": {"quotas": [{"key": "k" * 257, "consumed": 1, "allowed": 2}]}}
    assert "longer than 256 characters" in parse_error(adapter(), body).message


def test_same_id_twice_is_bad_response() -> None:
    body = {"data": {"quotas": [{"key": "a", "consumed": 1, "allowed": 2}, {"key": "a", "consumed": 1, "allowed": 2}]}}
    assert parse_error(adapter(), body).message == "metric id 'a' appears twice"


def test_names_map_wins_over_the_name_expression_which_wins_over_the_id() -> None:
    custom = adapter(names={"api_calls": "Calls this month"})
    names = [metric.name for metric in custom.parse(BODY)]
    # names map; then the name expression; then, for a blank label, a name made from the id.
    assert names == ["Calls this month", "Seats", "Storage gb"]


def test_name_expression_that_gives_no_text_falls_back_to_the_id() -> None:
    custom = adapter(metric={"name": "allowed"})  # numbers, not names
    assert [metric.name for metric in custom.parse(BODY)] == ["Api calls", "Seats", "Storage gb"]


@pytest.mark.parametrize(
    ("metric_id", "name"),
    [("gpt4_question", "Gpt4 question"), ("a__b", "A b"), ("EGRESS_BYTES", "EGRESS BYTES"), ("_", "_"), ("x", "X")],
)
def test_default_name_comes_from_the_id(metric_id: str, name: str) -> None:
    assert name_from_id(metric_id) == name


# --- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3.0), (2.5, 2.5), ("3", 3.0), (" 12.5 ", 12.5), ("-1", -1.0), ("1e3", 1000.0), (".5", 0.5), (2**64, 2.0**64)],
)
def test_numbers_and_numeric_strings_are_read(value: Any, number: float) -> None:
    assert to_number(value) == number


@pytest.mark.parametrize(
    "value", [True, False, None, "", "abc", "1,000", "1_000", "inf", "NaN", "0x10", [1], {"v": 1}, "1" * 65]
)
def test_anything_else_is_no_number(value: Any) -> None:
    assert to_number(value) is None


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan"), 10**400, "1e999"])
def test_a_number_that_is_not_finite_is_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        to_number(value)


@pytest.mark.parametrize("field", ["used", "limit"])
@pytest.mark.parametrize("value", [None, True, "many", {"n": 1}])
def test_used_or_limit_without_a_number_is_bad_response_naming_the_field(field: str, value: Any) -> None:
    item = {"key": "a", "consumed": 1, "allowed": 2} | {"consumed" if field == "used" else "allowed": value}
    error = parse_error(adapter(), {"data": {"quotas": [item]}})
    assert error.reason is FailureReason.BAD_RESPONSE
    assert error.message == f"metrics[0] (metric 'a').{field} gave no number"


def test_a_huge_number_is_bad_response() -> None:
    error = parse_error(adapter(), {"data": {"quotas": [{"key": "a", "consumed": 10**400, "allowed": 2}]}})
    assert error.message == "metrics[0] (metric 'a').used: not a finite number"


def test_remaining_gives_used_as_limit_minus_remaining() -> None:
    custom = adapter(metric={"used": ..., "remaining": "left"})
    body = {"data": {"quotas": [{"key": "a", "left": "250", "allowed": 1000}, {"key": "b", "left": -5, "allowed": 10}]}}
    assert [(metric.used, metric.limit) for metric in custom.parse(body)] == [(750, 1000), (15, 10)]


def test_remaining_of_an_unlimited_metric_leaves_it_out() -> None:
    custom = adapter(metric={"used": ..., "remaining": "left"})
    body = {"data": {"quotas": [{"key": "a", "left": 5, "allowed": -1}, {"key": "b", "left": 1, "allowed": 2}]}}
    assert [metric.metric_id for metric in custom.parse(body)] == ["b"]


def test_remaining_without_a_number_is_bad_response() -> None:
    custom = adapter(metric={"used": ..., "remaining": "left"})
    error = parse_error(custom, {"data": {"quotas": [{"key": "a", "allowed": 2}]}})
    assert error.message == "metrics[0] (metric 'a').remaining gave no number"


def test_limit_zero_is_reported_for_the_evaluator_to_skip() -> None:
    assert one(adapter(), {"data": {"quotas": [{"key": "a", "consumed": 0, "allowed": 0}]}}).limit == 0


def test_negative_limit_without_unlimited_when_is_bad_response() -> None:
    custom = adapter(metric={"unlimited_when": ...})
    error = parse_error(custom, {"data": {"quotas": [{"key": "a", "consumed": 1, "allowed": -1}]}})
    assert error.message == "metrics[0] (metric 'a').limit is negative (an unlimited metric needs unlimited_when)"


@pytest.mark.parametrize(
    ("when", "limit", "unlimited"),
    [
        ("allowed == 'unlimited'", "unlimited", True),
        ("allowed == 'unlimited'", 5, False),
        ("unlimited", None, True),  # unlimited: true in the item; the limit is not read at all
        ("plan.caps", 5, False),  # null is false
        ("`0`", 5, True),  # JMESPath truthiness: 0 is true
        ("`[]`", 5, False),  # and an empty list is false
    ],
)
def test_unlimited_when_uses_jmespath_truthiness(when: str, limit: Any, unlimited: bool) -> None:
    custom = adapter(metric={"unlimited_when": when})
    item = {"key": "a", "consumed": 1, "allowed": limit, "unlimited": True}
    assert one(custom, {"data": {"quotas": [item]}}).limit == (None if unlimited else limit)


# --- reset times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-12-01T00:00:00Z", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T02:00:00+02:00", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01T00:00:00", datetime(2026, 12, 1, tzinfo=UTC)),
        ("2026-12-01", datetime(2026, 12, 1, tzinfo=UTC)),
        (1764547200, datetime(2025, 12, 1, tzinfo=UTC)),
        ("1764547200", datetime(2025, 12, 1, tzinfo=UTC)),
        (1764547200.5, datetime(2025, 12, 1, 0, 0, 0, 500000, tzinfo=UTC)),
        (None, None),
    ],
)
def test_resets_at_is_iso_8601_or_epoch_seconds(value: Any, moment: datetime | None) -> None:
    assert to_datetime(value) == moment
    body = {"data": {"quotas": [{"key": "a", "consumed": 1, "allowed": 2, "window": {"ends": value}}]}}
    assert one(adapter(), body).resets_at == moment


@pytest.mark.parametrize("value", ["next month", "", True, [2026], {"at": 1}, 1e20, "2026-13-01"])
def test_resets_at_that_is_no_time_is_bad_response_naming_it(value: Any) -> None:
    body = {"data": {"quotas": [{"key": "a", "consumed": 1, "allowed": 2, "window": {"ends": value}}]}}
    error = parse_error(adapter(), body)
    assert error.reason is FailureReason.BAD_RESPONSE
    assert error.message.startswith("metrics[0] (metric 'a').resets_at: ")


# --- errors: `when` first, on every body, then the status rules ------------------------------------

EXPIRED = {"error": {"code": "PLAN_EXPIRED", "message": "Your plan expired"}}


@pytest.mark.parametrize("status", [200, 400, 401, 404, 429, 500])
def test_a_matching_when_decides_the_reason_whatever_the_status(status: int) -> None:
    error = interpret_error(adapter(), answer(status, EXPIRED))
    assert error.reason is FailureReason.NO_SUBSCRIPTION
    prefix = "" if status == 200 else f"HTTP {status}: "
    assert error.message == prefix + "the body matches errors[0] (error.code == 'PLAN_EXPIRED')"


def test_rules_are_checked_in_order_and_the_first_match_wins() -> None:
    custom = adapter(
        errors=[
            {"when": "error.code == 'SLOW_DOWN'", "reason": "rate_limited"},
            {"when": "error", "reason": "auth"},
            {"when": "error.code == 'PLAN_EXPIRED'", "reason": "no_subscription"},
        ]
    )
    assert interpret_error(custom, answer(200, EXPIRED)).reason is FailureReason.AUTH
    slow = interpret_error(custom, answer(200, {"error": {"code": "SLOW_DOWN"}}))
    assert (slow.reason, slow.message) == (
        FailureReason.RATE_LIMITED,
        "the body matches errors[0] (error.code == 'SLOW_DOWN')",
    )


def test_rules_are_checked_before_the_metrics() -> None:
    body = {**BODY, "error": {"code": "PLAN_EXPIRED"}}
    assert interpret_error(adapter(), answer(200, body)).reason is FailureReason.NO_SUBSCRIPTION


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (401, FailureReason.AUTH),
        (403, FailureReason.AUTH),
        (402, FailureReason.NO_SUBSCRIPTION),
        (429, FailureReason.RATE_LIMITED),
        (503, FailureReason.UNAVAILABLE),
        (404, FailureReason.BAD_RESPONSE),
        (302, FailureReason.BAD_RESPONSE),
    ],
)
def test_without_a_match_the_status_code_decides(status: int, reason: FailureReason) -> None:
    error = interpret_error(adapter(), answer(status, {"message": "nope"}))
    assert error.reason is reason


def test_a_when_that_cannot_be_evaluated_on_a_body_does_not_match() -> None:
    custom = adapter(errors=[{"when": "length(error) > `3`", "reason": "auth"}])
    # length(null) is a type error: the rule does not apply, so the status code decides.
    assert interpret_error(custom, answer(500, {"message": "boom"})).reason is FailureReason.UNAVAILABLE
    assert interpret_error(custom, answer(200, {"error": "long error text"})).reason is FailureReason.AUTH


def test_non_json_bodies_skip_the_rules() -> None:
    custom = adapter(errors=[{"when": "!error", "reason": "auth"}])
    html = answer(200, None, text="<html></html>", content_type="text/html")
    assert interpret_error(custom, html).reason is FailureReason.BAD_RESPONSE
    assert interpret_error(custom, answer(503, None, text="")).reason is FailureReason.UNAVAILABLE


@pytest.mark.parametrize("reason", list(FailureReason))
def test_every_reason_can_be_mapped(reason: FailureReason) -> None:
    custom = adapter(errors=[{"when": "failed", "reason": reason.value}])
    assert interpret_error(custom, answer(200, {"failed": True})).reason is reason


def test_a_parse_error_message_is_redacted_of_the_key() -> None:
    body = {"data": {"quotas": [{"key": "sk-secret", "consumed": "x", "allowed": 2}]}}
    error = interpret_error(adapter(), answer(200, body), secrets=["sk-secret"])
    assert "sk-secret" not in error.message
    assert error.message == "metrics[0] (metric '***').used gave no number"


# --- at most 100 metrics per account ---------------------------------------------------------------


def quotas(count: int) -> dict[str, Any]:
    return {"data": {"quotas": [{"key": f"m{i}", "consumed": 1, "allowed": 2} for i in range(count)]}}


def test_one_hundred_metrics_are_read() -> None:
    assert len(adapter().parse(quotas(100))) == 100


def test_more_than_one_hundred_metrics_is_bad_response() -> None:
    error = parse_error(adapter(), quotas(101))
    assert (error.reason, error.message) == (FailureReason.BAD_RESPONSE, "more than 100 metrics in one answer")


def test_the_limit_counts_metrics_of_every_entry_together() -> None:
    custom = adapter(metrics=[BASE["metrics"][0], {**BASE["metrics"][0], "id": "join('', ['b', key])"}])
    assert len(custom.parse(quotas(50))) == 100
    assert parse_error(custom, quotas(51)).message == "more than 100 metrics in one answer"


def test_interpret_gives_metrics_for_a_2xx_answer() -> None:
    assert [m.metric_id for m in interpret(adapter(), answer(200, BODY), [])] == ["api_calls", "seats", "storage_gb"]


def test_truthiness_follows_jmespath() -> None:
    assert [truthy(v) for v in (None, False, "", [], {}, 0, "x", [0], {"a": None}, True, 0.0)] == [
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
        True,
        True,
        True,
    ]


def test_provider_error_is_the_only_error() -> None:
    with pytest.raises(ProviderError):
        adapter().parse("not an object")
