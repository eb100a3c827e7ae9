"""The Slack notifier against a real loopback Slack receiver, moto SSM and DynamoDB Local idempotency."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cli.samples import sample_cloudwatch_alarm, sample_documents
from shared.config import ConfigError
from shared.models import AlertDocument
from shared.observability import logger
from shared.slack import SlackDeliveryError
from tests.conftest import FakeLambdaContext
from tests.integration.conftest import Aws, load_handler

pytestmark = pytest.mark.integration

HOOK_PATH = "/services/T000/B000/very-secret-token"


@pytest.fixture(scope="session")
def notifier_app() -> ModuleType:
    return load_handler("slack_notifier")


@pytest.fixture
def slack(httpserver: HTTPServer, aws: Aws, monkeypatch: pytest.MonkeyPatch) -> str:
    """A webhook URL in an SSM SecureString, and the notifier's environment. Returns the URL."""
    url = httpserver.url_for(HOOK_PATH)
    name = f"/qs/slack/{uuid.uuid4().hex[:8]}"
    boto3.client("ssm").put_parameter(Name=name, Value=url, Type="SecureString")
    monkeypatch.setenv("SLACK_WEBHOOK_PARAMETER", name)
    monkeypatch.setenv("STATE_TABLE_NAME", aws.table_name)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "slack-notifier-test")
    return url


def sns_event(message: str | dict[str, Any]) -> dict[str, Any]:
    body = message if isinstance(message, str) else json.dumps(message)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()), "Message": body, "Subject": "s"},
            }
        ]
    }


def posted(httpserver: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def invoke(app: ModuleType, message: str | dict[str, Any], remaining_ms: int = 30_000) -> dict[str, Any]:
    result: dict[str, Any] = app.handler(sns_event(message), FakeLambdaContext(remaining_ms=remaining_ms))
    return result


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    yield stream
    logging.getLogger(logger.name).removeHandler(handler)


@pytest.mark.parametrize("kind", list(sample_documents()))
def test_every_kind_is_posted_as_block_kit(
    kind: str, slack: str, httpserver: HTTPServer, notifier_app: ModuleType
) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    document = sample_documents()[kind]
    assert invoke(notifier_app, document.model_dump(mode="json")) == {"delivered": 1, "duplicates": 0, "refused": 0}
    [payload] = posted(httpserver)
    where = f"{document.provider_name} {document.account}: "
    assert payload["text"].startswith(where) or payload["text"].startswith(f"TEST {where}")
    header, *sections, actions, context = payload["blocks"]
    assert header["type"] == "header"
    assert len(sections) == len(document.alerts)
    assert all(section["type"] == "section" for section in sections)
    assert [button["url"] for button in actions["elements"]] == [link.url for link in document.alerts[0].links]
    assert context["type"] == "context"
    assert context["elements"][0]["text"].startswith("Checked Sun 22 Nov 2026 10:")
    assert document.alerts[0].id in context["elements"][0]["text"]


def test_same_alert_ids_twice_are_delivered_once(slack: str, httpserver: HTTPServer, notifier_app: ModuleType) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    document = sample_documents()["escalated"].model_dump(mode="json")
    assert invoke(notifier_app, document)["delivered"] == 1
    assert invoke(notifier_app, document) == {"delivered": 0, "duplicates": 1, "refused": 0}
    assert len(httpserver.log) == 1


def test_idempotency_records_live_under_the_fixed_partition_its_role_is_granted(
    slack: str, httpserver: HTTPServer, notifier_app: ModuleType, aws: Aws
) -> None:
    """template.yaml grants the notifier only `idempotency#*` partitions, whatever its function is named."""
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    counts = invoke(notifier_app, sample_documents()["triggered"].model_dump(mode="json"))
    assert counts["delivered"] + counts["duplicates"] == 1
    response = boto3.client("dynamodb").query(
        TableName=aws.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "idempotency#slack-notifier"}},
    )
    assert response["Items"], "no idempotency record under idempotency#slack-notifier"


def test_sixty_alerts_stay_within_slack_limits(slack: str, httpserver: HTTPServer, notifier_app: ModuleType) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    base = sample_documents()["escalated"]
    alerts = [
        base.alerts[0].model_copy(
            update={"id": f"flashback/main/M{i}/x", "metric": f"M{i}", "name": "N" * 200 + str(i)}
        )
        for i in range(60)
    ]
    document = AlertDocument.build("flashback", "main", base.checked_at, alerts)
    invoke(notifier_app, document.model_dump(mode="json"))
    [payload] = posted(httpserver)
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert blocks[-2]["type"] == "actions"  # the links to act on stay
    assert blocks[-3]["text"]["text"] == "+14 more"
    assert sum(1 for b in blocks if b["type"] == "section") == 47


def test_429_honours_retry_after_within_the_remaining_time(
    slack: str, httpserver: HTTPServer, notifier_app: ModuleType
) -> None:
    httpserver.expect_ordered_request(HOOK_PATH).respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request(HOOK_PATH).respond_with_data("ok")
    started = time.monotonic()
    assert invoke(notifier_app, sample_documents()["triggered"].model_dump(mode="json"))["delivered"] == 1
    assert time.monotonic() - started >= 1
    assert len(httpserver.log) == 2


