"""Configuration: environment variables and accounts, validated once with pydantic.

This is the only module that reads ``os.environ``. Everything below receives typed models.
Errors name the field that is wrong and never echo a value, so a secret pasted into the
wrong place is not printed either.
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from collections.abc import Mapping
from types import ModuleType
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.key_references import (
    KEY_SOURCES,
    SSM_ARN,
    SSM_NAME,
    ApiKeyRef,
    EnvKey,
    KeyRef,
    SsmKey,
    key_prefix,
)

SECRET_CACHE_SECONDS = 300


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


class MetricThresholds(_Strict):
    warning: Percent | None = None
    critical: Percent | None = None


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

    @model_validator(mode="after")
    def _warning_below_critical(self) -> Policy:
        if self.warning_percent >= self.critical_percent:
            raise ValueError("WARNING_PERCENT must be below CRITICAL_PERCENT")
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
        return policy


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


class RunSettings(_Strict):
    """The variables every checking function shares: where state and alerts go, the policy, the run's bounds."""

    state_table_name: str = Field(min_length=1)
    alert_topic_arn: str = Field(min_length=1)
    policy: Policy = Field(default_factory=Policy)
    state_ttl_days: int = Field(default=30, ge=1)
    max_concurrency: int = Field(default=16, ge=1, le=256)
    env: Mapping[str, str] = Field(default_factory=dict, repr=False, exclude=True)


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
        if value is not None and not (SSM_NAME.fullmatch(value) or SSM_ARN.fullmatch(value)):
            raise PydanticCustomError(
                "parameter_name", "must be an SSM parameter name starting with /, a path ending in /, or an ARN"
            )
        return value


_ENV_FIELDS = {
    "STATE_TABLE_NAME": "state_table_name",
    "ALERT_TOPIC_ARN": "alert_topic_arn",
    "STATE_TTL_DAYS": "state_ttl_days",
    "MAX_CONCURRENCY": "max_concurrency",
}
_POLICY_ENV_FIELDS = {
    "WARNING_PERCENT": "warning_percent",
    "CRITICAL_PERCENT": "critical_percent",
    "HYSTERESIS_PERCENT": "hysteresis_percent",
    "RENOTIFY_SECONDS": "renotify_seconds",
    "FAILURE_ALERT_AFTER": "failure_alert_after",
}
_FIELD_TO_ENV = {field: env for env, field in (_ENV_FIELDS | _POLICY_ENV_FIELDS).items()}


def _env_name_for(location: str) -> str:
    head, _, rest = location.partition(".")
    if head == "policy" and rest:
        head, _, rest = rest.partition(".")
    name = _FIELD_TO_ENV.get(head, head.upper())
    return f"{name}.{rest}" if rest else name


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
    raw["env"] = dict(env)
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
    env = dict(os.environ if environ is None else environ)
    parsed = {"accounts": parse_accounts(env["ACCOUNTS"], "ACCOUNTS")} if env.get("ACCOUNTS", "") != "" else {}
    return load_run_settings(ProviderSettings, env, {"ACCOUNTS_PARAMETER": "accounts_parameter"}, parsed)


def tracing_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Tracing is opt-in: only when POWERTOOLS_TRACE_DISABLED is explicitly "false"."""
    env = os.environ if environ is None else environ
    return env.get("POWERTOOLS_TRACE_DISABLED", "true").lower() == "false"


# boto3's default session is not thread-safe: code that creates a client on it from a worker thread holds this.
DEFAULT_SESSION_LOCK = threading.Lock()


def _parameters(kind: str) -> ModuleType:
    """Powertools Parameters, with its default ``kind`` provider ("ssm" or "secrets") created once, under a lock.

    Powertools creates a default provider on first use, without a lock and on a new boto3 Session: accounts
    checked concurrently would each build one (a client apiece, whose caches then overwrite each other), and
    every new Session loads botocore's data files again. Here the provider's client comes from boto3's default
    session, which the DynamoDB client has already loaded.
    """
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    with DEFAULT_SESSION_LOCK:
        if kind not in DEFAULT_PROVIDERS:
            if kind == "ssm":
                DEFAULT_PROVIDERS[kind] = parameters.SSMProvider(boto3_client=boto3.client("ssm"))
            else:
                DEFAULT_PROVIDERS[kind] = parameters.SecretsProvider(boto3_client=boto3.client("secretsmanager"))
    return parameters


def _parameter_label(name: str, provider: str, field: str) -> str:
    """An SSM parameter as errors may show it: by name under the function's prefix, else by its field."""
    return (
        f"SSM parameter {name}"
        if SsmKey(ssm=name).name_under(key_prefix(provider))
        else f"the SSM parameter in {field}"
    )


