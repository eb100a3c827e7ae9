"""Forecasts: when will a metric run out, and which forecast alert is due. Pure: no clock, no I/O, no words.

One call per metric per successful check::

    state, decision = step(state, sample, threshold_level, settings, now)

``state`` (a ``ForecastState``, ``None`` the first time) is what the account's state item keeps for the metric,
as ``state.encode()`` bytes. ``decision`` is ``None`` or the facts of one ``forecast`` / ``forecast_cleared``
alert; its id (``<metric>#forecast``) and its words belong to the caller.

Every rule of the contract's "Forecasts" section is here: minimum evidence, segments and resets, the robust
rate, ``hours_left``/``runs_out_at``, the forecast level (2-check rise, reset bound, 1.25x hysteresis,
exhausted hold, 0 = off) and the publish rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from shared.history import History, HistoryFormatError, next_reset, to_minute
from shared.models import Level

MIN_SAMPLES = 6
MIN_SPAN_MINUTES = 120
MIN_HOURLY_POINTS = 12  # below this many hourly points, one outlier can swing them: use the raw samples
HOURLY_WINDOW = 30  # hourly points the estimate looks at: the last day and a bit, so working hours average out
SLOPE_QUANTILE = 0.3  # a low quantile of the pairwise slopes (Theil–Sen takes 0.5): a step or a half wave is no trend
RAW_SLOPE_QUANTILE = 0.2  # before 12 hourly points: more cautious still (measured: steps 12.7 % -> ~1 %)
LEAVE_FACTOR = 1.25
STATE_VERSION = 1

_FORECAST_LEVELS = (Level.CRITICAL, Level.WARNING)  # highest first
_RANK = {level: level.rank for level in Level}


class ForecastKind(StrEnum):
    FORECAST = "forecast"
    FORECAST_CLEARED = "forecast_cleared"


class ClearedBecause(StrEnum):
    USAGE_SLOWED = "usage_slowed"
    QUOTA_RESET = "quota_reset"
    NO_LIMIT = "no_limit"  # the metric became unlimited


class Sample(Protocol):
    """What a check reports of a metric; ``shared.models.QuotaMetric`` is one."""

    @property
    def used(self) -> float: ...
    @property
    def limit(self) -> float | None: ...
    @property
    def period(self) -> str | None: ...
    @property
    def resets_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class ForecastSettings:
    """Hours for each forecast level; 0 turns that level off."""

    warning_hours: float
    critical_hours: float

    def hours(self, level: Level) -> float:
        return self.critical_hours if level is Level.CRITICAL else self.warning_hours if level is Level.WARNING else 0


def resolve_hours(*layers: float | None) -> float:
    """The most specific hours that are set (metric, account, default): 0 is a setting, not a gap."""
    for hours in layers:
        if hours is not None:
            return hours
    raise ValueError("no forecast hours set at any level (the default must be set)")


@dataclass(frozen=True)
class Projection:
    """The facts behind a forecast at one check."""

    rate_per_hour: float
    hours_left: float
    runs_out_at: datetime
    samples: int
    resets_at: datetime | None
    resets_at_estimated: bool

    @property
    def resets_first(self) -> bool:
        return self.resets_at is not None and self.resets_at < self.runs_out_at


@dataclass(frozen=True)
class ForecastDecision:
    """One forecast alert's facts. ``projection`` is None for a ``forecast_cleared`` with no rate left."""

    kind: ForecastKind
    level: Level
    previous_level: Level
    projection: Projection | None
    resets_at: datetime | None
    resets_at_estimated: bool
    cleared_because: ClearedBecause | None = None