def test_429_beyond_the_remaining_time_raises_for_a_retry(
    slack: str, httpserver: HTTPServer, notifier_app: ModuleType
) -> None:
    httpserver.expect_request(HOOK_PATH).respond_with_data("rate_limited", status=429, headers={"Retry-After": "60"})
    with pytest.raises(SlackDeliveryError, match="Retry-After 60s exceeds the time left"):
        invoke(notifier_app, sample_documents()["triggered"].model_dump(mode="json"), remaining_ms=10_000)
    # Nothing was recorded as delivered: SNS's retry delivers it.
    httpserver.clear_all_handlers()
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")
    assert invoke(notifier_app, sample_documents()["triggered"].model_dump(mode="json"))["delivered"] == 1


def test_5xx_raises_so_sns_retries_and_the_retry_delivers(
    slack: str, httpserver: HTTPServer, notifier_app: ModuleType
) -> None:
    httpserver.expect_request(HOOK_PATH).respond_with_data("boom", status=503)
    document = sample_documents()["check_failed"].model_dump(mode="json")
    with pytest.raises(SlackDeliveryError, match="HTTP 503"):
        invoke(notifier_app, document)
    httpserver.clear_all_handlers()
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")
    assert invoke(notifier_app, document)["delivered"] == 1


def test_permanent_4xx_is_logged_with_slacks_error_and_not_retried(
    slack: str, httpserver: HTTPServer, notifier_app: ModuleType, captured_logs: io.StringIO
) -> None:
    httpserver.expect_request(HOOK_PATH).respond_with_data("invalid_blocks", status=400)
    document = sample_documents()["resolved"].model_dump(mode="json")
    assert invoke(notifier_app, document) == {"delivered": 0, "duplicates": 0, "refused": 1}
    assert '"slack_error":"invalid_blocks"' in captured_logs.getvalue()
    assert invoke(notifier_app, document)["duplicates"] == 1
    assert len(httpserver.log) == 1


def test_cloudwatch_alarm_is_rendered_as_an_ops_alert(
    slack: str, httpserver: HTTPServer, notifier_app: ModuleType
) -> None:
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")
    assert invoke(notifier_app, sample_cloudwatch_alarm())["delivered"] == 1
    [payload] = posted(httpserver)
    name = "quota-sentinel-FlashbackDeadMansSwitchAlarm-1A2B3C"
    assert payload["blocks"][0]["text"]["text"] == f"🚨 Ops: {name} is firing"
    assert "OK → ALARM" in payload["blocks"][1]["text"]["text"]
    assert payload["blocks"][2]["text"]["text"].startswith("*Next steps*\n1. Read the last runs: `sam logs")
    assert payload["text"].startswith(f"{name} is ALARM")


def test_unreadable_message_fails_with_a_clear_error(
    slack: str, httpserver: HTTPServer, notifier_app: ModuleType
) -> None:
    with pytest.raises(ValueError, match="neither an alert document nor a CloudWatch alarm"):
        invoke(notifier_app, {"hello": "world"})
    with pytest.raises(ValueError, match="off-schema at"):
        invoke(notifier_app, {"alerts": [{"kind": "nope"}]})
    assert httpserver.log == []


def test_webhook_url_never_appears_in_logs_or_errors(
    slack: str, httpserver: HTTPServer, notifier_app: ModuleType, captured_logs: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    texts: list[str] = []

    def flaky(request: Request) -> Response:
        return Response("no_service", status=404)

    httpserver.expect_request(HOOK_PATH).respond_with_handler(flaky)
    invoke(notifier_app, sample_documents()["triggered"].model_dump(mode="json"))
    httpserver.clear_all_handlers()
    httpserver.expect_request(HOOK_PATH).respond_with_data("x", status=500)
    with pytest.raises(SlackDeliveryError) as server_error:
        invoke(notifier_app, sample_documents()["escalated"].model_dump(mode="json"))
    texts.append(str(server_error.value))
    httpserver.stop()  # unreachable webhook
    try:
        with pytest.raises(SlackDeliveryError) as unreachable:
            invoke(notifier_app, sample_documents()["improved"].model_dump(mode="json"))
        texts.append(str(unreachable.value))
    finally:
        httpserver.start()
    name = f"/qs/slack/bad-{uuid.uuid4().hex[:6]}"
    boto3.client("ssm").put_parameter(Name=name, Value="http://hooks.example.com" + HOOK_PATH, Type="SecureString")
    monkeypatch.setenv("SLACK_WEBHOOK_PARAMETER", name)
    with pytest.raises(ConfigError, match="must use https") as refused:
        invoke(notifier_app, sample_documents()["resolved"].model_dump(mode="json"))
    texts.append(str(refused.value))
    texts.append(captured_logs.getvalue())
    for text in texts:
        assert "very-secret-token" not in text
        assert HOOK_PATH not in text


def test_missing_webhook_parameter_names_the_variable(
    aws: Aws, notifier_app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_PARAMETER", raising=False)
    monkeypatch.setenv("STATE_TABLE_NAME", aws.table_name)
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_PARAMETER: required"):
        invoke(notifier_app, sample_documents()["triggered"].model_dump(mode="json"))
