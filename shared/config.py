"""Configuration: environment variables and accounts, validated once with pydantic.

This is the only module that reads ``os.environ``. Everything below receives typed models. It reads no
secret: SSM and Secrets Manager are ``shared.secrets``. Errors name the field that is wrong and never echo
a value, so a secret pasted into the wrong place is not printed either.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.key_references import KEY_SOURCES, SSM_ARN, SSM_NAME, ApiKeyRef


class ConfigError(Exception):
    """Invalid configuration. The message names the field and never holds a value."""


def _location_parts(loc: tuple[int | str, ...]) -> list[int | str]:
    """The error location without the tag that the ``api_key`` union adds (``api_key.ssm.ssm`` -> ``api_key.ssm``)."""
    parts: list[int | str] = []
    for index, part in enumerate(loc):
        if index >= 2 and loc[index - 2] == "api_key" and part == loc[index - 1] and part in KEY_SOURCES:
            continue
        parts.append(part)
    return parts


def _format_validation_error(error: ValidationError, prefix: str) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        location = prefix
        for part in _location_parts(item["loc"]):
            location += f"[{part}]" if isinstance(part, int) else (f".{part}" if location else str(part))
        problems.append(f"{location or prefix}: {item['msg']}")
    return "; ".join(problems)


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str) -> str:
    """https always, plain http only to a loopback host (local runs and tests)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise ValueError("must be an absolute URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    if parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host)):
        return url.rstrip("/")
    raise ValueError("must use https (plain http is allowed only for localhost, 127.0.0.0/8 and ::1)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("percent_boolean", "must be a number from 1 to 100, not true or false")
    return value


Percent = Annotated[float, BeforeValidator(_not_a_boolean), Field(ge=1, le=100)]


def _hours_not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise PydanticCustomError("hours_boolean", "must be a number of hours (0 turns it off), not true or false")
    return value


# Forecast hours: 0 turns that forecast level off (and does not fall back to a less specific setting).
Hours = Annotated[float, BeforeValidator(_hours_not_a_boolean), Field(ge=0, le=24 * 366)]


class MetricThresholds(_Strict):
    warning: Percent | None = None
    critical: Percent | None = None
    forecast_warning_hours: Hours | None = None
    forecast_critical_hours: Hours | None = None


class AccountThresholds(MetricThresholds):
    metrics: dict[str, MetricThresholds] = Field(default_factory=dict)


class AccountConfig(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    base_url: str | None = None
    api_key: ApiKeyRef
    thresholds: AccountThresholds = Field(default_factory=AccountThresholds)
    ignore: frozenset[str] = frozenset()

    @field_validator("base_url")
    @classmethod
    def _base_url_is_safe(cls, value: str | None) -> str | None:
        return None if value is None else validate_base_url(value)


_ACCOUNTS_ADAPTER = TypeAdapter(list[AccountConfig])


def parse_accounts(raw_json: str, source: str) -> list[AccountConfig]:
    """Parse the accounts JSON; ``source`` names where it came from, for the error message."""
    try:
        data = json.loads(raw_json)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}: not valid JSON (line {error.lineno}, column {error.colno})") from None
    try:
        accounts = _ACCOUNTS_ADAPTER.validate_python(data)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(error, source)) from None
    if not accounts:
        raise ConfigError(f"{source}: lists no accounts")
    names = [account.name for account in accounts]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{source}: duplicate account name(s) {', '.join(duplicates)}")
    return accounts


class Policy(_Strict):
    """Alerting thresholds and timings, the contract's defaults unless overridden."""

    warning_percent: Percent = 80
    critical_percent: Percent = 95
    hysteresis_percent: float = Field(default=5, ge=0, lt=100)
    renotify_seconds: int = Field(default=86400, ge=0)
    failure_alert_after: int = Field(default=3, ge=1)
    forecast_warning_hours: Hours = 168
    forecast_critical_hours: Hours = 24

    @model_validator(mode="after")
    def _warning_below_critical(self) -> Policy:
        if self.warning_percent >= self.critical_percent:
            raise ValueError("WARNING_PERCENT must be below CRITICAL_PERCENT")
        if _both_on(self.forecast_warning_hours, self.forecast_critical_hours) and (
            self.forecast_critical_hours >= self.forecast_warning_hours
        ):
            raise ValueError("FORECAST_CRITICAL_HOURS must be below FORECAST_WARNING_HOURS (or 0 to turn one off)")
        return self

    def for_account(self, account: AccountConfig, location: str) -> AccountPolicy:
        """The account's policy; ``location`` (e.g. ``ACCOUNTS[0]``) names it in errors."""
        policy = AccountPolicy(base=self, thresholds=account.thresholds, ignore=account.ignore)
        for metric_id in ("", *account.thresholds.metrics):
            warning, critical = policy.thresholds_for(metric_id)
            if warning >= critical:
                where = f".metrics.{metric_id}" if metric_id else ""
                raise ConfigError(
                    f"{location}.thresholds{where}: warning ({warning:g}) must be below critical ({critical:g})"
                )
            warning_hours, critical_hours = policy.forecast_hours_for(metric_id)
            if _both_on(warning_hours, critical_hours) and critical_hours >= warning_hours:
                where = f".metrics.{metric_id}" if metric_id else ""
                raise ConfigError(
                    f"{location}.thresholds{where}: forecast_critical_hours ({critical_hours:g}) must be below "
                    f"forecast_warning_hours ({warning_hours:g}), or 0 to turn one off"
                )
        return policy


def _both_on(warning_hours: float, critical_hours: float) -> bool:
    return warning_hours > 0 and critical_hours > 0


def _first_set(*layers: float | None) -> float:
    """The most specific setting given: 0 is a setting (off), not a gap, so no ``or`` here."""
    return next(value for value in layers if value is not None)


class AccountPolicy(_Strict):
    """The policy as one account sees it: its own thresholds and ignore list on top of the defaults."""

    base: Policy
    thresholds: AccountThresholds = Field(default_factory=AccountThresholds)
    ignore: frozenset[str] = frozenset()

    def thresholds_for(self, metric_id: str) -> tuple[float, float]:
        """(warning, critical) for a metric: per-metric, then per-account, then the defaults."""
        per_metric = self.thresholds.metrics.get(metric_id, MetricThresholds())
        warning = per_metric.warning or self.thresholds.warning or self.base.warning_percent
        critical = per_metric.critical or self.thresholds.critical or self.base.critical_percent
        return warning, critical

    def forecast_hours_for(self, metric_id: str) -> tuple[float, float]:
        """(forecast warning hours, forecast critical hours) for a metric: per-metric, per-account, then the
        defaults; 0 turns a level off at any layer."""
        per_metric = self.thresholds.metrics.get(metric_id, MetricThresholds())
        warning = _first_set(
            per_metric.forecast_warning_hours, self.thresholds.forecast_warning_hours, self.base.forecast_warning_hours
        )
        critical = _first_set(
            per_metric.forecast_critical_hours,
            self.thresholds.forecast_critical_hours,
            self.base.forecast_critical_hours,
        )
        return warning, critical


def parameter_name(value: str | None) -> str | None:
    """A variable that names an SSM parameter (or a path ending in ``/``) holds that, never a pasted value."""
    if value is not None and not (SSM_NAME.fullmatch(value) or SSM_ARN.fullmatch(value)):
        raise PydanticCustomError(
            "parameter_name", "must be an SSM parameter name starting with /, a path ending in /, or an ARN"
        )
    return value


class RunSettings(_Strict):
    """The variables every checking function shares: where state and alerts go, the policy, the run's bounds."""

    state_table_name: str = Field(min_length=1)
    alert_topic_arn: str = Field(min_length=1)
    policy: Policy = Field(default_factory=Policy)
    state_ttl_days: int = Field(default=30, ge=1)
    max_concurrency: int = Field(default=16, ge=1, le=256)
    # A page the team keeps on what to do about alerts; every alert links to it when set.
    runbook_url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2000)


