"""A ProviderAdapter built from a custom provider entry: the built-ins' request path, the entry's reading.

The adapter goes through ``shared.providers.check`` like a built-in one, so the same HTTP client applies
(https or loopback, no redirects, the response cap, the run's deadline) and the same status rules.
"""

from __future__ import annotations

import base64
import math
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import SecretStr, ValidationError

from shared.custom.expressions import Expression, ExpressionFailed, truthy
from shared.custom.spec import MAX_METRICS_PER_ACCOUNT, BasicAuth, HeaderAuth, MetricSpec, ProviderEntry
from shared.models import ProviderError, QuotaMetric
from shared.providers import ProviderAdapter, bad_response

MAX_METRIC_ID_CHARS = 256
MAX_NAME_CHARS = 200
_NUMERIC_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def name_from_id(metric_id: str) -> str:
    """``gpt4_question`` → ``Gpt4 question``; an id with nothing readable in it is its own name."""
    words = " ".join(metric_id.replace("_", " ").split())
    return words[:1].upper() + words[1:] or metric_id


def to_number(value: Any) -> float | None:
    """A JSON number or a numeric string as a float; None for anything else (booleans included).

    Raises ValueError for a number that is not finite (or too large to be one).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 64 or not _NUMERIC_TEXT.fullmatch(text):
            return None
        value = float(text)
    elif isinstance(value, int):
        try:
            value = float(value)
        except OverflowError:
            raise ValueError("not a finite number") from None
    elif not isinstance(value, float):
        return None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return float(value)


def to_datetime(value: Any) -> datetime | None:
    """An ISO 8601 string or epoch seconds (a number or a numeric string) as UTC; None for null.

    Raises ValueError for anything else. A time without an offset is read as UTC.
    """
    if value is None:
        return None
    number = to_number(value)
    if number is not None:
        try:
            return datetime.fromtimestamp(number, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("epoch seconds out of range") from None
    if isinstance(value, str) and 0 < len(value) <= 64:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("not an ISO 8601 time or epoch seconds") from None
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    raise ValueError("not an ISO 8601 time or epoch seconds")


class CustomAdapter(ProviderAdapter):
    """The adapter of one entry. Build it with ``adapter_for(entry)``, which sets the class facts."""

    entry: ClassVar[ProviderEntry]

    def request_headers(self, api_key: SecretStr) -> dict[str, str]:
        auth = self.entry.request.auth
        if isinstance(auth, BasicAuth):
            pair = f"{auth.username}:{api_key.get_secret_value()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return super().request_headers(api_key)

    def query_params(self) -> dict[str, str]:
        return dict(self.entry.request.query)

    def classify_error(self, status: int, body: Any) -> ProviderError | None:
        return self.matched_error(body, status)

    def matched_error(self, body: Any, status: int | None = None) -> ProviderError | None:
        """The first ``errors`` rule whose ``when`` is true on this JSON body. A rule that cannot be
        evaluated on the body does not match: error bodies rarely have the shape of a quota body."""
        if body is None:
            return None
        for index, rule in enumerate(self.entry.errors):
            try:
                matched = truthy(rule.when.search(body))
            except ExpressionFailed:
                continue
            if matched:
                said = f"HTTP {status}: " if status is not None else ""
                return ProviderError(
                    rule.failure_reason, f"{said}the body matches errors[{index}] ({_short(rule.when)})", status
                )
        return None

    def parse(self, body: Any) -> list[QuotaMetric]:
        matched = self.matched_error(body)
        if matched is not None:
            raise matched
        metrics: list[QuotaMetric] = []
        seen: set[str] = set()
        for index, spec in enumerate(self.entry.metrics):
            for context in _contexts(spec, index, body):
                metric = self._metric(spec, index, context)
                if metric is None:
                    continue
                if metric.metric_id in seen:
                    raise bad_response(f"metric id {metric.metric_id[:60]!r} appears twice")
                seen.add(metric.metric_id)
                metrics.append(metric)
                if len(metrics) > MAX_METRICS_PER_ACCOUNT:
                    raise bad_response(f"more than {MAX_METRICS_PER_ACCOUNT} metrics in one answer")
        return metrics

    def _metric(self, spec: MetricSpec, index: int, context: Any) -> QuotaMetric | None:
        where = f"metrics[{index}]"
        metric_id = _evaluate(spec.id, context, f"{where}.id")
        if not isinstance(metric_id, str) or not metric_id:
            raise bad_response(f"{where}.id gave no string")
        if len(metric_id) > MAX_METRIC_ID_CHARS:
            raise bad_response(f"{where}.id gave an id longer than {MAX_METRIC_ID_CHARS} characters")
        where = f"{where} (metric {metric_id[:60]!r})"
        unlimited = spec.unlimited_when is not None and truthy(
            _evaluate(spec.unlimited_when, context, f"{where}.unlimited_when")
        )
        limit = None if unlimited else _number(spec.limit, context, f"{where}.limit")
        if limit is not None and limit < 0:
            raise bad_response(f"{where}.limit is negative (an unlimited metric needs unlimited_when)")
        if spec.used is not None:
            used = _number(spec.used, context, f"{where}.used")
        else:
            assert spec.remaining is not None
            remaining = _number(spec.remaining, context, f"{where}.remaining")
            if limit is None:  # nothing to subtract from: an unlimited metric read by what is left
                return None
            used = limit - remaining
        resets_at = None
        if spec.resets_at is not None:
            try:
                resets_at = to_datetime(_evaluate(spec.resets_at, context, f"{where}.resets_at"))
            except ValueError as error:
                raise bad_response(f"{where}.resets_at: {error}") from None
        try:
            return QuotaMetric(
                metric_id=metric_id,
                name=self._name(spec, metric_id, context, where),
                used=used,
                limit=limit,
                unit=spec.unit,
                period=spec.period,
                resets_at=resets_at,
            )
        except ValidationError as error:
            raise bad_response(error) from None

    def _name(self, spec: MetricSpec, metric_id: str, context: Any, where: str) -> str:
        """``names`` first (the operator's words), then the ``name`` expression, then the id."""
        if metric_id in self.entry.names:
            return self.entry.names[metric_id]
        if spec.name is not None:
            name = _evaluate(spec.name, context, f"{where}.name")
            if isinstance(name, str) and name.strip():
                return name.strip()[:MAX_NAME_CHARS]
        return name_from_id(metric_id)[:MAX_NAME_CHARS]


def _short(expression: Expression) -> str:
    text = expression.source
    return text if len(text) <= 80 else text[:77] + "..."


def _evaluate(expression: Expression, context: Any, where: str) -> Any:
    try:
        return expression.search(context)
    except ExpressionFailed as error:
        raise bad_response(f"{where} failed on this body ({error})") from None


def _number(expression: Expression, context: Any, where: str) -> float:
    try:
        number = to_number(_evaluate(expression, context, where))
    except ValueError as error:
        raise bad_response(f"{where}: {error}") from None
    if number is None:
        raise bad_response(f"{where} gave no number")
    return number


def _contexts(spec: MetricSpec, index: int, body: Any) -> list[Any]:
    if spec.each is None:
        return [body]
    items = _evaluate(spec.each, body, f"metrics[{index}].each")
    if not isinstance(items, list):
        raise bad_response(f"metrics[{index}].each gave no list")
    if len(items) > MAX_METRICS_PER_ACCOUNT:
        raise bad_response(f"more than {MAX_METRICS_PER_ACCOUNT} metrics in one answer")
    return items


def adapter_for(entry: ProviderEntry) -> CustomAdapter:
    """The adapter of ``entry``: its id, base URL, path and auth as the class facts ``check`` reads."""
    auth = entry.request.auth
    facts: dict[str, Any] = {
        "entry": entry,
        "provider_id": entry.id,
        "display_name": entry.name,
        "manage_url": entry.manage_url,
        "default_base_url": entry.request.default_base_url,
        "endpoint_path": entry.request.path,
        "auth_header": auth.name if isinstance(auth, HeaderAuth) else "Authorization",
        "auth_scheme": None if isinstance(auth, HeaderAuth) else "Bearer",
    }
    adapter_class = type(f"CustomAdapter_{entry.id}", (CustomAdapter,), facts)
    adapter: CustomAdapter = adapter_class()
    return adapter
