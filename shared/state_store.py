"""The state store: the last state of every account, and its outbox of alerts not yet published.

``StateStore`` is the port (a Protocol) that the runner, the outbox and the CLI use; ``DynamoStateStore``
implements it on DynamoDB, and ``shared.in_memory.MemoryStateStore`` in a dict (unit tests, the CLI's dry
run). This is the only module that touches DynamoDB. One item per account:

- ``pk`` = ``<partition prefix><provider>`` (``provider#<id>`` by default), ``sk`` = ``account#<account>``
- ``version``: bumped by every write; every write is conditional on it (an optimistic lock)
- ``state``: the evaluator's ``AccountState`` in the compact form of ``shared.state_codec`` (binary)
- ``outbox``: alert documents written together with the transition that caused them, removed once
  published. Each carries a lease so that overlapping runs never publish the same one twice, and a
  run that crashed or failed to publish leaves it for a later run.
- ``expires_at``: TTL epoch seconds, refreshed by every check; an account no longer checked expires.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.models import AccountState
from shared.state_codec import encode_state, state_from_attribute

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb import DynamoDBClient

PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"


class StateStoreError(Exception):
    """DynamoDB could not be read or written."""


class VersionConflict(Exception):
    """Another run wrote the account since we read it."""


@dataclass(frozen=True)
class OutboxEntry:
    document: str  # the alert document JSON, exactly as it will be published
    created_at: float  # epoch seconds, to publish in order
    lease_until: float  # epoch seconds; before this, the run that claimed it may be publishing it
    run_id: str = ""  # the run that wrote or last claimed it: that run may publish it whatever its lease


@dataclass
class StoredAccount:
    state: AccountState | None
    version: int = 0  # 0: no item yet
    outbox: dict[str, OutboxEntry] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountRecord:
    """What one check writes: the new state and outbox, when it was checked, and when the item expires."""

    state: AccountState
    outbox: dict[str, OutboxEntry]
    checked_at: datetime
    expires_at: float  # epoch seconds


class StateStore(Protocol):
    """Where each account's state and outbox are kept; every write is conditional on the version read."""

    def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
        """The account as stored; an expired state reads as None, its outbox is kept."""
        ...

    def save(self, provider: str, account: str, expected_version: int, record: AccountRecord) -> int:
        """Write the record unless the account changed since ``expected_version`` (then ``VersionConflict``).
        Returns the new version."""
        ...

    def mark_published(self, provider: str, account: str, doc_id: str) -> bool:
        """Remove a published document from the outbox (bumps the version). False if it was already gone."""
        ...

    def release(self, provider: str, account: str, doc_id: str) -> bool:
        """Give up the lease on a document (bumps the version), so the next run retries it at once."""
        ...

    def list_accounts(self, provider: str, now_epoch: float) -> dict[str, AccountState]:
        """The last state of every account of ``provider`` that has not expired, by account name."""
        ...


PROVIDER_PARTITION = "provider#"
# Custom providers' partitions (custom#<id>), apart from the built-in ones so that access is granted by prefix.
CUSTOM_PARTITION = "custom#"
ACCOUNT_PREFIX = "account#"
# The Slack notifier's idempotency records: a fixed partition, so that its role can be granted the prefix
# ``idempotency#`` without naming its own function (Powertools' default, idempotency#<function name>).
IDEMPOTENCY_PARTITION = "idempotency#slack-notifier"


def account_key(provider: str, account: str, partition_prefix: str = PROVIDER_PARTITION) -> dict[str, Any]:
    return {PARTITION_KEY: {"S": f"{partition_prefix}{provider}"}, SORT_KEY: {"S": f"{ACCOUNT_PREFIX}{account}"}}


CONNECT_TIMEOUT_SECONDS = 1.0
READ_TIMEOUT_SECONDS = 2.0
MAX_ATTEMPTS = 3  # in all, the first included
DEFAULT_POOL_SIZE = 16


def call_seconds_bound(connect_timeout: float, read_timeout: float, max_attempts: int) -> float:
    """The longest one botocore call can take: every attempt at its timeouts, plus the standard retry
    mode's backoff between attempts (at most 2**n seconds before retry n + 1, capped at 20 s)."""
    backoff = sum(min(20.0, 2.0**attempt) for attempt in range(max_attempts - 1))
    return max_attempts * (connect_timeout + read_timeout) + backoff


# The longest one DynamoDB call of this module can take, with the client below.
CALL_SECONDS_BOUND = call_seconds_bound(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, MAX_ATTEMPTS)


@functools.lru_cache(maxsize=4)
def default_client(pool_size: int = DEFAULT_POOL_SIZE) -> DynamoDBClient:
    """The client, with one pooled connection per account checked at once (``MAX_CONCURRENCY``)."""
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        max_pool_connections=pool_size,
    )
    return boto3.client("dynamodb", config=config)


def _entry_from_item(value: dict[str, Any]) -> OutboxEntry:
    fields = value["M"]
    return OutboxEntry(
        document=fields["document"]["S"],
        created_at=float(fields["created_at"]["N"]),
        lease_until=float(fields["lease_until"]["N"]),
        run_id=fields.get("run_id", {}).get("S", ""),
    )


