"""The runner on the in-memory state store and publisher: the outbox's promises, with no socket.

The same behaviour is tested against DynamoDB Local and moto in tests/integration/test_flashback_flow.py and
test_ambiguous_write.py; here each race is staged exactly, through the fakes.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from shared.http import HttpResult, ProviderHttpClient
from shared.in_memory import MemoryPublisher, MemoryStateStore
from shared.models import AlertDocument
from shared.notify import PublishError
from shared.outbox import MAX_CONFLICT_RETRIES
from shared.runner import Dependencies, RunFailed, run_provider
from shared.state_store import AccountRecord, StateStoreError, StoredAccount, VersionConflict
from tests.conftest import FakeLambdaContext

START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
KEY = "unit-test-key"
ENVIRON = {
    "STATE_TABLE_NAME": "memory",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:alerts",
    "ACCOUNTS": json.dumps([{"name": "main", "api_key": {"env": "FLASHBACK_KEY"}}]),
    "FLASHBACK_KEY": KEY,
}


class FlashbackAnswers:
    """Flashback's quota endpoint, answering from memory: egress at ``percent`` of its monthly limit."""

    def __init__(self, percent: float) -> None:
        self.percent = percent

    def get(
        self, url: str, headers: Mapping[str, str], params: Mapping[str, str], deadline: float, secrets: list[str]
    ) -> HttpResult:
        assert headers["Authorization"] == f"Bearer {KEY}"
        usage = {"current": int(self.percent * 10), "max": 1000}
        capability = {"code": "EGRESS_MONTHLY_BYTES", "description": "Monthly egress", "periodType": "MONTHLY"}
        body = {"success": True, "quotaUsage": [{"capability": capability, "usage": usage}]}
        return HttpResult(status=200, body=body, text=json.dumps(body), content_type="application/json")


class CountingStore(MemoryStateStore):
    """Counts the calls per method, as the integration test counts DynamoDB calls."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()

    def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
        self.calls["load"] += 1
        return super().load(provider, account, now_epoch)

    def save(self, provider: str, account: str, expected_version: int, record: AccountRecord) -> int:
        self.calls["save"] += 1
        return super().save(provider, account, expected_version, record)

    def mark_published(self, provider: str, account: str, doc_id: str) -> bool:
        self.calls["mark_published"] += 1
        return super().mark_published(provider, account, doc_id)

    def release(self, provider: str, account: str, doc_id: str) -> bool:
        self.calls["release"] += 1
        return super().release(provider, account, doc_id)


class FailingPublisher(MemoryPublisher):
    def publish(self, document: AlertDocument) -> str:
        raise PublishError("could not publish alerts for flashback/main: topic not found")


def run(
    store: MemoryStateStore,
    publisher: MemoryPublisher,
    percent: float,
    at: datetime = START,
) -> dict[str, Any]:
    answers = FlashbackAnswers(percent)
    deps = Dependencies(
        store=store,
        publisher=publisher,
        http_client=lambda: cast(ProviderHttpClient, answers),
        clock=lambda: at,
    )
    return run_provider("flashback", {}, FakeLambdaContext(), dependencies=deps, environ=ENVIRON)


def kinds(publisher: MemoryPublisher) -> list[str]:
    return [alert.kind.value for document in publisher.documents for alert in document.alerts]


def alert_ids(publisher: MemoryPublisher) -> list[str]:
    return [alert.id for document in publisher.documents for alert in document.alerts]


def test_a_crossing_is_recorded_with_its_alert_published_once_and_cleared_at_one_read_and_one_write() -> None:
    store, publisher = CountingStore(), MemoryPublisher()
    run(store, publisher, 50)
    assert store.calls == Counter({"load": 1, "save": 1}) and publisher.documents == []
    store.calls.clear()
    run(store, publisher, 50, START + timedelta(minutes=5))
    assert store.calls == Counter({"load": 1, "save": 1})  # the steady state

    store.calls.clear()
    summary = run(store, publisher, 96, START + timedelta(minutes=10))
    assert summary["accounts"][0]["alerts"] == 1
    assert kinds(publisher) == ["triggered"]
    assert store.calls == Counter({"load": 1, "save": 1, "mark_published": 1})
    assert store.outbox("flashback", "main") == {}

    run(store, publisher, 96, START + timedelta(minutes=15))
    assert kinds(publisher) == ["triggered"]


class BarrierStore(MemoryStateStore):
    """Once armed, holds the next ``parties`` reads until all have read: every run sees the same version."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(parties)
        self.to_hold = 0
        self.counter = threading.Lock()

    def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
        stored = super().load(provider, account, now_epoch)
        with self.counter:
            hold, self.to_hold = self.to_hold > 0, max(0, self.to_hold - 1)
        if hold:
            self.barrier.wait(timeout=10)
        return stored


