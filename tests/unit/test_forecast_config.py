"""Forecast settings: FORECAST_WARNING_HOURS / FORECAST_CRITICAL_HOURS and their account and metric overrides."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import AccountConfig, ConfigError, Policy, load_provider_settings

BASE_ENV = {"STATE_TABLE_NAME": "t", "ALERT_TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t", "ACCOUNTS_PARAMETER": "/a"}


def _policy(thresholds: dict[str, Any], base: Policy | None = None) -> Any:
    account = AccountConfig(name="main", api_key={"env": "KEY"}, thresholds=thresholds)
    return (base or Policy()).for_account(account, "ACCOUNTS[0]")


def test_defaults_are_a_week_and_a_day() -> None:
    assert _policy({}).forecast_hours_for("egress") == (168, 24)


def test_environment_sets_the_defaults() -> None:
    settings = load_provider_settings(BASE_ENV | {"FORECAST_WARNING_HOURS": "72", "FORECAST_CRITICAL_HOURS": "0"})
    assert (settings.policy.forecast_warning_hours, settings.policy.forecast_critical_hours) == (72, 0)


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        ({"forecast_warning_hours": 48}, (48, 24)),
        ({"metrics": {"egress": {"forecast_critical_hours": 6}}}, (168, 6)),
        ({"forecast_warning_hours": 100, "metrics": {"egress": {"forecast_warning_hours": 50}}}, (50, 24)),
        # 0 turns a level off and never falls back to a less specific setting.
        ({"forecast_warning_hours": 100, "metrics": {"egress": {"forecast_warning_hours": 0}}}, (0, 24)),
        ({"forecast_critical_hours": 0}, (168, 0)),
        ({"forecast_warning_hours": 0, "forecast_critical_hours": 0}, (0, 0)),
    ],
)
def test_metric_then_account_then_default(thresholds: dict[str, Any], expected: tuple[float, float]) -> None:
    assert _policy(thresholds).forecast_hours_for("egress") == expected


def test_zero_default_is_not_replaced_by_anything() -> None:
    base = Policy(forecast_warning_hours=0, forecast_critical_hours=0)
    assert _policy({}, base).forecast_hours_for("egress") == (0, 0)


@pytest.mark.parametrize(
    ("thresholds", "field"),
    [
        ({"forecast_critical_hours": 200}, "ACCOUNTS[0].thresholds: forecast_critical_hours (200)"),
        (
            {"metrics": {"egress": {"forecast_warning_hours": 12}}},
            "ACCOUNTS[0].thresholds.metrics.egress: forecast_critical_hours (24)",
        ),
    ],
)
def test_critical_must_be_below_warning_where_both_are_on(thresholds: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        _policy(thresholds)


def test_critical_above_warning_is_fine_when_warning_is_off() -> None:
    assert _policy({"forecast_warning_hours": 0, "forecast_critical_hours": 500}).forecast_hours_for("x") == (0, 500)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FORECAST_WARNING_HOURS": "-1"}, "FORECAST_WARNING_HOURS"),
        ({"FORECAST_CRITICAL_HOURS": "soon"}, "FORECAST_CRITICAL_HOURS"),
        ({"FORECAST_WARNING_HOURS": "10", "FORECAST_CRITICAL_HOURS": "20"}, "FORECAST_CRITICAL_HOURS"),
    ],
)
def test_bad_environment_names_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_provider_settings(BASE_ENV | env)


@pytest.mark.parametrize("value", [-1, True, "x", 10_000])
def test_bad_account_hours_name_the_field(value: Any) -> None:
    with pytest.raises(ValueError, match="forecast_warning_hours"):
        AccountConfig(name="main", api_key={"env": "KEY"}, thresholds={"forecast_warning_hours": value})
