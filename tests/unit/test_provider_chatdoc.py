"""ChatDOC adapter: sample bodies, error statuses, edge cases and a fuzz of parse()."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from shared.models import FailureReason, ProviderError, QuotaMetric
from shared.providers import get_adapter, interpret
from shared.providers.chatdoc import NAMES, ChatdocAdapter
from tests.conftest import load_fixture
from tests.fuzzing import answer, fuzz, json_values

REPO = Path(__file__).resolve().parents[2]


def rows(metrics: list[QuotaMetric]) -> list[tuple[str, str, float, float | None, str, str | None]]:
    return [(m.metric_id, m.name, m.used, m.limit, m.unit, m.period) for m in metrics]


def refused(body: Any) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        ChatdocAdapter().parse(body)
    return caught.value


# --- request facts ---------------------------------------------------------------------------


def test_registry_finds_the_chatdoc_adapter() -> None:
    adapter = get_adapter("chatdoc")
    assert isinstance(adapter, ChatdocAdapter)
    assert adapter.provider_id == "chatdoc"


def test_request_is_get_users_quota_with_bearer_key_on_public_base() -> None:
    adapter = ChatdocAdapter()
    assert adapter.default_base_url == "https://api.chatdoc.com/api/v2"
    assert adapter.endpoint_path == "/users/quota"
    assert adapter.request_headers(SecretStr("k-123")) == {"Authorization": "Bearer k-123"}
    assert adapter.query_params() == {}


def test_handler_differs_from_flashback_only_in_provider() -> None:
    ours = (REPO / "functions" / "chatdoc" / "app.py").read_text(encoding="utf-8").splitlines()
    model = (REPO / "functions" / "flashback" / "app.py").read_text(encoding="utf-8").splitlines()
    assert len(ours) == len(model)
    changed = [(a, b) for a, b in zip(ours, model, strict=True) if a != b]
    assert changed == [
        (model[0].replace("Flashback", "ChatDOC"), model[0]),
        ('PROVIDER = "chatdoc"', 'PROVIDER = "flashback"'),
    ]
    spec = importlib.util.spec_from_file_location("chatdoc_handler", REPO / "functions" / "chatdoc" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.PROVIDER == "chatdoc"
    assert callable(module.handler)


# --- sample bodies ---------------------------------------------------------------------------


def test_full_package_gives_one_metric_per_item_with_fixed_names() -> None:
    metrics = ChatdocAdapter().parse(load_fixture("provider_chatdoc_ok.json"))
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
    error = refused(load_fixture("provider_chatdoc_package_null.json"))
    assert error.reason is FailureReason.NO_SUBSCRIPTION
    assert "no unexpired package" in error.message


def test_package_null_in_http_200_is_no_subscription_not_bad_response() -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(ChatdocAdapter(), answer(200, load_fixture("provider_chatdoc_package_null.json")), secrets=[])
    assert caught.value.reason is FailureReason.NO_SUBSCRIPTION
    assert caught.value.status == 200


def test_partial_nulls_give_only_the_non_null_items() -> None:
    metrics = ChatdocAdapter().parse(load_fixture("provider_chatdoc_partial_nulls.json"))
    assert rows(metrics) == [
        ("elite_page", "Elite pages", 500, 500, "count", None),
        ("question", "Questions", 37, 1000, "count", None),
        ("gpt4o_question", "GPT-4o questions", 0, 100, "count", None),
    ]


# --- edge cases ------------------------------------------------------------------------------


def test_unknown_item_keys_get_a_name_built_from_the_key() -> None:
    metrics = ChatdocAdapter().parse(load_fixture("edge_chatdoc_unknown_keys.json"))
    assert rows(metrics) == [
        ("basic_page", "Basic pages", 5, 100, "count", None),
        ("page", "Page", 150, 200, "count", None),
        ("foo_bar", "Foo bar", 0, 10, "count", None),
    ]


def test_package_with_every_item_null_is_a_valid_plan_with_no_metrics() -> None:
    assert ChatdocAdapter().parse(load_fixture("edge_chatdoc_all_items_null.json")) == []


def test_body_without_status_is_read_like_the_readme_example() -> None:
    metrics = ChatdocAdapter().parse(load_fixture("edge_chatdoc_no_status.json"))
    assert rows(metrics) == [("question", "Questions", 11, 3000, "count", None)]


def test_status_other_than_ok_is_bad_response() -> None:
    error = refused(load_fixture("edge_chatdoc_status_error.json"))
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
    error = refused(load_fixture(fixture))
    assert error.reason is FailureReason.BAD_RESPONSE
    assert field in error.message


@pytest.mark.parametrize("body", [None, [], "ok", 3, {}, {"status": "ok"}, {"status": "ok", "data": []}])
def test_body_that_is_not_the_quota_object_is_bad_response(body: Any) -> None:
    assert refused(body).reason is FailureReason.BAD_RESPONSE


def test_boolean_count_is_bad_response() -> None:
    body = {"status": "ok", "data": {"package": {"question": {"max_count": True, "used_count": 1}}}}
    assert refused(body).reason is FailureReason.BAD_RESPONSE


# --- error statuses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (401, FailureReason.AUTH),
        (403, FailureReason.AUTH),
        (402, FailureReason.NO_SUBSCRIPTION),
        (429, FailureReason.RATE_LIMITED),
        (500, FailureReason.UNAVAILABLE),
        (502, FailureReason.UNAVAILABLE),
        (503, FailureReason.UNAVAILABLE),
        (400, FailureReason.BAD_RESPONSE),
        (404, FailureReason.BAD_RESPONSE),
        (422, FailureReason.BAD_RESPONSE),
        (302, FailureReason.BAD_RESPONSE),
    ],
)
def test_error_status_decides_the_reason(status: int, reason: FailureReason) -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(ChatdocAdapter(), answer(status, load_fixture("edge_chatdoc_error_detail.json")), secrets=[])
    assert caught.value.reason is reason
    assert caught.value.status == status


def test_error_message_carries_the_providers_detail() -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(ChatdocAdapter(), answer(401, load_fixture("edge_chatdoc_error_detail.json")), secrets=[])
    assert caught.value.message == "HTTP 401: Could not validate credentials"


def test_empty_401_is_auth() -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(ChatdocAdapter(), answer(401, None, text="", content_type=""), secrets=[])
    assert caught.value.reason is FailureReason.AUTH


def test_html_from_a_proxy_with_502_is_unavailable() -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(
            ChatdocAdapter(),
            answer(502, None, text="<html><body>Bad Gateway</body></html>", content_type="text/html"),
            secrets=[],
        )
    assert caught.value.reason is FailureReason.UNAVAILABLE


def test_html_with_200_is_bad_response() -> None:
    with pytest.raises(ProviderError) as caught:
        interpret(
            ChatdocAdapter(),
            answer(200, None, text="<!doctype html><html></html>", content_type="text/html"),
            secrets=[],
        )
    assert caught.value.reason is FailureReason.BAD_RESPONSE
    assert "HTML" in caught.value.message


# --- fuzz ------------------------------------------------------------------------------------

JSON = json_values(max_leaves=12)


def slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) below the root: the places a mutation can hit."""
    found: list[tuple[Any, Any]] = []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        found.append((node, key))
        found.extend(slots(child))
    return found


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any]) -> Any:
    """A valid body with up to three slots deleted, replaced by any JSON, or turned into a string."""
    body = draw(valid)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        places = slots(body)
        if not places:
            break
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["delete", "replace", "stringify"]))
        if action == "delete":
            del container[key]
        elif action == "replace":
            container[key] = draw(JSON)
        else:
            container[key] = json.dumps(container[key])
    return body


