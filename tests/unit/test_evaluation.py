"""The contract's "Levels and alerts" rules, one table row each, plus hypothesis properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.config import AccountConfig, AccountPolicy, AccountThresholds, MetricThresholds, Policy
from shared.evaluation import AccountRef, evaluate, evaluate_failure, evaluate_success, level_for
from shared.models import (
    AccountState,
    AlertKind,
    FailureReason,
    Level,
    MetricState,
    ProviderError,
    QuotaMetric,
)
from shared.wording.document import compose

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
REF = AccountRef(provider="flashback", account="main", key_source="SSM parameter /qs/flashback/main")
POLICY = Policy().for_account(AccountConfig(name="main", api_key={"env": "K"}), "ACCOUNTS[0]")


def metric(percent: float | None, metric_id: str = "EGRESS", limit: float | None = 100.0) -> QuotaMetric:
    used = 0.0 if percent is None else percent * (limit or 100.0) / 100
    return QuotaMetric(metric_id=metric_id, name="Monthly egress", used=used, limit=limit, unit="bytes")


def state_at(level: Level, metric_id: str = "EGRESS", last_alert_at: datetime | None = None) -> AccountState:
    return AccountState(
        metrics={
            metric_id: MetricState(
                level=level, name="Monthly egress", used=1, limit=100, percent=1, unit="bytes",
                last_alert_at=last_alert_at or (None if level is Level.OK else NOW - timedelta(hours=1)),
            )
        }
    )  # fmt: skip


# (previous level or None for a first check, percent used, expected level, expected alert kind or None)
LEVEL_TABLE = [
    pytest.param(None, 50, Level.OK, None, id="first_check_at_ok_is_recorded_silently"),
    pytest.param(None, 85, Level.WARNING, AlertKind.TRIGGERED, id="first_check_above_ok_triggers"),
    pytest.param(None, 96, Level.CRITICAL, AlertKind.TRIGGERED, id="first_check_critical_triggers"),
    pytest.param(None, 100, Level.EXHAUSTED, AlertKind.TRIGGERED, id="first_check_exhausted_triggers"),
    pytest.param(Level.OK, 80, Level.WARNING, AlertKind.TRIGGERED, id="ok_to_warning_at_exactly_the_threshold"),
    pytest.param(Level.OK, 79.99, Level.OK, None, id="just_below_warning_stays_ok"),
    pytest.param(Level.OK, 95, Level.CRITICAL, AlertKind.TRIGGERED, id="ok_straight_to_critical_triggers"),
    pytest.param(Level.OK, 120, Level.EXHAUSTED, AlertKind.TRIGGERED, id="used_above_limit_is_exhausted"),
    pytest.param(Level.WARNING, 95, Level.CRITICAL, AlertKind.ESCALATED, id="warning_to_critical_escalates"),
    pytest.param(Level.WARNING, 100, Level.EXHAUSTED, AlertKind.ESCALATED, id="warning_to_exhausted_escalates"),
    pytest.param(Level.CRITICAL, 100, Level.EXHAUSTED, AlertKind.ESCALATED, id="critical_to_exhausted_escalates"),
    pytest.param(Level.CRITICAL, 78, Level.WARNING, AlertKind.IMPROVED, id="critical_falling_to_78_becomes_warning"),
    pytest.param(Level.CRITICAL, 90, Level.CRITICAL, None, id="critical_stays_at_threshold_minus_margin"),
    pytest.param(Level.CRITICAL, 89.99, Level.WARNING, AlertKind.IMPROVED, id="critical_left_below_the_margin"),
    pytest.param(Level.CRITICAL, 80, Level.WARNING, AlertKind.IMPROVED, id="critical_to_warning_at_80"),
    pytest.param(Level.CRITICAL, 74.99, Level.OK, AlertKind.RESOLVED, id="critical_falling_below_both_margins_resolves"),
    pytest.param(Level.WARNING, 75, Level.WARNING, None, id="warning_stays_at_threshold_minus_margin"),
    pytest.param(Level.WARNING, 74.99, Level.OK, AlertKind.RESOLVED, id="warning_left_below_the_margin_resolves"),
    pytest.param(Level.WARNING, 85, Level.WARNING, None, id="unchanged_warning_is_silent"),
    pytest.param(Level.EXHAUSTED, 100, Level.EXHAUSTED, None, id="unchanged_exhausted_is_silent"),
    pytest.param(Level.EXHAUSTED, 99.99, Level.CRITICAL, AlertKind.IMPROVED, id="exhausted_left_as_soon_as_used_below_limit"),
    pytest.param(Level.EXHAUSTED, 90, Level.CRITICAL, AlertKind.IMPROVED, id="exhausted_falls_to_critical_within_margin"),
    pytest.param(Level.EXHAUSTED, 88, Level.WARNING, AlertKind.IMPROVED, id="exhausted_falls_to_warning_within_margin"),
    pytest.param(Level.EXHAUSTED, 50, Level.OK, AlertKind.RESOLVED, id="exhausted_falls_to_ok"),
]  # fmt: skip


@pytest.mark.parametrize(("previous", "percent", "expected_level", "expected_kind"), LEVEL_TABLE)
def test_level_transitions(
    previous: Level | None, percent: float, expected_level: Level, expected_kind: AlertKind | None
) -> None:
    before = None if previous is None else state_at(previous)
    result = evaluate_success([metric(percent)], before, POLICY, REF, NOW)

    assert result.state.metrics["EGRESS"].level is expected_level
    kinds = [alert.kind for alert in result.alerts]
    assert kinds == ([] if expected_kind is None else [expected_kind])
    if expected_kind is not None:
        alert = result.alerts[0]
        assert alert.level is expected_level
        assert alert.previous_level is (previous or Level.OK)
        assert alert.metric == "EGRESS"
        assert alert.id == "flashback/main/EGRESS/2026-11-22T10:00:00.000Z"


def test_alert_carries_usage_and_rounded_percent() -> None:
    egress = QuotaMetric(
        metric_id="EGRESS_MONTHLY_BYTES", name="Monthly egress in bytes", used=2_100_000_000, limit=2_147_483_648,
        unit="bytes", period="monthly", resets_at=datetime(2026, 12, 1, tzinfo=UTC),
    )  # fmt: skip
    [alert] = evaluate_success([egress], state_at(Level.WARNING, "EGRESS_MONTHLY_BYTES"), POLICY, REF, NOW).alerts
    assert alert.kind is AlertKind.ESCALATED
    assert (alert.used, alert.limit, alert.percent) == (2_100_000_000, 2_147_483_648, 97.79)
    assert (alert.unit, alert.period, alert.resets_at) == ("bytes", "monthly", datetime(2026, 12, 1, tzinfo=UTC))
    assert alert.message == ""  # facts only: shared.wording writes the words when the document is built


def test_unlimited_metric_is_ok_and_never_alerts() -> None:
    result = evaluate_success([metric(None, limit=None)], None, POLICY, REF, NOW)
    assert result.state.metrics["EGRESS"].level is Level.OK
    assert result.alerts == []


def test_metric_becoming_unlimited_resolves() -> None:
    result = evaluate_success([metric(None, limit=None)], state_at(Level.CRITICAL), POLICY, REF, NOW)
    assert [a.kind for a in result.alerts] == [AlertKind.RESOLVED]


def test_limit_zero_is_skipped() -> None:
    result = evaluate_success([QuotaMetric(metric_id="X", name="X", used=5, limit=0)], None, POLICY, REF, NOW)
    assert result.state.metrics == {}
    assert result.alerts == []


def test_limit_zero_after_an_alert_resolves_as_no_longer_offered() -> None:
    zero = QuotaMetric(metric_id="EGRESS", name="Monthly egress", used=5, limit=0)
    result = evaluate_success([zero], state_at(Level.WARNING), POLICY, REF, NOW)
    [alert] = result.alerts
    assert (alert.kind, alert.level, alert.previous_level) == (AlertKind.RESOLVED, Level.OK, Level.WARNING)
    assert (alert.facts.gone, alert.facts.previous_percent) == ("no_longer_offered", 1)
    assert result.state.metrics == {}


def test_metric_no_longer_reported_is_dropped_with_resolved_when_it_was_above_ok() -> None:
    result = evaluate_success([], state_at(Level.CRITICAL), POLICY, REF, NOW)
    [alert] = result.alerts
    assert (alert.kind, alert.level, alert.previous_level) == (AlertKind.RESOLVED, Level.OK, Level.CRITICAL)
    assert alert.facts.gone == "no_longer_reported"
    assert alert.used is None
    assert result.state.metrics == {}


def test_metric_no_longer_reported_at_ok_is_dropped_silently() -> None:
    result = evaluate_success([], state_at(Level.OK), POLICY, REF, NOW)
    assert result.alerts == []
    assert result.state.metrics == {}


def test_metric_becoming_ignored_is_dropped_silently() -> None:
    policy = Policy().for_account(AccountConfig(name="main", api_key={"env": "K"}, ignore=["EGRESS"]), "A")
    result = evaluate_success([metric(99)], state_at(Level.CRITICAL), policy, REF, NOW)
    assert result.alerts == []
    assert result.state.metrics == {}


@pytest.mark.parametrize(
    ("since_last_alert", "renotify_seconds", "expected"),
    [
        pytest.param(timedelta(seconds=86400), 86400, [AlertKind.RENOTIFY], id="renotify_once_interval_passed"),
        pytest.param(timedelta(seconds=86399), 86400, [], id="no_renotify_before_interval"),
        pytest.param(timedelta(days=30), 0, [], id="renotify_zero_means_never"),
    ],
)
def test_renotify(since_last_alert: timedelta, renotify_seconds: int, expected: list[AlertKind]) -> None:
    policy = Policy(renotify_seconds=renotify_seconds).for_account(AccountConfig(name="m", api_key={"env": "K"}), "A")
    before = state_at(Level.WARNING, last_alert_at=NOW - since_last_alert)
    result = evaluate_success([metric(85)], before, policy, REF, NOW)
    assert [a.kind for a in result.alerts] == expected
    expected_last = NOW if expected else NOW - since_last_alert
    assert result.state.metrics["EGRESS"].last_alert_at == expected_last


def test_renotify_counts_from_the_last_alert_of_that_metric() -> None:
    escalated = evaluate_success([metric(96)], state_at(Level.WARNING), POLICY, REF, NOW)
    later = NOW + timedelta(hours=23)
    assert evaluate_success([metric(96)], escalated.state, POLICY, REF, later).alerts == []
    day_later = NOW + timedelta(days=1)
    assert [a.kind for a in evaluate_success([metric(96)], escalated.state, POLICY, REF, day_later).alerts] == [
        AlertKind.RENOTIFY
    ]


def test_per_account_and_per_metric_thresholds_override_defaults() -> None:
    account = AccountConfig(
        name="main", api_key={"env": "K"},
        thresholds=AccountThresholds(warning=70, critical=90, metrics={"EGRESS": MetricThresholds(warning=50, critical=85)}),
    )  # fmt: skip
    policy = Policy().for_account(account, "ACCOUNTS[0]")
    result = evaluate_success([metric(55), metric(72, "STORAGE"), metric(91, "OTHER")], None, policy, REF, NOW)
    levels = {metric_id: state.level for metric_id, state in result.state.metrics.items()}
    assert levels == {"EGRESS": Level.WARNING, "STORAGE": Level.WARNING, "OTHER": Level.CRITICAL}


def failure(reason: FailureReason, message: str = "boom") -> ProviderError:
    return ProviderError(reason, message)


def run_failures(reasons: list[FailureReason]) -> list[list[AlertKind]]:
    """Feed consecutive failed checks, a minute apart; return the alert kinds of each."""
    state: AccountState | None = None
    kinds = []
    for minute, reason in enumerate(reasons):
        result = evaluate_failure(failure(reason), state, POLICY, REF, NOW + timedelta(minutes=minute))
        state = result.state
        kinds.append([alert.kind for alert in result.alerts])
    return kinds


@pytest.mark.parametrize("reason", [FailureReason.AUTH, FailureReason.NO_SUBSCRIPTION, FailureReason.BAD_RESPONSE])
def test_permanent_reasons_alert_on_first_occurrence(reason: FailureReason) -> None:
    assert run_failures([reason, reason]) == [[AlertKind.CHECK_FAILED], []]


@pytest.mark.parametrize("reason", [FailureReason.RATE_LIMITED, FailureReason.UNAVAILABLE])
def test_transient_reasons_alert_after_failure_alert_after(reason: FailureReason) -> None:
    assert run_failures([reason] * 4) == [[], [], [AlertKind.CHECK_FAILED], []]


def test_transient_reasons_count_together_and_report_the_latest() -> None:
    reasons = [FailureReason.UNAVAILABLE, FailureReason.RATE_LIMITED, FailureReason.UNAVAILABLE]
    state: AccountState | None = None
    alerts = []
    for minute, reason in enumerate(reasons):
        result = evaluate_failure(failure(reason), state, POLICY, REF, NOW + timedelta(minutes=minute))
        state, alerts = result.state, alerts + result.alerts
    [alert] = alerts
    assert alert.reason is FailureReason.UNAVAILABLE
    assert alert.facts.failed_checks == 3


def test_permanent_failure_resets_the_transient_count() -> None:
    reasons = [FailureReason.UNAVAILABLE, FailureReason.UNAVAILABLE, FailureReason.AUTH, FailureReason.UNAVAILABLE]
    assert run_failures(reasons)[2:] == [[AlertKind.CHECK_FAILED], []]


def test_failure_alert_after_one_alerts_transient_at_once() -> None:
    policy = Policy(failure_alert_after=1).for_account(AccountConfig(name="m", api_key={"env": "K"}), "A")
    result = evaluate_failure(failure(FailureReason.UNAVAILABLE), None, policy, REF, NOW)
    assert [a.kind for a in result.alerts] == [AlertKind.CHECK_FAILED]


def test_change_of_reason_while_failing_alerts_again() -> None:
    first = evaluate_failure(failure(FailureReason.AUTH), None, POLICY, REF, NOW)
    second = evaluate_failure(
        failure(FailureReason.NO_SUBSCRIPTION), first.state, POLICY, REF, NOW + timedelta(minutes=1)
    )
    [alert] = second.alerts
    assert (alert.kind, alert.reason, alert.previous_level) == (
        AlertKind.CHECK_FAILED, FailureReason.NO_SUBSCRIPTION, Level.CRITICAL,
    )  # fmt: skip


def test_check_failed_alert_is_account_level_and_critical_with_a_hint() -> None:
    [alert] = evaluate_failure(failure(FailureReason.AUTH, "HTTP 401: NO_AUTH_USER"), None, POLICY, REF, NOW).alerts
    assert (alert.kind, alert.metric, alert.level, alert.previous_level) == (
        AlertKind.CHECK_FAILED, None, Level.CRITICAL, Level.OK,
    )  # fmt: skip
    assert alert.reason is FailureReason.AUTH
    assert (alert.facts.error_message, alert.facts.failed_checks) == ("HTTP 401: NO_AUTH_USER", 1)
    [worded] = compose("flashback", "main", NOW, [alert], key_source=REF.key_source).alerts
    assert worded.hint == "Check or rotate the API key in SSM parameter /qs/flashback/main."
    assert worded.message == "Quota check failed: API key rejected. HTTP 401: NO_AUTH_USER."
    assert alert.id == "flashback/main/#account/2026-11-22T10:00:00.000Z"


def test_failure_that_goes_on_renotifies() -> None:
    first = evaluate_failure(failure(FailureReason.AUTH), None, POLICY, REF, NOW)
    quiet = evaluate_failure(failure(FailureReason.AUTH), first.state, POLICY, REF, NOW + timedelta(hours=23))
    assert quiet.alerts == []
    later = evaluate_failure(failure(FailureReason.AUTH), quiet.state, POLICY, REF, NOW + timedelta(days=1))
    [alert] = later.alerts
    assert (alert.kind, alert.metric, alert.reason) == (AlertKind.RENOTIFY, None, FailureReason.AUTH)


def test_failed_check_keeps_the_last_good_metric_state() -> None:
    before = state_at(Level.CRITICAL)
    result = evaluate_failure(failure(FailureReason.UNAVAILABLE), before, POLICY, REF, NOW)
    assert result.state.metrics == before.metrics


def test_recovery_after_an_alerted_failure_alerts_check_recovered() -> None:
    failed = evaluate_failure(failure(FailureReason.AUTH), state_at(Level.OK), POLICY, REF, NOW)
    recovered = evaluate_success([metric(10)], failed.state, POLICY, REF, NOW + timedelta(minutes=5))
    [alert] = recovered.alerts
    assert (alert.kind, alert.metric, alert.level, alert.previous_level) == (
        AlertKind.CHECK_RECOVERED, None, Level.OK, Level.CRITICAL,
    )  # fmt: skip
    assert recovered.state.failure is None


def test_failures_that_never_alerted_recover_silently() -> None:
    failed = evaluate_failure(failure(FailureReason.UNAVAILABLE), state_at(Level.OK), POLICY, REF, NOW)
    assert failed.alerts == []
    recovered = evaluate_success([metric(10)], failed.state, POLICY, REF, NOW + timedelta(minutes=5))
    assert recovered.alerts == []
    assert recovered.state.failure is None


def test_recovery_and_a_metric_change_alert_together() -> None:
    failed = evaluate_failure(failure(FailureReason.AUTH), state_at(Level.OK), POLICY, REF, NOW)
    recovered = evaluate_success([metric(96)], failed.state, POLICY, REF, NOW + timedelta(minutes=5))
    assert [a.kind for a in recovered.alerts] == [AlertKind.CHECK_RECOVERED, AlertKind.TRIGGERED]
    assert len({a.id for a in recovered.alerts}) == 2


def test_evaluate_dispatches_on_the_outcome() -> None:
    assert evaluate(failure(FailureReason.AUTH), None, POLICY, REF, NOW).state.failure is not None
    assert evaluate([metric(10)], None, POLICY, REF, NOW).state.failure is None


def test_evaluation_does_not_mutate_the_previous_state() -> None:
    before = state_at(Level.WARNING)
    snapshot = before.model_copy(deep=True)
    evaluate_success([metric(99)], before, POLICY, REF, NOW)
    evaluate_failure(failure(FailureReason.AUTH), before, POLICY, REF, NOW)
    assert before == snapshot


# --- properties --------------------------------------------------------------------------------

levels = st.sampled_from(list(Level))
percents = st.floats(min_value=0, max_value=150, allow_nan=False)
thresholds = st.tuples(
    st.floats(min_value=1, max_value=90, allow_nan=False),
    st.floats(min_value=1, max_value=10, allow_nan=False),
    st.floats(min_value=0, max_value=20, allow_nan=False),
).map(lambda t: (t[0], min(t[0] + t[1], 100.0), t[2]))


def _policy(warning: float, critical: float, margin: float, renotify: int = 86400) -> AccountPolicy:
    base = Policy(
        warning_percent=warning, critical_percent=critical, hysteresis_percent=margin, renotify_seconds=renotify
    )
    return base.for_account(AccountConfig(name="main", api_key={"env": "K"}), "A")


@settings(deadline=None)
@given(previous=levels, percent=percents, elapsed=st.integers(min_value=0, max_value=86399), limits=thresholds)
def test_property_unchanged_level_never_alerts_before_renotify(
    previous: Level, percent: float, elapsed: int, limits: tuple[float, float, float]
) -> None:
    warning, critical, margin = limits
    if critical <= warning:
        return
    policy = _policy(warning, critical, margin)
    before = state_at(previous, last_alert_at=NOW - timedelta(seconds=elapsed))
    result = evaluate_success([metric(percent)], before, policy, REF, NOW)
    if result.state.metrics["EGRESS"].level is previous:
        assert result.alerts == []


@settings(deadline=None)
@given(previous=st.sampled_from([Level.WARNING, Level.CRITICAL]), percent=percents, limits=thresholds)
def test_property_resolved_never_fires_within_the_margin(
    previous: Level, percent: float, limits: tuple[float, float, float]
) -> None:
    warning, critical, margin = limits
    if critical <= warning:
        return
    threshold = critical if previous is Level.CRITICAL else warning
    reading = metric(percent)
    assert reading.percent is not None
    if reading.percent < threshold - margin:
        return
    result = evaluate_success([reading], state_at(previous), _policy(warning, critical, margin), REF, NOW)
    assert AlertKind.RESOLVED not in [alert.kind for alert in result.alerts]
    assert result.state.metrics["EGRESS"].level is not Level.OK


@settings(deadline=None)
@given(previous=levels, low=percents, high=percents, limits=thresholds)
def test_property_level_is_monotone_in_percent(
    previous: Level, low: float, high: float, limits: tuple[float, float, float]
) -> None:
    warning, critical, margin = limits
    readings = sorted((metric(low), metric(high)), key=lambda reading: reading.used)
    level_low, level_high = (level_for(reading, previous, warning, critical, margin) for reading in readings)
    assert level_low.rank <= level_high.rank


def test_falling_never_rises_above_the_previous_level_with_close_thresholds() -> None:
    # With 80/82 and a margin of 5, 78% is within critical's margin, but a warning never climbs by falling.
    assert level_for(metric(78), Level.WARNING, 80, 82, 5) is Level.WARNING
