"""In-memory stand-ins for DynamoDB and SNS, and a log capture, so that whole runs are unit tests (no socket)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from botocore.stub import Stubber

from shared.models import AccountState, AlertDocument
from shared.notify import AlertPublisher
from shared.observability import logger
from shared.state_store import OutboxEntry, StateStore, StoredAccount, VersionConflict


@dataclass
class _Item:
    state: AccountState
    version: int
    outbox: dict[str, OutboxEntry] = field(default_factory=dict)


class MemoryStore(StateStore):
    """The state table's semantics (versions, outbox) in a dict."""

    def __init__(self) -> None:
        self.table_name = "memory"
        self.items: dict[tuple[str, str], _Item] = {}

    def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
        item = self.items.get((provider, account))
        if item is None:
            return StoredAccount(state=None)
        return StoredAccount(state=item.state, version=item.version, outbox=dict(item.outbox))

    def save(
        self,
        provider: str,
        account: str,
        expected_version: int,
        state: AccountState,
        outbox: dict[str, OutboxEntry],
        checked_at: datetime,
        expires_at: float,
    ) -> int:
        current = self.items.get((provider, account))
        if (current.version if current else 0) != expected_version:
            raise VersionConflict(f"{provider}/{account}")
        self.items[(provider, account)] = _Item(state, expected_version + 1, dict(outbox))
        return expected_version + 1

    def mark_published(self, provider: str, account: str, doc_id: str) -> bool:
        item = self.items[(provider, account)]
        item.version += 1
        return item.outbox.pop(doc_id, None) is not None

    def release(self, provider: str, account: str, doc_id: str) -> bool:
        return True

    def state(self, provider: str, account: str) -> AccountState:
        return self.items[(provider, account)].state


class MemoryPublisher(AlertPublisher):
    def __init__(self) -> None:
        self.topic_arn = "memory"
        self.documents: list[AlertDocument] = []

    def publish(self, document: AlertDocument) -> str:
        self.documents.append(document)
        return f"message-{len(self.documents)}"

    def texts(self) -> list[str]:
        """What subscribers receive: the JSON document (every non-email protocol)."""
        return [document.to_json() for document in self.documents]


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """Exactly what the Powertools logger emits, with its JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    logging.getLogger(logger.name).addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger(logger.name).removeHandler(handler)


@contextmanager
def stubbed_parameters(kind: str, operation: str, error_code: str, times: int = 1) -> Iterator[None]:
    """Powertools' default ``ssm`` or ``secrets`` provider on a botocore Stubber that answers ``error_code``."""
    service = "ssm" if kind == "ssm" else "secretsmanager"
    client: Any = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for _ in range(times):
        stubber.add_client_error(operation, service_error_code=error_code, http_status_code=400)
    provider_class = parameters.SSMProvider if kind == "ssm" else parameters.SecretsProvider
    DEFAULT_PROVIDERS[kind] = provider_class(boto3_client=client)
    with stubber:
        yield
    DEFAULT_PROVIDERS.pop(kind, None)