def _entry_to_item(entry: OutboxEntry) -> dict[str, Any]:
    return {
        "M": {
            "document": {"S": entry.document},
            "created_at": {"N": repr(entry.created_at)},
            "lease_until": {"N": repr(entry.lease_until)},
            "run_id": {"S": entry.run_id},
        }
    }


class DynamoStateStore:
    """The state store on the DynamoDB table. ``partition_prefix`` heads the partition key of every item it
    reads and writes (``provider#`` for the built-in providers), so other kinds of checks keep their own."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDBClient | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        partition_prefix: str = PROVIDER_PARTITION,
    ) -> None:
        self.table_name = table_name
        self.client = client or default_client(pool_size)
        self.partition_prefix = partition_prefix

    def _key(self, provider: str, account: str) -> dict[str, Any]:
        return account_key(provider, account, self.partition_prefix)

    def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
        try:
            response = self.client.get_item(
                TableName=self.table_name, Key=self._key(provider, account), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise StateStoreError(f"could not read the state of {provider}/{account}: {error}") from error
        item = response.get("Item")
        if not item:
            return StoredAccount(state=None)
        # TTL deletion lags by up to days, so an expired item may still be read: its state is
        # forgotten as expiry means, but its outbox is kept so that no alert is lost.
        expired = float(item[TTL_ATTRIBUTE]["N"]) <= now_epoch
        state = None if expired else state_from_attribute(item["state"])
        outbox = {doc_id: _entry_from_item(value) for doc_id, value in item.get("outbox", {}).get("M", {}).items()}
        return StoredAccount(state=state, version=int(item["version"]["N"]), outbox=outbox)

    def save(self, provider: str, account: str, expected_version: int, record: AccountRecord) -> int:
        """Write the whole item if nobody else has since ``expected_version``. Returns the new version."""
        version = expected_version + 1
        item = {
            **self._key(provider, account),
            "provider": {"S": provider},
            "account": {"S": account},
            "version": {"N": str(version)},
            "state": {"B": encode_state(record.state)},
            "checked_at": {"S": record.checked_at.isoformat()},
            TTL_ATTRIBUTE: {"N": str(int(record.expires_at))},
            "outbox": {"M": {doc_id: _entry_to_item(entry) for doc_id, entry in record.outbox.items()}},
        }
        # Version 0 means "no item yet"; version is then absent, and the condition holds for that too.
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(version) OR version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected_version)}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise VersionConflict(f"{provider}/{account} changed since version {expected_version}") from None
            raise StateStoreError(f"could not write the state of {provider}/{account}: {error}") from error
        except BotoCoreError as error:
            raise StateStoreError(f"could not write the state of {provider}/{account}: {error}") from error
        return version

    def _update_outbox_entry(
        self, provider: str, account: str, doc_id: str, expression: str, values: dict[str, Any]
    ) -> bool:
        # Every outbox change bumps the version, so a run holding an older copy cannot write it back.
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._key(provider, account),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(outbox.#doc)",
                ExpressionAttributeNames={"#doc": doc_id},
                ExpressionAttributeValues={":one": {"N": "1"}, **values},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StateStoreError(f"could not update the outbox of {provider}/{account}: {error}") from error
        except BotoCoreError as error:
            raise StateStoreError(f"could not update the outbox of {provider}/{account}: {error}") from error
        return True

    def mark_published(self, provider: str, account: str, doc_id: str) -> bool:
        return self._update_outbox_entry(
            provider, account, doc_id, "REMOVE outbox.#doc SET version = version + :one", {}
        )

    def release(self, provider: str, account: str, doc_id: str) -> bool:
        return self._update_outbox_entry(
            provider,
            account,
            doc_id,
            "SET outbox.#doc.lease_until = :zero, version = version + :one",
            {":zero": {"N": "0"}},
        )

    def list_accounts(self, provider: str, now_epoch: float) -> dict[str, AccountState]:
        # Idempotency records share the table under their own partition keys, so this Query never sees them.
        states: dict[str, AccountState] = {}
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"{self.partition_prefix}{provider}"},
                ":prefix": {"S": ACCOUNT_PREFIX},
            },
            "ConsistentRead": True,
        }
        try:
            while True:
                response = self.client.query(**request)
                for item in response.get("Items", []):
                    if float(item[TTL_ATTRIBUTE]["N"]) <= now_epoch:
                        continue
                    account = item[SORT_KEY]["S"].removeprefix(ACCOUNT_PREFIX)
                    states[account] = state_from_attribute(item["state"])
                if "LastEvaluatedKey" not in response:
                    return states
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as error:
            raise StateStoreError(f"could not list the accounts of {provider}: {error}") from error


def idempotency_layer(table_name: str) -> DynamoDBPersistenceLayer:
    """Powertools Idempotency records in the state table, under their own partition keys.

    Created here so that this module stays the only one that touches DynamoDB; imported lazily
    because only the Slack notifier needs it.
    """
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=PARTITION_KEY,
        sort_key_attr=SORT_KEY,
        expiry_attr=TTL_ATTRIBUTE,
        static_pk_value=IDEMPOTENCY_PARTITION,
        boto3_client=default_client(),
    )
