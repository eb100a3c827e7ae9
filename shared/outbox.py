"""The outbox: alert documents recorded with the transition that caused them, claimed, published, cleared.

A run writes its new document into the account's outbox in the same conditional write as the new state,
and in that write claims (leases to itself) every entry whose lease has run out, so overlapping runs never
publish the same document twice and a run that crashed or failed to publish leaves its entries for a
later one. It then publishes what it claimed, oldest first, and clears each entry once published; on a
publish failure it releases the rest at once.

Own writes are recognised: a write can be applied yet answered as a conflict (botocore retried a request
that had succeeded). The state then carries this run's id, and the entries it wrote or claimed carry it
too: they are this run's to publish, however fresh their lease, and nothing is evaluated again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Generic, TypeVar

from shared.models import AccountState, AlertDocument
from shared.notify import AlertPublisher, PublishError
from shared.observability import logger
from shared.state_store import (
    AccountRecord,
    OutboxEntry,
    StateStore,
    StateStoreError,
    StoredAccount,
    VersionConflict,
)

MAX_CONFLICT_RETRIES = 5

Result = TypeVar("Result")
Claimed = list[tuple[str, OutboxEntry]]  # (document id, entry), oldest first


@dataclass(frozen=True)
class Lease:
    """One run's hold on the outbox entries it claims."""

    run_id: str
    now_epoch: float  # the run's check time: the new entry's creation time, and when leases are judged
    seconds: float  # no other run may take an entry over while this one could still be publishing it

    @property
    def until(self) -> float:
        return self.now_epoch + self.seconds


@dataclass(frozen=True)
class Decision(Generic[Result]):
    """What a run made of the stored account: the state to write, and the alert document it caused."""

    result: Result
    state: AccountState
    document: AlertDocument | None
    checked_at: datetime


def own_entries(stored: StoredAccount, run_id: str) -> Claimed:
    """The entries that ``run_id`` wrote or last claimed, oldest first."""
    own = ((doc_id, entry) for doc_id, entry in stored.outbox.items() if run_id and entry.run_id == run_id)
    return sorted(own, key=lambda pair: pair[1].created_at)


def claim(
    stored: StoredAccount, document: AlertDocument | None, lease: Lease
) -> tuple[dict[str, OutboxEntry], Claimed]:
    """The outbox to write, and what this run claims in it: the new document, every entry whose lease has
    run out, and every entry that is already this run's."""
    outbox = dict(stored.outbox)
    claimed: list[str] = []
    if document is not None:
        outbox[document.document_id] = OutboxEntry(document.to_json(), lease.now_epoch, lease.until, lease.run_id)
        claimed.append(document.document_id)
    for doc_id, entry in stored.outbox.items():
        if doc_id not in claimed and (entry.lease_until <= lease.now_epoch or entry.run_id == lease.run_id):
            outbox[doc_id] = replace(entry, lease_until=lease.until, run_id=lease.run_id)
            claimed.append(doc_id)
    return outbox, sorted(((doc_id, outbox[doc_id]) for doc_id in claimed), key=lambda pair: pair[1].created_at)


def record(
    store: StateStore,
    provider: str,
    account: str,
    lease: Lease,
    expires_at: float,
    decide: Callable[[StoredAccount], Decision[Result]],
) -> tuple[Result, Claimed]:
    """Read the account, ``decide`` on it, and write the state with the outbox this run claims.

    On a version conflict (an overlapping run), read and decide again: the other run's transition is then
    already recorded, so it is not alerted twice; unless the state read back is this run's own write.
    """
    written: Decision[Result] | None = None
    for _ in range(MAX_CONFLICT_RETRIES):
        stored = store.load(provider, account, lease.now_epoch)
        if written is not None and stored.state is not None and stored.state.run_id == lease.run_id:
            return written.result, own_entries(stored, lease.run_id)  # our write took effect
        decision = decide(stored)
        state = decision.state.model_copy(update={"run_id": lease.run_id})
        outbox, claimed = claim(stored, decision.document, lease)
        try:
            store.save(provider, account, stored.version, AccountRecord(state, outbox, decision.checked_at, expires_at))
        except VersionConflict:
            logger.info("state changed by an overlapping run; re-evaluating", extra={"account": account})
            written = decision
            continue
        return decision.result, claimed
    raise StateStoreError(f"{provider}/{account}: gave up after {MAX_CONFLICT_RETRIES} conflicting writes")


def release(store: StateStore, provider: str, account: str, doc_ids: list[str]) -> None:
    """Give up the leases of documents not published, so that the next run retries them at once."""
    for doc_id in doc_ids:
        try:
            store.release(provider, account, doc_id)
        except StateStoreError:
            logger.warning("could not release an outbox lease; it will expire", extra={"doc_id": doc_id})


def publish_claimed(
    store: StateStore,
    publisher: AlertPublisher,
    provider: str,
    account: str,
    claimed: Claimed,
    on_published: Callable[[AlertDocument], None],
) -> int:
    """Publish the claimed documents in order and clear each from the outbox; returns the alerts published.

    On a publish failure, release this one and the rest, and raise.
    """
    published = 0
    for position, (doc_id, entry) in enumerate(claimed):
        document = AlertDocument.model_validate_json(entry.document)
        try:
            publisher.publish(document)
        except PublishError:
            release(store, provider, account, [unpublished for unpublished, _ in claimed[position:]])
            raise
        store.mark_published(provider, account, doc_id)
        published += len(document.alerts)
        on_published(document)
    return published