def load_accounts_parameter(name: str, provider: str) -> list[AccountConfig]:
    """Read the accounts from SSM (decrypted, cached) and validate them.

    ``name`` is one parameter holding the JSON list, or a path ending in ``/`` under which each parameter holds
    one account entry or a list (GetParametersByPath, recursive): the path form has no 4 KB limit.
    """
    parameters = _parameters("ssm")
    label = _parameter_label(name, provider, "ACCOUNTS_PARAMETER")
    try:
        if name.endswith("/"):
            found = parameters.get_parameters(
                name.rstrip("/") or "/", recursive=True, decrypt=True, max_age=SECRET_CACHE_SECONDS
            )
            raws = sorted(found.items())
        else:
            raws = [("", parameters.get_parameter(name, decrypt=True, max_age=SECRET_CACHE_SECONDS))]
    except parameters.exceptions.GetParameterError as error:
        raise ConfigError(f"ACCOUNTS_PARAMETER: {label} could not be read ({_read_failure(error)})") from None
    if not raws:
        raise ConfigError(f"ACCOUNTS_PARAMETER: {label} holds no parameters")
    shown = label.startswith("SSM")
    if not name.endswith("/"):
        return parse_accounts(str(raws[0][1]), f"ACCOUNTS_PARAMETER ({name})" if shown else "ACCOUNTS_PARAMETER")
    entries: list[Any] = []
    for suffix, raw in raws:
        try:
            data = json.loads(str(raw))
        except json.JSONDecodeError as error:
            where = f"ACCOUNTS_PARAMETER ({name}{suffix})" if shown else "ACCOUNTS_PARAMETER"
            raise ConfigError(f"{where}: not valid JSON (line {error.lineno}, column {error.colno})") from None
        entries.extend(data if isinstance(data, list) else [data])
    return parse_accounts(json.dumps(entries), "ACCOUNTS_PARAMETER")


class SecretUnavailable(Exception):
    """An API key could not be read; ``permanent`` when retrying will not help (missing, denied)."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


_PERMANENT_SECRET_ERRORS = (
    "ParameterNotFound",
    "ResourceNotFoundException",
    "AccessDeniedException",
    "AccessDenied",
    "ParameterVersionNotFound",
    "InvalidKeyId",
    "DecryptionFailure",
    "KMSAccessDeniedException",
)


def _error_code(error: BaseException) -> str:
    cause = error.__cause__ or error.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(cause).__name__))
    return type(cause).__name__ if cause else type(error).__name__


_READ_FAILURES = {
    "ParameterNotFound": "not found",
    "ResourceNotFoundException": "not found",
    "ParameterVersionNotFound": "version not found",
    "AccessDeniedException": "access denied",
    "AccessDenied": "access denied",
    "KMSAccessDeniedException": "access to its KMS key denied",
    "InvalidKeyId": "its KMS key is not usable",
    "DecryptionFailure": "it could not be decrypted",
}


def _read_failure(error: BaseException) -> str:
    """Why a parameter or secret could not be read, e.g. ``not found (ParameterNotFound)``."""
    code = _error_code(error)
    return f"{_READ_FAILURES[code]} ({code})" if code in _READ_FAILURES else code


def resolve_api_key(ref: KeyRef, environ: Mapping[str, str], label: str | None = None) -> SecretStr:
    """Fetch an API key through Powertools Parameters (cached), or from the environment for local runs.

    ``label`` says where the key lives in error messages (see ``describe_key``); errors never hold the key.
    """
    label = label or f"{ref.kind} {ref.reference}"
    if isinstance(ref, EnvKey):
        value = environ.get(ref.env, "")
        if not value:
            raise SecretUnavailable(f"{label} is not set", permanent=True)
        return SecretStr(value)

    parameters = _parameters("ssm" if isinstance(ref, SsmKey) else "secrets")
    try:
        if isinstance(ref, SsmKey):
            value = parameters.get_parameter(ref.ssm, decrypt=True, max_age=SECRET_CACHE_SECONDS)
        else:
            value = parameters.get_secret(ref.secret, max_age=SECRET_CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as error:
        raise SecretUnavailable(
            f"{label} could not be read: {_read_failure(error)}",
            permanent=_error_code(error) in _PERMANENT_SECRET_ERRORS,
        ) from None
    text = value.decode() if isinstance(value, bytes) else str(value)
    if not text.strip():
        raise SecretUnavailable(f"{label} is empty", permanent=True)
    return SecretStr(text.strip())


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


def read_webhook_url(parameter_name: str) -> SecretStr:
    """The Slack webhook URL from an SSM SecureString (cached). Errors never show the URL."""
    parameters = _parameters("ssm")

    try:
        value = parameters.get_parameter(parameter_name, decrypt=True, max_age=SECRET_CACHE_SECONDS)
    except parameters.exceptions.GetParameterError as error:
        raise ConfigError(
            f"SLACK_WEBHOOK_PARAMETER: could not read SSM parameter {parameter_name} ({_error_code(error)})"
        ) from None
    url = str(value).strip()
    try:
        validate_base_url(url)
    except ValueError as error:
        raise ConfigError(f"SLACK_WEBHOOK_PARAMETER ({parameter_name}): the webhook URL {error}") from None
    return SecretStr(url)
