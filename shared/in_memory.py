"""In-memory state store and publisher: the fakes of ``StateStore`` and ``AlertPublisher``.

They keep the DynamoDB item's semantics (versions and conditional writes, outbox updates that bump the
version, expiry that forgets the state but keeps the outbox), so that whole runs can be unit tests that
open no socket, and so that the CLI's dry run keeps and sends nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from shared.models import AccountState, AlertDocument
from shared.state_store import PROVIDER_PARTITION, AccountRecord, OutboxEntry, StoredAccount, VersionConflict


@dataclass
class MemoryItem:
    state: AccountState
    version: int
    expires_at: float
    outbox: dict[str, OutboxEntry] = field(default_factory=dict)


class MemoryStateStore:
    """A ``StateStore`` in a dict, keyed like the table: (partition prefix + provider, account)."""

    def __init__(self, partition_prefix: str = PROVIDER_PARTITION) -> None:
        self.partition_prefix = partition_prefix
        self.items: dict[tuple[str, str], MemoryItem] = {}
        self._lock = threading.Lock()  # accounts are checked from several threads

    def _key(self, provider: str, account: str) -> tuple[str, str]:
        return f"{self.partition_prefix}{provider}", account

    def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
        with self._lock:
            item = self.items.get(self._key(provider, account))
            if item is None:
                return StoredAccount(state=None)
            state = None if item.expires_at <= now_epoch else item.state
            return StoredAccount(state=state, version=item.version, outbox=dict(item.outbox))

    def save(self, provider: str, account: str, expected_version: int, record: AccountRecord) -> int:
        key = self._key(provider, account)
        with self._lock:
            current = self.items.get(key)
            if (current.version if current else 0) != expected_version:
                raise VersionConflict(f"{provider}/{account} changed since version {expected_version}")
            self.items[key] = MemoryItem(
                record.state, expected_version + 1, int(record.expires_at), dict(record.outbox)
            )
            return expected_version + 1

    def mark_published(self, provider: str, account: str, doc_id: str) -> bool:
        with self._lock:
            item = self.items.get(self._key(provider, account))
            if item is None or doc_id not in item.outbox:
                return False
            del item.outbox[doc_id]
            item.version += 1
            return True

    def release(self, provider: str, account: str, doc_id: str) -> bool:
        with self._lock:
            item = self.items.get(self._key(provider, account))
            if item is None or doc_id not in item.outbox:
                return False
            item.outbox[doc_id] = replace(item.outbox[doc_id], lease_until=0)
            item.version += 1
            return True

    def list_accounts(self, provider: str, now_epoch: float) -> dict[str, AccountState]:
        partition, _ = self._key(provider, "")
        with self._lock:
            return {
                account: item.state
                for (pk, account), item in sorted(self.items.items())
                if pk == partition and item.expires_at > now_epoch
            }

    def state(self, provider: str, account: str) -> AccountState:
        """The stored state, whatever its expiry (KeyError when there is none): for tests and the dry run."""
        return self.items[self._key(provider, account)].state

    def outbox(self, provider: str, account: str) -> dict[str, OutboxEntry]:
        item = self.items.get(self._key(provider, account))
        return dict(item.outbox) if item else {}


class MemoryPublisher:
    """An ``AlertPublisher`` that keeps what it is given."""

    def __init__(self) -> None:
        self.documents: list[AlertDocument] = []
        self._lock = threading.Lock()

    def publish(self, document: AlertDocument) -> str:
        with self._lock:
            self.documents.append(document)
            return f"message-{len(self.documents)}"

    def texts(self) -> list[str]:
        """What subscribers receive: the JSON document (every non-email protocol)."""
        return [document.to_json() for document in self.documents]
