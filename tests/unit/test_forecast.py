"""The forecast core: one table row per rule of the contract's "Forecasts" section, plus the real estimator.

Rows drive ``step`` with a scripted rate (check index -> units per hour) so that each rule is tested
exactly; the evidence rule and the reset rules run before the estimator is asked, so they are real.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from shared.forecast import (
    ClearedBecause,
    ForecastDecision,
    ForecastKind,
    ForecastSettings,
    ForecastState,
    resolve_hours,
    robust_rate,
    step,
)
from shared.history import History, to_minute
from shared.models import Level

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
EVERY = timedelta(minutes=5)
WARM_UP = 24  # checks 0..23 span 1 h 55 min: not yet evidence; check 24 is the first with a rate
LIMIT = 1000.0
DEFAULT = ForecastSettings(warning_hours=168, critical_hours=24)
OK, W, C, X = Level.OK, Level.WARNING, Level.CRITICAL, Level.EXHAUSTED
F, CLR = ForecastKind.FORECAST, ForecastKind.FORECAST_CLEARED
# With used 500 of 1000: rate 5/h runs out in 100 h (warning), 25/h in 20 h (critical), 1/h in 500 h (ok),
# 2.5/h in 200 h (above 168 but within 1.25 x 168 = 210: warning held), 2/h in 250 h (warning left),
# 18/h in 27.8 h (critical held: 1.25 x 24 = 30), 15/h in 33 h (critical left, warning held).


@dataclass(frozen=True)
class Sample:
    used: float
    limit: float | None = LIMIT
    period: str | None = None
    resets_at: datetime | None = None


@dataclass
class Row:
    rates: list[float | None]  # per check after the warm-up; None: flat or falling
    expected: list[tuple[int, ForecastKind, Level, Level]]  # (check after warm-up, kind, level, previous)
    thresholds: list[Level] = field(default_factory=list)  # per check after the warm-up; ok if missing
    used: dict[int, float] = field(default_factory=dict)  # per check after the warm-up; 500 if missing
    resets_at: dict[int, datetime | None] = field(default_factory=dict)  # from this check on
    settings: ForecastSettings = DEFAULT
    period: str | None = None
    seen_reset: datetime | None = None
    limit: dict[int, float | None] = field(default_factory=dict)  # from this check on
    because: dict[int, ClearedBecause] = field(default_factory=dict)


def at(check: int) -> datetime:
    return T0 + EVERY * (WARM_UP + check)


def scripted(rates: list[float | None]):  # type: ignore[no-untyped-def]
    def estimate(history: History, now_minute: int) -> float | None:
        check = (now_minute - to_minute(T0)) // 5 - WARM_UP
        assert check >= 0, "the estimator was asked before the segment held enough evidence"
        return rates[check] if check < len(rates) else None

    return estimate


def play(row: Row) -> list[tuple[int, ForecastDecision]]:
    state = ForecastState(history=History(last_reset=to_minute(row.seen_reset))) if row.seen_reset else None
    decisions = []
    resets_at: datetime | None = None
    limit: float | None = LIMIT
    for check in range(-WARM_UP, len(row.rates)):
        resets_at = row.resets_at.get(check, resets_at)
        limit = row.limit.get(check, limit)
        threshold = row.thresholds[check] if 0 <= check < len(row.thresholds) else OK
        sample = Sample(row.used.get(check, 500.0), limit, row.period, resets_at)
        state, decision = step(state, sample, threshold, row.settings, at(check), scripted(row.rates))
        if decision is not None:
            decisions.append((check, decision))
    return decisions


ROWS = {
    "warning: within FORECAST_WARNING_HOURS on 2 checks": Row([5, 5], [(1, F, W, OK)]),
    "critical: within FORECAST_CRITICAL_HOURS on 2 checks": Row([25, 25], [(1, F, C, OK)]),
    "rising needs 2 consecutive checks": Row([5, 1, 5, 1, 25, 1], []),
    "2 checks at different levels reach the lower": Row([25, 5, 25, 25], [(1, F, W, OK), (3, F, C, W)]),
    "no renotify while the level holds": Row([5] * 30, [(1, F, W, OK)]),
    "hysteresis: warning held within 1.25x its hours": Row([5, 5, 2.5, 2.5, 2.5], [(1, F, W, OK)]),
    "hysteresis: warning left above 1.25x, cleared": Row(
        [5, 5, 2], [(1, F, W, OK), (2, CLR, OK, W)], because={2: ClearedBecause.USAGE_SLOWED}
    ),
    "hysteresis: critical held within 1.25x its hours": Row([25, 25, 18, 18], [(1, F, C, OK)]),
    "critical to warning is silent; cleared names the highest published": Row(
        [25, 25, 15, 15, 2], [(1, F, C, OK), (4, CLR, OK, C)]
    ),
    "flat or falling: no forecast, the level is left": Row([5, 5, None], [(1, F, W, OK), (2, CLR, OK, W)]),
    "suppressed while the threshold level is warning": Row([5, 5, 5], [], thresholds=[W, W, W]),
    "suppressed forecast published once the threshold level drops": Row(
        [5, 5, 5, 5], [(3, F, W, OK)], thresholds=[W, W, W, OK]
    ),
    "suppressed while the threshold level is critical": Row([25, 25, 25], [(2, F, C, OK)], thresholds=[C, C, W]),
    "threshold warning does not suppress a critical forecast": Row([25, 25], [(1, F, C, OK)], thresholds=[W, W]),
    "exhausted holds at ok and publishes nothing": Row(
        [25, 25, 25], [], thresholds=[X, X, X], used={0: 1000, 1: 1000, 2: 1000}
    ),
    "exhausted after a forecast: no cleared": Row(
        [25, 25, 25, 25], [(1, F, C, OK)], thresholds=[OK, OK, X, X], used={2: 1000, 3: 1000}
    ),
    "cleared only after a published forecast": Row([5, 5, 2, 5, 5, 2], [], thresholds=[W] * 6),
    "warning hours 0: warning off, no fallback": Row([5, 5, 25, 25], [(3, F, C, OK)], settings=ForecastSettings(0, 24)),
    "critical hours 0: critical off": Row([25, 25, 25], [(1, F, W, OK)], settings=ForecastSettings(168, 0)),
    "both 0: forecasts off": Row([25, 25, 25], [], settings=ForecastSettings(0, 0)),
    "a dated reset before runs_out_at blocks rising": Row(
        [5, 5, 5], [], resets_at={-WARM_UP: at(0) + timedelta(hours=50)}
    ),
    "a dated reset after runs_out_at does not block": Row(
        [5, 5], [(1, F, W, OK)], resets_at={-WARM_UP: at(0) + timedelta(hours=200)}
    ),
    "a reset before runs_out_at does not make a reached level leave": Row(
        [5, 5, 5, 5], [(1, F, W, OK)], resets_at={-WARM_UP: at(0) + timedelta(days=20), 2: at(0) + timedelta(hours=50)}
    ),
    "an estimated reset (seen reset + period) blocks rising": Row(
        [5, 5, 5], [], period="daily", seen_reset=T0 - timedelta(hours=1)
    ),
    "unknown reset (none seen yet) does not block": Row([5, 5], [(1, F, W, OK)], period="daily"),
    "reset by used falling below half: cleared, quota reset": Row(
        [5, 5, 5, 5], [(1, F, W, OK), (2, CLR, OK, W)], used={2: 240, 3: 245}, because={2: ClearedBecause.QUOTA_RESET}
    ),
    "used falling to just half is no reset": Row([5, 5, 5], [(1, F, W, OK)], used={2: 250}),
    "reset by resets_at moving forward: cleared, quota reset": Row(
        [5, 5, 5],
        [(1, F, W, OK), (2, CLR, OK, W)],
        resets_at={-WARM_UP: at(0) + timedelta(days=20), 2: at(0) + timedelta(days=50)},
        because={2: ClearedBecause.QUOTA_RESET},
    ),
    "unlimited: no forecast": Row([25, 25, 25], [], limit={-WARM_UP: None}),
    "becoming unlimited clears a published forecast": Row(
        [25, 25, 25], [(1, F, C, OK), (2, CLR, OK, C)], limit={2: None}, because={2: ClearedBecause.NO_LIMIT}
    ),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_contract_rule(row: Row) -> None:
    decisions = play(row)
    assert [(check, d.kind, d.level, d.previous_level) for check, d in decisions] == row.expected
    for check, decision in decisions:
        assert decision.cleared_because == row.because.get(check, decision.cleared_because)
        if decision.kind is F:
            assert decision.projection is not None
            projection = decision.projection
            assert projection.hours_left == pytest.approx((LIMIT - 500) / projection.rate_per_hour)
            assert projection.runs_out_at == at(check) + timedelta(hours=projection.hours_left)
        else:
            assert decision.cleared_because is not None


def test_minimum_evidence_is_six_samples_over_two_hours() -> None:
    def first_forecast(every: timedelta, checks: int) -> int | None:
        state = None
        for index in range(checks):
            state, decision = step(
                state, Sample(100 + 24 * index * every / timedelta(hours=1)), OK, DEFAULT, T0 + every * index
            )
            if decision is not None:
                return index
        return None

    # Every 5 minutes: check 24 is the first at 2 hours, so check 25 confirms.
    assert first_forecast(EVERY, 25) is None
    assert first_forecast(EVERY, 26) == 25
    # Every 30 minutes: 5 samples span 2 hours, the 6th gives evidence, the 7th confirms.
    assert first_forecast(timedelta(minutes=30), 6) is None
    assert first_forecast(timedelta(minutes=30), 7) == 6


def test_forecast_carries_the_reset_and_whether_it_is_estimated() -> None:
    seen = datetime(2026, 10, 31, 9, 0, tzinfo=UTC)
    decisions = play(Row([5, 5], [(1, F, W, OK)], period="monthly", seen_reset=seen))
    decision = decisions[0][1]
    assert decision.resets_at == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # Oct 31 + a month: Nov 30
    assert decision.resets_at_estimated is True
    dated = at(0) + timedelta(days=20)
    decision = play(Row([5, 5], [(1, F, W, OK)], resets_at={-WARM_UP: dated}))[0][1]
    assert (decision.resets_at, decision.resets_at_estimated) == (dated.replace(second=0, microsecond=0), False)
    decision = play(Row([5, 5], [(1, F, W, OK)]))[0][1]
    assert (decision.resets_at, decision.resets_at_estimated) == (None, False)


def test_robust_rate_on_a_steady_burn_and_one_outlier() -> None:
    state = None
    for index in range(30 * 12):  # 30 hours every 5 minutes, 10 units an hour, one wild spike
        used = 100 + 10 * index / 12 + (300 if index == 200 else 0)
        state, _ = step(state, Sample(used), OK, DEFAULT, T0 + EVERY * index)
    assert state is not None
    rate = robust_rate(state.history, to_minute(T0 + EVERY * (30 * 12 - 1)))
    assert rate == pytest.approx(10, rel=0.05)


def test_state_round_trips_through_bytes() -> None:
    state = None
    for index in range(40):
        state, _ = step(state, Sample(100 + 2 * index), OK, DEFAULT, T0 + EVERY * index)
    assert state is not None and state.level is W
    assert ForecastState.decode(state.encode()) == state


def test_resolve_hours_keeps_zero_as_a_setting() -> None:
    assert resolve_hours(0, 24, 168) == 0
    assert resolve_hours(None, 0, 168) == 0
    assert resolve_hours(None, None, 168) == 168
    with pytest.raises(ValueError, match="no forecast hours"):
        resolve_hours(None, None)
