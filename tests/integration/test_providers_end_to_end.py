"""Every provider through its own handler, on the local stack: the request is right, and a crossing
of a threshold produces the right alert."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import FakeLambdaContext, load_fixture
from tests.integration.conftest import API_KEY, Aws, load_handler

pytestmark = pytest.mark.integration


def _set(body: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    change(changed)
    return changed


@dataclass(frozen=True)
class ProviderCase:
    provider: str
    path: str
    auth_header: str
    auth_value: str
    quiet_body: dict[str, Any]
    crossing_body: dict[str, Any]
    metric: str
    level: str
    metrics: int


def _bigdata_units(usage: int) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["results"]["quota_units"][0]["units_usage"] = usage

    return change


def _templatedocs_left(left: int) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["remaining"]["total"]["docs"] = left

    return change


def _chatdoc_questions(used: int) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["data"]["package"]["question"]["used_count"] = used

    return change


def _onlyoffice_admins(used: int) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        [manager] = [f for f in body["response"]["features"] if f["id"] == "manager"]
        manager["used"]["value"] = used

    return change


BIGDATA = load_fixture("provider_bigdata_quota_ok.json")
TEMPLATEDOCS = load_fixture("provider_templatedocs_ok.json")
CHATDOC = load_fixture("provider_chatdoc_ok.json")
ONLYOFFICE = load_fixture("provider_onlyoffice_ok.json")

CASES = [
    ProviderCase("bigdata", "/v1/subscription/quotas", "X-API-KEY", API_KEY,
                 BIGDATA, _set(BIGDATA, _bigdata_units(48_000)), "api_query_units", "critical", 3),
    ProviderCase("templatedocs", "/v1/account/quotas", "Authorization", f"Bearer {API_KEY}",
                 TEMPLATEDOCS, _set(TEMPLATEDOCS, _templatedocs_left(200)), "docs", "warning", 2),
    ProviderCase("chatdoc", "/users/quota", "Authorization", f"Bearer {API_KEY}",
                 CHATDOC, _set(CHATDOC, _chatdoc_questions(2_900)), "question", "critical", 8),
    ProviderCase("onlyoffice", "/api/2.0/portal/payment/quota", "Authorization", f"Bearer {API_KEY}",
                 ONLYOFFICE, _set(ONLYOFFICE, _onlyoffice_admins(5)), "manager", "exhausted", 6),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[case.provider for case in CASES])
def test_provider_handler_requests_correctly_and_alerts_on_a_crossing(
    case: ProviderCase, httpserver: HTTPServer, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = [{"name": "main", "base_url": httpserver.url_for("/portal"), "api_key": {"env": "PROVIDER_KEY"}}]
    for name, value in {
        "STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn, "ACCOUNTS": json.dumps(accounts),
        "PROVIDER_KEY": API_KEY,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    app = load_handler(case.provider)

    def serve(body: dict[str, Any]) -> None:
        httpserver.clear_all_handlers()
        httpserver.expect_request(
            f"/portal{case.path}", method="GET", headers={case.auth_header: case.auth_value}, query_string=""
        ).respond_with_json(body)

    serve(case.quiet_body)
    quiet = app.handler({"execution_id": "e1"}, FakeLambdaContext())
    assert quiet == {
        "provider": case.provider,
        "accounts": [{"account": "main", "ok": True, "metrics": case.metrics, "alerts": 0, "error": None}],
    }
    assert aws.messages() == []

    serve(case.crossing_body)
    crossing = app.handler({"execution_id": "e2"}, FakeLambdaContext())
    assert crossing["accounts"][0]["alerts"] == 1
    [document] = aws.messages()
    assert (document["provider"], document["account"], document["severity"]) == (case.provider, "main", case.level)
    [alert] = document["alerts"]
    assert (alert["kind"], alert["metric"], alert["level"], alert["previous_level"]) == (
        "triggered", case.metric, case.level, "ok",
    )  # fmt: skip
    assert len(httpserver.log) == 2


def test_onlyoffice_without_a_portal_url_is_a_configuration_error(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import ConfigError

    accounts = [{"name": "main", "api_key": {"env": "PROVIDER_KEY"}}]
    monkeypatch.setenv("STATE_TABLE_NAME", aws.table_name)
    monkeypatch.setenv("ALERT_TOPIC_ARN", aws.topic_arn)
    monkeypatch.setenv("ACCOUNTS", json.dumps(accounts))
    with pytest.raises(ConfigError, match=r"ACCOUNTS\[0\]\.base_url: required for provider onlyoffice"):
        load_handler("onlyoffice").handler({}, FakeLambdaContext())
