"""AWS calls per account, counted with botocore event hooks against the local stack."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import boto3
import pytest
from pytest_httpserver import HTTPServer

from shared.notify import SnsAlertPublisher
from shared.runner import Dependencies, run_provider
from shared.state_store import DynamoStateStore
from tests.conftest import FakeLambdaContext
from tests.integration.conftest import API_KEY, Aws

pytestmark = pytest.mark.integration

ACCOUNTS = 3


def flashback_body(percent: float) -> dict[str, Any]:
    usage = {"current": int(percent * 10), "max": 1000}
    capability = {"code": "API_CALLS", "description": "API calls", "periodType": "MONTHLY"}
    return {"success": True, "quotaUsage": [{"capability": capability, "usage": usage}]}


def test_steady_state_is_one_read_and_one_write_per_account_and_a_transition_adds_one_publish(
    httpserver: HTTPServer, aws: Aws
) -> None:
    calls: Counter[str] = Counter()
    dynamodb, sns = boto3.client("dynamodb"), boto3.client("sns")
    for client in (dynamodb, sns):
        client.meta.events.register("before-call.*.*", lambda model, **_: calls.update([model.name]))
    deps = Dependencies(
        store=DynamoStateStore(aws.table_name, dynamodb), publisher=SnsAlertPublisher(aws.topic_arn, sns)
    )
    accounts = [
        {"name": f"acct-{i}", "base_url": httpserver.url_for(""), "api_key": {"env": "KEY"}} for i in range(ACCOUNTS)
    ]
    environ = {
        "STATE_TABLE_NAME": aws.table_name, "ALERT_TOPIC_ARN": aws.topic_arn, "ACCOUNTS": json.dumps(accounts),
        "KEY": API_KEY,
    }  # fmt: skip

    def run(percent: float) -> Counter[str]:
        httpserver.clear_all_handlers()
        httpserver.expect_request("/user/quota").respond_with_json(flashback_body(percent))
        calls.clear()
        run_provider("flashback", {}, FakeLambdaContext(), dependencies=deps, environ=environ)
        return Counter({name: count // ACCOUNTS for name, count in calls.items()}) if calls else Counter()

    first = run(10)  # first check: records silently
    steady = run(10)
    transition = run(90)
    steady_again = run(91)
    assert first == Counter({"GetItem": 1, "PutItem": 1})
    assert steady == Counter({"GetItem": 1, "PutItem": 1})
    assert transition == Counter({"GetItem": 1, "PutItem": 1, "Publish": 1, "UpdateItem": 1})
    assert steady_again == steady
    assert len(aws.messages()) == ACCOUNTS
