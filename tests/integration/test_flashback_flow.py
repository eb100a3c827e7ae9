"""Flashback end to end: handler → loopback provider → DynamoDB Local → moto SNS → SQS, read back."""

from __future__ import annotations

import copy
import io
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from shared.config import ConfigError, load_provider_settings
from shared.http import ProviderHttpClient
from shared.models import FailureReason
from shared.notify import SnsAlertPublisher
from shared.observability import logger
from shared.runner import Dependencies, RunFailed, run_provider
from shared.state_store import DynamoStateStore, StateStoreError, StoredAccount
from tests.conftest import FakeLambdaContext, load_fixture
from tests.integration.conftest import API_KEY, Aws

pytestmark = pytest.mark.integration

QUOTA_PATH = "/user/quota"
STORAGE_MAX = 10737418240
EGRESS_MAX = 2147483648


def body_at(egress_percent: float | None, storage_percent: float = 50) -> dict[str, Any]:
    """The documented sample body with usage set; egress None drops that metric from the body."""
    body = copy.deepcopy(load_fixture("provider_flashback_ok.json"))
    storage, egress = body["quotaUsage"]
    storage["usage"]["current"] = int(STORAGE_MAX * storage_percent / 100)
    if egress_percent is None:
        body["quotaUsage"] = [storage]
    else:
        egress["usage"]["current"] = int(EGRESS_MAX * egress_percent / 100)
    return body


def serve(httpserver: HTTPServer, status: int = 200, body: Any = None, **response: Any) -> None:
    httpserver.clear_all_handlers()
    expectation = httpserver.expect_request(QUOTA_PATH, method="GET", headers={"Authorization": f"Bearer {API_KEY}"})
    if isinstance(body, str):
        expectation.respond_with_data(body, status=status, **response)
    else:
        expectation.respond_with_json(body, status=status, **response)


def invoke(app: ModuleType, event: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = app.handler(event or {}, FakeLambdaContext())
    return result


def kinds(documents: list[dict[str, Any]]) -> list[list[tuple[str, str | None, str]]]:
    return [[(a["kind"], a["metric"], a["level"]) for a in doc["alerts"]] for doc in documents]


def test_usage_sequence_alerts_once_per_change_through_every_kind(
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType
) -> None:
    provider_env(httpserver.url_for(""))
    egress = "EGRESS_MONTHLY_BYTES"
    steps: list[tuple[float | None, list[tuple[str, str | None, str]]]] = [
        (50, []),
        (50, []),
        (85, [("triggered", egress, "warning")]),
        (86, []),
        (96, [("escalated", egress, "critical")]),
        (100, [("escalated", egress, "exhausted")]),
        (92, [("improved", egress, "critical")]),
        (78, [("improved", egress, "warning")]),
        (76, []),
        (40, [("resolved", egress, "ok")]),
        (97, [("triggered", egress, "critical")]),
        (None, [("resolved", egress, "ok")]),
    ]
    for egress_percent, expected in steps:
        serve(httpserver, body=body_at(egress_percent))
        summary = invoke(flashback_app, {"execution_id": "exec-1", "scheduled_time": "2026-11-22T10:00:00Z"})
        assert summary == {
            "provider": "flashback",
            "accounts": [
                {"account": "main", "ok": True, "metrics": 1 if egress_percent is None else 2,
                 "alerts": len(expected), "error": None}
            ],
        }  # fmt: skip
        documents = aws.messages()
        assert kinds(documents) == ([expected] if expected else []), f"at {egress_percent}%"
        for document in documents:
            assert (document["provider"], document["account"], document["version"]) == ("flashback", "main", 1)
            [alert] = document["alerts"]
            assert alert["id"] == f"flashback/main/{egress}/{document['checked_at']}"
    assert aws.outbox("flashback", "main") == {}


def test_alert_document_matches_the_contract(
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType
) -> None:
    provider_env(httpserver.url_for(""))
    serve(httpserver, body=body_at(97.79))
    invoke(flashback_app)
    [document] = aws.messages()
    assert set(document) == {"version", "provider", "provider_name", "account", "checked_at", "severity", "alerts"}
    assert document["provider_name"] == "Flashback"
    assert document["severity"] == "critical"
    [alert] = document["alerts"]
    assert {k: alert[k] for k in ("kind", "metric", "name", "level", "previous_level", "unit", "period", "reason")} == {
        "kind": "triggered", "metric": "EGRESS_MONTHLY_BYTES", "name": "Monthly egress in bytes", "level": "critical",
        "previous_level": "ok", "unit": "bytes", "period": "monthly", "reason": None,
    }  # fmt: skip
    assert alert["limit"] == EGRESS_MAX
    assert alert["percent"] == pytest.approx(97.79, abs=0.01)
    assert alert["message"].startswith("Monthly egress 98% used — ")
    assert alert["links"][0] == {"text": "Open Flashback", "url": "https://flashback.tech"}


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        pytest.param(401, load_fixture("provider_flashback_401.json"), "auth", id="401"),
        pytest.param(404, load_fixture("provider_flashback_404_no_subscription.json"), "no_subscription", id="404"),
        pytest.param(200, "<html><body>Maintenance</body></html>", "bad_response", id="html_body"),
    ],
)
def test_permanent_failures_alert_on_the_first_check_and_recover(
    status: int, body: Any, reason: str,
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType,
) -> None:  # fmt: skip
    provider_env(httpserver.url_for(""))
    serve(httpserver, body=body_at(50))
    invoke(flashback_app)
    serve(httpserver, status=status, body=body, content_type="text/html" if isinstance(body, str) else None)

    summary = invoke(flashback_app)
    [account] = summary["accounts"]
    assert account["ok"] is False
    assert account["error"].startswith(f"{reason}: ")
    assert account["alerts"] == 1
    [document] = aws.messages()
    [alert] = document["alerts"]
    assert (alert["kind"], alert["metric"], alert["level"], alert["reason"]) == (
        "check_failed",
        None,
        "critical",
        reason,
    )
    assert alert["hint"]

    invoke(flashback_app)  # still failing: no second alert
    assert aws.messages() == []

    serve(httpserver, body=body_at(50))
    invoke(flashback_app)
    [recovered] = aws.messages()
    assert kinds([recovered]) == [[("check_recovered", None, "ok")]]


