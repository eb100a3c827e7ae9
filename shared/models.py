"""The domain vocabulary: metrics, levels, alerts, check failures and the alert document."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator


def _whole_as_int(value: float | None) -> float | int | None:
    """Quantities read as 2147483648, not 2147483648.0, in JSON."""
    return int(value) if value is not None and float(value).is_integer() else value


def iso_utc(moment: datetime) -> str:
    """UTC with millisecond precision, e.g. ``2026-11-22T10:00:00.000Z``: the time of a check and of its alert ids."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Level(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    EXHAUSTED = "exhausted"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.OK: 0, Level.WARNING: 1, Level.CRITICAL: 2, Level.EXHAUSTED: 3}


def highest_level(levels: list[Level]) -> Level:
    return max(levels, key=lambda level: level.rank, default=Level.OK)


class AlertKind(StrEnum):
    TRIGGERED = "triggered"
    ESCALATED = "escalated"
    IMPROVED = "improved"
    RESOLVED = "resolved"
    RENOTIFY = "renotify"
    CHECK_FAILED = "check_failed"
    CHECK_RECOVERED = "check_recovered"
    TEST = "test"
    FORECAST = "forecast"
    FORECAST_CLEARED = "forecast_cleared"


class FailureReason(StrEnum):
    AUTH = "auth"
    NO_SUBSCRIPTION = "no_subscription"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    BAD_RESPONSE = "bad_response"

    @property
    def is_transient(self) -> bool:
        return self in (FailureReason.RATE_LIMITED, FailureReason.UNAVAILABLE)


class ProviderError(Exception):
    """The one error a provider check may raise: a reason from the contract and a short message.

    The message must never hold a secret; it is shown in alerts and in the run summary.
    """

    def __init__(
        self, reason: FailureReason, message: str, status: int | None = None, *, key_unreadable: bool = False
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status
        # The API key's parameter or secret could not be read: the provider never saw (or rejected) it.
        self.key_unreadable = key_unreadable

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.message}"


class QuotaMetric(BaseModel):
    """One normalised quota reading. ``limit`` None means unlimited."""

    model_config = ConfigDict(frozen=True)

    metric_id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    used: float
    limit: float | None
    unit: str = "count"
    period: str | None = None
    resets_at: datetime | None = None
    details: dict[str, Any] = Field(default_factory=dict)

    @field_validator("used", "limit")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("limit")
    @classmethod
    def _limit_not_negative(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError("must be >= 0; use None for unlimited")
        return value

    @property
    def percent(self) -> float | None:
        if self.limit is None or self.limit <= 0:
            return None
        return self.used / self.limit * 100

    def reading(self) -> dict[str, Any]:
        """The numbers an alert and the stored state carry: used, limit, percent (2 decimals), unit, period."""
        percent = self.percent
        return {
            "used": self.used,
            "limit": self.limit,
            "percent": None if percent is None else round(percent, 2),
            "unit": self.unit,
            "period": self.period,
        }


class Link(BaseModel):
    """Something a person can open next: where the quota is managed, or the team's runbook."""

    text: str = Field(min_length=1)
    url: str = Field(min_length=1)


class Forecast(BaseModel):
    """When a metric runs out at its current rate (the contract's "Forecasts").

    A ``forecast`` alert carries all four projection fields; a ``forecast_cleared`` alert may have no rate
    left to project (the quota reset, or the metric became unlimited), and then only says why it cleared.
    """

    runs_out_at: datetime | None = None
    hours_left: float | None = None
    rate_per_hour: float | None = None
    samples: int | None = None
    # The reset time is one period after the last reset seen, not a date the provider gave.
    resets_at_estimated: bool | None = None
    # forecast_cleared only: why the forecast level fell back to ok (shared.forecast.ClearedBecause).
    cleared_because: Literal["usage_slowed", "quota_reset", "no_limit"] | None = None


class AlertFacts(BaseModel):
    """What the words of an alert are made from beside its own fields; not part of the alert document.

    The evaluator states facts; ``shared.wording`` turns them into ``message`` and ``hint`` when the
    document is built.
    """

    # A resolved metric that is gone: "no_longer_offered" (limit 0 now) or "no_longer_reported".
    gone: Literal["no_longer_offered", "no_longer_reported"] | None = None
    previous_percent: float | None = None
    # Failed checks in a row (check_failed, renotify of a failure, check_recovered).
    failed_checks: int | None = None
    # The provider's (or the key reader's) own short message about a failure; never a secret.
    error_message: str | None = None
    key_unreadable: bool = False


class Alert(BaseModel):
    """One alert as it appears in the SNS alert document."""

    kind: AlertKind
    metric: str | None
    name: str
    level: Level
    previous_level: Level
    used: float | None = None
    limit: float | None = None
    percent: float | None = None
    unit: str | None = None
    period: str | None = None
    resets_at: datetime | None = None
    reason: FailureReason | None = None
    id: str
    # Filled by shared.wording when the document is built; the evaluator leaves it empty.
    message: str = ""
    hint: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    test: bool = False
    links: list[Link] = Field(default_factory=list)
    forecast: Forecast | None = None
    facts: AlertFacts = Field(default_factory=AlertFacts, exclude=True)

    @field_serializer("used", "limit")
    def _serialize_quantity(self, value: float | None) -> float | int | None:
        return _whole_as_int(value)

    @property
    def severity(self) -> Level:
        """The highest level this alert speaks of, counting its previous level too."""
        return highest_level([self.level, self.previous_level])


class AlertDocument(BaseModel):
    """The body every non-email subscriber receives; one per account per run with alerts."""

    version: int = 1
    provider: str
    provider_name: str | None = None
    account: str
    checked_at: datetime
    severity: Level
    alerts: list[Alert]

    @field_serializer("checked_at")
    def _serialize_checked_at(self, checked_at: datetime) -> str:
        return iso_utc(checked_at)

    @classmethod
    def build(
        cls, provider: str, account: str, checked_at: datetime, alerts: list[Alert], provider_name: str | None = None
    ) -> AlertDocument:
        severity = highest_level([alert.severity for alert in alerts])
        return cls(
            provider=provider,
            provider_name=provider_name,
            account=account,
            checked_at=checked_at,
            severity=severity,
            alerts=alerts,
        )

    @property
    def document_id(self) -> str:
        """Stable identity of the document, derived from its alert ids, which never change across re-publishes."""
        joined = "\n".join(sorted(alert.id for alert in self.alerts))
        return hashlib.sha256(joined.encode()).hexdigest()[:32]

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=False)


class MetricState(BaseModel):
    """What we remember of one metric between runs."""

    level: Level
    name: str
    used: float
    limit: float | None
    percent: float | None
    unit: str = "count"
    period: str | None = None
    resets_at: datetime | None = None
    last_alert_at: datetime | None = None
    # The metric's forecast state (shared.forecast.ForecastState.encode()); base64 when the state is JSON.
    forecast: bytes | None = None

    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")


class FailureState(BaseModel):
    """Consecutive failed checks of one account; absent when the last check succeeded."""

    reason: FailureReason
    message: str
    consecutive: int = Field(ge=1)
    transient_consecutive: int = Field(ge=0)
    since: datetime
    alerted_reason: FailureReason | None = None
    last_alert_at: datetime | None = None


class AccountState(BaseModel):
    """The last known state of one account: its metrics and its failure streak."""

    metrics: dict[str, MetricState] = Field(default_factory=dict)
    failure: FailureState | None = None
    last_success_at: datetime | None = None
    checked_at: datetime | None = None
    # The run that wrote this state, so that a run can recognise its own write after an ambiguous answer.
    run_id: str | None = None