@dataclass(frozen=True)
class ForecastState:
    """What a metric's forecast remembers between checks."""

    history: History = field(default_factory=History)
    level: Level = Level.OK  # the forecast level reached
    pending: Level = Level.OK  # the level the previous check qualified for (the first of 2 checks to rise)
    published: Level = Level.OK  # the highest level published since the last forecast_cleared

    def encode(self) -> bytes:
        levels = self.level.rank | self.pending.rank << 2 | self.published.rank << 4
        return bytes([STATE_VERSION, levels]) + self.history.encode()

    @classmethod
    def decode(cls, data: bytes) -> ForecastState:
        if len(data) < 2 or data[0] != STATE_VERSION:
            raise HistoryFormatError(f"unknown forecast state version {data[0] if data else None}")
        ranked = {level.rank: level for level in (*_FORECAST_LEVELS, Level.OK)}
        try:
            level, pending, published = (ranked[data[1] >> shift & 3] for shift in (0, 2, 4))
        except KeyError:
            raise HistoryFormatError("forecast state holds an invalid level") from None
        return cls(history=History.decode(data[2:]), level=level, pending=pending, published=published)


Estimator = Callable[[History, int], float | None]
"""A rate estimator: the history (its current segment) and the check minute in, units per hour out."""


def _quantile(values: list[float], share: float) -> float:
    values.sort()
    position = share * (len(values) - 1)
    below = int(position)
    above = min(below + 1, len(values) - 1)
    return values[below] + (values[above] - values[below]) * (position - below)


@functools.lru_cache(maxsize=256)
def _pairwise_slope(points: tuple[tuple[int, int], ...], share: float) -> float:
    """A quantile of the pairwise slopes (the median: Theil–Sen), in value units per minute.

    Cached: the hourly series changes once an hour while checks come every few minutes.
    """
    slopes = [
        (later[1] - earlier[1]) / (later[0] - earlier[0])
        for index, earlier in enumerate(points)
        for later in points[index + 1 :]
        if later[0] != earlier[0]
    ]
    return _quantile(slopes, share) if slopes else 0.0


def pairwise_slope_estimator(
    share: float = SLOPE_QUANTILE,
    window: int = HOURLY_WINDOW,
    min_hourly: int = MIN_HOURLY_POINTS,
    raw_share: float = RAW_SLOPE_QUANTILE,
) -> Estimator:
    """Theil–Sen-style: the ``share`` quantile of pairwise slopes over the last ``window`` hourly points of the
    segment once it holds ``min_hourly`` of them; before that, the ``raw_share`` quantile over all of its samples
    (raw ones included), lower because a few noisy hours are all there is."""

    def estimate(history: History, now_minute: int) -> float | None:
        hourly = history.segment_hourly()
        if len(hourly) >= min_hourly:
            return _pairwise_slope(hourly[-window:], share) * 60 * history.quantum
        return _pairwise_slope(history.segment_points(), raw_share) * 60 * history.quantum

    return estimate


robust_rate = pairwise_slope_estimator()


def least_squares_rate(history: History, now_minute: int) -> float | None:
    """The naive baseline: ordinary least squares over the segment's samples of the last 2 hours."""
    start = max(history.segment_start or now_minute, now_minute - MIN_SPAN_MINUTES)
    points = [point for point in history.points() if point[0] >= start]
    if len(points) < 2:
        return None
    mean_t = sum(p[0] for p in points) / len(points)
    mean_v = sum(p[1] for p in points) / len(points)
    spread = sum((p[0] - mean_t) ** 2 for p in points)
    if not spread:
        return None
    slope = sum((p[0] - mean_t) * (p[1] - mean_v) for p in points) / spread
    return slope * 60 * history.quantum


def has_evidence(history: History, now_minute: int) -> bool:
    """At least MIN_SAMPLES samples spanning at least MIN_SPAN_MINUTES in the current segment."""
    start = history.segment_start
    return start is not None and history.segment_samples >= MIN_SAMPLES and now_minute - start >= MIN_SPAN_MINUTES


def project(
    history: History,
    sample: Sample,
    now: datetime,
    estimator: Estimator = robust_rate,
    reset: tuple[datetime | None, bool] | None = None,
) -> Projection | None:
    """Rate, time left and reset bound at this check; None without enough evidence, a limit, or a rise."""
    if sample.limit is None or sample.used >= sample.limit:
        return None
    now_minute = to_minute(now)
    if not has_evidence(history, now_minute):
        return None
    rate = estimator(history, now_minute)
    if rate is None or rate <= 0:
        return None  # flat or falling
    hours_left = (sample.limit - sample.used) / rate
    resets_at, estimated = reset if reset is not None else next_reset(history, sample.period, sample.resets_at, now)
    runs_out_at = now + timedelta(hours=min(hours_left, 1e6))
    return Projection(rate, hours_left, runs_out_at, history.segment_samples, resets_at, estimated)