class ProviderSettings(RunSettings):
    """Every environment variable of a provider function (the contract's table)."""

    accounts: list[AccountConfig] | None = None
    accounts_parameter: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_accounts_source(self) -> ProviderSettings:
        if self.accounts is not None and self.accounts_parameter is not None:
            raise ValueError("set ACCOUNTS or ACCOUNTS_PARAMETER, not both")
        if self.accounts is None and self.accounts_parameter is None:
            raise ValueError("set ACCOUNTS or ACCOUNTS_PARAMETER")
        return self

    @field_validator("accounts_parameter")
    @classmethod
    def _parameter_shape(cls, value: str | None) -> str | None:
        return parameter_name(value)


_ENV_FIELDS = {
    "STATE_TABLE_NAME": "state_table_name",
    "ALERT_TOPIC_ARN": "alert_topic_arn",
    "STATE_TTL_DAYS": "state_ttl_days",
    "MAX_CONCURRENCY": "max_concurrency",
    "RUNBOOK_URL": "runbook_url",
}
_POLICY_ENV_FIELDS = {
    "WARNING_PERCENT": "warning_percent",
    "CRITICAL_PERCENT": "critical_percent",
    "HYSTERESIS_PERCENT": "hysteresis_percent",
    "RENOTIFY_SECONDS": "renotify_seconds",
    "FAILURE_ALERT_AFTER": "failure_alert_after",
    "FORECAST_WARNING_HOURS": "forecast_warning_hours",
    "FORECAST_CRITICAL_HOURS": "forecast_critical_hours",
}
_FIELD_TO_ENV = {field: env for env, field in (_ENV_FIELDS | _POLICY_ENV_FIELDS).items()}