def test_repeated_500_alerts_after_the_third_failed_check(
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType
) -> None:
    provider_env(httpserver.url_for(""))
    serve(httpserver, status=500, body=load_fixture("provider_flashback_500.json"))
    for run in range(1, 4):
        summary = invoke(flashback_app)
        assert summary["accounts"][0]["error"].startswith("unavailable: HTTP 500")
        documents = aws.messages()
        assert len(documents) == (1 if run == 3 else 0), f"run {run}"
    [alert] = documents[0]["alerts"]
    assert (alert["kind"], alert["reason"]) == ("check_failed", "unavailable")
    # Each run retried the 500 (three attempts) within its budget.
    assert len(httpserver.log) == 9


def test_timeout_is_unavailable(httpserver: HTTPServer, aws: Aws) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response(json.dumps(body_at(50)), content_type="application/json")

    httpserver.expect_request(QUOTA_PATH).respond_with_handler(slow)
    environ = _environ(aws, httpserver.url_for(""), FAILURE_ALERT_AFTER="1")
    deps = _deps(aws, http_client=lambda: ProviderHttpClient(read_timeout=0.5, retries=0))
    summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=deps, environ=environ)
    assert summary["accounts"][0]["error"] == "unavailable: provider timed out"
    [document] = aws.messages()
    assert document["alerts"][0]["reason"] == FailureReason.UNAVAILABLE.value


def _environ(aws: Aws, base_url: str, **variables: str) -> dict[str, str]:
    accounts = [{"name": "main", "base_url": base_url, "api_key": {"env": "FLASHBACK_KEY"}}]
    return {
        "STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn, "ACCOUNTS": json.dumps(accounts),
        "FLASHBACK_KEY": API_KEY, **variables,
    }  # fmt: skip


def _deps(aws: Aws, **overrides: Any) -> Dependencies:
    fields: dict[str, Any] = {"store": DynamoStateStore(aws.table_name), "publisher": SnsAlertPublisher(aws.topic_arn)}
    fields.update(overrides)
    return Dependencies(**fields)


