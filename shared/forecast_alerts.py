"""The evaluator's forecast part: one ``shared.forecast.step`` per metric per successful check, and the
``forecast`` / ``forecast_cleared`` alert it calls for, as facts (``shared.wording`` words them). Pure, like
the evaluator: ``now`` is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.forecast import ForecastDecision, ForecastKind, ForecastSettings, ForecastState, step
from shared.history import HistoryFormatError
from shared.models import Alert, AlertKind, Forecast, Level, QuotaMetric

_KINDS = {ForecastKind.FORECAST: AlertKind.FORECAST, ForecastKind.FORECAST_CLEARED: AlertKind.FORECAST_CLEARED}


@dataclass(frozen=True)
class ForecastOutcome:
    state: bytes  # what the metric's state keeps (``MetricState.forecast``)
    alert: Alert | None


def _decoded(stored: bytes | None) -> ForecastState | None:
    if not stored:
        return None
    try:
        return ForecastState.decode(stored)
    except HistoryFormatError:
        return None  # an unreadable or older format: start the history afresh rather than fail the check


def _forecast_object(decision: ForecastDecision, samples: int) -> Forecast:
    projection = decision.projection
    because = decision.cleared_because.value if decision.cleared_because is not None else None
    return Forecast(
        runs_out_at=projection.runs_out_at.replace(microsecond=0) if projection else None,
        hours_left=round(projection.hours_left, 2) if projection else None,
        rate_per_hour=projection.rate_per_hour if projection else None,
        samples=projection.samples if projection else samples,
        resets_at_estimated=decision.resets_at_estimated if decision.resets_at is not None else None,
        cleared_because=because,
    )


def forecast_metric(
    metric: QuotaMetric,
    stored: bytes | None,
    threshold_level: Level,
    settings: ForecastSettings,
    alert_id: str,
    now: datetime,
) -> ForecastOutcome:
    """One successful check of one metric: its new forecast state, and the forecast alert it calls for."""
    state, decision = step(_decoded(stored), metric, threshold_level, settings, now)
    if decision is None:
        return ForecastOutcome(state.encode(), None)
    alert = Alert(
        kind=_KINDS[decision.kind],
        metric=metric.metric_id,
        name=metric.name,
        level=decision.level,
        previous_level=decision.previous_level,
        **metric.reading(),
        resets_at=metric.resets_at or decision.resets_at,
        id=alert_id,
        details=dict(metric.details),
        forecast=_forecast_object(decision, state.history.segment_samples),
    )
    return ForecastOutcome(state.encode(), alert)
