"""ONLYOFFICE DocSpace: ``GET {portal}/api/2.0/portal/payment/quota`` with a Bearer key.

One metric per ``size`` or ``count`` feature of the portal's plan that reports a numeric ``used.value``.
There is no public default URL: every account names its own portal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, StrictBool, StrictInt, field_validator

from shared.models import QuotaMetric
from shared.providers import LenientModel, ProviderAdapter, bad_response, off_schema, parse_model, register

# A feature's ``title`` is marketing copy ("Unlimited number of active rooms" beside a limit of 12), so
# names come from here, then from ``priceTitle``, then from the id.
NAMES = {
    "total_size": "Storage",
    "manager": "Admins",
    "room": "Rooms",
    "users": "Users",
    "aiagent": "AI agents",
    "free_backup": "Free backups this month",
}
PERIODS = {"free_backup": "monthly"}
# A per-file maximum, not a quota: its used value is always 0.
SKIPPED_IDS = frozenset({"file_size"})
UNLIMITED = -1


class _Error(LenientModel):
    message: str | None = None


class _Envelope(LenientModel):
    """DocSpace's CommonApiResponse; on success ``status`` is 0 and ``statusCode`` the HTTP status."""

    status: StrictInt = 0
    status_code: StrictInt = Field(default=200, alias="statusCode")
    error: _Error | None = None


class Price(LenientModel):
    value: float
    currency_symbol: str | None = Field(default=None, alias="currencySymbol")
    iso_currency_symbol: str | None = Field(default=None, alias="isoCurrencySymbol")


class FeatureUsed(LenientModel):
    # Omitted for callers who may not see it (the "User" role sees only total_size).
    value: float | None = None
    title: str | None = None


class Feature(LenientModel):
    id: str = Field(min_length=1)
    # Read for strictness only, never used as a name.
    title: str | None = None
    # The server sends a number for size/count (-1 = unlimited) and a boolean for flag; see check_value.
    value: StrictBool | float
    # size and count are quotas, flag is a feature switch; a type DocSpace adds later is skipped, not refused.
    type: str = Field(min_length=1)
    used: FeatureUsed | None = None
    price_title: str | None = Field(default=None, alias="priceTitle")

    def check_value(self) -> str | None:
        """What is wrong with ``value`` for this feature's type, or None."""
        if self.type == "flag":
            return None if isinstance(self.value, bool) else "a flag feature's value must be a boolean"
        if self.type not in QUOTA_TYPES:
            return None
        if isinstance(self.value, bool):
            return f"a {self.type} feature's value must be a number"
        if self.value < 0 and self.value != UNLIMITED:
            return f"a {self.type} feature's value must be >= 0 or -1 (unlimited)"
        return None


class QuotaDto(LenientModel):
    id: StrictInt | None = None
    title: str | None = None
    price: Price | None = None
    non_profit: StrictBool | None = Field(default=None, alias="nonProfit")
    free: StrictBool | None = None
    trial: StrictBool | None = None
    features: list[Feature]
    due_date: str | None = Field(default=None, alias="dueDate")

    @field_validator("due_date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        # Kept as a normalised ISO string: it only travels into alert details.
        return None if value is None else datetime.fromisoformat(value).isoformat()


class QuotaWrapper(_Envelope):
    response: QuotaDto


QUOTA_TYPES = frozenset({"size", "count"})


@register("onlyoffice")
class OnlyofficeAdapter(ProviderAdapter):
    display_name = "ONLYOFFICE DocSpace"
    # The public site: the plan is managed in each portal's own payments page, whose path is not documented.
    manage_url = "https://www.onlyoffice.com"
    # The portal URL is per account; the runner refuses an onlyoffice account without base_url.
    default_base_url = None
    endpoint_path = "/api/2.0/portal/payment/quota"

    def query_params(self) -> dict[str, str]:
        # Never refresh=true: it forces a remote billing call, and the cached answer is fine for monitoring.
        return {}

    def parse(self, body: Any) -> list[QuotaMetric]:
        # The envelope goes first, so an error inside a 2xx is reported as such, not as "response missing".
        envelope = parse_model(_Envelope, body)
        if envelope.status != 0 or not 200 <= envelope.status_code < 300 or envelope.error is not None:
            said = envelope.error.message if envelope.error and envelope.error.message else None
            raise bad_response(
                f"body reports an error (status {envelope.status}, statusCode {envelope.status_code})"
                + (f": {said[:200]}" if said else "")
            )
        quota = parse_model(QuotaWrapper, body).response
        features = quota.features
        for index, feature in enumerate(features):
            problem = feature.check_value()
            if problem is not None:
                raise bad_response(f"body is not the documented schema (response.features.{index}.value: {problem})")
        ids = [feature.id for feature in features]
        if len(set(ids)) != len(ids):
            # Two readings of one quota: neither can be trusted.
            raise bad_response("body is not the documented schema (response.features: a feature id appears twice)")
        details = _details(quota)
        metrics = []
        for feature in features:
            used = _quota_used(feature)
            if used is not None:
                metrics.append(_metric(feature, used, details))
        return metrics


def _quota_used(feature: Feature) -> float | None:
    """The used amount of a size or count quota, or None for anything that is not a quota we can read."""
    if feature.type not in QUOTA_TYPES or feature.id in SKIPPED_IDS or feature.used is None:
        return None
    return feature.used.value


def _details(quota: QuotaDto) -> dict[str, Any]:
    """Plan facts that every metric's alert carries."""
    details: dict[str, Any] = {}
    if quota.due_date is not None:
        details["plan_due_date"] = quota.due_date
    if quota.trial:
        # The due date of a trial is when the trial ends, and the limits with it.
        details["plan_trial"] = True
    return details


def _metric(feature: Feature, used: float, details: dict[str, Any]) -> QuotaMetric:
    limit = float(feature.value)  # a number here: Feature.check_value has run
    with off_schema():
        return QuotaMetric(
            metric_id=feature.id,
            name=_name(feature),
            used=used,
            limit=None if limit == UNLIMITED else limit,
            unit="bytes" if feature.type == "size" else "count",
            period=PERIODS.get(feature.id),
            details=dict(details),
        )


def _name(feature: Feature) -> str:
    if feature.id in NAMES:
        return NAMES[feature.id]
    if feature.price_title and feature.price_title.strip():
        return feature.price_title.strip()
    words = " ".join(feature.id.replace("_", " ").split())
    return words[:1].upper() + words[1:] or feature.id
