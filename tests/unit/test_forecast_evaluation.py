"""The contract's forecast rules as they flow through the pure evaluator, one row (or test) per rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.config import AccountConfig, AccountPolicy, Policy
from shared.evaluation import AccountRef, evaluate
from shared.models import AccountState, AlertDocument, AlertKind, FailureReason, Level, ProviderError, QuotaMetric

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
REF = AccountRef("flashback", "main")
FORECAST_KINDS = (AlertKind.FORECAST, AlertKind.FORECAST_CLEARED)


def policy(thresholds: dict[str, Any] | None = None, **base: Any) -> AccountPolicy:
    account = AccountConfig(name="main", api_key={"env": "KEY"}, thresholds=thresholds or {})
    return Policy(**base).for_account(account, "ACCOUNTS[0]")


@dataclass(frozen=True)
class Check:
    minutes: int  # since START
    used: float
    limit: float | None = 1000
    resets_at: datetime | None = None
    period: str | None = "monthly"


def burn(rate_per_hour: float, hours: float, start: float = 100, every: int = 30, offset: int = 0) -> list[Check]:
    """A steady burn checked every ``every`` minutes."""
    return [
        Check(offset + minute, start + rate_per_hour * minute / 60) for minute in range(0, int(hours * 60) + 1, every)
    ]


def play(
    checks: Sequence[Check], account_policy: AccountPolicy | None = None, state: AccountState | None = None
) -> tuple[AccountState | None, list[tuple[int, Any]]]:
    """Every check through ``evaluate``; the forecast alerts with the minute they came at."""
    seen = []
    for check in checks:
        metric = QuotaMetric(
            metric_id="egress",
            name="Monthly egress",
            used=check.used,
            limit=check.limit,
            unit="GiB",
            period=check.period,
            resets_at=check.resets_at,
        )
        now = START + timedelta(minutes=check.minutes)
        evaluation = evaluate([metric], state, account_policy or policy(), REF, now)
        state = evaluation.state
        seen += [(check.minutes, alert) for alert in evaluation.alerts if alert.kind in FORECAST_KINDS]
    return state, seen


def kinds(seen: list[tuple[int, Any]]) -> list[tuple[int, str, str, str]]:
    return [(minute, alert.kind.value, alert.level.value, alert.previous_level.value) for minute, alert in seen]


# --- minimum evidence --------------------------------------------------------------------------------------------


def test_no_forecast_from_fewer_than_6_samples_however_long() -> None:
    _, seen = play(burn(40, 12, every=120))  # 2-hour checks: the 6th sample (600 min) qualifies, the 7th (720) confirms
    assert kinds(seen)[0][0] == 720
    _, seen = play(burn(40, 8, every=120)[:5])  # 5 samples over 8 hours
    assert seen == []


def test_no_forecast_from_samples_spanning_under_2_hours() -> None:
    _, seen = play(burn(40, 1.9, every=5))  # 23 samples over 1 h 55 min
    assert seen == []


# --- levels and the 2-check confirmation ------------------------------------------------------------------------


def test_critical_when_it_runs_out_within_a_day_confirmed_by_the_second_check() -> None:
    # 30-minute checks: the 6th sample at 150 min spans 2.5 h and qualifies; the check at 180 confirms.
    _, seen = play(burn(40, 4))
    assert kinds(seen) == [(180, "forecast", "critical", "ok")]


def test_warning_when_it_runs_out_within_a_week() -> None:
    _, seen = play(burn(8, 4))  # 900 left at 8/h: about 110 hours
    assert kinds(seen) == [(180, "forecast", "warning", "ok")]
    [(_, alert)] = seen
    assert alert.forecast.samples == 7
    assert alert.forecast.rate_per_hour == pytest.approx(8)
    assert alert.forecast.hours_left == pytest.approx((1000 - 124) / 8, abs=0.01)
    assert alert.forecast.runs_out_at == START + timedelta(minutes=180, hours=(1000 - 124) / 8)
    assert (alert.used, alert.limit, alert.percent, alert.unit, alert.period) == (124, 1000, 12.4, "GiB", "monthly")


def test_no_forecast_when_it_runs_out_beyond_the_warning_hours() -> None:
    _, seen = play(burn(2, 6))  # ~450 hours left
    assert seen == []


def test_two_checks_qualifying_for_different_levels_reach_the_lower() -> None:
    # Qualifies for warning at 150 (8/h), then for critical at 180 (a jump): warning is reached, not critical.
    checks = burn(8, 2.5)
    checks.append(Check(180, checks[-1].used + 600))
    _, seen = play(checks)
    assert kinds(seen)[:1] == [(180, "forecast", "warning", "ok")]


def test_warning_then_critical_escalates_with_previous_level() -> None:
    # 8/h for 4 hours (warning), then the critical hours are lowered to cover it: critical, previous warning.
    state, _seen = play(burn(8, 4))
    later = [Check(270 + 30 * n, 100 + 8 * (4.5 + n / 2)) for n in range(3)]
    _, more = play(later, policy(forecast_critical_hours=120), state)
    assert kinds(more) == [(300, "forecast", "critical", "warning")]


def test_a_fall_from_critical_to_warning_is_silent() -> None:
    state, seen = play(burn(40, 4))
    later = [Check(270 + 30 * n, 280 + 20 * n) for n in range(3)]
    _, more = play(later, policy(forecast_critical_hours=12), state)
    assert more == []
    assert kinds(seen) == [(180, "forecast", "critical", "ok")]


# --- hysteresis --------------------------------------------------------------------------------------------------


def test_a_level_is_left_only_above_1_25_times_its_hours() -> None:
    state, _seen = play(burn(8, 4))  # warning, about 109 hours left
    next_checks = [Check(270, 136)]
    # Warning hours 100: 108.5 h left is above 100 but within 125: held, nothing published.
    held, more = play(next_checks, policy(forecast_warning_hours=100), state)
    assert more == []
    # Warning hours 80: 108.5 h left is above 1.25 x 80 = 100: the level is left.
    _, more = play([Check(300, 140)], policy(forecast_warning_hours=80), held)
    assert kinds(more) == [(300, "forecast_cleared", "ok", "warning")]
    assert more[0][1].forecast.cleared_because == "usage_slowed"


def test_usage_that_stops_clears_the_forecast() -> None:
    state, _ = play(burn(40, 4))
    flat = [Check(240 + 30 * n, 260) for n in range(12)]
    _, more = play(flat, state=state)
    assert [kind for _, kind, _, _ in kinds(more)] == ["forecast_cleared"]


# --- resets ------------------------------------------------------------------------------------------------------


def test_resets_at_moving_forward_is_a_reset() -> None:
    dated = START + timedelta(days=20)
    checks = [Check(c.minutes, c.used, resets_at=dated) for c in burn(40, 4)]
    state, seen = play(checks)
    assert kinds(seen) == [(180, "forecast", "critical", "ok")]
    moved = START + timedelta(days=50)
    _, more = play([Check(270, 280, resets_at=moved), Check(300, 300, resets_at=moved)], state=state)
    assert kinds(more) == [(270, "forecast_cleared", "ok", "critical")]
    assert more[0][1].forecast.cleared_because == "quota_reset"


def test_used_falling_below_half_is_a_reset() -> None:
    state, _ = play(burn(40, 4))
    _, more = play([Check(270, 20)], state=state)
    assert kinds(more) == [(270, "forecast_cleared", "ok", "critical")]
    assert more[0][1].forecast.cleared_because == "quota_reset"


def test_no_rate_across_a_reset_the_evidence_starts_again() -> None:
    state, _ = play(burn(40, 4))
    after = burn(40, 2, start=10, offset=270)  # 5 samples since the reset: no forecast yet
    _, more = play(after, state=state)
    assert [kind for _, kind, _, _ in kinds(more)] == ["forecast_cleared"]


def test_a_reset_before_runs_out_blocks_rising() -> None:
    soon = START + timedelta(hours=10)  # the quota resets long before it would run out (~20 h)
    checks = [Check(c.minutes, c.used, resets_at=soon) for c in burn(40, 5)]
    _, seen = play(checks)
    assert seen == []


# --- suppression by the threshold level ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("thresholds", "rate", "published"),
    [
        ({"warning": 10}, 8, False),  # threshold warning, forecast warning: the threshold alert says it
        ({"warning": 10}, 40, True),  # threshold warning, forecast critical: the forecast says more
        ({"warning": 5, "critical": 10}, 40, False),  # threshold critical suppresses a critical forecast
    ],
)
def test_suppression_by_the_threshold_level(thresholds: dict[str, Any], rate: float, published: bool) -> None:
    _, seen = play(burn(rate, 4), policy(thresholds))
    assert bool(seen) is published


def test_exhausted_holds_the_forecast_at_ok_and_says_nothing() -> None:
    state, seen = play(burn(40, 4))
    _, more = play([Check(270, 1000), Check(300, 1000), Check(330, 1000)], state=state)
    assert more == []
    assert kinds(seen) == [(180, "forecast", "critical", "ok")]


def test_a_suppressed_forecast_is_published_once_the_threshold_level_drops() -> None:
    suppressing = policy({"warning": 12}, hysteresis_percent=0)
    state, seen = play(burn(8, 4), suppressing)  # 12 % used from 150 min: threshold warning
    assert seen == []
    # The limit is raised: 11.3 % used now, the threshold level falls to ok, the warning forecast goes out.
    _, more = play([Check(270, 136, limit=1200)], suppressing, state)
    assert [(kind, level) for _, kind, level, _ in kinds(more)] == [("forecast", "warning")]


def test_no_forecast_cleared_without_a_published_forecast() -> None:
    state, seen = play(burn(8, 4), policy({"warning": 10}))  # qualifies, suppressed
    flat = [Check(270 + 30 * n, 132) for n in range(12)]
    _, more = play(flat, policy({"warning": 10}), state)
    assert seen == more == []


# --- ids, settings, state -------------------------------------------------------------------------------------------


def test_forecast_ids_are_the_metric_id_with_forecast() -> None:
    _, seen = play(burn(40, 4))
    [(_minute, alert)] = seen
    assert alert.id == "flashback/main/egress#forecast/2026-03-02T11:00:00.000Z"


@pytest.mark.parametrize(
    ("base", "thresholds", "expected"),
    [
        ({"forecast_warning_hours": 0, "forecast_critical_hours": 0}, {}, []),
        ({"forecast_critical_hours": 0}, {}, ["warning"]),  # 22 h left: warning, since critical is off
        ({}, {"forecast_warning_hours": 0, "forecast_critical_hours": 0}, []),
        ({}, {"metrics": {"egress": {"forecast_critical_hours": 0, "forecast_warning_hours": 0}}}, []),
        ({}, {"forecast_warning_hours": 0}, ["critical"]),
    ],
)
def test_zero_turns_a_level_off_at_every_layer(
    base: dict[str, Any], thresholds: dict[str, Any], expected: list[str]
) -> None:
    _, seen = play(burn(40, 4), policy(thresholds, **base))
    assert [alert.level.value for _, alert in seen] == expected


def test_a_forecast_alert_does_not_restart_the_renotify_interval() -> None:
    checks = [Check(c.minutes, c.used + 700) for c in burn(10, 4)]  # 80 %: threshold warning at once
    state, seen = play(checks, policy(forecast_warning_hours=0, forecast_critical_hours=48))
    assert kinds(seen) == [(180, "forecast", "critical", "ok")]  # previous: the forecast's own
    assert state is not None
    assert state.metrics["egress"].last_alert_at == START  # the threshold alert's time, not the forecast's


def test_severity_counts_forecast_levels() -> None:
    _, seen = play(burn(40, 4))
    [(minute, alert)] = seen
    document = AlertDocument.build("flashback", "main", START + timedelta(minutes=minute), [alert])
    assert document.severity is Level.CRITICAL


def test_a_failed_check_adds_no_sample_and_keeps_the_forecast_state() -> None:
    state, _ = play(burn(40, 2))
    assert state is not None
    failed = evaluate(
        ProviderError(FailureReason.UNAVAILABLE, "down"), state, policy(), REF, START + timedelta(hours=3)
    )
    assert failed.state.metrics["egress"].forecast == state.metrics["egress"].forecast


def test_a_dropped_metric_drops_its_forecast_state() -> None:
    state, _ = play(burn(40, 2))
    other = QuotaMetric(metric_id="seats", name="Seats", used=1, limit=10)
    after = evaluate([other], state, policy(), REF, START + timedelta(hours=3))
    assert set(after.state.metrics) == {"seats"}
    ignored = evaluate(
        [QuotaMetric(metric_id="egress", name="E", used=1, limit=10), other],
        state,
        policy().model_copy(update={"ignore": frozenset({"egress"})}),
        REF,
        START + timedelta(hours=3),
    )
    assert "egress" not in ignored.state.metrics


def test_an_unlimited_metric_clears_a_published_forecast() -> None:
    state, _ = play(burn(40, 4))
    _, more = play([Check(270, 300, limit=None)], state=state)
    assert kinds(more) == [(270, "forecast_cleared", "ok", "critical")]
    assert more[0][1].forecast.cleared_because == "no_limit"
