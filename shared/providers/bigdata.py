"""Bigdata: ``GET {base}/v1/subscription/quotas`` with ``X-API-KEY``; quota units, or one credits metric.

The live API wraps the body as ``{"results": <body>, "errors": [...], "metadata": {...}}``; older or
direct answers are bare. Both are read. ``subscription_type`` says which of the two bodies it is.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, TypeAdapter

from shared.models import QuotaMetric
from shared.providers import LenientModel, ProviderAdapter, bad_response, off_schema, register

# Legacy unit ids: the provider notes say to skip them, so they never become metrics.
LEGACY_UNIT_IDS = frozenset({"text:units", "pages:units"})
TOP_CONSUMERS = 3

NonNegative = Annotated[float, Field(ge=0)]
Unlimited = Literal["unlimited"]


class QuotaUnit(LenientModel):
    id: str = Field(min_length=1)
    display_name: str
    units_usage: NonNegative
    units_limit: NonNegative | Unlimited


class QuotaSubscription(LenientModel):
    subscription_type: Literal["quota"]
    quota_units: list[QuotaUnit]


class Credits(LenientModel):
    limit: NonNegative | Unlimited
    usage: NonNegative
    # ``remaining`` (a number or "unlimited") is not read: used and limit say it all.


class Period(LenientModel):
    end: str  # only the end is read: it is when the credits reset


class CreditUnit(LenientModel):
    id: str = Field(min_length=1)
    display_name: str
    units_usage: NonNegative
    # Documented as nullable: a unit without a price has no known cost.
    units_price: NonNegative | None


class Billing(LenientModel):
    period: Period
    units: list[CreditUnit]


class CreditsSubscription(LenientModel):
    subscription_type: Literal["credits"]
    credits: Credits
    billing: list[Billing]


def _subscription_type(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("subscription_type")
        return kind if isinstance(kind, str) else None
    return getattr(value, "subscription_type", None)


# A callable discriminator, so an unknown type gives a short fixed message instead of echoing the value.
Subscription = Annotated[
    Annotated[QuotaSubscription, Tag("quota")] | Annotated[CreditsSubscription, Tag("credits")],
    Discriminator(
        _subscription_type,
        custom_error_type="subscription_type",
        custom_error_message="subscription_type is missing or not 'quota' or 'credits'",
    ),
]
_BARE: TypeAdapter[QuotaSubscription | CreditsSubscription] = TypeAdapter(Subscription)


class Envelope(LenientModel):
    results: Subscription


@register("bigdata")
class BigdataAdapter(ProviderAdapter):
    display_name = "Bigdata.com"
    # The public site: its billing page is not documented in the provider notes.
    manage_url = "https://bigdata.com"
    default_base_url = "https://api.bigdata.com"
    endpoint_path = "/v1/subscription/quotas"
    auth_header = "X-API-KEY"
    auth_scheme = None

    # Errors are documented as {statusCode, message}: the base error_text already reads ``message``.

    def parse(self, body: Any) -> list[QuotaMetric]:
        if not isinstance(body, dict):
            raise bad_response("body is not a JSON object")
        with off_schema():
            # Wrapped when it has ``results``; a bare body carries ``subscription_type`` at the top.
            subscription = Envelope.model_validate(body).results if "results" in body else _BARE.validate_python(body)
        with off_schema():
            if isinstance(subscription, QuotaSubscription):
                return [_unit_metric(unit) for unit in subscription.quota_units if unit.id not in LEGACY_UNIT_IDS]
            return [_credits_metric(subscription)]


def _unit_metric(unit: QuotaUnit) -> QuotaMetric:
    return QuotaMetric(
        metric_id=unit.id,
        name=unit.display_name.strip() or unit.id,
        used=unit.units_usage,
        limit=None if unit.units_limit == "unlimited" else unit.units_limit,
        unit="units",
        period=None,
    )


def _credits_metric(subscription: CreditsSubscription) -> QuotaMetric:
    credits = subscription.credits
    # The parser has no clock, so "the current period" is the billing entry that ends last.
    periods = [(_period_end(entry.period.end), entry) for entry in subscription.billing]
    current = max(periods, key=lambda pair: pair[0], default=None)
    details: dict[str, Any] = {}
    top = _top_consumers(current[1]) if current is not None else []
    if top:
        details["top_consumers"] = top
    return QuotaMetric(
        metric_id="credits",
        name="Credits",
        used=credits.usage,
        limit=None if credits.limit == "unlimited" else credits.limit,
        unit="usd_cents",
        period=None,
        resets_at=current[0] if current is not None else None,
        details=details,
    )


def _period_end(text: str) -> datetime:
    """A period end as a UTC datetime. A bare date is the period's last day, so it ends at the next midnight."""
    try:
        day: date | None = date.fromisoformat(text)
    except ValueError:
        day = None
    try:
        if day is not None:
            return datetime.combine(day + timedelta(days=1), time(), UTC)
        moment = datetime.fromisoformat(text)
        # A time without an offset is read as UTC, as the provider's samples are.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise bad_response("billing.period.end is not an ISO 8601 date or time") from None


def _top_consumers(billing: Billing) -> list[dict[str, Any]]:
    """The costliest units of one period; units without a price or with no cost are not consumers."""
    costed: list[tuple[float, CreditUnit]] = []
    for unit in billing.units:
        if unit.units_price is None:
            continue
        cost = unit.units_usage * unit.units_price
        if not math.isfinite(cost):  # two huge finite numbers can still multiply to infinity
            raise bad_response("billing.units cost is not a finite number")
        if cost > 0:
            costed.append((cost, unit))
    costed.sort(key=lambda pair: pair[0], reverse=True)  # stable: ties keep the provider's order
    return [
        {
            "id": unit.id,
            "name": unit.display_name.strip() or unit.id,
            "usage": unit.units_usage,
            "cost_cents": round(cost, 2),
        }
        for cost, unit in costed[:TOP_CONSUMERS]
    ]
