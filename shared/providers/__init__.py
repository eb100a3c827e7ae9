"""The provider registry: one module per provider, found by its id.

A provider module defines a ``ProviderAdapter`` subclass and decorates it with ``@register("id")``.
Modules are imported on first use, so a function loads only its own provider.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from shared.http import HttpResult, ProviderHttpClient, redact
from shared.models import FailureReason, ProviderError, QuotaMetric

PROVIDER_IDS = ("flashback", "bigdata", "templatedocs", "chatdoc", "onlyoffice")


class ProviderAdapter(ABC):
    """What a provider is: where its quota endpoint lives, how to authenticate, how to read the body."""

    provider_id: ClassVar[str]
    # How people name the provider, and the page where its quota or plan is managed (alerts link to it).
    display_name: ClassVar[str]
    manage_url: ClassVar[str | None] = None
    default_base_url: ClassVar[str | None]
    endpoint_path: ClassVar[str]
    auth_header: ClassVar[str] = "Authorization"
    auth_scheme: ClassVar[str | None] = "Bearer"

    def request_headers(self, api_key: SecretStr) -> dict[str, str]:
        token = api_key.get_secret_value()
        return {self.auth_header: f"{self.auth_scheme} {token}" if self.auth_scheme else token}

    def query_params(self) -> dict[str, str]:
        return {}

    def classify_error(self, status: int, body: Any) -> ProviderError | None:
        """A provider-specific reason for a non-2xx answer, or None for the contract's status mapping."""
        return None

    def error_text(self, body: Any) -> str | None:
        """The provider's own words about an error, if the body carries them."""
        if isinstance(body, dict):
            for key in ("message", "error_code", "error", "detail"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value
                if isinstance(value, dict) and isinstance(value.get("message"), str):
                    return str(value["message"])
        return None

    @abstractmethod
    def parse(self, body: Any) -> list[QuotaMetric]:
        """Turn a 2xx JSON body into metrics. Raise ProviderError and nothing else."""


_REGISTRY: dict[str, type[ProviderAdapter]] = {}
AdapterClass = TypeVar("AdapterClass", bound=type[ProviderAdapter])


def register(provider_id: str) -> Callable[[AdapterClass], AdapterClass]:
    def decorate(adapter_class: AdapterClass) -> AdapterClass:
        if provider_id in _REGISTRY and _REGISTRY[provider_id] is not adapter_class:
            raise ValueError(f"provider {provider_id!r} is registered twice")
        adapter_class.provider_id = provider_id
        _REGISTRY[provider_id] = adapter_class
        return adapter_class

    return decorate


def get_adapter(provider_id: str) -> ProviderAdapter:
    if provider_id not in _REGISTRY:
        if provider_id not in PROVIDER_IDS:
            raise KeyError(f"unknown provider {provider_id!r}; known: {', '.join(PROVIDER_IDS)}")
        importlib.import_module(f"{__name__}.{provider_id}")
    return _REGISTRY[provider_id]()


def bad_response(error: ValidationError | str, status: int | None = None) -> ProviderError:
    """A body that is not the documented schema; names the first fields that are wrong, never values."""
    if isinstance(error, str):
        return ProviderError(FailureReason.BAD_RESPONSE, error, status)
    problems = []
    for item in error.errors(include_input=False, include_url=False)[:3]:
        location = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append(f"{location}: {item['msg']}")
    return ProviderError(
        FailureReason.BAD_RESPONSE, "body is not the documented schema (" + "; ".join(problems) + ")", status
    )


@contextmanager
def off_schema() -> Iterator[None]:
    """A pydantic ValidationError raised inside becomes ``bad_response``: a ProviderError naming the fields."""
    try:
        yield
    except ValidationError as error:
        raise bad_response(error) from None


class LenientModel(BaseModel):
    """The base of every provider body model: unknown keys are ignored (providers add fields), types are
    strict, and NaN or Infinity (which json.loads accepts) are refused at the door."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False)


Model = TypeVar("Model", bound=BaseModel)


def parse_model(model: type[Model], body: Any) -> Model:
    """``body`` read as ``model``; a body off the schema raises ``bad_response`` naming the first fields."""
    with off_schema():
        return model.model_validate(body)


def _status_reason(status: int) -> FailureReason:
    if status in (401, 403):
        return FailureReason.AUTH
    if status == 402:
        return FailureReason.NO_SUBSCRIPTION
    if status == 429:
        return FailureReason.RATE_LIMITED
    if status >= 500:
        return FailureReason.UNAVAILABLE
    return FailureReason.BAD_RESPONSE


def interpret(adapter: ProviderAdapter, result: HttpResult, secrets: list[str]) -> list[QuotaMetric]:
    """Map an HTTP answer to metrics or to a ProviderError: the status code decides first."""
    status = result.status
    if 200 <= status < 300:
        if result.body is None:
            kind = (
                "HTML" if "html" in result.content_type.lower() or result.text.lstrip().startswith("<") else "not JSON"
            )
            raise bad_response(f"HTTP {status} body is {kind}", status)
        try:
            return adapter.parse(result.body)
        except ProviderError as error:
            error.status = status
            error.message = redact(error.message, secrets)
            raise
    specific = adapter.classify_error(status, result.body)
    if specific is not None:
        specific.status = status
        raise specific
    if 300 <= status < 400:
        raise ProviderError(FailureReason.BAD_RESPONSE, f"HTTP {status} redirect not followed", status)
    said = adapter.error_text(result.body)
    message = f"HTTP {status}" + (f": {redact(said, secrets)[:200]}" if said else "")
    raise ProviderError(_status_reason(status), message, status)


def check(
    adapter: ProviderAdapter, base_url: str, api_key: SecretStr, deadline: float, client: ProviderHttpClient
) -> list[QuotaMetric]:
    """One quota check: GET the endpoint and read the answer. Raises ProviderError only."""
    secrets = [api_key.get_secret_value()]
    url = base_url.rstrip("/") + adapter.endpoint_path
    result = client.get(url, adapter.request_headers(api_key), adapter.query_params(), deadline, secrets)
    return interpret(adapter, result, secrets)
