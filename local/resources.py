"""What a built function's environment names, stood up on the local stack for one invoke (``make invoke``,
the built-artifact tests) or for the bench: its table, topic, parameters and a loopback provider API that
answers the provider's sample body. Provisioning itself goes through ``local.provision``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from local import REPO_ROOT
from local.http_server import LoopbackServer, QuietHandler
from local.provision import (
    LOCAL_API_KEY,
    LOCAL_NAMES,
    SAMPLE_RESPONSES,
    drain,
    ensure_table,
    put_parameter,
    subscribe_queue,
)
from local.simulator import SlackReceiver
from local.template import ACCOUNT_ID


class SampleProviderApi(LoopbackServer):
    """A loopback provider API: GET ``path`` answers ``body``; counts requests."""

    def __init__(self, path: str, body: bytes) -> None:
        self.requests = 0
        self._lock = threading.Lock()
        api = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with api._lock:
                    api.requests += 1
                if self.path.split("?")[0] == path:
                    self.answer(200, body, "application/json")
                else:
                    self.answer(404, b'{"message": "not found"}', "application/json")

        super().__init__(Handler)


def sample_response(provider: str) -> Path:
    """The sample quota response that the provider simulator serves."""
    candidates = sorted(SAMPLE_RESPONSES.glob(f"provider_{provider}_ok.json")) or sorted(
        SAMPLE_RESPONSES.glob(f"provider_{provider}_*ok.json")
    )
    if not candidates:
        raise FileNotFoundError(f"no sample response for {provider} under {SAMPLE_RESPONSES}")
    return candidates[0]


class LocalResources:
    """Creates, on the local stack, what a function's environment names, and records what it sends."""

    def __init__(self, aws_env: Mapping[str, str], cleanup: contextlib.ExitStack) -> None:
        self.aws_env = dict(aws_env)
        self.region = self.aws_env.get("AWS_DEFAULT_REGION", "us-east-1")
        self._cleanup = cleanup
        self.capture_queues: dict[str, str] = {}  # topic ARN -> queue URL
        self.provider_api: SampleProviderApi | None = None
        self.webhook: SlackReceiver | None = None
        self.notes: list[str] = []

    def client(self, service: str) -> Any:
        """A boto3 client for the local stack's endpoint of ``service``; never real AWS."""
        endpoint = self.aws_env.get(f"AWS_ENDPOINT_URL_{service.upper()}") or self.aws_env.get("AWS_ENDPOINT_URL")
        if not endpoint:
            raise RuntimeError("no local endpoint for boto3: refusing to talk to real AWS")
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=endpoint,
            region_name=self.region,
            aws_access_key_id=self.aws_env.get("AWS_ACCESS_KEY_ID", "testing"),
            aws_secret_access_key=self.aws_env.get("AWS_SECRET_ACCESS_KEY", "testing"),
        )

    def refs(self, template: Mapping[str, Any]) -> dict[str, str]:
        """What Ref gives for each resource here: table names, topic ARNs, other resources' local names."""
        refs = {}
        for logical_id, resource in template["Resources"].items():
            name = LOCAL_NAMES.get(logical_id, f"quota-sentinel-{logical_id}")
            is_topic = resource["Type"] == "AWS::SNS::Topic"
            refs[logical_id] = f"arn:aws:sns:{self.region}:{ACCOUNT_ID}:{name}" if is_topic else name
        return refs

    def provision(self, environment: Mapping[str, str], provider: str | None) -> None:
        if table := environment.get("STATE_TABLE_NAME"):
            self.ensure_table(table)
        if topic_arn := environment.get("ALERT_TOPIC_ARN"):
            self.capture(topic_arn)
        if (parameter := environment.get("ACCOUNTS_PARAMETER")) and provider is not None:
            self.serve_provider(provider, parameter)
        if parameter := environment.get("CUSTOM_PROVIDERS_PARAMETER"):
            self.serve_custom_provider(parameter)
        if parameter := environment.get("SLACK_WEBHOOK_PARAMETER"):
            self.serve_webhook(parameter)

    def ensure_table(self, name: str) -> None:
        dynamodb = self.client("dynamodb")
        if ensure_table(dynamodb, name) != "exists":
            self.notes.append(f"table {name} created from template.yaml's StateTable")

    def capture(self, topic_arn: str) -> None:
        """Create the topic and subscribe a queue, to show what the function publishes."""
        sns, sqs = self.client("sns"), self.client("sqs")
        topic_arn = sns.create_topic(Name=topic_arn.rsplit(":", 1)[-1])["TopicArn"]
        queue_url, subscription = subscribe_queue(topic_arn, f"capture-{uuid.uuid4().hex[:12]}", clients=self)
        self.capture_queues[topic_arn] = queue_url
        self._cleanup.callback(sqs.delete_queue, QueueUrl=queue_url)
        self._cleanup.callback(sns.unsubscribe, SubscriptionArn=subscription)

    def published(self) -> list[dict[str, Any]]:
        """Every message published to the captured topics so far, parsed when it is JSON."""
        messages: list[dict[str, Any]] = []
        for topic_arn, queue_url in self.capture_queues.items():
            for body in drain(queue_url, clients=self):
                with contextlib.suppress(ValueError):
                    messages.append({"topic": topic_arn, "body": json.loads(body)})
        return messages

    def serve_provider(self, provider: str, accounts_parameter: str) -> None:
        """A loopback provider API answering the sample response, and one account that points at it."""
        from shared.providers import get_adapter

        sample = sample_response(provider)
        endpoint = get_adapter(provider).endpoint_path
        self.provider_api = SampleProviderApi(f"/{provider}{endpoint}", sample.read_bytes()).start()
        self._cleanup.callback(self.provider_api.stop)
        key_parameter = f"/quota-sentinel/{provider}/local"
        account = {
            "name": "local",
            "base_url": f"{self.provider_api.url}/{provider}",
            "api_key": {"ssm": key_parameter},
        }
        put_parameter(key_parameter, LOCAL_API_KEY, secure=True, clients=self)
        put_parameter(accounts_parameter, json.dumps([account]), secure=False, clients=self)
        self.notes.append(
            f"provider simulator {self.provider_api.url}/{provider}{endpoint} serves "
            f"{sample.relative_to(REPO_ROOT)}; account 'local' in SSM {accounts_parameter}, key in {key_parameter}"
        )

    def serve_custom_provider(self, parameter: str) -> None:
        """A loopback API of the demo's custom provider, and its entry under CustomFunction's parameter."""

        from local.custom_demo import CUSTOM_ID, custom_entry
        from local.provider_bodies import custom_body

        body = json.dumps(custom_body({"renders": 40, "webhooks": 10}, datetime.now(UTC))).encode()
        self.provider_api = SampleProviderApi(f"/custom/{CUSTOM_ID}/v1/usage", body).start()
        self._cleanup.callback(self.provider_api.stop)
        key_parameter = f"/quota-sentinel/custom/{CUSTOM_ID}/local"
        entry = custom_entry(f"{self.provider_api.url}/custom/{CUSTOM_ID}", {"ssm": key_parameter})
        entry["accounts"][0]["name"] = "local"
        put_parameter(key_parameter, LOCAL_API_KEY, secure=True, clients=self)
        name = f"{parameter.rstrip('/')}/{CUSTOM_ID}" if parameter.endswith("/") else parameter
        put_parameter(name, json.dumps(entry if parameter.endswith("/") else [entry]), secure=False, clients=self)
        self.notes.append(
            f"custom provider {CUSTOM_ID} at {self.provider_api.url}/custom/{CUSTOM_ID}/v1/usage; its entry in SSM "
            f"{name}, account 'local', key in {key_parameter}"
        )

    def serve_webhook(self, parameter: str) -> None:
        self.webhook = SlackReceiver("/services/T0LOCAL/B0LOCAL/local").start()
        self._cleanup.callback(self.webhook.stop)
        url = self.webhook.webhook_url
        put_parameter(parameter, url, secure=True, clients=self)
        self.notes.append(f"Slack webhook receiver {url} (SSM {parameter})")
