"""The Flashback adapter on every sample and error body, and fuzzed JSON.

Flashback is the model provider, so the facts every provider shares are checked here for all of them:
the registry finds each adapter, each request's shape, and each handler is Flashback's but for the id.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from shared.models import FailureReason
from shared.providers import PROVIDER_IDS, ProviderAdapter, get_adapter
from shared.providers.bigdata import BigdataAdapter
from shared.providers.chatdoc import ChatdocAdapter
from shared.providers.flashback import FlashbackAdapter
from shared.providers.onlyoffice import OnlyofficeAdapter
from shared.providers.templatedocs import TemplateDocsAdapter
from tests.conftest import load_fixture
from tests.fuzzing import answer, check_parse_contract, fuzz, json_values
from tests.provider_contract import interpret_error, parse_error

ADAPTER = get_adapter("flashback")
FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"

# --- every provider: registry, request and handler -------------------------------------------------

ADAPTER_CLASSES: dict[str, type[ProviderAdapter]] = {
    "flashback": FlashbackAdapter,
    "bigdata": BigdataAdapter,
    "templatedocs": TemplateDocsAdapter,
    "chatdoc": ChatdocAdapter,
    "onlyoffice": OnlyofficeAdapter,
}
# How each handler's docstring names its provider.
DISPLAY_NAMES = {"bigdata": "Bigdata", "templatedocs": "TemplateDocs", "chatdoc": "ChatDOC", "onlyoffice": "ONLYOFFICE"}


@pytest.mark.parametrize("provider_id", PROVIDER_IDS)
def test_registry_finds_the_providers_adapter(provider_id: str) -> None:
    adapter = get_adapter(provider_id)
    assert isinstance(adapter, ADAPTER_CLASSES[provider_id])
    assert adapter.provider_id == provider_id


# Where each adapter sends its request: default base URL, endpoint path, and the headers for key "k-123".
REQUESTS: dict[str, tuple[str | None, str, dict[str, str]]] = {
    "flashback": ("https://backend.flashback.tech", "/user/quota", {"Authorization": "Bearer k-123"}),
    "bigdata": ("https://api.bigdata.com", "/v1/subscription/quotas", {"X-API-KEY": "k-123"}),  # a bare key
    "templatedocs": ("https://templatedocs.io/api", "/v1/account/quotas", {"Authorization": "Bearer k-123"}),
    "chatdoc": ("https://api.chatdoc.com/api/v2", "/users/quota", {"Authorization": "Bearer k-123"}),  # public base
    # No default: each ONLYOFFICE account must name its own portal.
    "onlyoffice": (None, "/api/2.0/portal/payment/quota", {"Authorization": "Bearer k-123"}),
}


@pytest.mark.parametrize("provider_id", PROVIDER_IDS)
def test_request_goes_to_the_quota_endpoint_with_the_key_header_and_no_query(provider_id: str) -> None:
    base_url, endpoint_path, headers = REQUESTS[provider_id]
    adapter_class = ADAPTER_CLASSES[provider_id]
    assert adapter_class.default_base_url == base_url
    assert adapter_class.endpoint_path == endpoint_path
    assert adapter_class().request_headers(SecretStr("k-123")) == headers
    assert adapter_class().query_params() == {}


@pytest.mark.parametrize("provider_id", [provider for provider in PROVIDER_IDS if provider != "flashback"])
def test_handler_differs_from_flashback_only_in_provider_id(provider_id: str) -> None:
    path = FUNCTIONS / provider_id / "app.py"
    ours_text = path.read_text(encoding="utf-8")
    model_text = (FUNCTIONS / "flashback" / "app.py").read_text(encoding="utf-8")
    assert ours_text.lower().replace(provider_id, "flashback") == model_text.lower()
    assert f'PROVIDER = "{provider_id}"' in ours_text
    ours, model = ours_text.splitlines(), model_text.splitlines()
    assert len(ours) == len(model)
    changed = [(a, b) for a, b in zip(ours, model, strict=True) if a != b]
    assert changed == [
        (model[0].replace("Flashback", DISPLAY_NAMES[provider_id]), model[0]),
        (f'PROVIDER = "{provider_id}"', 'PROVIDER = "flashback"'),
    ]
    spec = importlib.util.spec_from_file_location(f"{provider_id}_handler", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert provider_id == module.PROVIDER
    assert callable(module.handler)


# --- Flashback's sample bodies ---------------------------------------------------------------------


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
    assert parse_error(ADAPTER, body).reason is FailureReason.BAD_RESPONSE


@pytest.mark.parametrize(
    ("status", "fixture", "reason"),
    [
        (401, "provider_flashback_401.json", FailureReason.AUTH),
        # Flashback's own: a 404 whose body says there is no subscription is not a wrong URL.
        (404, "provider_flashback_404_no_subscription.json", FailureReason.NO_SUBSCRIPTION),
        (500, "provider_flashback_500.json", FailureReason.UNAVAILABLE),
    ],
)
def test_error_statuses_map_to_reasons(status: int, fixture: str, reason: FailureReason) -> None:
    error = interpret_error(ADAPTER, answer(status, load_fixture(fixture)))
    assert error.reason is reason  # interpret_error has checked error.status


def test_error_message_carries_the_provider_words() -> None:
    error = interpret_error(ADAPTER, answer(500, load_fixture("provider_flashback_500.json")))
    assert error.message == "HTTP 500: Database connection failed"


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
@given(body=near_valid)
def test_fuzzed_near_valid_json_gives_metrics_or_the_typed_provider_error(body: Any) -> None:
    check_parse_contract(ADAPTER, body)