def test_overlapping_runs_on_one_crossing_claim_and_publish_it_exactly_once() -> None:
    store, publisher = BarrierStore(parties=4), MemoryPublisher()
    run(store, publisher, 50)
    store.to_hold = 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        summaries = list(pool.map(lambda _: run(store, publisher, 96, START + timedelta(minutes=5)), range(4)))
    assert sorted(summary["accounts"][0]["alerts"] for summary in summaries) == [0, 0, 0, 1]
    assert kinds(publisher) == ["triggered"]
    assert store.outbox("flashback", "main") == {}


def test_a_publish_failure_releases_the_claim_and_the_next_run_publishes_the_same_id_once() -> None:
    store = CountingStore()
    run(store, MemoryPublisher(), 50)
    with pytest.raises(RunFailed, match="failed to persist or publish"):
        run(store, FailingPublisher(), 96, START + timedelta(minutes=5))
    assert store.calls["release"] == 1
    [pending] = store.outbox("flashback", "main").values()
    assert pending.lease_until == 0  # released: the next run need not wait for the lease
    wanted = [alert.id for alert in AlertDocument.model_validate_json(pending.document).alerts]

    publisher = MemoryPublisher()
    summary = run(store, publisher, 96, START + timedelta(minutes=6))  # within the failed run's lease
    assert summary["accounts"][0]["alerts"] == 0  # no new transition; the outbox is published
    assert alert_ids(publisher) == wanted
    assert store.outbox("flashback", "main") == {}
    run(store, publisher, 96, START + timedelta(minutes=7))
    assert alert_ids(publisher) == wanted


class OverlappedStore(MemoryStateStore):
    """Before this store's first write, another run checks the same account and records it."""

    def __init__(self) -> None:
        super().__init__()
        self.other_run: Callable[[MemoryStateStore], object] | None = None
        self.loads = 0

    def load(self, provider: str, account: str, now_epoch: float) -> StoredAccount:
        self.loads += 1
        return super().load(provider, account, now_epoch)

    def save(self, provider: str, account: str, expected_version: int, record: AccountRecord) -> int:
        other_run, self.other_run = self.other_run, None
        if other_run is not None:
            other_run(self)
        return super().save(provider, account, expected_version, record)


def test_a_conflict_rereads_and_reevaluates_so_the_other_runs_transition_is_not_alerted_twice() -> None:
    store, publisher = OverlappedStore(), MemoryPublisher()
    run(store, publisher, 50)
    store.other_run, store.loads = lambda s: run(s, publisher, 96, START + timedelta(minutes=5)), 0

    summary = run(store, publisher, 97, START + timedelta(minutes=5))
    assert store.loads == 3  # this run, the other run, this run again after the conflict
    assert summary["accounts"][0] == {"account": "main", "ok": True, "metrics": 1, "alerts": 0, "error": None}
    assert kinds(publisher) == ["triggered"]  # by the other run, once
    assert store.state("flashback", "main").metrics["EGRESS_MONTHLY_BYTES"].used == 970