def test_publish_failure_then_recovery_delivers_exactly_once_with_the_same_id(
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    provider_env(httpserver.url_for(""))
    serve(httpserver, body=body_at(50))
    invoke(flashback_app)
    serve(httpserver, body=body_at(96))
    monkeypatch.setenv("ALERT_TOPIC_ARN", aws.topic_arn + "-missing")

    with pytest.raises(RunFailed, match="failed to persist or publish"):
        invoke(flashback_app)
    [pending] = aws.outbox("flashback", "main").values()
    pending_id = json.loads(pending["M"]["document"]["S"])["alerts"][0]["id"]
    assert pending["M"]["lease_until"]["N"] == "0"  # released for the next run
    assert aws.messages() == []

    monkeypatch.setenv("ALERT_TOPIC_ARN", aws.topic_arn)
    summary = invoke(flashback_app)  # usage unchanged: no new transition, but the outbox is published
    assert summary["accounts"][0]["alerts"] == 0
    [document] = aws.messages()
    assert [alert["id"] for alert in document["alerts"]] == [pending_id]
    assert aws.outbox("flashback", "main") == {}

    invoke(flashback_app)
    assert aws.messages() == []


class _CrashAfterPublish(DynamoStateStore):
    """Publishing succeeds, then recording it fails, as if the function died in between."""

    def mark_published(self, provider: str, account: str, doc_id: str) -> bool:
        raise StateStoreError("simulated crash before recording the publish")


def test_crash_between_publish_and_record_republishes_the_same_id_after_the_lease(
    httpserver: HTTPServer, aws: Aws
) -> None:
    environ = _environ(aws, httpserver.url_for(""))
    serve(httpserver, body=body_at(96))
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    crashing = _deps(aws, store=_CrashAfterPublish(aws.table_name), clock=lambda: start)
    with pytest.raises(RunFailed):
        run_provider("flashback", {}, FakeLambdaContext(), dependencies=crashing, environ=environ)
    [first] = aws.messages()

    # Within the lease another run leaves the claimed alert alone; after it, the alert goes out again.
    soon = _deps(aws, clock=lambda: start + timedelta(seconds=30))
    run_provider("flashback", {}, FakeLambdaContext(), dependencies=soon, environ=environ)
    assert aws.messages() == []
    later = _deps(aws, clock=lambda: start + timedelta(minutes=5))
    run_provider("flashback", {}, FakeLambdaContext(), dependencies=later, environ=environ)
    [second] = aws.messages()
    assert second["alerts"][0]["id"] == first["alerts"][0]["id"]
    assert aws.outbox("flashback", "main") == {}


class _BarrierStore(DynamoStateStore):
    """Holds every run after its read until all have read: they all see the same version."""

    def __init__(self, table_name: str, barrier: threading.Barrier) -> None:
        super().__init__(table_name)
        self.barrier = barrier
        self.first_load = True

    def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
        stored = super().load(provider, account, now_epoch)
        if self.first_load:
            self.first_load = False
            self.barrier.wait(timeout=30)
        return stored


def test_four_concurrent_invocations_on_one_crossing_publish_once(httpserver: HTTPServer, aws: Aws) -> None:
    environ = _environ(aws, httpserver.url_for(""))
    serve(httpserver, body=body_at(50))
    run_provider("flashback", {}, FakeLambdaContext(), dependencies=_deps(aws), environ=environ)
    serve(httpserver, body=body_at(96))

    barrier = threading.Barrier(4)
    summaries: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def one_invocation() -> None:
        try:
            deps = _deps(aws, store=_BarrierStore(aws.table_name, barrier))
            summaries.append(run_provider("flashback", {}, FakeLambdaContext(), dependencies=deps, environ=environ))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one_invocation) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(s["accounts"][0]["alerts"] for s in summaries) == [0, 0, 0, 1]
    documents = aws.messages()
    assert kinds(documents) == [[("triggered", "EGRESS_MONTHLY_BYTES", "critical")]]


