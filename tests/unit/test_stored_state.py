"""The stored state item: its compact form round-trips, older JSON items still read, and a year of 5-minute
checks of 10 metrics keeps the whole item under 4 KB (the contract's bound)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bench.calls import item_size
from shared.config import AccountConfig, Policy
from shared.evaluation import AccountRef, evaluate
from shared.models import AccountState, Level, MetricState, QuotaMetric
from shared.state_codec import StateFormatError, decode_state, encode_state, state_from_attribute
from shared.state_store import AccountRecord, DynamoStateStore

START = datetime(2026, 1, 1, tzinfo=UTC)
REF = AccountRef("flashback", "production-eu-west-1")
POLICY = Policy().for_account(AccountConfig(name="production-eu-west-1", api_key={"env": "KEY"}), "ACCOUNTS[0]")


def _state() -> AccountState:
    return AccountState(
        metrics={
            "egress": MetricState(
                level=Level.WARNING,
                name="Monthly egress",
                used=81.5,
                limit=100,
                percent=81.5,
                unit="GiB",
                period="monthly",
                resets_at=START + timedelta(days=3),
                last_alert_at=START,
                forecast=b"\x01\x05\x00\xff",
            ),
            "seats": MetricState(level=Level.OK, name="Seats", used=3, limit=None, percent=None),
        },
        last_success_at=START,
        checked_at=START,
        run_id="run-1",
    )


def test_the_compact_form_round_trips_forecasts_included() -> None:
    state = _state()
    assert decode_state(encode_state(state)) == state


def test_the_compact_form_is_far_smaller_than_the_json() -> None:
    state = _state()
    assert len(encode_state(state)) < len(state.model_dump_json()) / 2


def test_items_written_as_json_before_still_read() -> None:
    state = _state()
    assert state_from_attribute({"S": state.model_dump_json()}) == state
    assert state_from_attribute({"B": encode_state(state)}) == state


@pytest.mark.parametrize("data", [b"", b"\x09abc", b"\x01\x05ab", b"\x01\x02xx"])
def test_an_unknown_or_broken_state_is_refused_clearly(data: bytes) -> None:
    with pytest.raises(StateFormatError):
        decode_state(data)


class _CapturingClient:
    """Just enough of the DynamoDB client to capture the item that ``save`` writes."""

    def __init__(self) -> None:
        self.item: dict[str, object] = {}

    def put_item(self, **request: object) -> dict[str, object]:
        self.item = request["Item"]  # type: ignore[assignment]
        return {}


def _names(index: int) -> tuple[str, str]:
    return f"metric-{index:02d}-quota-usage"[:20].ljust(20, "x"), f"Metric {index:02d} usage quota"[:20].ljust(20)


def _year_of_checks(days: int) -> tuple[AccountState, int, int]:
    """5-minute checks of 10 metrics (ids and names of 20 characters) through the evaluator; the state at the
    end, the largest stored item seen (measured hourly) and the number of forecast alerts."""
    rng = random.Random(12)
    periods = ["monthly", "daily", None, "monthly", "weekly", "all_time", "monthly", None, "yearly", "daily"]
    limits = [10 ** rng.uniform(2, 12) for _ in periods]
    used = [rng.uniform(0.05, 0.5) * limit for limit in limits]
    client = _CapturingClient()
    store = DynamoStateStore("table", client=client)  # type: ignore[arg-type]
    state: AccountState | None = None
    largest = forecasts = 0
    now = START
    for check in range(days * 288):
        metrics = []
        for index, (limit, period) in enumerate(zip(limits, periods, strict=True)):
            midnight = now.hour == 0 and now.minute == 0
            if midnight and (
                period == "daily"
                or (period == "monthly" and now.day == 1)
                or (period == "weekly" and now.weekday() == 0)
            ):
                used[index] = 0.0
            burn = rng.uniform(0, 0.002) if 8 <= now.hour < 18 else rng.uniform(0, 0.0002)
            used[index] = min(limit, max(0.0, used[index] + (burn + rng.uniform(-0.001, 0.001)) * limit))
            if period in (None, "all_time", "yearly") and used[index] >= 0.97 * limit:
                used[index] *= 0.6
            metric_id, name = _names(index)
            metrics.append(QuotaMetric(metric_id=metric_id, name=name, used=used[index], limit=limit, period=period))
        evaluation = evaluate(metrics, state, POLICY, REF, now)
        forecasts += sum(alert.kind == "forecast" for alert in evaluation.alerts)
        state = evaluation.state.model_copy(update={"run_id": f"{check:08x}-run-id-of-36-characters!!"})
        if check % 12 == 0:
            record = AccountRecord(state, {}, now, now.timestamp() + 30 * 86400)
            store.save(REF.provider, REF.account, check, record)
            largest = max(largest, item_size(client.item))  # type: ignore[arg-type]
        now += timedelta(minutes=5)
    assert state is not None
    return state, largest, forecasts


def test_two_days_of_checks_stores_forecasts_in_a_small_item() -> None:
    state, largest, _ = _year_of_checks(days=2)
    assert all(metric.forecast for metric in state.metrics.values())
    assert largest < 4096


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_a_year_of_five_minute_checks_keeps_the_item_of_10_metrics_under_4_kb() -> None:
    state, largest, forecasts = _year_of_checks(days=365)
    print(f"largest stored item over a year: {largest} bytes; forecast alerts: {forecasts}")
    assert largest < 4096
    assert len(state.metrics) == 10
