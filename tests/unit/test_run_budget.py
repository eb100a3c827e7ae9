"""The run's budget, concurrency and order: it follows the function's remaining time, records the accounts it
could not check, rotates so that no account is always last, and reads its accounts from an SSM path."""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from botocore.stub import Stubber

from shared import notify, runner, state_store
from shared.config import ConfigError, load_provider_settings
from shared.in_memory import MemoryPublisher, MemoryStateStore
from shared.models import FailureReason, QuotaMetric
from shared.run_order import rotated
from shared.runner import Dependencies, run_provider
from shared.secrets import load_accounts_parameter
from tests.conftest import FakeLambdaContext

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def environ(count: int, **extra: str) -> dict[str, str]:
    accounts = [{"name": f"a{index:03d}", "api_key": {"env": "K"}} for index in range(count)]
    return {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "a", "ACCOUNTS": json.dumps(accounts), "K": "v", **extra}


def metric() -> QuotaMetric:
    return QuotaMetric(metric_id="CALLS", name="Calls", used=1, limit=100)


class VirtualClock:
    """A monotonic clock that only the fake provider advances."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@pytest.fixture
def _region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    state_store.default_client.cache_clear()


@pytest.mark.usefixtures("_region")
def test_the_reserve_is_derived_from_the_clients_timeouts_and_retries() -> None:
    dynamodb = state_store.call_seconds_bound(
        state_store.CONNECT_TIMEOUT_SECONDS, state_store.READ_TIMEOUT_SECONDS, state_store.MAX_ATTEMPTS
    )
    # 3 attempts of (1 s connect + 2 s read), and the standard mode's backoff of at most 1 s then 2 s.
    assert dynamodb == state_store.CALL_SECONDS_BOUND == 3 * (1 + 2) + 1 + 2
    assert 3 * dynamodb + notify.call_seconds_bound() == runner.RESERVE_SECONDS
    config = state_store.default_client().meta.config
    assert (config.connect_timeout, config.read_timeout) == (1.0, 2.0)
    assert config.retries == {"total_max_attempts": 3, "mode": "standard"}  # the first attempt included


@pytest.mark.parametrize("remaining_seconds", [60, 120, 900])
def test_the_provider_budget_follows_the_functions_remaining_time(
    monkeypatch: pytest.MonkeyPatch, remaining_seconds: int
) -> None:
    deadlines: list[float] = []

    def fake_check(adapter: Any, base_url: str, key: Any, deadline: float, client: Any) -> list[QuotaMetric]:
        deadlines.append(deadline)
        return [metric()]

    monkeypatch.setattr("shared.runner.check", fake_check)
    deps = Dependencies(store=MemoryStateStore(), publisher=MemoryPublisher(), monotonic=lambda: 1000.0)
    context = FakeLambdaContext(remaining_ms=remaining_seconds * 1000)
    run_provider("flashback", {}, context, dependencies=deps, environ=environ(1))
    assert deadlines == [1000.0 + remaining_seconds - runner.RESERVE_SECONDS]


def test_accounts_not_checked_in_time_are_recorded_as_failures_within_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = VirtualClock()
    checked: list[str] = []

    def slow_check(adapter: Any, base_url: str, key: Any, deadline: float, client: Any) -> list[QuotaMetric]:
        checked.append(base_url)
        clock.advance(10)  # each provider call takes 10 s
        return [metric()]

    monkeypatch.setattr("shared.runner.check", slow_check)
    store = MemoryStateStore()
    deps = Dependencies(store=store, publisher=MemoryPublisher(), monotonic=clock, clock=lambda: NOW)
    # 25 s for the provider calls, one at a time: calls start at 0, 10 and 20 s; the other three miss out.
    context = FakeLambdaContext(remaining_ms=int((runner.RESERVE_SECONDS + 25) * 1000))
    env = environ(6, MAX_CONCURRENCY="1")
    summary = run_provider("flashback", {}, context, dependencies=deps, environ=env)
    results = summary["accounts"]
    assert len(checked) == 3
    assert sum(result["ok"] for result in results) == 3
    missed = [result for result in results if not result["ok"]]
    assert [result["error"] for result in missed] == ["unavailable: not checked: the run ran out of time"] * 3
    for result in missed:
        failure = store.state("flashback", result["account"]).failure
        assert failure is not None
        assert (failure.reason, failure.transient_consecutive) == (FailureReason.UNAVAILABLE, 1)


def test_max_concurrency_bounds_the_accounts_checked_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    running, peak = 0, 0

    def counting_check(*_: Any) -> list[QuotaMetric]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        with contextlib.suppress(threading.BrokenBarrierError):
            gate.wait()  # three at once are possible only if three workers exist
        with lock:
            running -= 1
        return [metric()]

    monkeypatch.setattr("shared.runner.check", counting_check)
    gate = threading.Barrier(3, timeout=0.3)
    deps = Dependencies(store=MemoryStateStore(), publisher=MemoryPublisher())
    run_provider("flashback", {}, FakeLambdaContext(), dependencies=deps, environ=environ(6, MAX_CONCURRENCY="2"))
    assert peak == 2


@pytest.mark.usefixtures("_region")
def test_max_concurrency_defaults_to_16_sizes_the_dynamodb_pool_and_is_validated() -> None:
    assert load_provider_settings(environ(1)).max_concurrency == 16
    assert load_provider_settings(environ(1, MAX_CONCURRENCY="4")).max_concurrency == 4
    with pytest.raises(ConfigError, match=r"^MAX_CONCURRENCY: "):
        load_provider_settings(environ(1, MAX_CONCURRENCY="0"))
    assert state_store.DynamoStateStore("t", pool_size=7).client.meta.config.max_pool_connections == 7


def test_the_order_rotates_with_the_check_time_and_keeps_the_summary_in_configured_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []

    def recording_check(adapter: Any, base_url: str, key: Any, deadline: float, client: Any) -> list[QuotaMetric]:
        order.append(base_url)
        return [metric()]

    monkeypatch.setattr("shared.runner.check", recording_check)
    accounts = [{"name": f"a{i}", "base_url": f"https://a{i}.example", "api_key": {"env": "K"}} for i in range(5)]
    env = {**environ(0), "ACCOUNTS": json.dumps(accounts)}
    store = MemoryStateStore()
    firsts = []
    for minute in range(4):
        order.clear()
        deps = Dependencies(store=store, publisher=MemoryPublisher(), clock=lambda m=minute: NOW + timedelta(minutes=m))
        summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=deps, environ=env)
        assert [result["account"] for result in summary["accounts"]] == [f"a{i}" for i in range(5)]
        assert sorted(order) == [f"https://a{i}.example" for i in range(5)]
        firsts.append(order[0])
    assert len(set(firsts)) > 1


@pytest.mark.parametrize("interval_minutes", [1, 5, 15])
def test_when_half_fits_every_account_is_checked_within_two_consecutive_runs_of_the_hour(
    interval_minutes: int,
) -> None:
    plans: list[Any] = list(range(80))
    hour = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    runs = [hour + timedelta(minutes=minute) for minute in range(0, 60, interval_minutes)]
    for first, second in itertools.pairwise(runs):
        assert set(rotated(plans, first)[:40]) | set(rotated(plans, second)[:40]) == set(plans)


@pytest.mark.parametrize(("interval_minutes", "within_runs"), [(1, 3), (5, 3), (15, 3), (10, 13), (30, 5), (60, 3)])
def test_on_any_schedule_no_account_misses_out_for_long(interval_minutes: int, within_runs: int) -> None:
    plans: list[Any] = list(range(80))
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    for first_run in range(0, 200, 7):
        seen: set[int] = set()
        for run_index in range(first_run, first_run + within_runs):
            seen |= set(rotated(plans, start + timedelta(minutes=run_index * interval_minutes))[:40])
        assert seen == set(plans)


def test_accounts_parameter_may_be_a_path_read_by_path_recursively_and_decrypted() -> None:
    client: Any = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    one = {"name": "one", "api_key": {"ssm": "/quota-sentinel/flashback/one"}}
    more = [{"name": f"more{i}", "api_key": {"env": "K"}} for i in range(2)]
    stubber.add_response(
        "get_parameters_by_path",
        {
            "Parameters": [
                {"Name": "/quota-sentinel/flashback/accounts/b", "Value": json.dumps(more), "Type": "String"},
                {"Name": "/quota-sentinel/flashback/accounts/a", "Value": json.dumps(one), "Type": "SecureString"},
            ]
        },
        {"Path": "/quota-sentinel/flashback/accounts", "Recursive": True, "WithDecryption": True},
    )
    DEFAULT_PROVIDERS["ssm"] = parameters.SSMProvider(boto3_client=client)
    with stubber:
        accounts = load_accounts_parameter("/quota-sentinel/flashback/accounts/", "flashback")
        again = load_accounts_parameter("/quota-sentinel/flashback/accounts/", "flashback")  # cached: no call
    assert [account.name for account in accounts] == ["one", "more0", "more1"]
    assert again == accounts


def test_a_bad_entry_under_the_accounts_path_names_the_field_and_not_an_outside_path() -> None:
    client: Any = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    stubber.add_response(
        "get_parameters_by_path",
        {"Parameters": [{"Name": "/team/x/a", "Value": json.dumps({"name": "a", "api_key": {"env": "k"}})}]},
    )
    DEFAULT_PROVIDERS["ssm"] = parameters.SSMProvider(boto3_client=client)
    with stubber, pytest.raises(ConfigError) as caught:
        load_accounts_parameter("/team/x/", "flashback")
    assert str(caught.value).startswith("ACCOUNTS_PARAMETER[0].api_key.env: must be an environment variable name")


@pytest.mark.parametrize("value", ["sk_live_4eC39HqLyjWDarjtT1zdp7dc", "accounts", "quota-sentinel/flashback/"])
def test_accounts_parameter_must_be_a_parameter_name_path_or_arn_and_is_never_echoed(value: str) -> None:
    env = {**environ(0), "ACCOUNTS_PARAMETER": value}
    del env["ACCOUNTS"]
    with pytest.raises(ConfigError) as caught:
        load_provider_settings(env)
    assert str(caught.value) == (
        "ACCOUNTS_PARAMETER: must be an SSM parameter name starting with /, a path ending in /, or an ARN"
    )
