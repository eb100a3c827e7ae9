"""Forecasts end to end: days of usage through the real Flashback handler on a shifted wall clock
(injected in-process: ``shared.runner.clock``), loopback provider → DynamoDB Local → moto SNS → SQS."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from shared import runner, state_store
from tests.conftest import FakeLambdaContext, load_fixture
from tests.integration.conftest import API_KEY, Aws

pytestmark = pytest.mark.integration

EGRESS = "EGRESS_MONTHLY_BYTES"
EGRESS_MAX = 2147483648


def body_at(egress_percent: float) -> dict[str, Any]:
    body = copy.deepcopy(load_fixture("provider_flashback_ok.json"))
    storage, egress = body["quotaUsage"]
    storage["usage"]["current"] = int(storage["usage"]["max"] * 0.5)
    egress["usage"]["current"] = int(EGRESS_MAX * egress_percent / 100)
    return body


def test_a_fast_burn_is_forecast_before_its_threshold_and_cleared_after_the_reset(
    httpserver: HTTPServer,
    aws: Aws,
    provider_env: Callable[..., dict[str, str]],
    flashback_app: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider_env(httpserver.url_for(""))
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    now = start
    monkeypatch.setattr(runner, "clock", lambda: now)
    # Egress burns 1.25 % an hour from 10.5 % (runs out in 3 days); hourly checks for 3 days, then the quota resets.
    timeline: list[tuple[int, list[tuple[str, str, str, str]]]] = []
    hours = [*range(72), 72, 73]
    for hour in hours:
        percent = 10.5 + 1.25 * hour if hour < 72 else 3.0
        now = start + timedelta(hours=hour)
        httpserver.clear_all_handlers()
        httpserver.expect_request(
            "/user/quota", method="GET", headers={"Authorization": f"Bearer {API_KEY}"}
        ).respond_with_json(body_at(percent))
        summary = flashback_app.handler({}, FakeLambdaContext())
        assert summary["accounts"][0]["ok"], summary
        for document in aws.messages():
            assert document["checked_at"].startswith(now.strftime("%Y-%m-%dT%H:00:00"))  # the shifted clock
            timeline += [
                (hour, [(a["kind"], a["metric"], a["level"], a["previous_level"]) for a in document["alerts"]])
            ]
            for alert in document["alerts"]:
                if alert["kind"] == "forecast":
                    forecast = alert["forecast"]
                    assert alert["id"] == f"flashback/main/{EGRESS}%23forecast/{document['checked_at']}".replace(
                        "%23", "#"
                    )
                    assert set(forecast) >= {"runs_out_at", "hours_left", "rate_per_hour", "samples"}
                    expected_hours = (100 - percent) / 1.25
                    assert forecast["hours_left"] == pytest.approx(expected_hours, rel=0.05)
                    assert forecast["rate_per_hour"] == pytest.approx(EGRESS_MAX * 0.0125, rel=0.05)

    flat = [(hour, alert) for hour, alerts in timeline for alert in alerts]
    forecasts = [(hour, alert) for hour, alert in flat if alert[0] == "forecast"]
    threshold = [(hour, alert) for hour, alert in flat if alert[0] == "triggered"]
    assert forecasts[0] == (6, ("forecast", EGRESS, "warning", "ok"))  # 6 samples over 5 h; confirmed at 6
    assert ("forecast", EGRESS, "critical", "warning") in [alert for _, alert in forecasts]
    assert threshold[0] == (56, ("triggered", EGRESS, "warning", "ok"))  # 80 % at hour 56
    assert forecasts[0][0] < threshold[0][0]
    cleared = [(hour, alert) for hour, alert in flat if alert[0] == "forecast_cleared"]
    assert cleared == [(72, ("forecast_cleared", EGRESS, "ok", "critical"))]
    assert all(alert[1] == EGRESS for _, alert in flat)  # the flat storage metric never forecasts

    # One read and one write per steady run still, and the stored item stays small.
    item = boto3.client("dynamodb").get_item(
        TableName=aws.table_name, Key=state_store.account_key("flashback", "main"), ConsistentRead=True
    )["Item"]
    assert len(item["state"]["B"]) < 1024
