"""Properties of the forecast core, and the year-long size check (marked slow: ``make test`` only).

The examples per property come from the active Hypothesis profile (HYPOTHESIS_PROFILE), so the fast tier
stays fast and the ``ci`` profile runs more.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.forecast_quality import simulate_year
from shared.forecast import (
    Estimator,
    ForecastKind,
    ForecastSettings,
    ForecastState,
    least_squares_rate,
    robust_rate,
    step,
)
from shared.history import History, to_minute
from shared.models import Level

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
LIMIT = 1000.0
DEFAULT = ForecastSettings(warning_hours=168, critical_hours=24)
ESTIMATORS = st.sampled_from([robust_rate, least_squares_rate])
IN_CI = os.environ.get("HYPOTHESIS_PROFILE") == "ci"
# The fast tier keeps to a few dozen examples; the ci profile decides its own number.
PROPERTY = settings(deadline=None) if IN_CI else settings(deadline=None, max_examples=40)


class Sample:
    def __init__(self, used: float, limit: float | None = LIMIT, period: str | None = None) -> None:
        self.used, self.limit, self.period, self.resets_at = used, limit, period, None


def play(
    checks: list[tuple[int, float]], estimator: Estimator = robust_rate, settings: ForecastSettings = DEFAULT
) -> tuple[ForecastState | None, list[ForecastKind]]:
    """(minutes after T0, used) per check; the final state and the kinds decided."""
    state, kinds = None, []
    for minute, used in checks:
        state, decision = step(state, Sample(used), Level.OK, settings, T0 + timedelta(minutes=minute), estimator)
        if decision is not None:
            kinds.append(decision.kind)
    return state, kinds


def timeline(gaps: list[int], values: list[float]) -> list[tuple[int, float]]:
    minutes, now = [], 0
    for gap in gaps:
        now += gap
        minutes.append(now)
    return list(zip(minutes, values, strict=False))


@st.composite
def too_little_evidence(draw: st.DrawFn) -> list[tuple[int, float]]:
    """Fewer than 6 samples (any span), or any number spanning less than 2 hours; usage rising fast."""
    if draw(st.booleans()):
        count = draw(st.integers(1, 5))
        gaps = draw(st.lists(st.integers(1, 600), min_size=count, max_size=count))
    else:
        count = draw(st.integers(6, 40))
        gaps = [0, *draw(st.lists(st.integers(1, 119 // (count - 1)), min_size=count - 1, max_size=count - 1))]
    start = draw(st.floats(0, 500))
    steps = draw(st.lists(st.floats(0, 20), min_size=count, max_size=count))
    values = [start + sum(steps[: index + 1]) for index in range(count)]
    return timeline(gaps, values)


@PROPERTY
@given(too_little_evidence(), ESTIMATORS)
def test_never_a_forecast_from_too_little_evidence(checks: list[tuple[int, float]], estimator: Estimator) -> None:
    state, kinds = play(checks, estimator)
    assert kinds == []
    assert state is not None and state.level is Level.OK and state.pending is Level.OK


@PROPERTY
@given(
    st.lists(st.integers(1, 90), min_size=1, max_size=60),
    st.lists(st.integers(1, 90), min_size=6, max_size=60),
    st.floats(1, 50),
    st.floats(0, 5),
    st.data(),
)
def test_never_a_rate_across_a_reset(
    before_gaps: list[int], after_gaps: list[int], steep: float, slow: float, data: st.DataObject
) -> None:
    """After a reset, the estimate is exactly the one a history of the new segment alone would give."""
    before = timeline(before_gaps, [400 + steep * index for index in range(len(before_gaps))])
    reset_at = before[-1][0] + data.draw(st.integers(1, 90))
    after = [
        (reset_at + minute, 10 + slow * index)
        for index, (minute, _) in enumerate(timeline([0, *after_gaps[1:]], after_gaps))
    ]
    assume_reset = after[0][1] < before[-1][1] / 2
    assert assume_reset
    full, fresh = History(), History()
    for minute, used in before:
        full, _ = full.add(T0 + timedelta(minutes=minute), used, LIMIT, None)
    for index, (minute, used) in enumerate(after):
        moment = T0 + timedelta(minutes=minute)
        full, reset = full.add(moment, used, LIMIT, None)
        fresh, _ = fresh.add(moment, used, LIMIT, None)
        assert reset is (index == 0)
        now = to_minute(moment)
        for estimator in (robust_rate, least_squares_rate):
            assert estimator(full, now) == estimator(fresh, now)
        assert full.segment_points() == fresh.segment_points()


@PROPERTY
@given(
    st.lists(st.integers(1, 120), min_size=6, max_size=80),
    st.floats(1, LIMIT * 0.99),
    st.lists(st.floats(0, 50), min_size=80, max_size=80),
    ESTIMATORS,
)
def test_flat_or_falling_never_forecasts(
    gaps: list[int], start: float, drops: list[float], estimator: Estimator
) -> None:
    values, used = [], start
    for drop in drops[: len(gaps)]:
        used = max(0.0, used - drop)
        values.append(used)
    state, kinds = play(timeline(gaps, values), estimator)
    assert ForecastKind.FORECAST not in kinds
    assert state is not None and state.level is Level.OK


SETTINGS = st.one_of(
    st.just(DEFAULT),
    st.builds(
        ForecastSettings, warning_hours=st.sampled_from([0, 48, 168, 500]), critical_hours=st.sampled_from([0, 6, 24])
    ),
)


@PROPERTY
@given(
    st.lists(st.one_of(st.none(), st.floats(0.01, 500)), min_size=1, max_size=30),
    st.lists(st.floats(1, 100), min_size=30, max_size=30),
    SETTINGS,
)
def test_forecast_level_is_monotone_in_the_rate(
    rates: list[float | None], factors: list[float], settings: ForecastSettings
) -> None:
    """A metric burning at least as fast, check by check, is never at a lower forecast level."""
    faster = [None if rate is None else rate * factor for rate, factor in zip(rates, factors, strict=False)]
    faster = [
        rate if rate is not None else (None if factor < 50 else factor)
        for rate, factor in zip(faster, factors, strict=False)
    ]

    def levels(script: list[float | None]) -> list[int]:
        def estimate(history: History, now_minute: int) -> float | None:
            check = (now_minute - to_minute(T0)) // 5 - 24
            return script[check] if 0 <= check < len(script) else None

        state, ranks = None, []
        for check in range(24 + len(script)):
            state, _ = step(state, Sample(500), Level.OK, settings, T0 + timedelta(minutes=5 * check), estimate)
            ranks.append(state.level.rank)
        return ranks

    slow, fast = levels(rates), levels(faster)
    assert all(a <= b for a, b in zip(slow, fast, strict=True))


def test_a_week_of_checks_stays_small() -> None:
    year = simulate_year(seed=12, metrics=2, days=8)
    assert max(year["largest_bytes_per_metric"]) < 150, year


@pytest.mark.slow  # a year of 5-minute checks for 10 metrics: `make test` runs it, `make unit` does not
def test_a_year_of_checks_for_ten_metrics_stays_bounded() -> None:
    year = simulate_year(seed=12)
    assert max(year["largest_bytes_per_metric"]) < 150, year
    assert year["largest_bytes_total"] < 1500, year