def test_renotify_after_the_interval(httpserver: HTTPServer, aws: Aws) -> None:
    environ = _environ(aws, httpserver.url_for(""), RENOTIFY_SECONDS="3600")
    serve(httpserver, body=body_at(85))
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    for minutes, expected in [(0, "triggered"), (30, None), (59, None), (60, "renotify"), (90, None)]:
        deps = _deps(aws, clock=lambda minutes=minutes: start + timedelta(minutes=minutes))
        run_provider("flashback", {}, FakeLambdaContext(), dependencies=deps, environ=environ)
        assert [a["kind"] for d in aws.messages() for a in d["alerts"]] == ([expected] if expected else [])


def test_api_key_from_ssm_secure_string_and_accounts_from_ssm(httpserver: HTTPServer, aws: Aws) -> None:
    import boto3

    ssm = boto3.client("ssm")
    ssm.put_parameter(Name=f"/qs/{aws.table_name}/key", Value=API_KEY, Type="SecureString")
    accounts = [{"name": "main", "base_url": httpserver.url_for(""), "api_key": {"ssm": f"/qs/{aws.table_name}/key"}}]
    ssm.put_parameter(Name=f"/qs/{aws.table_name}/accounts", Value=json.dumps(accounts), Type="String")
    environ = {
        "STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn,
        "ACCOUNTS_PARAMETER": f"/qs/{aws.table_name}/accounts",
    }  # fmt: skip
    serve(httpserver, body=body_at(96))
    summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=_deps(aws), environ=environ)
    assert summary["accounts"][0]["ok"] is True
    assert len(aws.messages()) == 1


def test_missing_ssm_key_is_an_auth_failure_naming_the_parameter(httpserver: HTTPServer, aws: Aws) -> None:
    name = "/quota-sentinel/flashback/does-not-exist"
    accounts = [{"name": "main", "base_url": httpserver.url_for(""), "api_key": {"ssm": name}}]
    environ = {"STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn, "ACCOUNTS": json.dumps(accounts)}
    summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=_deps(aws), environ=environ)
    assert (
        summary["accounts"][0]["error"]
        == f"auth: SSM parameter {name} could not be read: not found (ParameterNotFound)"
    )
    [document] = aws.messages()
    assert name in document["alerts"][0]["hint"]
    assert "rejected" not in document["alerts"][0]["message"]
    assert httpserver.log == []


def test_a_missing_ssm_key_outside_the_functions_prefix_is_named_by_its_field(httpserver: HTTPServer, aws: Aws) -> None:
    accounts = [{"name": "main", "base_url": httpserver.url_for(""), "api_key": {"ssm": "/qs/does-not-exist"}}]
    environ = {"STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn, "ACCOUNTS": json.dumps(accounts)}
    summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=_deps(aws), environ=environ)
    assert summary["accounts"][0]["error"] == (
        "auth: the SSM parameter named in ACCOUNTS[0].api_key.ssm could not be read: not found (ParameterNotFound)"
    )
    [document] = aws.messages()
    assert "/qs/does-not-exist" not in json.dumps(document)


def test_accounts_from_an_ssm_path_one_entry_or_a_list_per_parameter(httpserver: HTTPServer, aws: Aws) -> None:
    import boto3

    ssm = boto3.client("ssm")
    path = f"/quota-sentinel/flashback/{aws.table_name}/"
    ssm.put_parameter(Name=f"{path}key", Value=API_KEY, Type="SecureString")
    url = httpserver.url_for("")
    one = {"name": "one", "base_url": url, "api_key": {"ssm": f"{path}key"}}
    two = [{"name": f"list-{i}", "base_url": url, "api_key": {"ssm": f"{path}key"}} for i in range(2)]
    ssm.put_parameter(Name=f"{path}accounts/a", Value=json.dumps(one), Type="String")
    ssm.put_parameter(Name=f"{path}accounts/nested/b", Value=json.dumps(two), Type="SecureString")
    environ = {
        "STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn, "ACCOUNTS_PARAMETER": f"{path}accounts/",
    }  # fmt: skip
    serve(httpserver, body=body_at(50))
    summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=_deps(aws), environ=environ)
    assert [(a["account"], a["ok"]) for a in summary["accounts"]] == [("one", True), ("list-0", True), ("list-1", True)]