def qualifying_level(projection: Projection | None, settings: ForecastSettings) -> Level:
    """The level this check's projection is within (critical first); 0 hours turns a level off."""
    if projection is None:
        return Level.OK
    hours_left = projection.hours_left
    if settings.critical_hours > 0 and hours_left <= settings.critical_hours:
        return Level.CRITICAL
    if settings.warning_hours > 0 and hours_left <= settings.warning_hours:
        return Level.WARNING
    return Level.OK


def held_level(current: Level, projection: Projection | None, settings: ForecastSettings) -> Level:
    """The highest level at or below ``current`` not yet left: a level is left above 1.25x its hours."""
    if projection is None or current is Level.OK:
        return Level.OK
    hours_left = projection.hours_left
    if (
        current is Level.CRITICAL
        and settings.critical_hours > 0
        and hours_left <= LEAVE_FACTOR * settings.critical_hours
    ):
        return Level.CRITICAL
    if settings.warning_hours > 0 and hours_left <= LEAVE_FACTOR * settings.warning_hours:
        return Level.WARNING
    return Level.OK


def next_level(state: ForecastState, projection: Projection | None, settings: ForecastSettings) -> tuple[Level, Level]:
    """(the new forecast level, the new pending level) for a check without a reset."""
    if projection is None:
        return Level.OK, Level.OK
    candidate = Level.OK if projection.resets_first else qualifying_level(projection, settings)
    level_rank = _RANK[state.level]
    if _RANK[candidate] > level_rank:
        if _RANK[state.pending] > level_rank:  # the second qualifying check: the lower of the two
            return min(candidate, state.pending, key=_RANK.__getitem__), candidate
        return state.level, candidate
    return held_level(state.level, projection, settings), candidate


def step(
    state: ForecastState | None,
    sample: Sample,
    threshold_level: Level,
    settings: ForecastSettings,
    now: datetime,
    estimator: Estimator = robust_rate,
) -> tuple[ForecastState, ForecastDecision | None]:
    """One successful check of one metric: its new forecast state and the forecast alert due, if any.

    ``threshold_level`` is the metric's level from the threshold rules at this check.
    """
    before = state or ForecastState()
    history, reset = before.history.add(now, sample.used, sample.limit, sample.resets_at)

    def cleared(because: ClearedBecause, projection: Projection | None) -> ForecastDecision:
        if projection is not None:
            resets_at, estimated = projection.resets_at, projection.resets_at_estimated
        else:
            resets_at, estimated = next_reset(history, sample.period, sample.resets_at, now)
        return ForecastDecision(
            ForecastKind.FORECAST_CLEARED, Level.OK, before.published, projection, resets_at, estimated, because
        )

    published = before.published
    if sample.limit is None:
        after = ForecastState(history=history)
        return after, cleared(ClearedBecause.NO_LIMIT, None) if published is not Level.OK else None
    if threshold_level is Level.EXHAUSTED:
        # Held at ok, and silent: the threshold alert says it all, and the forecast came true.
        return ForecastState(history=history), None
    if reset:
        after = ForecastState(history=history)
        return after, cleared(ClearedBecause.QUOTA_RESET, None) if published is not Level.OK else None

    projection = project(history, sample, now, estimator)
    level, pending = next_level(before, projection, settings)
    if projection is not None and _RANK[level] > _RANK[published] and _RANK[threshold_level] < _RANK[level]:
        decision = ForecastDecision(
            ForecastKind.FORECAST,
            level,
            published,
            projection,
            projection.resets_at,
            projection.resets_at_estimated,
        )
        return ForecastState(history, level, pending, level), decision
    if level is Level.OK and published is not Level.OK:
        return ForecastState(history, level, pending, Level.OK), cleared(ClearedBecause.USAGE_SLOWED, projection)
    return ForecastState(history, level, pending, published), None
