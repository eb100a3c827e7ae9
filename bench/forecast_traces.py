"""Seeded usage traces for the forecast-quality bench: one generator per class, fixed and printed parameters.

Each trace is the used value a provider would report at every 5-minute check, with its limit, its period, the
provider's ``resets_at`` where it dates its resets, and whether the quota truly runs out before it resets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.history import add_periods

CHECK = timedelta(minutes=5)
STEP_HOURS = CHECK.total_seconds() / 3600
BASE_TIME = datetime(2026, 3, 2, tzinfo=UTC)
TRACE_PARAMETERS = {
    "check_minutes": 5,
    "start_usage_percent": [5, 50],
    "noise_percent_of_limit": 1.0,
    "limit": "10 ** U(2, 9)",
    "reset": "monthly period, last reset U(0, 28) days before the start; resets class daily; gauges no period",
    "dated": "every other trace with a period has resets_at; the others are undated (one reset seen before)",
    "classes": {
        "steady": "constant burn running out in U(1, 14) days",
        "bursty": "bursts every U(0.5, 6) h on average, exponential sizes, running out in U(1, 14) days",
        "seasonal": "burn only 09-17 UTC, running out in U(2, 40) days; at most 7 days",
        "flat": "no burn, 3 days",
        "step": "a step of U(10, 40) % after U(3, 48) h, then flat; 3 days",
        "resets": "daily period, burning U(30, 140) % of the limit a day; 3 days",
        "gauge": "sine of U(5, 20) % amplitude and U(2, 24) h period around the start; no period; 3 days",
    },
}


@dataclass
class Trace:
    kind: str
    limit: float
    period: str | None
    start: datetime
    used: list[float]
    resets_at: list[datetime | None]
    reset_times: list[datetime]  # actual resets during the trace
    seen_reset: datetime | None  # a reset observed before the trace (undated traces with a period)
    dated: bool
    runs_out_before_reset: bool | None  # None: neither within the trace (truncated)


Burn = Callable[[datetime, float], float]  # (check time, true used) -> increment of true used this check


def _play(
    rng: random.Random,
    kind: str,
    index: int,
    burn: Burn,
    *,
    start_used: float,
    limit: float,
    period: str | None,
    start: datetime,
    last_reset: datetime | None,
    max_hours: float,
    after_event_hours: float = 1.0,
    stop_at_event: bool = True,
) -> Trace:
    dated = period is not None and index % 2 == 0
    next_reset = add_periods(last_reset, period, 1) if last_reset is not None and period else None
    used_true, used, resets_at, reset_times = start_used, [], [], []
    exhausted = reset_first = False
    end = start + timedelta(hours=max_hours)
    now = start
    while now < end:
        if next_reset is not None and now >= next_reset:
            reset_times.append(next_reset)
            reset_first = reset_first or not exhausted
            used_true = 0.0
            next_reset = add_periods(next_reset, period or "", 1)
            if stop_at_event:
                end = min(end, now + timedelta(hours=after_event_hours))
        observed = min(limit, max(0.0, used_true + rng.uniform(-0.01, 0.01) * limit))
        if observed >= limit and not exhausted:
            exhausted = True
            if stop_at_event:
                end = min(end, now + timedelta(hours=after_event_hours))
        used.append(observed)
        resets_at.append(next_reset if dated else None)
        now += CHECK
        used_true = min(limit, used_true + burn(now, used_true))
    if exhausted and not reset_first:
        runs_out: bool | None = True
    elif reset_first:
        runs_out = False
    else:
        runs_out = None
    return Trace(
        kind, limit, period, start, used, resets_at, reset_times, None if dated else last_reset, dated, runs_out
    )


def _common(rng: random.Random) -> tuple[float, float, datetime, datetime]:
    limit = 10 ** rng.uniform(2, 9)
    start_used = rng.uniform(0.05, 0.5) * limit
    start = BASE_TIME + timedelta(minutes=5 * rng.randrange(7 * 288))
    last_reset = start - timedelta(days=rng.uniform(0, 28))
    return limit, start_used, start, last_reset


def make_trace(kind: str, index: int, seed: int) -> Trace:
    rng = random.Random(f"{seed}/{kind}/{index}")  # noqa: S311 (a seeded simulation)
    limit, start_used, start, last_reset = _common(rng)
    monthly = {"limit": limit, "period": "monthly", "start": start, "last_reset": last_reset}
    if kind in ("steady", "bursty"):
        days = rng.uniform(1, 14)
        rate = (limit - start_used) / (days * 24)  # per hour
        if kind == "steady":
            return _play(
                rng,
                kind,
                index,
                lambda now, used: rate * STEP_HOURS,
                start_used=start_used,
                max_hours=days * 24 + 24,
                **monthly,
            )
        every = rng.uniform(0.5, 6)
        chance = STEP_HOURS / every
        return _play(
            rng,
            kind,
            index,
            lambda now, used: rng.expovariate(1 / (rate * every)) if rng.random() < chance else 0.0,
            start_used=start_used,
            max_hours=days * 24 * 1.5 + 24,
            **monthly,
        )
    if kind == "seasonal":
        days = rng.uniform(2, 40)
        work_rate = (limit - start_used) / (days * 8)  # per working hour
        return _play(
            rng,
            kind,
            index,
            lambda now, used: work_rate * STEP_HOURS if 9 <= now.hour < 17 else 0.0,
            start_used=start_used,
            max_hours=min(days * 24 + 24, 168),
            **monthly,
        )
    if kind == "flat":
        return _play(rng, kind, index, lambda now, used: 0.0, start_used=start_used, max_hours=72, **monthly)
    if kind == "step":
        step_at = start + timedelta(hours=rng.uniform(3, 48))
        size = min(rng.uniform(0.10, 0.40) * limit, 0.9 * limit - start_used)
        return _play(
            rng,
            kind,
            index,
            lambda now, used: size if step_at <= now < step_at + CHECK else 0.0,
            start_used=start_used,
            max_hours=72,
            **monthly,
        )
    if kind == "resets":
        daily = rng.uniform(max(0.30, start_used / limit + 0.05), 1.40) * limit
        midnight = start.replace(hour=0, minute=0)
        day_start = midnight + timedelta(hours=24 * start_used / daily)
        return _play(
            rng,
            kind,
            index,
            lambda now, used: daily / 24 * STEP_HOURS,
            start_used=start_used,
            limit=limit,
            period="daily",
            start=day_start,
            last_reset=midnight,
            max_hours=72,
            stop_at_event=False,
        )
    if kind == "gauge":
        amplitude = rng.uniform(0.05, 0.20) * limit
        hours = rng.uniform(2, 24)
        phase = rng.uniform(0, 2 * math.pi)
        centre = max(start_used, amplitude)

        def wave(now: datetime, used: float) -> float:
            elapsed = (now - start).total_seconds() / 3600
            return centre + amplitude * math.sin(2 * math.pi * elapsed / hours + phase) - used

        return _play(
            rng,
            kind,
            index,
            wave,
            start_used=centre + amplitude * math.sin(phase),
            limit=limit,
            period=None,
            start=start,
            last_reset=None,
            max_hours=72,
        )
    raise ValueError(f"unknown trace class {kind!r}")


CLASSES = tuple(TRACE_PARAMETERS["classes"])  # type: ignore[arg-type]