def test_one_account_failing_never_stops_the_others(httpserver: HTTPServer, aws: Aws) -> None:
    httpserver.expect_request("/good/user/quota").respond_with_json(body_at(96))
    httpserver.expect_request("/bad/user/quota").respond_with_json(
        load_fixture("provider_flashback_401.json"), status=401
    )
    accounts = [
        {"name": "bad", "base_url": httpserver.url_for("/bad"), "api_key": {"env": "FLASHBACK_KEY"}},
        {"name": "good", "base_url": httpserver.url_for("/good"), "api_key": {"env": "FLASHBACK_KEY"}},
    ]
    environ = {**_environ(aws, ""), "ACCOUNTS": json.dumps(accounts)}
    summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=_deps(aws), environ=environ)
    assert [(a["account"], a["ok"]) for a in summary["accounts"]] == [("bad", False), ("good", True)]
    documents = aws.messages()
    assert sorted((d["account"], d["alerts"][0]["kind"]) for d in documents) == [
        ("bad", "check_failed"), ("good", "triggered"),
    ]  # fmt: skip


def test_filter_policy_on_severity_routes_with_the_json_message_structure(
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType
) -> None:
    critical_only = aws.subscribe_queue({"severity": ["critical", "exhausted"]})
    main_only = aws.subscribe_queue({"account": ["other"]})
    provider_env(httpserver.url_for(""))
    serve(httpserver, body=body_at(85))
    invoke(flashback_app)  # warning
    serve(httpserver, body=body_at(96))
    invoke(flashback_app)  # critical
    assert [d["severity"] for d in aws.messages()] == ["warning", "critical"]
    assert [d["severity"] for d in aws.messages(critical_only)] == ["critical"]
    assert aws.messages(main_only) == []


def test_test_alert_reaches_the_topic_and_leaves_the_state_untouched(
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType
) -> None:
    provider_env(httpserver.url_for(""))
    summary = invoke(flashback_app, {"test_alert": True})
    assert summary["accounts"][0]["alerts"] == 1
    [document] = aws.messages()
    [alert] = document["alerts"]
    assert (alert["kind"], alert["level"], alert["test"]) == ("test", "critical", True)
    assert httpserver.log == []
    assert DynamoStateStore(aws.table_name).load("flashback", "main", 0).version == 0


def test_api_key_never_appears_in_logs_or_results(
    httpserver: HTTPServer, aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Capture exactly what the Powertools logger emits, with its JSON formatter, at the most verbose level.
    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(capture)
    monkeypatch.setattr(logging.getLogger(logger.name), "level", logging.DEBUG)
    environment = provider_env(httpserver.url_for(""))
    outputs = []
    for status, body in [
        (200, body_at(96)),
        (401, {"success": False, "error_code": "NO_AUTH_USER", "message": f"key {API_KEY} rejected"}),
        (400, {"message": f"Bearer {API_KEY} malformed"}),
        (500, load_fixture("provider_flashback_500.json")),
        (200, f"<html>{API_KEY}</html>"),
        (200, body_at(10)),
    ]:
        serve(httpserver, status=status, body=body)
        outputs.append(json.dumps(invoke(flashback_app)))
    outputs.extend(json.dumps(d) for d in aws.messages())
    monkeypatch.setenv("ACCOUNTS", environment["ACCOUNTS"].replace("FLASHBACK_KEY", API_KEY))  # a key pasted by mistake
    with pytest.raises(ConfigError, match=r"ACCOUNTS\[0\]\.api_key") as caught:
        invoke(flashback_app)
    outputs.append(str(caught.value))
    logging.getLogger(logger.name).removeHandler(capture)
    logged = stream.getvalue()
    assert '"message":"quota check failed"' in logged  # the logs were captured
    assert '"message":"metric checked"' in logged
    assert '"percent":96.0' in logged
    outputs.append(logged)
    for text in outputs:
        assert API_KEY not in text


def test_invalid_configuration_fails_the_run_naming_the_field(
    aws: Aws, provider_env: Callable[..., dict[str, str]], flashback_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider_env("http://example.com")
    with pytest.raises(ConfigError, match=r"ACCOUNTS\[0\]\.base_url: .*https"):
        invoke(flashback_app)
    provider_env("https://backend.flashback.tech", ACCOUNTS_PARAMETER="/x")
    with pytest.raises(ConfigError, match="ACCOUNTS or ACCOUNTS_PARAMETER, not both"):
        load_provider_settings()
