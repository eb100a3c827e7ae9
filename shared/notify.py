"""SNS: one message per account per run, with a body per protocol and attributes for filter policies.

This is the only module that touches SNS. Subscribers other than email receive the alert document
JSON; email receives a plain-text body. ``provider``, ``account`` and ``severity`` are message
attributes for subscription filter policies. AWS does not deliver message attributes to endpoints
when the structure is JSON, so the document repeats every one of those facts.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.models import AlertDocument
from shared.secrets import DEFAULT_SESSION_LOCK
from shared.wording.email import email_body, email_subject

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef


class PublishError(Exception):
    """SNS did not accept the message."""


CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 3.0
MAX_ATTEMPTS = 3  # in all, the first included


def call_seconds_bound() -> float:
    """The longest one publish can take with the client below (its timeouts, retries and backoff)."""
    from shared.state_store import call_seconds_bound as bound

    return bound(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, MAX_ATTEMPTS)


@functools.lru_cache(maxsize=1)
def default_client() -> SNSClient:
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
    )
    return boto3.client("sns", config=config)


def message_attributes(document: AlertDocument) -> dict[str, MessageAttributeValueTypeDef]:
    return {
        "provider": {"DataType": "String", "StringValue": document.provider},
        "account": {"DataType": "String", "StringValue": document.account},
        "severity": {"DataType": "String", "StringValue": document.severity.value},
    }


def message_bodies(document: AlertDocument) -> str:
    """The MessageStructure=json payload: the document by default, plain text for email."""
    return json.dumps({"default": document.to_json(), "email": email_body(document)})


class AlertPublisher(Protocol):
    """Where alert documents go: SNS (``SnsAlertPublisher``), or ``shared.in_memory.MemoryPublisher``."""

    def publish(self, document: AlertDocument) -> str:
        """Publish one alert document; returns a message id. Raises ``PublishError`` when it was not accepted."""
        ...


class SnsAlertPublisher:
    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self.topic_arn = topic_arn
        self._client = client

    @property
    def client(self) -> SNSClient:
        """Created on the first publish: a steady-state run publishes nothing and needs no SNS client."""
        if self._client is None:
            with DEFAULT_SESSION_LOCK:  # accounts publish from several threads
                if self._client is None:
                    self._client = default_client()
        return self._client

    def publish(self, document: AlertDocument) -> str:
        """Publish one alert document; returns the SNS message id."""
        try:
            response = self.client.publish(
                TopicArn=self.topic_arn,
                Subject=email_subject(document),
                Message=message_bodies(document),
                MessageStructure="json",
                MessageAttributes=message_attributes(document),
            )
        except (ClientError, BotoCoreError) as error:
            raise PublishError(
                f"could not publish alerts for {document.provider}/{document.account}: {error}"
            ) from error
        return response["MessageId"]
