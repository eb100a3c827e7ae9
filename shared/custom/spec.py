"""The custom provider entry (the contract's "Custom providers (no code)"), validated once with pydantic.

Errors name the field, e.g. ``CUSTOM_PROVIDERS[0].metrics[0].used: not a valid JMESPath expression``,
and never echo a value: an API key pasted into the wrong field is not printed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from shared.config import AccountConfig, ConfigError, is_loopback_host, validate_base_url
from shared.custom.expressions import Expression
from shared.key_references import KEY_SOURCES
from shared.models import FailureReason
from shared.providers import PROVIDER_IDS

# The provider id of CustomFunction's metrics dimension and run summary; no entry may take it.
CUSTOM_PROVIDER = "custom"
MAX_METRICS_PER_ACCOUNT = 100
MAX_ERRORS = 50
MAX_NAMES = 500
# What a metric's literal ``period`` may say. Flashback reports ``all_time`` for standing caps.
PERIODS = ("hourly", "daily", "weekly", "monthly", "yearly", "all_time")
Period = Literal["hourly", "daily", "weekly", "monthly", "yearly", "all_time"]
Reason = Literal["auth", "no_subscription", "rate_limited", "unavailable", "bad_response"]

ProviderId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
DisplayName = Annotated[str, Field(min_length=1, max_length=100)]
# Known units are formatted (count, bytes, usd_cents); others are printed after the number ("12 emails").
Unit = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, arbitrary_types_allowed=True)


class BearerAuth(_Strict):
    """``Authorization: Bearer <key>``."""

    type: Literal["bearer"]


class HeaderAuth(_Strict):
    """The key is the value of the header ``name``, e.g. ``X-API-KEY``."""

    type: Literal["header"]
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

    @field_validator("name")
    @classmethod
    def _not_a_transport_header(cls, value: str) -> str:
        if value.lower() in {"host", "content-length", "transfer-encoding", "connection", "cookie"}:
            raise ValueError("must not be a transport header")
        return value


class BasicAuth(_Strict):
    """HTTP Basic with ``username`` and the key as the password."""

    type: Literal["basic"]
    username: str = Field(max_length=256, pattern=r"^[^:\x00-\x1f\x7f]*$")


Auth = Annotated[BearerAuth | HeaderAuth | BasicAuth, Field(discriminator="type")]


class RequestSpec(_Strict):
    path: str = Field(min_length=1, max_length=512, pattern=r"^/[^?#\s\x00-\x1f\x7f]*$")
    default_base_url: str | None = None
    query: dict[Annotated[str, Field(min_length=1, max_length=128)], Annotated[str, Field(max_length=512)]] = Field(
        default_factory=dict, max_length=20
    )
    auth: Auth = Field(default_factory=lambda: BearerAuth(type="bearer"))

    @field_validator("default_base_url")
    @classmethod
    def _base_url_is_safe(cls, value: str | None) -> str | None:
        return None if value is None else validate_base_url(value)


class MetricSpec(_Strict):
    """One metric, or one per item that ``each`` yields."""

    each: Expression | None = None
    id: Expression
    name: Expression | None = None
    used: Expression | None = None
    remaining: Expression | None = None
    limit: Expression
    unit: Unit = "count"
    period: Period | None = None
    resets_at: Expression | None = None
    unlimited_when: Expression | None = None

    @model_validator(mode="after")
    def _used_or_remaining(self) -> MetricSpec:
        if (self.used is None) == (self.remaining is None):
            raise ValueError("give exactly one of used and remaining")
        return self


class ErrorRule(_Strict):
    """When ``when`` is true on a body (any status), the check fails with ``reason``."""

    when: Expression
    reason: Reason

    @property
    def failure_reason(self) -> FailureReason:
        return FailureReason(self.reason)


class ProviderEntry(_Strict):
    id: ProviderId
    name: DisplayName
    manage_url: str | None = Field(default=None, max_length=2048)
    request: RequestSpec
    metrics: list[MetricSpec] = Field(min_length=1, max_length=MAX_METRICS_PER_ACCOUNT)
    names: dict[Annotated[str, Field(min_length=1, max_length=256)], DisplayName] = Field(
        default_factory=dict, max_length=MAX_NAMES
    )
    errors: list[ErrorRule] = Field(default_factory=list, max_length=MAX_ERRORS)
    accounts: list[AccountConfig] = Field(min_length=1)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == CUSTOM_PROVIDER or value in PROVIDER_IDS:
            raise ValueError("is reserved: it is custom or the id of a built-in provider")
        return value

    @field_validator("manage_url")
    @classmethod
    def _manage_url_is_a_link(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        loopback_http = parts.scheme == "http" and is_loopback_host(parts.hostname or "")
        if not parts.hostname or (parts.scheme != "https" and not loopback_http):
            raise ValueError("must be an https URL")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials")
        return value

    @model_validator(mode="after")
    def _accounts_are_usable(self) -> ProviderEntry:
        names = [account.name for account in self.accounts]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate account name(s) {', '.join(duplicates)}")
        if self.request.default_base_url is None:
            missing = [str(index) for index, account in enumerate(self.accounts) if account.base_url is None]
            if missing:
                raise ValueError(
                    f"accounts[{', '.join(missing)}] need a base_url, because request.default_base_url is not set"
                )
        return self

    def ssm_prefix(self) -> str:
        """Where this entry's keys live in SSM Parameter Store (the deployed function may read there)."""
        return f"/quota-sentinel/custom/{self.id}/"

    def secret_prefix(self) -> str:
        """Where this entry's keys live in Secrets Manager."""
        return f"quota-sentinel/custom/{self.id}/"


