"""Real local servers: DynamoDB Local (Java), moto server (SNS/SQS/SSM/Secrets Manager), loopback HTTP."""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from infra.local_stack import LocalStack, create_table_from_template, running_local_stack
from shared import notify, state_store

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "fb-live-7Qx9-never-log-me"


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    saved = dict(os.environ)
    with running_local_stack() as stack:
        os.environ.update(stack.environment())
        state_store.default_client.cache_clear()
        notify.default_client.cache_clear()
        try:
            yield stack
        finally:
            os.environ.clear()
            os.environ.update(saved)
            state_store.default_client.cache_clear()
            notify.default_client.cache_clear()


@dataclass
class Aws:
    """One test's table, topic and a raw-delivery SQS queue subscribed to the topic."""

    table_name: str
    topic_arn: str
    queue_url: str

    def messages(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        """Every alert document that reached the queue so far (drains it)."""
        sqs = boto3.client("sqs")
        documents = []
        while True:
            response = sqs.receive_message(
                QueueUrl=queue_url or self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            batch = response.get("Messages", [])
            if not batch:
                return documents
            for message in batch:
                documents.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=queue_url or self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def subscribe_queue(self, filter_policy: dict[str, Any] | None = None) -> str:
        sqs, sns = boto3.client("sqs"), boto3.client("sns")
        queue_url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"RawMessageDelivery": "true"}
        if filter_policy is not None:
            attributes["FilterPolicy"] = json.dumps(filter_policy)
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
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
