"""What the CLI shows of a metric's forecast state: when it runs out, and a sparkline of its current segment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.forecast import ForecastState, project
from shared.history import HistoryFormatError
from shared.models import MetricState

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 24


def forecast_state(metric: MetricState) -> ForecastState | None:
    if not metric.forecast:
        return None
    try:
        return ForecastState.decode(metric.forecast)
    except HistoryFormatError:
        return None  # written by another version: show nothing rather than fail the status


def span(hours: float) -> str:
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} d"


def runs_out(metric: MetricState, now: datetime | None) -> str:
    """``2 d (Tue 01 Dec 14:00)`` at the current rate; empty without a forecast (too little evidence, flat,
    unlimited or already exhausted)."""
    state = forecast_state(metric)
    if state is None or now is None:
        return ""
    projection = project(state.history, metric, now)
    if projection is None:
        return ""
    return f"{span(projection.hours_left)} ({projection.runs_out_at.strftime('%a %d %b %H:%M')})"


def sparkline(values: Sequence[float], low: float | None = None, high: float | None = None) -> str:
    """One block character per value, scaled between ``low`` and ``high`` (the values' own range unless given)."""
    if not values:
        return ""
    bottom = min(values) if low is None else low
    top = max(values) if high is None else high
    if top <= bottom:
        return SPARK[0] * len(values)
    scale = len(SPARK) - 1
    return "".join(SPARK[max(0, min(scale, round((value - bottom) / (top - bottom) * scale)))] for value in values)


def segment_sparkline(metric: MetricState, width: int = SPARK_WIDTH) -> str:
    """The current segment's kept points (the latest ``width``), from 0 to the limit when there is one."""
    state = forecast_state(metric)
    if state is None:
        return ""
    values = [used for _, used in state.history.segment_samples_at()][-width:]
    return sparkline(values, 0.0 if metric.limit else None, metric.limit or None)
