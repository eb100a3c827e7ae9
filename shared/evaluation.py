"""The pure evaluator: metrics (or a failed check), the previous state, a policy and the time in;
the new state and the alerts out. No I/O and no clock: ``now`` is passed in.

Every rule of the contract's "Levels and alerts" section lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from shared.config import AccountPolicy
from shared.forecast import ForecastSettings
from shared.forecast_alerts import forecast_metric
from shared.models import (
    AccountState,
    Alert,
    AlertFacts,
    AlertKind,
    FailureReason,
    FailureState,
    Level,
    MetricState,
    ProviderError,
    QuotaMetric,
    iso_utc,
)

_DESCENDING = (Level.CRITICAL, Level.WARNING)


@dataclass(frozen=True)
class AccountRef:
    """Who is being checked; ``key_source`` names where the API key lives, for hints (never the key)."""

    provider: str
    account: str
    key_source: str = "the configured API key"


@dataclass
class Evaluation:
    state: AccountState
    alerts: list[Alert] = field(default_factory=list)
    # The check counted as failed: the provider's error, or an empty answer that is no all-clear.
    error: ProviderError | None = None
    # Metric ids named in thresholds.metrics or ignore that the provider did not report (likely typos).
    unknown_metric_ids: list[str] = field(default_factory=list)


def _threshold(level: Level, warning: float, critical: float) -> float:
    return critical if level is Level.CRITICAL else warning


def level_for(metric: QuotaMetric, previous: Level, warning: float, critical: float, hysteresis: float) -> Level:
    """The level of a metric, given the level it had: rising is immediate, falling waits for the margin."""
    if metric.limit is None:
        return Level.OK
    if metric.used >= metric.limit:
        return Level.EXHAUSTED
    percent = metric.percent or 0.0
    raw = Level.CRITICAL if percent >= critical else Level.WARNING if percent >= warning else Level.OK
    if raw.rank >= previous.rank:
        return raw
    # Falling: keep the highest level at or below the previous one whose threshold minus the margin
    # is still met. Exhausted is left as soon as used < limit, so it is not a candidate itself.
    for candidate in _DESCENDING:
        if candidate.rank <= previous.rank and percent >= _threshold(candidate, warning, critical) - hysteresis:
            return candidate
    return Level.OK


def _encode_metric_id(metric_id: str) -> str:
    """``%``, ``/`` and ``#`` percent-encoded, so that no metric id can look like another segment or suffix."""
    return metric_id.replace("%", "%25").replace("/", "%2F").replace("#", "%23")


def _alert_id(ref: AccountRef, segment: str, now: datetime) -> str:
    """Stable for a transition: the same in every re-publish of it."""
    return f"{ref.provider}/{ref.account}/{segment}/{iso_utc(now)}"


def metric_alert_id(ref: AccountRef, metric_id: str, now: datetime) -> str:
    return _alert_id(ref, _encode_metric_id(metric_id), now)


def forecast_alert_id(ref: AccountRef, metric_id: str, now: datetime) -> str:
    return _alert_id(ref, f"{_encode_metric_id(metric_id)}#forecast", now)


def account_alert_id(ref: AccountRef, now: datetime) -> str:
    return _alert_id(ref, "#account", now)


def channel_test_alert_id(ref: AccountRef, now: datetime) -> str:
    return _alert_id(ref, "#test", now)


def _metric_kind(previous: Level, current: Level) -> AlertKind | None:
    if previous is current:
        return None
    if current is Level.OK:
        return AlertKind.RESOLVED
    if previous is Level.OK:
        return AlertKind.TRIGGERED
    return AlertKind.ESCALATED if current.rank > previous.rank else AlertKind.IMPROVED


def _renotify_due(last_alert_at: datetime | None, renotify_seconds: int, now: datetime) -> bool:
    if renotify_seconds <= 0 or last_alert_at is None:
        return False
    return now - last_alert_at >= timedelta(seconds=renotify_seconds)


