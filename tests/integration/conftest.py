"""Real local servers: DynamoDB Local (Java), moto server (SNS/SQS/SSM/Secrets Manager), loopback HTTP."""

from __future__ import annotations

import importlib.util
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from local.provision import create_table_from_template, drain, subscribe_queue
from local.stack import LocalStack, activated, running_local_stack
from shared import state_store

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "fb-live-7Qx9-never-log-me"


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    with running_local_stack() as stack, activated(stack):
        yield stack


@dataclass
class Aws:
    """One test's table, topic and a raw-delivery SQS queue subscribed to the topic."""

    table_name: str
    topic_arn: str
    queue_url: str

    def messages(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Every alert document that reached the queue so far (drains it)."""
        return [json.loads(body) for body in drain(queue_url or self.queue_url)]

    def subscribe_queue(self, filter_policy: dict[str, Any] | None = None) -> str:
        queue_url, _ = subscribe_queue(self.topic_arn, f"q-{uuid.uuid4().hex[:12]}", raw=True, policy=filter_policy)
        return queue_url

    def outbox(self, provider: str, account: str) -> dict[str, Any]:
        item = boto3.client("dynamodb").get_item(
            TableName=self.table_name, Key=state_store.account_key(provider, account), ConsistentRead=True
        )["Item"]
        return item.get("outbox", {}).get("M", {})


@pytest.fixture
def aws(local_stack: LocalStack) -> Aws:
    suffix = uuid.uuid4().hex[:12]
    table_name = f"state-{suffix}"
    create_table_from_template(table_name)
    topic_arn = boto3.client("sns").create_topic(Name=f"alerts-{suffix}")["TopicArn"]
    resources = Aws(table_name=table_name, topic_arn=topic_arn, queue_url="")
    resources.queue_url = resources.subscribe_queue()
    return resources


def load_handler(function: str) -> ModuleType:
    """Load ``functions/<function>/app.py`` by path, as Lambda does with ``app.handler``."""
    path = REPO_ROOT / "functions" / function / "app.py"
    spec = importlib.util.spec_from_file_location(f"{function}_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def flashback_app() -> ModuleType:
    return load_handler("flashback")


@pytest.fixture
def provider_env(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, str]]:
    """Set a provider function's environment; returns it. Accounts default to one named ``main``."""

    def configure(base_url: str, accounts: list[dict[str, Any]] | None = None, **variables: str) -> dict[str, str]:
        monkeypatch.setenv("FLASHBACK_KEY", API_KEY)
        environment = {
            "STATE_TABLE_NAME": aws.table_name,
            "ALERT_TOPIC_ARN": aws.topic_arn,
            "ACCOUNTS": json.dumps(
                accounts or [{"name": "main", "base_url": base_url, "api_key": {"env": "FLASHBACK_KEY"}}]
            ),
            **variables,
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        return environment

    return configure
