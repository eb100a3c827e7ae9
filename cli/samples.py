"""Sample alert documents of every kind, made by the real evaluator, for previews and tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared.config import AccountConfig, Policy
from shared.evaluation import AccountRef, evaluate
from shared.key_references import EnvKey
from shared.models import (
    AccountState,
    Alert,
    AlertDocument,
    AlertKind,
    FailureReason,
    Level,
    ProviderError,
    QuotaMetric,
    iso_utc,
)

CHECKED_AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
GIB = 1024**3
REF = AccountRef(provider="flashback", account="main", key_source="SSM parameter /quota-sentinel/flashback/main")
POLICY = Policy().for_account(AccountConfig(name="main", api_key=EnvKey(env="FLASHBACK_KEY")), "sample")


def egress(percent: float) -> QuotaMetric:
    return QuotaMetric(
        metric_id="EGRESS_MONTHLY_BYTES",
        name="Monthly egress",
        used=round(2 * GIB * percent / 100),
        limit=2 * GIB,
        unit="bytes",
        period="monthly",
        resets_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def _walk(steps: list[list[QuotaMetric] | ProviderError]) -> list[Alert]:
    """Run the evaluator over the steps, an hour apart; return the last step's alerts."""
    state: AccountState | None = None
    alerts: list[Alert] = []
    for hour, outcome in enumerate(steps):
        result = evaluate(outcome, state, POLICY, REF, CHECKED_AT - timedelta(hours=len(steps) - 1 - hour))
        state, alerts = result.state, result.alerts
    return alerts


def _document(alerts: list[Alert], minutes: int) -> AlertDocument:
    """The alerts as checked ``minutes`` after CHECKED_AT, so each sample's ids are its own."""
    checked_at = CHECKED_AT + timedelta(minutes=minutes)
    stamp = iso_utc(CHECKED_AT)
    moved = [alert.model_copy(update={"id": alert.id.replace(stamp, iso_utc(checked_at))}) for alert in alerts]
    return AlertDocument.build(REF.provider, REF.account, checked_at, moved)


def sample_documents() -> dict[str, AlertDocument]:
    """One document per alert kind, plus one with several alerts."""
    auth = ProviderError(FailureReason.AUTH, "HTTP 401: NO_AUTH_USER", 401)
    stale_warning = AccountState.model_validate(
        {"metrics": {"EGRESS_MONTHLY_BYTES": {
            "level": "warning", "name": "Monthly egress", "used": 1.7 * GIB, "limit": 2 * GIB, "percent": 85,
            "unit": "bytes", "period": "monthly", "last_alert_at": CHECKED_AT - timedelta(days=1)}}}
    )  # fmt: skip
    renotify = evaluate([egress(86)], stale_warning, POLICY, REF, CHECKED_AT).alerts
    test_alert = Alert(
        kind=AlertKind.TEST, metric=None, name="Test alert", level=Level.CRITICAL, previous_level=Level.OK,
        id="flashback/main/#test/2026-11-22T10:00:00.000Z",
        message="Test alert from Quota Sentinel for flashback/main.",
        hint="Nothing to do. Real alerts look like this one.", test=True,
    )  # fmt: skip
    storage = QuotaMetric(metric_id="STORAGE_TOTAL_BYTES", name="Storage", used=9.6 * GIB, limit=10 * GIB, unit="bytes")
    alerts_by_kind = {
        "triggered": _walk([[egress(50)], [egress(85)]]),
        "escalated": _walk([[egress(85)], [egress(97.79)]]),
        "improved": _walk([[egress(97)], [egress(78)]]),
        "resolved": _walk([[egress(85)], [egress(40)]]),
        "renotify": renotify,
        "check_failed": _walk([[egress(40)], auth]),
        "check_recovered": _walk([[egress(40)], auth, [egress(41)]]),
        "test": [test_alert],
        "several": _walk([[egress(50), storage.model_copy(update={"used": GIB})], [egress(100), storage]]),
    }
    return {kind: _document(alerts, minutes) for minutes, (kind, alerts) in enumerate(alerts_by_kind.items())}


def sample_cloudwatch_alarm() -> dict[str, Any]:
    """A CloudWatch alarm notification as SNS delivers it from the ops topic."""
    return {
        "AlarmName": "quota-sentinel-FlashbackFunction-no-successful-check",
        "AlarmDescription": "No successful Flashback quota check for 3 periods.",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: no datapoints were received for 3 periods (treated as breaching).",
        "StateChangeTime": "2026-11-22T10:15:00.000+0000",
        "Region": "EU (Ireland)",
        "OldStateValue": "OK",
        "Trigger": {"MetricName": "SuccessfulChecks", "Namespace": "QuotaSentinel", "Statistic": "SUM"},
    }