def _env_name_for(location: str) -> str:
    head, _, rest = location.partition(".")
    if head == "policy" and rest:
        head, _, rest = rest.partition(".")
    name = _FIELD_TO_ENV.get(head, head.upper())
    return f"{name}.{rest}" if rest else name


def read_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The function's environment (``os.environ`` unless given), read once at the edge of a run."""
    return dict(os.environ if environ is None else environ)


SettingsModel = TypeVar("SettingsModel", bound=RunSettings)


def load_run_settings(
    model: type[SettingsModel],
    env: Mapping[str, str],
    own_fields: Mapping[str, str] | None = None,
    parsed: Mapping[str, Any] | None = None,
) -> SettingsModel:
    """Validate a checking function's environment into ``model``: the shared variables, ``own_fields``
    (variable -> field, taken as text) and ``parsed`` (fields already validated from their variables).
    Raises ConfigError naming the variable."""
    fields = {**_ENV_FIELDS, **(own_fields or {})}
    raw: dict[str, Any] = {field: env[name] for name, field in fields.items() if env.get(name, "") != ""}
    raw["policy"] = {field: env[name] for name, field in _POLICY_ENV_FIELDS.items() if env.get(name, "") != ""}
    raw.update(parsed or {})
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        names = {field: name for name, field in (own_fields or {}).items()}
        problems = []
        for item in error.errors(include_input=False, include_url=False):
            location = ".".join(str(part) for part in item["loc"])
            head, dot, rest = location.partition(".")
            where = f"{names[head]}{dot}{rest}" if head in names else _env_name_for(location)
            problems.append(f"{where if location else 'environment'}: {item['msg']}")
        raise ConfigError("; ".join(problems)) from None


def load_provider_settings(environ: Mapping[str, str] | None = None) -> ProviderSettings:
    """Validate a provider function's environment. Raises ConfigError naming the variable."""
    env = read_environment(environ)
    parsed = {"accounts": parse_accounts(env["ACCOUNTS"], "ACCOUNTS")} if env.get("ACCOUNTS", "") != "" else {}
    return load_run_settings(ProviderSettings, env, {"ACCOUNTS_PARAMETER": "accounts_parameter"}, parsed)


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Tracing is opt-in: only when POWERTOOLS_TRACE_DISABLED is explicitly "false"."""
    env = os.environ if environ is None else environ
    return env.get("POWERTOOLS_TRACE_DISABLED", "true").lower() == "false"


class SlackNotifierSettings(_Strict):
    """The Slack notifier's variables: where the webhook URL lives, and the idempotency table."""

    slack_webhook_parameter: str = Field(min_length=1)
    state_table_name: str = Field(min_length=1)


def load_slack_settings(environ: Mapping[str, str] | None = None) -> SlackNotifierSettings:
    env = os.environ if environ is None else environ
    raw = {
        "slack_webhook_parameter": env.get("SLACK_WEBHOOK_PARAMETER", ""),
        "state_table_name": env.get("STATE_TABLE_NAME", ""),
    }
    try:
        return SlackNotifierSettings.model_validate(raw)
    except ValidationError as error:
        problems = [
            f"{str(item['loc'][0]).upper()}: required" for item in error.errors(include_input=False, include_url=False)
        ]
        raise ConfigError("; ".join(problems)) from None