class AlwaysConflicting(MemoryStateStore):
    def save(self, provider: str, account: str, *args: Any) -> int:
        raise VersionConflict(f"{provider}/{account}")


def test_a_run_gives_up_after_the_conflict_retries_and_fails() -> None:
    with pytest.raises(RunFailed, match=f"gave up after {MAX_CONFLICT_RETRIES} conflicting writes"):
        run(AlwaysConflicting(), MemoryPublisher(), 96)


class AppliedButConflicting(CountingStore):
    """The first write takes effect but is answered as a conflict (a retried request that had succeeded)."""

    def save(self, provider: str, account: str, expected_version: int, record: AccountRecord) -> int:
        version = super().save(provider, account, expected_version, record)
        if self.calls["save"] == 1:
            raise VersionConflict(f"{provider}/{account} changed since version {expected_version}")
        return version


def test_an_own_write_answered_as_a_conflict_is_recognised_and_its_alert_published_once() -> None:
    store, publisher = AppliedButConflicting(), MemoryPublisher()
    summary = run(store, publisher, 96)
    assert summary["accounts"][0]["alerts"] == 1
    assert kinds(publisher) == ["triggered"]
    assert store.calls == Counter({"save": 1, "load": 2, "mark_published": 1})  # no second evaluation or write
    assert store.outbox("flashback", "main") == {}


class CrashBeforeRecord(MemoryStateStore):
    """Publishing succeeds, then recording it fails, as if the function died in between."""

    def mark_published(self, provider: str, account: str, doc_id: str) -> bool:
        raise StateStoreError("simulated crash before recording the publish")


def test_a_crash_before_the_record_republishes_the_same_id_only_after_the_lease() -> None:
    crashing, publisher = CrashBeforeRecord(), MemoryPublisher()
    with pytest.raises(RunFailed, match="simulated crash"):
        run(crashing, publisher, 96)
    [first_id] = alert_ids(publisher)
    store = MemoryStateStore()
    store.items = crashing.items  # the same table, read by runs that do not crash

    run(store, publisher, 96, START + timedelta(seconds=30))  # within the lease: left alone
    assert alert_ids(publisher) == [first_id]
    run(store, publisher, 96, START + timedelta(minutes=5))  # after it: published again, same id
    assert alert_ids(publisher) == [first_id, first_id]
    assert store.outbox("flashback", "main") == {}


def test_the_partition_prefix_keeps_other_kinds_of_checks_apart() -> None:
    providers, custom = MemoryStateStore(), MemoryStateStore(partition_prefix="custom#")
    custom.items = providers.items  # one table
    run(providers, MemoryPublisher(), 50)
    assert custom.load("flashback", "main", START.timestamp()).state is None
    assert custom.list_accounts("flashback", START.timestamp()) == {}
    assert set(providers.list_accounts("flashback", START.timestamp())) == {"main"}
    assert set(providers.items) == {("provider#flashback", "main")}


def test_an_expired_state_is_forgotten_but_its_outbox_kept() -> None:
    store = MemoryStateStore()
    with pytest.raises(RunFailed):
        run(store, FailingPublisher(), 96)
    after_ttl = (START + timedelta(days=31)).timestamp()
    stored = store.load("flashback", "main", after_ttl)
    assert stored.state is None and len(stored.outbox) == 1
    assert store.list_accounts("flashback", after_ttl) == {}


def test_the_dynamodb_store_keys_its_items_with_its_partition_prefix() -> None:
    import boto3
    from botocore.stub import Stubber

    from shared.state_store import DynamoStateStore

    client = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    store = DynamoStateStore("table", client=client, partition_prefix="custom#")
    with Stubber(client) as stubber:
        key = {"pk": {"S": "custom#acme"}, "sk": {"S": "account#main"}}
        stubber.add_response("get_item", {}, {"TableName": "table", "Key": key, "ConsistentRead": True})
        assert store.load("acme", "main", 0).state is None
        stubber.assert_no_pending_responses()