def _metric_alert(
    ref: AccountRef, kind: AlertKind, metric: QuotaMetric, level: Level, previous: Level, now: datetime
) -> Alert:
    return Alert(
        kind=kind,
        metric=metric.metric_id,
        name=metric.name,
        level=level,
        previous_level=previous,
        **metric.reading(),
        resets_at=metric.resets_at,
        id=metric_alert_id(ref, metric.metric_id, now),
        details=dict(metric.details),
    )


def _gone_alert(
    ref: AccountRef,
    metric_id: str,
    gone: MetricState,
    why: Literal["no_longer_offered", "no_longer_reported"],
    now: datetime,
) -> Alert:
    return Alert(
        kind=AlertKind.RESOLVED,
        metric=metric_id,
        name=gone.name,
        level=Level.OK,
        previous_level=gone.level,
        unit=gone.unit,
        period=gone.period,
        id=metric_alert_id(ref, metric_id, now),
        facts=AlertFacts(gone=why, previous_percent=gone.percent),
    )


def _evaluate_metrics(
    metrics: list[QuotaMetric], previous: AccountState, policy: AccountPolicy, ref: AccountRef, now: datetime
) -> tuple[dict[str, MetricState], list[Alert]]:
    margin = policy.base.hysteresis_percent
    states: dict[str, MetricState] = {}
    alerts: list[Alert] = []
    offered_ids = set()
    for metric in metrics:
        if metric.metric_id in policy.ignore or metric.metric_id in states:
            continue
        if metric.limit == 0:  # the plan does not offer it
            continue
        offered_ids.add(metric.metric_id)
        before = previous.metrics.get(metric.metric_id)
        previous_level = before.level if before else Level.OK
        warning, critical = policy.thresholds_for(metric.metric_id)
        level = level_for(metric, previous_level, warning, critical, margin)
        kind = _metric_kind(previous_level, level)
        last_alert_at = before.last_alert_at if before else None
        if kind is None and level is not Level.OK and _renotify_due(last_alert_at, policy.base.renotify_seconds, now):
            kind = AlertKind.RENOTIFY
        if kind is not None:
            alerts.append(_metric_alert(ref, kind, metric, level, previous_level, now))
            last_alert_at = None if level is Level.OK else now
        # The forecast: its own alert and id, and it leaves last_alert_at (the renotify interval) alone.
        forecast = forecast_metric(
            metric,
            before.forecast if before else None,
            level,
            ForecastSettings(*policy.forecast_hours_for(metric.metric_id)),
            forecast_alert_id(ref, metric.metric_id, now),
            now,
        )
        if forecast.alert is not None:
            alerts.append(forecast.alert)
        states[metric.metric_id] = MetricState(
            level=level,
            name=metric.name,
            **metric.reading(),
            resets_at=metric.resets_at,
            last_alert_at=last_alert_at,
            forecast=forecast.state,
        )
    reported = {metric.metric_id for metric in metrics}
    for metric_id, gone in previous.metrics.items():
        if metric_id in states or metric_id in policy.ignore or gone.level is Level.OK:
            continue  # still there, or ignored now (silently dropped), or nothing to resolve
        why: Literal["no_longer_offered", "no_longer_reported"] = (
            "no_longer_offered" if metric_id in reported else "no_longer_reported"
        )
        alerts.append(_gone_alert(ref, metric_id, gone, why, now))
    return states, alerts


def _recovered_alert(ref: AccountRef, failure: FailureState, now: datetime) -> Alert:
    return Alert(
        kind=AlertKind.CHECK_RECOVERED,
        metric=None,
        name="Quota check",
        level=Level.OK,
        previous_level=Level.CRITICAL,
        reason=failure.reason,
        id=account_alert_id(ref, now),
        facts=AlertFacts(failed_checks=failure.consecutive),
    )


