"""The contract's newer rules: an empty answer is no all-clear, thresholds are strict, a configured metric id
that the provider lacks is reported, and alert ids cannot collide."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from cli.check import print_run_summary
from cli.render import Terminal
from shared.config import AccountConfig, ConfigError, Policy, load_provider_settings
from shared.evaluation import (
    AccountRef,
    account_alert_id,
    channel_test_alert_id,
    evaluate,
    forecast_alert_id,
    metric_alert_id,
)
from shared.in_memory import MemoryPublisher, MemoryStateStore
from shared.models import AccountState, AlertKind, FailureReason, Level, ProviderError, QuotaMetric
from shared.runner import Dependencies, run_provider
from tests.conftest import FakeLambdaContext
from tests.unit.memory import captured_logs

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
REF = AccountRef(provider="flashback", account="main")
POLICY = Policy().for_account(AccountConfig(name="main", api_key={"env": "K"}), "ACCOUNTS[0]")


def metric(percent: float, metric_id: str = "EGRESS") -> QuotaMetric:
    return QuotaMetric(metric_id=metric_id, name="Monthly egress", used=percent, limit=100, unit="bytes")


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


# ------------------------------------------------------------------------------------------ empty answers


def critical_state() -> AccountState:
    first = evaluate([metric(97), metric(10, "STORAGE")], None, POLICY, REF, NOW)
    assert [alert.kind for alert in first.alerts] == [AlertKind.TRIGGERED]
    return first.state


def test_an_empty_answer_after_metrics_is_a_transient_failure_and_the_state_is_kept() -> None:
    before = critical_state()
    evaluation = evaluate([], before, POLICY, REF, at(5))
    assert evaluation.alerts == []  # no "resolved: no longer reported"
    assert evaluation.error is not None
    assert evaluation.error.reason is FailureReason.UNAVAILABLE
    assert evaluation.error.message == "the provider reported none of its 2 metrics"
    assert evaluation.state.metrics == before.metrics
    assert evaluation.state.failure is not None
    assert evaluation.state.failure.transient_consecutive == 1


def test_failure_alert_after_empty_answers_is_check_failed_then_a_normal_answer_recovers_without_retrigger() -> None:
    state = critical_state()
    kinds = []
    for minute in range(1, POLICY.base.failure_alert_after + 1):
        evaluation = evaluate([], state, POLICY, REF, at(minute))
        kinds.append([alert.kind for alert in evaluation.alerts])
        state = evaluation.state
    assert kinds == [[], [], [AlertKind.CHECK_FAILED]]
    recovered = evaluate([metric(97), metric(10, "STORAGE")], state, POLICY, REF, at(10))
    assert [alert.kind for alert in recovered.alerts] == [AlertKind.CHECK_RECOVERED]  # no second "triggered"
    assert recovered.error is None
    assert recovered.state.metrics["EGRESS"].level is Level.CRITICAL


def test_an_empty_first_answer_is_a_valid_plan_without_metrics() -> None:
    evaluation = evaluate([], None, POLICY, REF, NOW)
    assert (evaluation.error, evaluation.alerts, evaluation.state.metrics) == (None, [], {})
    again = evaluate([], evaluation.state, POLICY, REF, at(5))
    assert (again.error, again.alerts) == (None, [])


def test_an_answer_whose_metrics_are_all_ignored_is_not_empty() -> None:
    policy = Policy().for_account(AccountConfig(name="m", api_key={"env": "K"}, ignore=["EGRESS"]), "ACCOUNTS[0]")
    state = evaluate([metric(10), metric(20, "STORAGE")], None, policy, REF, NOW).state
    evaluation = evaluate([metric(10)], state, policy, REF, at(5))
    assert evaluation.error is None  # the provider did report a metric; STORAGE just went away


def test_the_run_summary_reports_an_empty_answer_as_a_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    store, publisher = MemoryStateStore(), MemoryPublisher()
    answers = iter([[metric(97)], []])

    def fake_check(*_: object) -> list[QuotaMetric]:
        return next(answers)

    environ = {
        "STATE_TABLE_NAME": "t",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
        "ACCOUNTS": json.dumps([{"name": "main", "api_key": {"env": "K"}}]),
        "K": "key-value",
    }
    monkeypatch.setattr("shared.runner.check", fake_check)
    summaries = [
        run_provider(
            "flashback",
            {},
            FakeLambdaContext(),
            dependencies=Dependencies(store=store, publisher=publisher, clock=lambda minute=minute: at(minute)),
            environ=environ,
        )
        for minute in (0, 5)
    ]
    assert summaries[1]["accounts"][0] == {
        "account": "main",
        "ok": False,
        "metrics": 0,
        "alerts": 0,
        "error": "unavailable: the provider reported none of its 1 metrics",
    }
    assert [alert.kind for document in publisher.documents for alert in document.alerts] == [AlertKind.TRIGGERED]
    assert store.state("flashback", "main").metrics["EGRESS"].level is Level.CRITICAL


# ------------------------------------------------------------------------------------------ thresholds


def accounts_env(thresholds: object) -> dict[str, str]:
    account = {"name": "main", "api_key": {"env": "K"}, "thresholds": thresholds}
    return {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "a", "ACCOUNTS": json.dumps([account])}


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        pytest.param({"warning": True}, "ACCOUNTS[0].thresholds.warning: must be a number from 1 to 100, not true or false", id="true"),
        pytest.param({"critical": False}, "ACCOUNTS[0].thresholds.critical: must be a number from 1 to 100, not true or false", id="false"),
        pytest.param({"metrics": {"EGRESS": {"warning": True}}}, "ACCOUNTS[0].thresholds.metrics.EGRESS.warning: must be a number from 1 to 100, not true or false", id="per_metric"),
        pytest.param({"warning": 0.5}, "ACCOUNTS[0].thresholds.warning: Input should be greater than or equal to 1", id="below_1"),
        pytest.param({"warning": 101}, "ACCOUNTS[0].thresholds.warning: Input should be less than or equal to 100", id="above_100"),
    ],
)  # fmt: skip
def test_thresholds_are_numbers_from_1_to_100_and_never_booleans(thresholds: object, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_provider_settings(accounts_env(thresholds))
    assert str(caught.value) == expected


def test_numeric_strings_are_accepted_as_thresholds() -> None:
    settings = load_provider_settings(accounts_env({"warning": "70", "critical": 90}))
    assert settings.accounts is not None
    assert settings.accounts[0].thresholds.warning == 70


def test_a_boolean_default_threshold_is_refused_naming_the_variable() -> None:
    environ = {**accounts_env({}), "WARNING_PERCENT": "true"}
    with pytest.raises(ConfigError, match=r"^WARNING_PERCENT: "):
        load_provider_settings(environ)


def test_metric_ids_in_thresholds_or_ignore_that_the_provider_lacks_are_reported() -> None:
    account = AccountConfig(
        name="main",
        api_key={"env": "K"},
        thresholds={"metrics": {"EGRES": {"warning": 50}, "EGRESS": {"warning": 60}}},
        ignore=["STORAGE_TOTAL", "STORAGE"],
    )
    policy = Policy().for_account(account, "ACCOUNTS[0]")
    evaluation = evaluate([metric(10), metric(10, "STORAGE")], None, policy, REF, NOW)
    assert evaluation.unknown_metric_ids == ["EGRES", "STORAGE_TOTAL"]


def test_an_unknown_metric_id_is_logged_summarised_and_printed_by_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shared.runner.check", lambda *_: [metric(10)])
    account = {"name": "main", "api_key": {"env": "K"}, "thresholds": {"metrics": {"EGRES": {"warning": 50}}}}
    environ = {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "a", "ACCOUNTS": json.dumps([account]), "K": "v"}
    deps = Dependencies(store=MemoryStateStore(), publisher=MemoryPublisher())
    with captured_logs() as logs:
        summary = run_provider("flashback", {}, FakeLambdaContext(), dependencies=deps, environ=environ)
    warning = "metric EGRES is configured (thresholds.metrics or ignore) but not reported by the provider"
    assert summary["accounts"][0]["warnings"] == [warning]
    [line] = [json.loads(line) for line in logs.getvalue().splitlines() if '"level":"WARNING"' in line]
    assert (line["message"], line["metric"]) == ("a configured metric id is not reported by the provider", "EGRES")
    out = io.StringIO()
    print_run_summary(Terminal(out, no_color=True), "flashback", summary)
    assert out.getvalue().splitlines()[1] == f"    warning: {warning}"


# ------------------------------------------------------------------------------------------ alert ids


def test_alert_ids_encode_the_metric_segment_and_mark_account_test_and_forecast_alerts() -> None:
    assert metric_alert_id(REF, "EGRESS", NOW) == "flashback/main/EGRESS/2026-11-22T10:00:00.000Z"
    assert metric_alert_id(REF, "a/b#c%d", NOW) == "flashback/main/a%2Fb%23c%25d/2026-11-22T10:00:00.000Z"
    assert account_alert_id(REF, NOW) == "flashback/main/#account/2026-11-22T10:00:00.000Z"
    assert channel_test_alert_id(REF, NOW) == "flashback/main/#test/2026-11-22T10:00:00.000Z"
    assert forecast_alert_id(REF, "a/b", NOW) == "flashback/main/a%2Fb#forecast/2026-11-22T10:00:00.000Z"


@pytest.mark.parametrize("metric_id", ["account", "test", "x/y", "x%2Fy", "EGRESS#forecast"])
def test_no_metric_id_can_collide_with_another_alerts_id(metric_id: str) -> None:
    others = {
        account_alert_id(REF, NOW),
        channel_test_alert_id(REF, NOW),
        forecast_alert_id(REF, "EGRESS", NOW),
        metric_alert_id(REF, "x/y" if metric_id != "x/y" else "x%2Fy", NOW),
    }
    assert metric_alert_id(REF, metric_id, NOW) not in others


def test_a_metric_named_account_and_a_check_failure_get_different_ids() -> None:
    state = evaluate([metric(97, "account")], None, POLICY, REF, NOW).state
    failed = evaluate(ProviderError(FailureReason.AUTH, "HTTP 401"), state, POLICY, REF, NOW)
    triggered = evaluate([metric(97, "account")], None, POLICY, REF, NOW)
    assert failed.alerts[0].id != triggered.alerts[0].id