COUNT = st.integers(min_value=0, max_value=10**7) | st.floats(min_value=0, max_value=1e12)
ITEM = st.none() | st.fixed_dictionaries({"max_count": COUNT, "used_count": COUNT})
KEYS = st.sampled_from([*NAMES, "page"]) | st.text(max_size=12)
VALID = st.fixed_dictionaries(
    {
        "status": st.just("ok"),
        "data": st.fixed_dictionaries({"package": st.dictionaries(KEYS, ITEM, min_size=1, max_size=10)}),
    }
)
NEAR_VALID = mutated(VALID)


def check_parse_contract(body: Any) -> None:
    """parse() returns sound metrics or raises ProviderError (bad_response / no_subscription), nothing else."""
    try:
        metrics = ChatdocAdapter().parse(body)
    except ProviderError as error:
        assert error.reason in (FailureReason.BAD_RESPONSE, FailureReason.NO_SUBSCRIPTION)
        return
    assert isinstance(metrics, list)
    assert all(isinstance(metric, QuotaMetric) for metric in metrics)
    assert len({metric.metric_id for metric in metrics}) == len(metrics)
    assert all(metric.name and metric.limit is not None and metric.limit >= 0 for metric in metrics)


@fuzz
@given(JSON)
def test_arbitrary_json_gives_metrics_or_provider_error(body: Any) -> None:
    check_parse_contract(body)


@fuzz
@given(NEAR_VALID)
def test_near_valid_bodies_give_metrics_or_provider_error(body: Any) -> None:
    check_parse_contract(body)


def test_near_valid_strategy_reaches_bodies_with_metrics() -> None:
    def has_metrics(body: Any) -> bool:
        try:
            return len(ChatdocAdapter().parse(body)) > 0
        except ProviderError:
            return False

    # Generate only: the first hit is proof enough, shrinking it would only cost time.
    find(NEAR_VALID, has_metrics, settings=settings(max_examples=2000, database=None, phases=[Phase.generate]))