_ENTRY = TypeAdapter(ProviderEntry)


def _location(prefix: str, loc: tuple[int | str, ...]) -> str:
    text = prefix
    for index, part in enumerate(loc):
        # The api_key union adds its tag to the location: api_key.env.env is api_key.env.
        if index >= 2 and loc[index - 2] == "api_key" and part == loc[index - 1] and part in KEY_SOURCES:
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def format_errors(error: ValidationError, prefix: str) -> str:
    """Every problem as ``<field path>: <what is wrong>``, without the offending values."""
    problems = []
    for item in error.errors(include_input=False, include_url=False, include_context=False):
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{_location(prefix, tuple(item['loc']))}: {message}")
    return "; ".join(dict.fromkeys(problems))


def validate_entry(data: Any, location: str) -> ProviderEntry:
    """One provider entry, already parsed from JSON. ``location`` names it in errors."""
    try:
        return _ENTRY.validate_python(data)
    except ValidationError as error:
        raise ConfigError(format_errors(error, location)) from None


def _unique_ids(entries: list[tuple[str, ProviderEntry]]) -> None:
    seen: dict[str, str] = {}
    for location, entry in entries:
        if entry.id in seen:
            raise ConfigError(f"{location}.id: the same id as {seen[entry.id]}; ids must be unique")
        seen[entry.id] = location


def _load_json(raw_json: str, source: str) -> Any:
    try:
        return json.loads(raw_json)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{source}: not valid JSON (line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise ConfigError(f"{source}: JSON nested too deeply") from None


def validate_entries(data: Any, source: str = "CUSTOM_PROVIDERS") -> list[ProviderEntry]:
    """A parsed JSON list of provider entries: each valid, ids unique. Raises ConfigError."""
    if not isinstance(data, list):
        raise ConfigError(f"{source}: must be a JSON list of provider entries")
    if not data:
        raise ConfigError(f"{source}: lists no provider entries")
    located = [(f"{source}[{index}]", validate_entry(item, f"{source}[{index}]")) for index, item in enumerate(data)]
    _unique_ids(located)
    return [entry for _, entry in located]


def parse_custom_providers(raw_json: str, source: str = "CUSTOM_PROVIDERS") -> list[ProviderEntry]:
    """The CUSTOM_PROVIDERS JSON (or the one parameter that holds it). Raises ConfigError naming the field."""
    return validate_entries(_load_json(raw_json, source), source)


def parse_custom_provider_parameters(
    values: Mapping[str, str], source: str = "CUSTOM_PROVIDERS_PARAMETER"
) -> list[ProviderEntry]:
    """The path form: parameter name -> its JSON, one entry (or a list of entries) per parameter.

    Errors name the parameter, e.g. ``CUSTOM_PROVIDERS_PARAMETER (/quota-sentinel/custom/providers/acme).id``.
    """
    if not values:
        raise ConfigError(f"{source}: no parameters under this path")
    located: list[tuple[str, ProviderEntry]] = []
    for name in sorted(values):
        where = f"{source} ({name})"
        data = _load_json(values[name], where)
        if isinstance(data, list):
            located.extend((f"{where}[{i}]", validate_entry(item, f"{where}[{i}]")) for i, item in enumerate(data))
        else:
            located.append((where, validate_entry(data, where)))
    _unique_ids(located)
    return [entry for _, entry in located]