def evaluate_success(
    metrics: list[QuotaMetric], previous: AccountState | None, policy: AccountPolicy, ref: AccountRef, now: datetime
) -> Evaluation:
    """A successful check: per-metric transitions, plus ``check_recovered`` if a failure had alerted."""
    before = previous or AccountState()
    states, alerts = _evaluate_metrics(metrics, before, policy, ref, now)
    if before.failure is not None and before.failure.alerted_reason is not None:
        alerts.insert(0, _recovered_alert(ref, before.failure, now))
    state = AccountState(metrics=states, failure=None, last_success_at=now, checked_at=now)
    reported = {metric.metric_id for metric in metrics}
    unknown = sorted((set(policy.thresholds.metrics) | policy.ignore) - reported)
    return Evaluation(state=state, alerts=alerts, unknown_metric_ids=unknown)


def _failed_alert(
    ref: AccountRef, error: ProviderError, kind: AlertKind, previous_level: Level, consecutive: int, now: datetime
) -> Alert:
    return Alert(
        kind=kind,
        metric=None,
        name="Quota check",
        level=Level.CRITICAL,
        previous_level=previous_level,
        reason=error.reason,
        id=account_alert_id(ref, now),
        details={"http_status": error.status} if error.status is not None else {},
        facts=AlertFacts(failed_checks=consecutive, error_message=error.message, key_unreadable=error.key_unreadable),
    )


def evaluate_failure(
    error: ProviderError, previous: AccountState | None, policy: AccountPolicy, ref: AccountRef, now: datetime
) -> Evaluation:
    """A failed check: count it, and alert per the reason's rule. The metric state stays untouched."""
    before = previous or AccountState()
    streak = before.failure
    consecutive = streak.consecutive + 1 if streak else 1
    transient_consecutive = (streak.transient_consecutive if streak else 0) + 1 if error.reason.is_transient else 0
    alerted_reason = streak.alerted_reason if streak else None
    last_alert_at = streak.last_alert_at if streak else None

    qualifies = not error.reason.is_transient or transient_consecutive >= policy.base.failure_alert_after
    alert: Alert | None = None
    if qualifies and alerted_reason is None:
        alert = _failed_alert(ref, error, AlertKind.CHECK_FAILED, Level.OK, consecutive, now)
    elif qualifies and alerted_reason is not error.reason:
        alert = _failed_alert(ref, error, AlertKind.CHECK_FAILED, Level.CRITICAL, consecutive, now)
    elif alerted_reason is not None and _renotify_due(last_alert_at, policy.base.renotify_seconds, now):
        alert = _failed_alert(ref, error, AlertKind.RENOTIFY, Level.CRITICAL, consecutive, now)

    if alert is not None:
        alerted_reason, last_alert_at = error.reason, now
    failure = FailureState(
        reason=error.reason,
        message=error.message,
        consecutive=consecutive,
        transient_consecutive=transient_consecutive,
        since=streak.since if streak else now,
        alerted_reason=alerted_reason,
        last_alert_at=last_alert_at,
    )
    state = AccountState(
        metrics=before.metrics, failure=failure, last_success_at=before.last_success_at, checked_at=now
    )
    return Evaluation(state=state, alerts=[alert] if alert else [], error=error)


def evaluate(
    outcome: list[QuotaMetric] | ProviderError,
    previous: AccountState | None,
    policy: AccountPolicy,
    ref: AccountRef,
    now: datetime,
) -> Evaluation:
    if isinstance(outcome, ProviderError):
        return evaluate_failure(outcome, previous, policy, ref, now)
    if not outcome and previous is not None and previous.metrics:
        # No metrics at all is no all-clear for an account that had some: a provider glitch must not
        # resolve every alert and then trigger them again. The stored state is kept.
        empty = ProviderError(
            FailureReason.UNAVAILABLE, f"the provider reported none of its {len(previous.metrics)} metrics"
        )
        return evaluate_failure(empty, previous, policy, ref, now)
    return evaluate_success(outcome, previous, policy, ref, now)
