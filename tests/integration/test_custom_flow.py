"""Custom providers end to end through ``functions/custom/app.py`` on the local stack: two entries with two
accounts each, a crossing, a failure by an ``errors`` rule, a provider that is down, and the summary."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from shared import state_store
from shared.config import ConfigError
from shared.state_codec import state_from_attribute
from tests.conftest import FakeLambdaContext
from tests.integration.conftest import API_KEY, Aws, load_handler

pytestmark = pytest.mark.integration

BETA_KEY = "beta-live-5Zr8-never-log-me"


def acme_entry(base_url: str) -> dict[str, Any]:
    """A list of quotas under data.quotas, bearer auth, and a PLAN_EXPIRED rule on 2xx bodies."""
    return {
        "id": "acme", "name": "Acme Cloud", "manage_url": "https://console.acme.example/billing",
        "request": {"path": "/v2/usage", "query": {"view": "quota"}, "auth": {"type": "bearer"}},
        "metrics": [{"each": "data.quotas[]", "id": "key", "name": "label", "used": "consumed",
                     "limit": "allowed", "unit": "count", "period": "monthly", "resets_at": "window.ends",
                     "unlimited_when": "allowed == `-1`"}],
        "errors": [{"when": "error.code == 'PLAN_EXPIRED'", "reason": "no_subscription"}],
        "accounts": [
            {"name": "main", "base_url": f"{base_url}/acme-main", "api_key": {"env": "ACME_KEY"}},
            {"name": "team", "base_url": f"{base_url}/acme-team", "api_key": {"env": "ACME_KEY"}},
        ],
    }  # fmt: skip


def beta_entry(base_url: str) -> dict[str, Any]:
    """Metrics are the keys of an object (items()), the key in a header, numbers as strings."""
    return {
        "id": "beta", "name": "Beta Mail",
        "request": {"path": "/quota", "auth": {"type": "header", "name": "X-Api-Key"}},
        "metrics": [{"each": "items(limits)", "id": "key", "used": "value.sent", "limit": "value.max",
                     "unit": "emails", "period": "daily"}],
        "names": {"emails": "Emails sent today"},
        "accounts": [
            {"name": "prod", "base_url": f"{base_url}/beta-prod", "api_key": {"env": "BETA_KEY"}},
            {"name": "staging", "base_url": f"{base_url}/beta-staging", "api_key": {"env": "BETA_KEY"}},
        ],
    }  # fmt: skip


def acme_body(consumed: int) -> dict[str, Any]:
    return {"data": {"quotas": [
        {"key": "api_calls", "label": "API calls", "consumed": consumed, "allowed": 1000,
         "window": {"ends": "2026-12-01T00:00:00Z"}},
        {"key": "seats", "label": "Seats", "consumed": 3, "allowed": -1, "window": {"ends": None}},
    ]}}  # fmt: skip


BETA_BODY = {"limits": {"emails": {"sent": "120", "max": "1000"}, "domains": {"sent": 1, "max": 5}}}


def _serve(httpserver: HTTPServer, acme_main: dict[str, Any], beta_status: int) -> None:
    httpserver.clear_all_handlers()
    bearer = {"Authorization": f"Bearer {API_KEY}"}
    httpserver.expect_request("/acme-main/v2/usage", headers=bearer, query_string="view=quota").respond_with_json(
        acme_main
    )
    httpserver.expect_request("/acme-team/v2/usage", headers=bearer, query_string="view=quota").respond_with_json(
        {"error": {"code": "PLAN_EXPIRED", "message": "renew your plan"}}
    )
    for account in ("prod", "staging"):
        if beta_status == 200:
            httpserver.expect_request(f"/beta-{account}/quota", headers={"X-Api-Key": BETA_KEY}).respond_with_json(
                BETA_BODY
            )
        else:
            httpserver.expect_request(f"/beta-{account}/quota").respond_with_data("down", status=beta_status)


@pytest.fixture
def custom_env(httpserver: HTTPServer, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    base_url = httpserver.url_for("").rstrip("/")
    environment = {
        "STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn, "ACME_KEY": API_KEY,
        "BETA_KEY": BETA_KEY, "FAILURE_ALERT_AFTER": "1", "RUNBOOK_URL": "https://wiki.example/quota-runbook",
        "CUSTOM_PROVIDERS": json.dumps([acme_entry(base_url), beta_entry(base_url)]),
    }  # fmt: skip
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


def _item(aws: Aws, partition: str, account: str) -> dict[str, Any] | None:
    key = {"pk": {"S": partition}, "sk": {"S": f"{state_store.ACCOUNT_PREFIX}{account}"}}
    item = boto3.client("dynamodb").get_item(TableName=aws.table_name, Key=key, ConsistentRead=True)
    return item.get("Item")


def test_two_custom_providers_with_a_crossing_a_rule_failure_and_a_provider_down(
    httpserver: HTTPServer, aws: Aws, custom_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    acme_only = aws.subscribe_queue({"provider": ["acme"]})
    app = load_handler("custom")

    _serve(httpserver, acme_body(500), beta_status=200)
    first = app.handler({"execution_id": "run-1"}, FakeLambdaContext())
    expired = "no_subscription: the body matches errors[0] (error.code == 'PLAN_EXPIRED')"
    assert first == {
        "provider": "custom",
        "accounts": [
            {"provider": "acme", "account": "main", "ok": True, "metrics": 2, "alerts": 0, "error": None},
            {"provider": "acme", "account": "team", "ok": False, "metrics": 0, "alerts": 1, "error": expired},
            {"provider": "beta", "account": "prod", "ok": True, "metrics": 2, "alerts": 0, "error": None},
            {"provider": "beta", "account": "staging", "ok": True, "metrics": 2, "alerts": 0, "error": None},
        ],
    }
    [failed] = aws.messages()
    assert (failed["provider"], failed["account"]) == ("acme", "team")
    [alert] = failed["alerts"]
    assert (alert["kind"], alert["reason"], alert["id"].split("/")[:3]) == (
        "check_failed", "no_subscription", ["acme", "team", "#account"],
    )  # fmt: skip

    # The acme quota crosses 95%, beta goes down: one entry's failure does not stop the other's alert.
    _serve(httpserver, acme_body(960), beta_status=503)
    second = app.handler({"execution_id": "run-2"}, FakeLambdaContext())
    assert [(a["provider"], a["account"], a["ok"], a["alerts"]) for a in second["accounts"]] == [
        ("acme", "main", True, 1), ("acme", "team", False, 0), ("beta", "prod", False, 1), ("beta", "staging", False, 1),
    ]  # fmt: skip
    assert second["accounts"][2]["error"] == "unavailable: HTTP 503"
    documents = {(d["provider"], d["account"]): d for d in aws.messages()}
    assert sorted(documents) == [("acme", "main"), ("beta", "prod"), ("beta", "staging")]
    [crossing] = documents["acme", "main"]["alerts"]
    assert (crossing["kind"], crossing["metric"], crossing["name"], crossing["level"]) == (
        "triggered", "api_calls", "API calls", "critical",
    )  # fmt: skip
    assert (crossing["used"], crossing["limit"], crossing["period"], crossing["resets_at"]) == (
        960, 1000, "monthly", "2026-12-01T00:00:00Z",
    )  # fmt: skip
    assert crossing["id"].startswith("acme/main/api_calls/")
    # The entry's name and manage_url are what people read and open, with the runbook.
    assert documents["acme", "main"]["provider_name"] == "Acme Cloud"
    assert crossing["links"] == [
        {"text": "Open Acme Cloud", "url": "https://console.acme.example/billing"},
        {"text": "Runbook", "url": "https://wiki.example/quota-runbook"},
    ]
    assert documents["beta", "prod"]["provider_name"] == "Beta Mail"
    assert documents["beta", "prod"]["alerts"][0]["links"] == [
        {"text": "Runbook", "url": "https://wiki.example/quota-runbook"}
    ]
    assert [d["alerts"][0]["reason"] for d in (documents["beta", "prod"], documents["beta", "staging"])] == [
        "unavailable", "unavailable",
    ]  # fmt: skip
    # The message attribute `provider` is the entry's id: a filter policy on it sees acme's two documents only.
    assert sorted(d["account"] for d in aws.messages(acme_only)) == ["main", "team"]

    # State lives under custom#<id>, never under the built-in prefix.
    for provider, account in [("acme", "main"), ("acme", "team"), ("beta", "prod"), ("beta", "staging")]:
        assert _item(aws, f"custom#{provider}", account) is not None
        assert _item(aws, f"provider#{provider}", account) is None
    # The failed beta checks kept their last good metrics.
    beta_state = state_from_attribute(_item(aws, "custom#beta", "prod")["state"])  # type: ignore[index]
    assert sorted(beta_state.metrics) == ["domains", "emails"]
    assert beta_state.metrics["emails"].name == "Emails sent today"

    output = capsys.readouterr().out
    emf = [json.loads(line) for line in output.splitlines() if '"_aws"' in line]
    assert emf and {record["provider"] for record in emf} == {"custom"}
    assert (emf[-1]["Checks"], emf[-1]["SuccessfulChecks"]) == ([4.0], [1.0])
    assert API_KEY not in output and BETA_KEY not in output
    assert all(key not in json.dumps(list(documents.values())) for key in (API_KEY, BETA_KEY))


def test_test_alert_names_a_provider_and_account_or_defaults_to_the_first(
    httpserver: HTTPServer, aws: Aws, custom_env: dict[str, str]
) -> None:
    app = load_handler("custom")
    chosen = app.handler({"test_alert": True, "provider": "beta", "account": "staging"}, FakeLambdaContext())
    assert chosen == {
        "provider": "custom",
        "test_alert": True,
        "accounts": [{"provider": "beta", "account": "staging", "ok": True, "metrics": 0, "alerts": 1, "error": None}],
    }
    default = app.handler({"test_alert": True}, FakeLambdaContext())
    assert (default["accounts"][0]["provider"], default["accounts"][0]["account"]) == ("acme", "main")
    documents = aws.messages()
    assert [(d["provider"], d["account"], d["alerts"][0]["kind"]) for d in documents] == [
        ("beta", "staging", "test"), ("acme", "main", "test"),
    ]  # fmt: skip
    assert documents[0]["alerts"][0]["id"].startswith("beta/staging/#test/")
    assert httpserver.log == []  # no provider was called
    assert _item(aws, "custom#beta", "staging") is None  # and no state written


def test_entries_and_keys_from_an_ssm_path(httpserver: HTTPServer, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    ssm = boto3.client("ssm")
    base_url = httpserver.url_for("").rstrip("/")
    path = f"/quota-sentinel/custom/{aws.table_name}/providers/"
    ssm.put_parameter(Name="/quota-sentinel/custom/acme/main", Value=API_KEY, Type="SecureString", Overwrite=True)
    acme = acme_entry(base_url)
    acme["accounts"] = [
        {"name": "main", "base_url": f"{base_url}/acme-main", "api_key": {"ssm": "/quota-sentinel/custom/acme/main"}},
        {"name": "lost", "base_url": f"{base_url}/acme-main", "api_key": {"ssm": "/quota-sentinel/custom/acme/lost"}},
        {"name": "other", "base_url": f"{base_url}/acme-main", "api_key": {"ssm": "/qs/elsewhere/key"}},
    ]
    ssm.put_parameter(Name=f"{path}acme", Value=json.dumps(acme), Type="String")
    ssm.put_parameter(Name=f"{path}nested/beta", Value=json.dumps([beta_entry(base_url)]), Type="SecureString")
    environment = {
        "STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn, "BETA_KEY": BETA_KEY,
        "CUSTOM_PROVIDERS_PARAMETER": path,
    }  # fmt: skip
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    _serve(httpserver, acme_body(100), beta_status=200)
    summary = load_handler("custom").handler({}, FakeLambdaContext())
    assert [(a["provider"], a["account"], a["ok"]) for a in summary["accounts"]] == [
        ("acme", "main", True), ("acme", "lost", False), ("acme", "other", False),
        ("beta", "prod", True), ("beta", "staging", True),
    ]  # fmt: skip
    # A key under the entry's own prefix is named; one elsewhere is named by its field only.
    assert summary["accounts"][1]["error"] == (
        "auth: SSM parameter /quota-sentinel/custom/acme/lost could not be read: not found (ParameterNotFound)"
    )
    assert summary["accounts"][2]["error"] == (
        "auth: the SSM parameter named in CUSTOM_PROVIDERS_PARAMETER (acme).accounts[2].api_key.ssm "
        "could not be read: not found (ParameterNotFound)"
    )


def test_both_sources_or_a_bad_entry_fail_the_run_naming_the_field(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = acme_entry("https://api.acme.example")
    monkeypatch.setenv("STATE_TABLE_NAME", aws.table_name)
    monkeypatch.setenv("ALERT_TOPIC_ARN", aws.topic_arn)
    monkeypatch.setenv("CUSTOM_PROVIDERS", json.dumps([entry]))
    monkeypatch.setenv("CUSTOM_PROVIDERS_PARAMETER", "/quota-sentinel/custom/providers/")
    app = load_handler("custom")
    with pytest.raises(ConfigError, match="set CUSTOM_PROVIDERS or CUSTOM_PROVIDERS_PARAMETER, not both"):
        app.handler({}, FakeLambdaContext())
    monkeypatch.delenv("CUSTOM_PROVIDERS_PARAMETER")
    entry["metrics"][0]["used"] = "consumed ||"
    monkeypatch.setenv("CUSTOM_PROVIDERS", json.dumps([entry]))
    with pytest.raises(ConfigError, match=r"^CUSTOM_PROVIDERS\[0\]\.metrics\[0\]\.used: not a valid JMESPath"):
        app.handler({}, FakeLambdaContext())
    assert aws.messages() == []
